"""Active Directory: one Samba 4 domain controller per domain, everything under one folder.

A domain is provisioned once per (realm, NetBIOS name, host name, address, seed) into a cache
and copied from there (a copy takes a fraction of the ~4 s a provision does); the folder then
gets its own smb.conf, TLS certificate and Administrator password. Passwords are read from
files (mode 0600) and reach the tools only through stdin, never through their command line.
"""

from __future__ import annotations

import base64
import hashlib
import os
import shutil
import subprocess
import time
import uuid
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from eendracht.lab.errors import LabError
from eendracht.lab.net import require_loopback
from eendracht.lab.paths import write_secret
from eendracht.lab.samba_tls import write_certificates

SAMBA_TOOL = "/usr/bin/samba-tool"
LDBMODIFY = "/usr/bin/ldbmodify"
TIMEOUT = 120.0
RUN_SAMBA = "/run/samba"
# Services a single lab DC does without: NetBIOS name service, WINS, NTP signing, and the
# replication, KCC and DNS self-registration a lone DC never needs (each costs memory/CPU).
DROPPED_SERVICES = "-nbt -wrepl -ntp_signd -kcc -drepl -dnsupdate"
# A DC that replicates with another (eendracht.lab.samba_join) keeps replication and the KCC.
REPLICATING_SERVICES = "-nbt -wrepl -ntp_signd -dnsupdate"


@dataclass(frozen=True)
class Domain:
    """One AD domain and its DC; everything the DC writes lives under `directory`."""

    realm: str  # e.g. HEUSDEN.LAB
    netbios: str  # e.g. HEUSDEN
    host_name: str  # the DC's name, e.g. dc1
    address: str  # 127.x.y.z
    directory: Path
    seed: int = 1795

    @property
    def dns_domain(self) -> str:
        return self.realm.lower()

    @property
    def base_dn(self) -> str:
        return ",".join(f"DC={part}" for part in self.dns_domain.split("."))

    @property
    def fqdn(self) -> str:
        return f"{self.host_name}.{self.dns_domain}"

    @property
    def smb_conf(self) -> Path:
        return self.directory / "etc" / "smb.conf"

    @property
    def private(self) -> Path:
        return self.directory / "private"

    @property
    def sam_ldb(self) -> Path:
        return self.private / "sam.ldb"

    @property
    def ca_cert(self) -> Path:
        return self.private / "tls" / "ca.pem"

    @property
    def secrets(self) -> Path:
        return self.directory / "secrets"

    @property
    def admin_password_file(self) -> Path:
        return self.secrets / "administrator.password"

    @property
    def admin_principal(self) -> str:
        return f"Administrator@{self.realm}"

    @property
    def admin_dn(self) -> str:
        return f"CN=Administrator,CN=Users,{self.base_dn}"

    def password_file(self, sam: str) -> Path:
        return self.secrets / "users" / f"{sam}.password"

    def directory_spec(self, **extra: str) -> dict[str, str]:
        """The DC as the identity module's `source`/`target` takes it (Administrator's UPN)."""
        return {
            "kind": "active_directory",
            "uri": f"ldaps://{self.address}",
            "bind_dn": self.admin_principal,
            "password_file": str(self.admin_password_file),
            "base_dn": self.base_dn,
            "ca_file": str(self.ca_cert),
            **extra,
        }


@dataclass(frozen=True)
class Provisioned:
    domain: Domain
    seconds: float
    reused: bool  # copied from the cache rather than provisioned


def _derived(domain: Domain, what: str) -> bytes:
    return hashlib.sha256(
        f"{domain.seed}:{domain.realm}:{domain.netbios}:{domain.host_name}:{what}".encode()
    ).digest()


def _sid(domain: Domain) -> str:
    raw = _derived(domain, "sid")
    parts = [int.from_bytes(raw[i : i + 4], "big") for i in (0, 4, 8)]
    return "S-1-5-21-" + "-".join(str(p) for p in parts)


def _guid(domain: Domain, what: str) -> str:
    return str(uuid.UUID(bytes=_derived(domain, what)[:16], version=4))


def cache_key(domain: Domain) -> str:
    version = subprocess.run(
        ["samba", "-V"], capture_output=True, text=True, check=False, timeout=10
    ).stdout.strip()
    fields = (domain.realm, domain.netbios, domain.host_name, domain.address, domain.seed)
    return hashlib.sha256(repr((*fields, version)).encode()).hexdigest()[:24]


def _dir_options(root: Path, winbindd_sockets: Path) -> list[str]:
    """smb.conf lines that keep every file Samba writes under `root`."""
    return [
        f"private dir = {root / 'private'}",
        f"state directory = {root / 'state'}",
        f"cache directory = {root / 'cache'}",
        f"lock directory = {root / 'lock'}",
        f"pid directory = {root / 'run'}",
        f"ncalrpc dir = {root / 'run' / 'ncalrpc'}",
        f"winbindd socket directory = {winbindd_sockets}",
        f"ntp signd socket directory = {root / 'run' / 'ntp_signd'}",
        f"usershare path = {root / 'usershares'}",
        f"binddns dir = {root / 'bind-dns'}",
        f"log file = {root / 'log' / 'samba.log'}",
    ]


def smb_conf_text(domain: Domain, extra: Sequence[str] = (), replicating: bool = False) -> str:
    root = domain.directory
    # "/8" makes Samba bind the address itself: a bare address is only used when it is on an
    # interface, and the lab does not add one alias per DC to lo.
    lines = [
        "# eendracht lab: Samba AD DC (written by eendracht.lab.samba)",
        "[global]",
        f"netbios name = {domain.host_name.upper()}",
        f"realm = {domain.realm}",
        f"workgroup = {domain.netbios}",
        "server role = active directory domain controller",
        "idmap_ldb:use rfc2307 = yes",
        f"interfaces = {domain.address}/8",
        "bind interfaces only = yes",
        "disable netbios = yes",
        f"server services = {REPLICATING_SERVICES if replicating else DROPPED_SERVICES}",
        "prefork children = 1",
        "load printers = no",
        "printcap name = /dev/null",
        "disable spoolss = yes",
        "max log size = 1000",
        # smbd finds winbindd only at the compiled-in /run/samba/winbindd (libwbclient reads
        # no setting); the DC runs in its own mount namespace where <root>/run is /run/samba.
        *_dir_options(root, Path(RUN_SAMBA) / "winbindd"),
        *extra,
        "",
        "[sysvol]",
        f"path = {root / 'state' / 'sysvol'}",
        "read only = no",
        "",
        "[netlogon]",
        f"path = {root / 'state' / 'sysvol' / domain.dns_domain / 'scripts'}",
        "read only = no",
        "",
    ]
    return "\n".join(
        line if line.startswith(("[", "#")) or not line else "\t" + line for line in lines
    )


def _provision_into(domain: Domain, target: Path) -> None:
    (target / "etc").mkdir(parents=True)
    conf = target / "etc" / "smb.conf"
    conf.touch()  # empty: nothing of this machine's /etc/samba/smb.conf is inherited
    argv = [
        SAMBA_TOOL,
        "domain",
        "provision",
        "--server-role=dc",
        "--dns-backend=SAMBA_INTERNAL",
        "--use-rfc2307",
        f"--realm={domain.realm}",
        f"--domain={domain.netbios}",
        f"--host-name={domain.host_name}",
        f"--host-ip={require_loopback(domain.address)}",
        f"--domain-sid={_sid(domain)}",
        f"--domain-guid={_guid(domain, 'domain')}",
        f"--ntds-guid={_guid(domain, 'ntds')}",
        f"--invocationid={_guid(domain, 'invocation')}",
        f"--targetdir={target}",
        "-s",
        str(conf),
        "--quiet",
        *(f"--option={o}" for o in _dir_options(target, target / "run" / "winbindd")),
        f"--option=interfaces = {domain.address}/8",
        "--option=bind interfaces only = yes",
    ]
    # No --adminpass: it would be on the command line. Provision picks a random one (and
    # prints it, so its output is never kept); ours is set offline afterwards.
    done = subprocess.run(
        argv, capture_output=True, text=True, check=False, timeout=TIMEOUT, cwd=target
    )
    if done.returncode != 0:
        tail = [ln for ln in done.stderr.splitlines() if "password" not in ln.lower()][-4:]
        raise LabError(f"provisioning {domain.realm} failed: " + " | ".join(tail))


def _cached_tree(domain: Domain, cache: Path) -> tuple[Path, bool]:
    """The provisioned tree of this domain in the cache, provisioning it if absent."""
    cache.mkdir(parents=True, exist_ok=True, mode=0o700)
    tree = cache / cache_key(domain)
    if tree.is_dir():
        return tree, True
    tmp = cache / f"{tree.name}.tmp-{os.getpid()}-{time.monotonic_ns()}"
    try:
        _provision_into(domain, tmp)
        try:
            tmp.rename(tree)
        except OSError:  # another provision of the same domain finished first
            shutil.rmtree(tmp)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return tree, False


def _copy_tree(source: Path, target: Path) -> None:
    target.mkdir(parents=True, exist_ok=True)
    # cp -a keeps the sysvol's owners, POSIX ACLs and NT ACL xattrs (security.NTACL).
    done = subprocess.run(
        ["cp", "-a", "--reflink=auto", f"{source}/.", str(target)],
        capture_output=True,
        text=True,
        check=False,
        timeout=TIMEOUT,
    )
    if done.returncode != 0:
        raise LabError(f"copying the provisioned domain failed: {done.stderr.strip()}")


def unicode_pwd(password: str) -> str:
    """The LDIF value of unicodePwd: the quoted password in UTF-16-LE, base64."""
    return base64.b64encode(f'"{password}"'.encode("utf-16-le")).decode()


def ldb_apply(domain: Domain, tool: str, ldif: str, what: str, secrets: Sequence[str]) -> str:
    """Run ldbadd/ldbmodify on the DC's sam.ldb with LDIF on stdin (never in a file or argv).

    Only while the DC is stopped: the running DC holds the database."""
    done = subprocess.run(
        [tool, f"--configfile={domain.smb_conf}", "-H", str(domain.sam_ldb)],
        input=ldif,
        capture_output=True,
        text=True,
        check=False,
        timeout=TIMEOUT,
    )
    if done.returncode != 0:
        detail = " | ".join((done.stderr or done.stdout).strip().splitlines()[-4:])
        for secret in secrets:
            detail = detail.replace(secret, "***").replace(unicode_pwd(secret), "***")
        raise LabError(f"{what} failed: {detail}")
    return done.stdout


def set_password_offline(domain: Domain, dn: str, password_file: Path) -> None:
    password = password_file.read_text(encoding="utf-8")
    ldif = f"dn: {dn}\nchangetype: modify\nreplace: unicodePwd\nunicodePwd:: {unicode_pwd(password)}\n-\n"
    ldb_apply(domain, LDBMODIFY, ldif, f"setting the password of {dn}", [password])


def provision(domain: Domain, cache: Path, admin_password_file: Path) -> Provisioned:
    """Make `domain.directory` a ready-to-start DC whose Administrator password is the one in
    `admin_password_file` (copied to the domain's own secrets, mode 0600)."""
    began = time.monotonic()
    require_loopback(domain.address)
    if domain.sam_ldb.exists():
        raise LabError(f"{domain.directory} already holds a domain; remove it first")
    tree, reused = _cached_tree(domain, cache)
    _copy_tree(tree, domain.directory)
    for sub in ("run", "log", "lock", "cache", "usershares"):
        (domain.directory / sub).mkdir(exist_ok=True)
    domain.smb_conf.write_text(smb_conf_text(domain))
    write_certificates(domain.private / "tls", domain.fqdn, domain.address)
    if admin_password_file.resolve() != domain.admin_password_file.resolve():
        write_secret(domain.admin_password_file, admin_password_file.read_text(encoding="utf-8"))
    set_password_offline(domain, domain.admin_dn, domain.admin_password_file)
    return Provisioned(domain, time.monotonic() - began, reused)


def provision_all(
    domains: Sequence[tuple[Domain, Path]], cache: Path, workers: int = 2
) -> list[Provisioned]:
    """Provision several domains at once ((domain, admin password file) pairs), in order.

    Provisioning is mostly one Python process's CPU, so `workers` matches the cores."""
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        futures = [pool.submit(provision, d, cache, pw) for d, pw in domains]
        return [f.result() for f in futures]
