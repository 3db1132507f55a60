"""The mail role's module `eendracht_mailbox` against two real Dovecots (source and target).

The module runs as Ansible runs it: a process started from its file with a JSON args file
(and once through ansible-playbook with the role's tasks), on a claimed 127.<lab>.9.x range.
Mailboxes move with doveadm backup over imapc, are verified per folder over IMAP, and a
canary password is watched in every process's command line while the tests run.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml
from tests.cmdline_watch import CommandLineWatch
from wave_support import REPO

from eendracht.lab import claims, procs
from eendracht.lab import dovecot as dv
from eendracht.lab.dovecot_conf import MailIds
from eendracht.lab.dovecot_seed import maildir_folder, publish_shared, seed_user
from eendracht.lab.paths import LabPaths, write_secret
from eendracht.module_utils import load_module_utils

pytestmark = [pytest.mark.lab, pytest.mark.slow]

mailmove = load_module_utils("eendracht_mailmove")
MODULE = REPO / "playbooks" / "roles" / "mail" / "library" / "eendracht_mailbox.py"
BIN = Path(sys.executable).parent
RUN_MODULE = (
    "import runpy, sys;"
    "from eendracht.module_utils import load_module_utils;"
    "load_module_utils('eendracht_mailmove');"
    "sys.argv = sys.argv[1:];"
    "runpy.run_path(sys.argv[0], run_name='__main__')"
)

SEED = 4711
MUNI = "noordwaard"
# Characters a config writer or a shell could mangle: quotes, backslash, %, $.
CANARY = f'kanarie-{secrets.token_hex(6)}-%u"$\\x'
WRONG = f"verkeerd-{secrets.token_hex(6)}"  # the wrong source password planted for FOUT
PEOPLE = (
    ("pjansen", "Piet Jansen"), ("mdevries", "Marieke de Vries"), ("kbakker", "Karim Bakker"),
    ("dvandenberg", "Daniëlle van den Berg"), ("tvisser", "Tom Visser"), ("smulder", "Sanne Mulder"),
    ("jdejong", "Jan de Jong"), ("ameijer", "Aïsha Meijer"), ("rsmit", "Rob Smit"),
    ("lbos", "Lotte Bos"),
)  # fmt: skip
SHARED, KILLED, FULL, FOUT = "secretariaat", "afbreek", "vol", "fout"


def new_user(account: str) -> str:
    """The new username, as the identity mapping would give it (p.jansen)."""
    return f"{account[0]}.{account[1:]}"


@dataclass
class MailPair:
    paths: LabPaths
    octet: int
    source: dv.MailServer
    target: dv.MailServer
    work: Path
    mapping: Path
    watch: CommandLineWatch
    records: dict[str, procs.Recorded] = field(default_factory=dict)
    outputs: list[str] = field(default_factory=list)  # every result and output, for the canary

    def args(self, state: str, mailboxes: list[Any], **extra: Any) -> dict[str, Any]:
        return {
            "state": state,
            "mailboxes": mailboxes,
            "mapping_file": str(self.mapping),
            "source": {
                "host": self.source.address,
                "port": self.source.imaps_port,
                "ca_file": str(self.source.files.cert),
                "password_dir": str(self.source.files.secrets),
            },
            "target": {
                "host": self.target.address,
                "port": self.target.imaps_port,
                "ca_file": str(self.target.files.cert),
                "password_dir": str(self.target.files.secrets),
                "config": str(self.target.files.config),
            },
            "work_dir": str(self.work),
            "timeout": 120,
            "command_timeout": 30,
            "imap_timeout": 30,
            **extra,
        }

    def start_module(self, args: dict[str, Any], check: bool = False) -> subprocess.Popen[str]:
        fd, name = tempfile.mkstemp(prefix="mailbox-args-", suffix=".json", dir=self.paths.state)
        body = {**args, "_ansible_check_mode": check}
        with os.fdopen(fd, "w") as handle:
            json.dump({"ANSIBLE_MODULE_ARGS": body}, handle)
        return subprocess.Popen(
            [sys.executable, "-c", RUN_MODULE, str(MODULE), name],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONPATH": str(REPO / "scripts")},
        )

    def module(self, args: dict[str, Any], check: bool = False) -> dict[str, Any]:
        proc = self.start_module(args, check)
        out, err = proc.communicate(timeout=300)
        self.outputs += [out, err]
        assert out.strip(), err
        result: dict[str, Any] = json.loads(out)
        return result


def _claim(state: Path) -> int:
    return claims.claim_free(
        state,
        lambda o: [
            (dv.mail_address(o, n), p) for n in (1, 254) for p in (dv.IMAP_PORT, dv.IMAPS_PORT)
        ],
    )


def _identity_map(path: Path) -> None:
    identities = [
        {
            "key": f"{MUNI}/{account}",
            "municipality": MUNI,
            "old_account": account,
            "old_mail": f"{account}@{MUNI}.nl",
            "aliases": [f"{account}@{MUNI}.nl"],
            "username": new_user(account),
            "upn": f"{new_user(account)}@waardstad.nl",
            "mail": f"{new_user(account)}@waardstad.nl",
        }
        for account, _ in PEOPLE
    ]
    identities += [
        {
            "old_account": a,
            "old_mail": f"{a}@{MUNI}.nl",
            "aliases": [],
            "username": a,
            "mail": f"{a}@waardstad.nl",
        }
        for a in (KILLED, FULL, FOUT)
    ]
    path.write_text(json.dumps({"municipality": MUNI, "identities": identities}))


@pytest.fixture(scope="module")
def pair() -> Iterator[MailPair]:
    state = Path(tempfile.mkdtemp(prefix="eendracht-mailrole-", dir="/tmp"))
    state.chmod(0o755)  # the mail processes (uid dovecot) must reach their Maildirs
    paths = LabPaths(state)
    paths.lab.mkdir()
    octet = _claim(state)
    watch = CommandLineWatch(CANARY.encode(), WRONG.encode())
    watch.start()
    people = [dv.MailUser(a, f"{a}@{MUNI}.nl", n) for a, n in PEOPLE]
    readers = tuple(a for a, _ in PEOPLE)
    extra = [
        dv.MailUser(SHARED, f"{SHARED}@{MUNI}.nl", "Secretariaat", readers=readers),
        dv.MailUser(KILLED, f"{KILLED}@{MUNI}.nl", "Afgebroken Verhuizing"),
        dv.MailUser(FULL, f"{FULL}@{MUNI}.nl", "Volle Bus"),
        dv.MailUser(FOUT, f"{FOUT}@{MUNI}.nl", "Fout Wachtwoord"),
    ]
    # Instance names of their own: another lab's checks look for its servers by name.
    source = dv.MailServer(
        "mailrole-bron", dv.mail_address(octet, 1), dv.mail_root(paths, "bron"),
        tuple(people + extra),
    )  # fmt: skip
    target_users = [dv.MailUser(new_user(a), f"{new_user(a)}@waardstad.nl", n) for a, n in PEOPLE]
    target_users += [
        dv.MailUser(f"{SHARED}.{MUNI}", f"{SHARED}.{MUNI}@waardstad.nl", "Secretariaat"),
        dv.MailUser(KILLED, f"{KILLED}@waardstad.nl", "Afgebroken Verhuizing"),
        dv.MailUser(FULL, f"{FULL}@waardstad.nl", "Volle Bus", quota_kib=100),
        dv.MailUser(FOUT, f"{FOUT}@waardstad.nl", "Fout Wachtwoord"),
    ]
    target = dv.MailServer(
        "mailrole-doel", dv.mail_address(octet, 254), dv.mail_root(paths, "doel"),
        tuple(target_users),
    )  # fmt: skip
    # The canary is the first person's password on both sides: planted before prepare.
    write_secret(source.password_file(PEOPLE[0][0]), CANARY)
    write_secret(target.password_file(new_user(PEOPLE[0][0])), CANARY)
    work = state / "moves"
    mapping = state / "identity_map.json"
    _identity_map(mapping)
    mail = MailPair(paths, octet, source, target, work, mapping, watch)
    try:
        for server in (source, target):
            dv.prepare(server)
        # FOUT's source password file says something else than the server knows.
        write_secret(source.password_file(FOUT), WRONG)
        for user in source.users:
            n = 400 if user.account == KILLED else 30
            attachments = 12 if user.account == KILLED else 1
            top = 1 << 20 if user.account == KILLED else 2 * 1024 * 1024
            seed_user(source, user, SEED, n, attachments=attachments, attachment_max=top)
        for server in (source, target):
            mail.records[server.name] = dv.start(server, paths.pids)
        for server in (source, target):
            dv.wait_answering(server, mail.records[server.name])
        publish_shared(source)
        yield mail
    finally:
        watch.stop()
        for server in (source, target):
            dv.stop(server, paths.pids)
        claims.release(octet, state)
        shutil.rmtree(state, ignore_errors=True)


def inventory(server: dv.MailServer, account: str) -> dict[str, Any]:
    """What each folder holds, read over IMAP as its owner (the module_utils' reading)."""
    client = dv.login(server, account)
    try:
        return dict(mailmove.contents(mailmove.inventory(client, ["shared", "shared/*"])))
    finally:
        client.logout()


def message_files(server: dv.MailServer, account: str) -> int:
    maildir = server.files.home(account) / "Maildir"
    return sum(1 for _ in maildir.rglob("cur/*")) + sum(1 for _ in maildir.rglob("new/*"))


PERSONS = [a for a, _ in PEOPLE]
# Ten people by their old account, one by old address, and the function mailbox with its
# new user given, as the role hands them over.
MAIN = [
    *PERSONS[:-1],
    {"source": PERSONS[-1], "address": f"{PERSONS[-1]}@{MUNI}.nl"},
    {"source": SHARED, "address": f"{SHARED}@{MUNI}.nl", "target": f"{SHARED}.{MUNI}"},
]
MAIN_TARGETS = [new_user(a) for a in PERSONS] + [f"{SHARED}.{MUNI}"]


def test_check_mode_copies_nothing_and_says_what_would_move(pair: MailPair) -> None:
    result = pair.module(pair.args("moved", MAIN), check=True)
    assert not result.get("failed"), result.get("msg")
    assert result["changed"] is True
    counts = result["eendracht_counts"]
    assert counts["mailboxes_moved"] == 11 and counts["messages"] == 11 * 30
    assert all(m["status"] == "would move" for m in result["mailboxes"])
    assert counts["bytes"] == sum(m["source_bytes"] for m in result["mailboxes"])
    for user in MAIN_TARGETS:
        assert message_files(pair.target, user) == 0
        # Not even an empty INBOX: one made now would have a UIDVALIDITY the move cannot replace.
        home = pair.target.files.home(user)
        assert not list(home.rglob("dovecot-uidvalidity*")), user
    assert not pair.work.exists() or not list(pair.work.iterdir())


def test_both_servers_answer_every_login(pair: MailPair) -> None:
    result = pair.module(pair.args("check", MAIN))
    assert not result.get("failed"), result.get("msg")
    assert result["eendracht_counts"] == {"mailboxes_checked": 11}


def test_eleven_mailboxes_move_in_one_run_and_verify_perfect(pair: MailPair) -> None:
    result = pair.module(pair.args("moved", MAIN))
    assert not result.get("failed"), result.get("msg")
    assert result["changed"] is True
    assert result["eendracht_counts"]["mailboxes_moved"] == 11
    assert result["eendracht_counts"]["messages"] == 11 * 30
    for entry, (account, user) in zip(
        result["mailboxes"], [*((a, new_user(a)) for a in PERSONS), (SHARED, MAIN_TARGETS[-1])],
        strict=True,
    ):  # fmt: skip
        assert (entry["source"], entry["target"], entry["status"]) == (account, user, "moved")
        before, after = inventory(pair.source, account), inventory(pair.target, user)
        assert after == before and len(after) == 6  # counts, Message-IDs, sizes per folder
        assert sum(f["count"] for f in after.values()) == 30
    assert not list(pair.work.iterdir())  # every per-move include is gone
    # A reader's move did not drag the colleague's function mailbox into their own.
    assert not any(name.startswith("shared") for name in inventory(pair.target, MAIN_TARGETS[0]))
    verified = pair.module(pair.args("verified", MAIN))
    assert not verified.get("failed"), verified.get("msg")
    assert verified["scores"] == {"perfect": 11}
    assert verified["eendracht_counts"] == {"mailboxes_verified": 11, "messages_verified": 330}
    first = verified["mailboxes"][0]
    assert first["source_messages"] == first["target_messages"] == 30
    assert first["missing"] == first["duplicated"] == first["extra"] == 0


def test_a_second_run_copies_nothing(pair: MailPair) -> None:
    files = {u: message_files(pair.target, u) for u in MAIN_TARGETS}
    result = pair.module(pair.args("moved", MAIN))
    assert not result.get("failed"), result.get("msg")
    assert result["changed"] is False
    assert result["eendracht_counts"] == {"mailboxes_moved": 0, "messages": 0, "bytes": 0}
    assert {m["status"] for m in result["mailboxes"]} == {"unchanged"}
    assert {u: message_files(pair.target, u) for u in MAIN_TARGETS} == files
    checked = pair.module(pair.args("moved", MAIN), check=True)
    assert checked["changed"] is False and checked["eendracht_counts"]["messages"] == 0


def test_verify_names_the_folder_of_a_missing_and_a_duplicated_message(pair: MailPair) -> None:
    user = MAIN_TARGETS[2]
    home = pair.target.files.home(user)
    archive = sorted((maildir_folder(home, "Archief/2023") / "cur").iterdir())
    archive[0].unlink()
    inbox = sorted((maildir_folder(home, "INBOX") / "cur").iterdir())
    size = inbox[0].stat().st_size
    copy = inbox[0].with_name(f"{int(time.time())}.M1P1.dubbel,S={size}:2,S")
    shutil.copyfile(inbox[0], copy)
    ids = MailIds.of_mail_user()
    os.chown(copy, ids.uid, ids.gid)
    verified = pair.module(pair.args("verified", MAIN))
    assert verified.get("failed")
    msg = verified["msg"]
    assert msg.startswith("1 of 11 mailboxes not verified: mailbox kbakker (poor)"), msg
    assert "folder Archief/2023: 1 missing (<" in msg and "folder INBOX: 1 duplicated (<" in msg
    bad = verified["mailboxes"][2]
    assert (bad["missing"], bad["duplicated"], bad["score"]) == (1, 1, "poor")
    assert sorted(bad["differing_folders"]) == ["Archief/2023", "INBOX"]
    # dsync's backup would empty the changed folders to make them anew, and cannot for INBOX
    # (it stays empty, doveadm ends with 0): the move refuses the mailbox, nothing changes.
    held = inventory(pair.target, user)
    refused = pair.module(pair.args("moved", [PERSONS[2]]))
    assert refused.get("failed")
    assert refused["msg"] == (
        "1 of 1 mailboxes not moved: mailbox kbakker: the target mailbox k.bakker changed since "
        "it was last moved, in Archief/2023 (1 missing there, 0 added there only), INBOX (0 "
        "missing there, 1 added there only): doveadm backup would empty those folders and make "
        "them anew (INBOX it cannot), so nothing was moved for this mailbox; remove the "
        "target's copy of the mailbox, then move it again"
    )
    assert inventory(pair.target, user) == held and held["INBOX"]["count"] > 1
    # The operator's way out: the target's copy removed, the mailbox moved again.
    shutil.rmtree(home / "Maildir")
    moved = pair.module(pair.args("moved", [PERSONS[2]]))
    assert moved["mailboxes"][0]["messages"] == 30, moved.get("msg")
    again = pair.module(pair.args("verified", [PERSONS[2]]))
    assert again["scores"] == {"perfect": 1}, again.get("msg")


def _move_processes(work: Path) -> list[str]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (entry / "cmdline").read_bytes().decode(errors="replace")
            except OSError:
                continue
            if str(work) in cmdline and "doveadm" in cmdline:
                found.append(cmdline.replace("\0", " "))
    return found


def test_a_run_killed_mid_move_and_run_again_loses_and_doubles_nothing(pair: MailPair) -> None:
    proc = pair.start_module(pair.args("moved", [KILLED], parallel=1))
    deadline = time.monotonic() + 60
    while proc.poll() is None and time.monotonic() < deadline:
        maildir = pair.target.files.home(KILLED) / "Maildir"
        if maildir.exists() and message_files(pair.target, KILLED) >= 20:
            break
        time.sleep(0.002)
    os.kill(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=10)
    assert proc.returncode == -signal.SIGKILL, "the move finished before it could be killed"
    arrived = message_files(pair.target, KILLED)
    assert 0 < arrived < 400, arrived
    # doveadm died with the module (setpriv --pdeathsig), its per-move include stays behind.
    deadline = time.monotonic() + 10
    while _move_processes(pair.work) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _move_processes(pair.work) == []
    assert len(list(pair.work.iterdir())) == 1
    result = pair.module(pair.args("moved", [KILLED]))
    assert not result.get("failed"), result.get("msg")
    assert result["includes_swept"] == 1 and not list(pair.work.iterdir())
    # The killed run's index may count messages whose files it had not finished: the move
    # is reported resumed (changed), whatever the index's counts say arrived.
    entry = result["mailboxes"][0]
    assert (entry["status"], entry["resumed"], result["changed"]) == ("moved", True, True)
    before, after = inventory(pair.source, KILLED), inventory(pair.target, KILLED)
    assert after == before and sum(f["count"] for f in after.values()) == 400
    assert not [i for f in after.values() for i, n in f["ids"].items() if n > 1]
    assert message_files(pair.target, KILLED) == 400


def test_a_mailbox_over_the_target_quota_is_refused_before_anything_moves(pair: MailPair) -> None:
    result = pair.module(pair.args("moved", [FULL, PERSONS[0]]))
    assert result.get("failed")
    msg = result["msg"]
    assert msg.startswith(f"1 of 2 mailboxes not moved: mailbox {FULL}: the target mailbox {FULL}")
    assert "is over its quota" in msg and "the quota is 100 KiB; nothing was copied" in msg
    assert result["mailboxes"][0]["status"] == "failed"
    assert result["mailboxes"][1]["status"] == "unchanged"  # the other mailbox went on
    assert message_files(pair.target, FULL) == 0


def test_a_wrong_source_password_names_the_mailbox_and_not_the_password(pair: MailPair) -> None:
    for state in ("check", "moved"):
        result = pair.module(pair.args(state, [FOUT]))
        assert result.get("failed"), state
        msg = result["msg"]
        assert f"mailbox {FOUT}: the source IMAP server" in msg, msg
        assert f"refused the login of {FOUT}" in msg and "AUTHENTICATIONFAILED" in msg
        assert WRONG not in json.dumps(result)
    assert message_files(pair.target, FOUT) == 0


PLAYBOOK = """
- name: Mailboxes moved once
  hosts: "{{ municipality }}[0]"
  gather_facts: false
  tags: [mail_presync]
  tasks:
    - name: Mailboxes moved once
      ansible.builtin.import_role: {name: mail, tasks_from: presync}

- name: Mailboxes compared
  hosts: "{{ municipality }}[0]"
  gather_facts: false
  tags: [mail_verify]
  tasks:
    - name: Mailboxes compared
      ansible.builtin.import_role: {name: mail, tasks_from: verify}

- name: Exchange Online batches
  hosts: "{{ municipality }}[0]"
  gather_facts: false
  tags: [mail_cutover]
  vars: {mail_target_kind: exchange_online}
  tasks:
    - name: Exchange Online batches
      ansible.builtin.import_role: {name: mail, tasks_from: cutover}
"""


def test_the_role_moves_verifies_and_writes_exchange_batches_through_ansible(
    pair: MailPair, tmp_path: Path
) -> None:
    local = {"ansible_connection": "local", "ansible_python_interpreter": sys.executable}
    inventory_file = tmp_path / "hosts.yml"
    inventory_file.write_text(
        yaml.safe_dump(
            {
                "all": {
                    "children": {
                        MUNI: {"hosts": {"nw-srv01": local}},
                        "mail": {"hosts": {"mail01": local}},
                    }
                }
            }
        )
    )
    mailboxes = [
        {"address": f"{a}@{MUNI}.nl", "kind": "user", "owner": a, "size_gb": 0.1} for a in PERSONS
    ] + [{"address": f"{SHARED}@{MUNI}.nl", "kind": "shared", "size_gb": 0.2}]
    args = pair.args("moved", [])
    extra = {
        "municipality": MUNI,
        "wave_dir": str(tmp_path / "wave"),
        "identity_map_file": str(pair.mapping),
        "mailboxes": mailboxes,
        "programme": {"organisation": {"mail_domain": "waardstad.nl"}},
        "source_services": {"mail": args["source"]},
        "target_services": {"mail": {**args["target"], "server": "mail01", "kind": "dovecot"}},
        "mail_work_dir": str(pair.work),
    }
    (tmp_path / "extra.json").write_text(json.dumps(extra))
    playbook = tmp_path / "mail.yml"
    playbook.write_text(PLAYBOOK)
    done = subprocess.run(
        [str(BIN / "ansible-playbook"), "-i", str(inventory_file), "-e", f"@{tmp_path / 'extra.json'}",
         str(playbook)],
        capture_output=True, text=True, timeout=300,
        env={**os.environ, "ANSIBLE_CONFIG": str(REPO / "ansible.cfg"), "ANSIBLE_NOCOLOR": "1"},
    )  # fmt: skip
    pair.outputs += [done.stdout, done.stderr]
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert "NOT executed here, New-MigrationBatch needs a tenant" in done.stdout
    recap = done.stdout[done.stdout.index("PLAY RECAP") :]
    assert "failed=0" in recap
    batch = (tmp_path / "wave" / "artifacts" / f"{MUNI}-exchange-batch-01.csv").read_text()
    lines = batch.splitlines()
    assert lines[0].startswith("# eendracht import file, NOT executed: New-MigrationBatch needs")
    # An IMAP migration batch's columns; the password is never written (filled at import).
    assert lines[1] == '"EmailAddress","UserName","Password"'
    assert lines[2] == '"p.jansen@waardstad.nl","pjansen",""'
    assert lines[-1] == f'"{SHARED}.{MUNI}@waardstad.nl","{SHARED}@{MUNI}.nl",""'


def test_no_password_on_a_command_line_in_a_result_or_a_log(pair: MailPair) -> None:
    watch = pair.watch
    assert watch.scans > 10 and watch.hits == []
    text = "\n".join(pair.outputs)
    assert text and CANARY not in text and WRONG not in text
    assert json.dumps(CANARY)[1:-1] not in text
    for server in (pair.source, pair.target):
        for log in server.files.log.parent.iterdir():
            said = log.read_text(errors="replace")
            assert CANARY not in said and WRONG not in said
    assert not list(pair.work.iterdir())
