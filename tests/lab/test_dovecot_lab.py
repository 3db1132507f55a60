"""The lab's IMAP servers (Dovecot) and the mailbox move by doveadm over imapc.

Real dovecot instances on 127.<lab>.9.x (a lab range claimed through claims.py), queried
with imaplib and doveadm; every external call has a timeout.
"""

from __future__ import annotations

import imaplib
import os
import re
import secrets
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from eendracht.lab import claims, net, procs
from eendracht.lab import dovecot as dv
from eendracht.lab.dovecot_imap import FolderState, inventory, mutf7_decode, mutf7_encode
from eendracht.lab.dovecot_move import move_mailbox, prepared_move
from eendracht.lab.dovecot_seed import FOLDERS, publish_shared, seed_server, seed_user
from eendracht.lab.errors import LabError
from eendracht.lab.paths import LabPaths, write_secret
from eendracht.lab.people import lab_people
from eendracht.programme import load_programme
from tests.cmdline_watch import CommandLineWatch
from tests.programmes import FIXTURES

pytestmark = [pytest.mark.lab, pytest.mark.slow]

SEED = 1795
# Characters a config writer or a shell could mangle: quotes, backslash, %, $.
CANARY = f'kanarie-{secrets.token_hex(6)}-%u"$\\x'
BIG, KILLED, FULL, REFERENCE = "groot", "afbreek", "vol", "referentie"
FIGURES: dict[str, float] = {}


@dataclass
class MailLab:
    paths: LabPaths
    octet: int
    sources: list[dv.MailServer]
    target: dv.MailServer
    watch: CommandLineWatch
    records: dict[str, procs.Recorded] = field(default_factory=dict)

    @property
    def source(self) -> dv.MailServer:
        return self.sources[0]


def _claim(state: Path) -> int:
    return claims.claim_free(
        state,
        lambda o: [
            (dv.mail_address(o, n), p) for n in (1, 2, 254) for p in (dv.IMAP_PORT, dv.IMAPS_PORT)
        ],
    )


@pytest.fixture(scope="module")
def mail_lab() -> Iterator[MailLab]:
    state = Path(tempfile.mkdtemp(prefix="eendracht-mail-", dir="/tmp"))
    state.chmod(0o755)  # the mail processes (uid dovecot) must reach their Maildirs
    paths = LabPaths(state)
    paths.lab.mkdir()
    octet = _claim(state)
    people = lab_people(load_programme(FIXTURES / "mini"), "small", SEED)
    watch = CommandLineWatch(CANARY.encode())
    watch.start()
    sources = []
    for n, (name, persons) in enumerate(sorted(people.items()), start=1):
        users = dv.users_from_people(persons[:3])
        if n == 1:
            users += [
                dv.MailUser(BIG, f"{BIG}@{name}.nl", "Groot Archief"),
                dv.MailUser(KILLED, f"{KILLED}@{name}.nl", "Afgebroken Verhuizing"),
                dv.MailUser(FULL, f"{FULL}@{name}.nl", "Volle Bus"),
            ]
        root = dv.mail_root(paths, name)
        sources.append(dv.MailServer(name, dv.mail_address(octet, n), root, users=tuple(users)))
    first = sources[0]
    target_users = [u for u in first.users if u.account != FULL]
    target_users += [
        dv.MailUser(FULL, f"{FULL}@waardstad.nl", "Volle Bus", quota_kib=100),
        dv.MailUser(REFERENCE, f"{REFERENCE}@waardstad.nl", "Referentie"),
    ]
    target = dv.MailServer(
        "target", dv.mail_address(octet, 254), dv.mail_root(paths, "target"),
        users=tuple(target_users),
    )  # fmt: skip
    # The canary is the password of the first person on both sides: planted before prepare.
    canary_user = first.users[0].account
    for server in (first, target):
        write_secret(server.password_file(canary_user), CANARY)
    lab = MailLab(paths, octet, sources, target, watch)
    try:
        for server in (*sources, target):
            dv.prepare(server)
        t0 = time.monotonic()
        seed_user(first, first.user(BIG), SEED, 1000, attachments=1)
        FIGURES["seed 1000 messages (s)"] = time.monotonic() - t0
        seed_user(first, first.user(KILLED), SEED, 400, attachments=12, attachment_max=1 << 20)
        for server in sources:
            seed_server(server, SEED, per_user=30)
        for server in (*sources, target):
            lab.records[server.name] = dv.start(server, paths.pids)
        t0 = time.monotonic()
        for server in (*sources, target):
            dv.wait_answering(server, lab.records[server.name])
        FIGURES["start 3 servers until IMAP LOGIN (s)"] = time.monotonic() - t0
        for server in sources:
            publish_shared(server)
        yield lab
    finally:
        watch.stop()
        for server in (*sources, target):
            dv.stop(server, paths.pids)
        claims.release(octet, state)
        shutil.rmtree(state, ignore_errors=True)
        print("\nfigures:", {k: round(v, 3) for k, v in FIGURES.items()})


def _inventory(server: dv.MailServer, account: str) -> dict[str, FolderState]:
    client = dv.login(server, account)
    try:
        return inventory(client)
    finally:
        client.logout()


def _servers(lab: MailLab) -> list[dv.MailServer]:
    return [*lab.sources, lab.target]


def test_each_server_listens_on_its_own_address_only(mail_lab: MailLab) -> None:
    for server in _servers(mail_lab):
        master = mail_lab.records[server.name]
        family = [master.pid, *(c.pid for c in procs.descendants([master.pid]))]
        found = sorted(where for _, where in net.listening(family))
        assert found == sorted(
            [f"{server.address}:{dv.IMAP_PORT}", f"{server.address}:{dv.IMAPS_PORT}"]
        )
        text = server.files.config.read_text()
        assert "/etc/dovecot" not in text and "/var/run" not in text and "/var/lib" not in text
        assert "protocols = imap\n" in text
        assert (server.files.base_dir / "master.pid").exists()


def test_passwords_are_hashed_and_dovecot_verifies_them(mail_lab: MailLab) -> None:
    server = mail_lab.source
    account = server.users[0].account
    line = server.files.users.read_text().splitlines()[0]
    hashed = line.split(":")[1]
    assert hashed.startswith("{SSHA512}") and CANARY not in server.files.users.read_text()
    assert oct(server.password_file(account).stat().st_mode & 0o777) == "0o600"
    done = subprocess.run(
        ["doveadm", "pw", "-t", hashed],
        input=CANARY + "\n", capture_output=True, text=True, timeout=10, check=False,
    )  # fmt: skip
    assert done.returncode == 0 and "(verified)" in done.stdout


def test_login_over_imaps_and_plain_imap_and_refusal(mail_lab: MailLab) -> None:
    server = mail_lab.source
    account = server.users[1].account
    for tls in (True, False):
        client = dv.login(server, account, tls=tls)
        assert client.noop()[0] == "OK"
        client.logout()
    client = imaplib.IMAP4(server.address, server.imap_port, timeout=5)
    with pytest.raises(imaplib.IMAP4.error, match="AUTHENTICATIONFAILED"):
        client.login(account, "not-the-password")
    client.shutdown()


def test_seeded_mailbox_has_its_folders_unique_ids_and_an_attachment(mail_lab: MailLab) -> None:
    server = mail_lab.source
    account = server.users[1].account
    inv = _inventory(server, account)
    assert sorted(inv) == sorted(FOLDERS)
    ids = [i for state in inv.values() for i in state.message_ids]
    assert len(ids) == 30 and len(set(ids)) == 30 and all(ids)
    assert 256 * 1024 < sum(s.size for s in inv.values()) < 3 * 1024 * 1024
    raw = [
        f.read_bytes()
        for f in sorted((server.files.home(account) / "Maildir").rglob("cur/*"))
    ]  # fmt: skip
    assert any(b"Content-Disposition: attachment" in r for r in raw)
    # Deterministic: the same seed writes the same messages elsewhere.
    again = dv.MailServer(server.name, server.address, mail_lab.paths.lab / "again", server.users)
    again.files.mail.mkdir(parents=True)
    seed_user(again, server.user(account), SEED, 30)
    assert raw == [f.read_bytes() for f in sorted(again.files.home(account).rglob("cur/*"))]
    assert FIGURES["seed 1000 messages (s)"] < 15


def test_function_mailbox_is_read_by_colleagues_only(mail_lab: MailLab) -> None:
    server = mail_lab.source
    reader = server.users[0].account
    client = dv.login(server, reader)
    try:
        _, data = client.list('"shared/secretariaat/"', "*")
        names = {mutf7_decode(str(d)) for d in data}
        assert any("Gemeentehuis – Café" in n for n in names), names
        assert client.select('"shared/secretariaat/Verzonden items"', readonly=True)[0] == "OK"
        assert client.fetch("1", "(BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])")[0] == "OK"
        folder = '"shared/secretariaat/Verzonden items"'
        status, why = client.append(folder, None, None, b"X: y\r\n\r\nz\r\n")
        assert status == "NO", why  # readers have lookup+read, not insert
    finally:
        client.logout()
    stranger = dv.login(server, BIG)  # on the same server, but not one of its readers
    assert stranger.list('"shared/"', "*")[1] == [None]
    stranger.logout()


def test_move_copies_every_folder_and_a_second_run_copies_nothing(mail_lab: MailLab) -> None:
    source, target = mail_lab.source, mail_lab.target
    account = source.users[0].account  # the canary user
    result = move_mailbox(source, target, account, timeout=60)
    before, after = _inventory(source, account), _inventory(target, account)
    assert after == before and sorted(after) == sorted(FOLDERS)
    move_mailbox(source, target, account, timeout=60)
    again = _inventory(target, account)
    assert again == before and not any(s.duplicates for s in again.values())
    client = dv.login(target, account)
    raw_names = str(client.list()[1])
    client.logout()
    assert mutf7_encode("Gemeentehuis – Café") in raw_names and "&AMY-r&APg-" in raw_names
    assert not list(target.files.moves.iterdir())  # the per-move config is gone
    FIGURES["move 30 messages (s)"] = result.seconds


def test_function_mailbox_moves_without_the_shared_namespace(mail_lab: MailLab) -> None:
    source, target = mail_lab.source, mail_lab.target
    move_mailbox(source, target, "secretariaat", timeout=60)
    assert _inventory(target, "secretariaat") == _inventory(source, "secretariaat")
    # A reader's move must not drag the colleague's function mailbox into their own.
    reader = source.users[1].account
    move_mailbox(source, target, reader, timeout=60)
    assert _inventory(target, reader) == _inventory(source, reader)
    client = dv.login(target, reader)
    listed = client.list()[1]
    client.logout()
    assert not [x for x in listed if isinstance(x, bytes) and b"shared" in x], listed


def _append_copy(source: dv.MailServer, account: str, target: dv.MailServer, dest: str) -> int:
    """The reference: copy by IMAP FETCH + APPEND from Python, as a naive tool would."""
    src, dst = dv.login(source, account), dv.login(target, dest)
    copied = 0
    try:
        for folder in FOLDERS:
            name = '"' + mutf7_encode(folder) + '"'
            if folder != "INBOX":
                dst.create(name)
            count = int(src.select(name, readonly=True)[1][0] or b"0")
            for start in range(1, count + 1, 100):
                end = min(count, start + 99)
                _, data = src.fetch(f"{start}:{end}", "(FLAGS INTERNALDATE BODY.PEEK[])")
                for item in data:
                    if isinstance(item, tuple):
                        dst.append(name, None, None, item[1])
                        copied += 1
    finally:
        src.logout()
        dst.logout()
    return copied


def test_move_of_1000_messages_against_an_imap_append_copy(mail_lab: MailLab) -> None:
    source, target = mail_lab.source, mail_lab.target
    result = move_mailbox(source, target, BIG, timeout=120)
    before, after = _inventory(source, BIG), _inventory(target, BIG)
    assert after == before and sum(s.count for s in after.values()) == 1000
    t0 = time.monotonic()
    assert _append_copy(source, BIG, target, REFERENCE) == 1000
    FIGURES["move 1000 messages, doveadm backup over imapc (s)"] = result.seconds
    FIGURES["copy 1000 messages, imaplib FETCH+APPEND (s)"] = time.monotonic() - t0
    ref = _inventory(target, REFERENCE)
    assert {k: v.message_ids for k, v in ref.items()} == {
        k: v.message_ids for k, v in before.items()
    }


def _message_files(server: dv.MailServer, account: str) -> int:
    maildir = server.files.home(account) / "Maildir"
    return sum(1 for _ in maildir.rglob("cur/*")) + sum(1 for _ in maildir.rglob("new/*"))


def test_a_move_killed_halfway_and_run_again_loses_and_doubles_nothing(mail_lab: MailLab) -> None:
    source, target = mail_lab.source, mail_lab.target
    with prepared_move(source, target, KILLED) as argv:
        proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 30
        while proc.poll() is None and time.monotonic() < deadline:
            if (target.files.home(KILLED) / "Maildir").exists() and _message_files(
                target, KILLED
            ) >= 20:
                break
            time.sleep(0.002)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    assert proc.returncode == -signal.SIGKILL, "doveadm finished before it could be killed"
    arrived = _message_files(target, KILLED)
    assert 0 < arrived < 400, arrived
    again = move_mailbox(source, target, KILLED, timeout=120)
    FIGURES["rerun after the kill (s)"] = again.seconds
    before, after = _inventory(source, KILLED), _inventory(target, KILLED)
    assert after == before and sum(s.count for s in after.values()) == 400
    assert not any(s.duplicates for s in after.values())
    FIGURES["killed after (messages on target)"] = arrived


def test_a_move_over_the_target_quota_fails_naming_the_mailbox(mail_lab: MailLab) -> None:
    with pytest.raises(LabError, match=rf"mailbox {FULL}.* is over its quota") as failed:
        move_mailbox(mail_lab.source, mail_lab.target, FULL, timeout=60)
    assert CANARY not in str(failed.value)
    assert "the quota is 100 KiB" in str(failed.value)
    assert _inventory(mail_lab.target, FULL) == {"INBOX": FolderState(0, (), 0)}  # nothing copied


def test_no_password_on_a_command_line_or_in_a_log(mail_lab: MailLab) -> None:
    watch = mail_lab.watch
    assert watch.scans > 10 and watch.hits == []
    for server in _servers(mail_lab):
        for log in server.files.log.parent.iterdir():
            assert CANARY not in log.read_text(errors="replace")
        assert not list(server.files.moves.iterdir())


def test_stop_leaves_no_process_and_nothing_outside_its_folder(mail_lab: MailLab) -> None:
    outside = [Path("/run/dovecot"), Path("/var/run/dovecot"), Path("/var/lib/dovecot")]
    before = {p: sorted(os.listdir(p)) if p.exists() else None for p in outside}
    family = {}
    for server in _servers(mail_lab):
        master = mail_lab.records[server.name]
        family[server.name] = [master, *procs.descendants([master.pid])]
        assert dv.stop(server, mail_lab.paths.pids) == [server.service_name]
    for name, members in family.items():
        assert not [r.pid for r in members if procs.is_running(r)], name
    left = [p for p in procs.processes_referencing(str(mail_lab.paths.state))]
    assert left == []
    instance = re.compile(r"dovecot-eendracht-(" + "|".join(family) + r")/")
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                title = (entry / "cmdline").read_bytes().decode(errors="replace")
            except OSError:
                continue
            pid = int(entry.name)
            alive = procs.Recorded("?", pid, procs.start_time(pid) or -1, [], "")
            if instance.search(title) and procs.is_running(alive):
                pytest.fail(f"left running: {title}")
    assert before == {p: sorted(os.listdir(p)) if p.exists() else None for p in outside}
