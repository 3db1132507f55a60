"""Mail servers: one Dovecot (IMAP and IMAPS) per municipality and one for the new organisation.

Each is its own instance (`dovecot -c <folder>/dovecot.conf -F`) with its own address, users,
certificate, state, logs and Maildir storage under one folder, like the lab's slapd instances:
the migration must be able to freeze or lose one municipality's mail server alone.
Passwords are generated into 0600 files (kept if present, so a test can plant its own) and
only their {SSHA512} hashes go into the passwd-file; no password is ever an argument.
A server with a `directory` (the target) also finds its people there (see dovecot_conf): the
directory's bind password is copied into the 0600 LDAP settings file and nowhere else.
"""

from __future__ import annotations

import imaplib
import os
import secrets
import shutil
import ssl
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from eendracht.lab import net, procs
from eendracht.lab.dovecot_conf import (
    ConfigPaths,
    LdapUsers,
    MailIds,
    config_text,
    ldap_conf_text,
    passwd_line,
    ssha512,
)
from eendracht.lab.errors import LabError
from eendracht.lab.paths import LabPaths, write_secret
from eendracht.lab.people import LabPerson

DOVECOT = "/usr/sbin/dovecot"
MAIL_KIND_OCTET = 9  # 127.<lab>.9.<n>: IMAP servers (n = 254 for the target)
IMAP_PORT = 1143
IMAPS_PORT = 1993
SOCKET_PATH_MAX = 100  # AF_UNIX paths are limited to 108 bytes; base_dir holds the sockets


@dataclass(frozen=True)
class MailUser:
    account: str  # the IMAP login
    mail: str
    display_name: str
    quota_kib: int | None = None  # None: unlimited
    readers: tuple[str, ...] = ()  # for a function mailbox: who may read it (shared/<account>/)


@dataclass(frozen=True)
class MailServer:
    name: str
    address: str
    root: Path  # everything this instance writes is under it
    users: tuple[MailUser, ...] = field(default_factory=tuple)
    imap_port: int = IMAP_PORT
    imaps_port: int = IMAPS_PORT
    directory: LdapUsers | None = None  # where the people are; None: the passwd-file only
    masters: tuple[str, ...] = ()  # master users (an admin reading any mailbox)

    @property
    def files(self) -> ConfigPaths:
        return ConfigPaths(self.root)

    @property
    def service_name(self) -> str:
        return f"imap-{self.name}"

    def password_file(self, account: str) -> Path:
        return self.files.secrets / f"{account}.password"

    def user(self, account: str) -> MailUser:
        for u in self.users:
            if u.account == account:
                return u
        raise LabError(f"{self.name} has no mailbox {account!r}")


def mail_address(octet: int, n: int) -> str:
    if not 1 <= n <= 254:
        raise LabError(f"mail server number {n} is outside 1-254")
    return net.require_loopback(f"127.{octet}.{MAIL_KIND_OCTET}.{n}")


def mail_root(paths: LabPaths, name: str) -> Path:
    return paths.lab / "mail" / name


def users_from_people(
    people: Sequence[LabPerson], shared: str = "secretariaat", functions: Sequence[str] = ()
) -> list[MailUser]:
    """A mailbox per person, plus function mailbox `shared` and `functions` (local parts of
    the programme's shared and room mailboxes), all of which every person may read."""
    users = [MailUser(p.account, p.mail, p.full_name) for p in people]
    if people:
        domain = people[0].mail.split("@", 1)[1]
        readers = tuple(p.account for p in people)
        taken = {u.account for u in users}
        for name in dict.fromkeys([*([shared] if shared else []), *functions]):
            if name not in taken:
                users.append(MailUser(name, f"{name}@{domain}", name.capitalize(), readers=readers))
    return users


def _traversable(folder: Path) -> None:
    # Mail processes run as the `dovecot` user and must reach the Maildirs.
    for parent in [folder, *folder.parents]:
        if parent.exists() and not parent.stat().st_mode & 0o001:
            raise LabError(f"{parent} is not traversable by others; the mail user cannot reach it")


def _certificate(server: MailServer) -> None:
    f = server.files
    if f.cert.exists() and f.key.exists():
        return
    f.cert.parent.mkdir(parents=True, exist_ok=True)
    procs.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-days",
            "30",
            "-subj",
            f"/CN={server.address}",
            "-addext",
            f"subjectAltName=IP:{server.address}",
            "-keyout",
            str(f.key),
            "-out",
            str(f.cert),
        ],
        f"certificate for {server.name}",
        timeout=30,
    )
    f.key.chmod(0o600)  # read by Dovecot's config process (root)
    f.cert.chmod(0o644)  # read by doveadm moves after they dropped to the mail uid


def _directory_files(server: MailServer) -> None:
    """The LDAP settings (0600 root: they hold the bind password) and the directory's CA."""
    users, f = server.directory, server.files
    if users is None:
        f.ldap_conf.unlink(missing_ok=True)
        return
    if users.ca_file is not None:
        f.directory_ca.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(users.ca_file, f.directory_ca)
        f.directory_ca.chmod(0o644)  # a certificate; the auth process reads it as `dovecot`
    password = users.password_file.read_text(encoding="utf-8").rstrip("\r\n")
    write_secret(f.ldap_conf, ldap_conf_text(users, f, MailIds.of_mail_user(), password))
    os.chown(f.ldap_conf, 0, 0)


def _password(server: MailServer, account: str) -> str:
    pw_file = server.password_file(account)
    if not pw_file.exists():
        write_secret(pw_file, secrets.token_urlsafe(18))
    return pw_file.read_text(encoding="utf-8")


def _hashes(path: Path, text: str, ids: MailIds) -> None:
    write_secret(path, text)
    os.chown(path, 0, ids.gid)  # the auth process (dovecot) reads it; hashes only
    path.chmod(0o640)


def prepare(server: MailServer) -> Path:
    """Configuration, passwd-file, password files, certificate and folders; returns the config."""
    net.require_loopback(server.address)
    f = server.files
    if len(str(f.base_dir / "imap-hibernate")) > SOCKET_PATH_MAX:
        raise LabError(
            f"{f.base_dir} is too long a path for Dovecot's sockets; use a shorter state"
        )
    ids = MailIds.of_mail_user()
    for folder in (f.base_dir, f.state_dir, f.log.parent, f.secrets, f.moves):
        folder.mkdir(parents=True, exist_ok=True)
    f.secrets.chmod(0o700)
    f.moves.chmod(0o700)
    for folder in (f.mail, f.shared_dict.parent):
        folder.mkdir(parents=True, exist_ok=True)
        os.chown(folder, ids.uid, ids.gid)
    _traversable(f.mail)
    lines = []
    for u in server.users:
        hashed = ssha512(_password(server, u.account))
        lines.append(passwd_line(u.account, hashed, ids, f.home(u.account), u.quota_kib))
    _hashes(f.users, "".join(lines), ids)
    if server.masters:
        masters = [f"{m}:{ssha512(_password(server, m))}\n" for m in server.masters]
        _hashes(f.masters, "".join(masters), ids)
    else:
        f.masters.unlink(missing_ok=True)
    _certificate(server)
    _directory_files(server)
    f.config.write_text(
        config_text(
            server.name,
            server.address,
            server.imap_port,
            server.imaps_port,
            f,
            ids,
            directory=server.directory is not None,
            masters=bool(server.masters),
        )
    )
    return f.config


def argv(server: MailServer) -> list[str]:
    return [DOVECOT, "-c", str(server.files.config), "-F"]


def start(server: MailServer, pids: Path) -> procs.Recorded:
    """Start the instance (recorded under `pids` like every lab daemon); see `wait_answering`."""
    net.require_loopback(server.address)
    for port in (server.imap_port, server.imaps_port):
        if not net.tcp_free(server.address, port):
            raise LabError(f"{server.address}:{port} is taken; cannot start {server.service_name}")
    log = server.files.log.parent / "stdout.log"
    return procs.spawn(server.service_name, argv(server), pids, log)


def tls_context(server: MailServer) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(server.files.cert))


def login(
    server: MailServer, account: str, *, tls: bool = True, timeout: float = 10.0
) -> imaplib.IMAP4:
    """An IMAP session as `account`, its password read from its 0600 file (never an argument)."""
    client: imaplib.IMAP4
    if tls:
        client = imaplib.IMAP4_SSL(
            server.address, server.imaps_port, ssl_context=tls_context(server), timeout=timeout
        )
    else:
        client = imaplib.IMAP4(server.address, server.imap_port, timeout=timeout)
    password = server.password_file(account).read_text(encoding="utf-8")
    try:
        client.login(account, password)
    except imaplib.IMAP4.error as exc:
        client.shutdown()
        raise LabError(f"IMAP login as {account} on {server.name} refused: {exc}") from None
    return client


def answers(server: MailServer) -> bool:
    """Readiness: an IMAP LOGIN over IMAPS (as the first mailbox) is accepted."""
    if not server.users:
        return False
    try:
        client = login(server, server.users[0].account, timeout=2.0)
    except (OSError, LabError, imaplib.IMAP4.error):
        return False
    client.logout()
    return True


def wait_answering(server: MailServer, rec: procs.Recorded, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not answers(server):
        if not procs.is_running(rec):
            tail = server.files.log.read_text(errors="replace").splitlines()[-3:]
            raise LabError(f"{server.service_name} stopped while starting: {' | '.join(tail)}")
        if time.monotonic() > deadline:
            raise LabError(f"{server.service_name} gave no IMAP login within {timeout:.0f} s")
        time.sleep(0.1)


def stop(server: MailServer, pids: Path) -> list[str]:
    """Stop this instance by its recorded pid (and the processes Dovecot forked)."""
    records = [r for r in procs.recorded(pids) if r.name == server.service_name]
    return procs.stop_all(records, pids)
