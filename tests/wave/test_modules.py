"""The custom Ansible modules' logic, on real files and with real LDIF/rsync/dig text."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from wave_support import REPO, role_file

from eendracht.module_utils import load_module_utils

ROLES = REPO / "playbooks" / "roles"
# What the modules import from `ansible.module_utils` (Ansible ships playbooks/module_utils/).
for _shared in (
    "eendracht_fsflags",
    "eendracht_ldif",
    "eendracht_ad",
    "eendracht_posix_acl",
    "eendracht_owners",
    "eendracht_dns",
):
    load_module_utils(_shared)


rsync = load_module_utils("eendracht_copy")  # the rsync module's work, and its action plugin's
manifest = role_file("files", "library", "eendracht_manifest")
freeze = role_file("files", "library", "eendracht_freeze")
dns = load_module_utils("eendracht_dns")  # the dns role's batch: its action plugin and module
directory = role_file("identity", "library", "eendracht_directory")
app_config = role_file("applications", "library", "eendracht_app_config")

RSYNC_STATS = """
Number of files: 1,204 (reg: 1,100, dir: 100, link: 4)
Number of created files: 12
Number of deleted files: 3
Number of regular files transferred: 11
Total file size: 2,345,678 bytes
Total transferred file size: 45,678 bytes
"""


def test_rsync_stats_and_command() -> None:
    counts = rsync.parse_stats(RSYNC_STATS)
    assert counts == {
        "files_total": 1204,
        "files_transferred": 11,
        "files_deleted": 3,
        "bytes_total": 2345678,
        "bytes_transferred": 45678,
    }
    params = {
        "src": "/srv/a",
        "dest": "/data/a",
        "dest_host": "10.0.0.5",
        "dest_port": 2222,
        "dest_user": "root",
        "ssh_key": "/k",
        "ssh_args": "-o StrictHostKeyChecking=no",
        "mirror": False,
        "checksum": False,
    }
    argv = rsync.rsync_command(params, check_mode=False)
    assert argv[:4] == ["rsync", "-aHAX", "--numeric-ids", "--stats"]  # nothing detected: all kept
    plain = rsync.rsync_command(
        params, False, {"hard_links": False, "acls": False, "xattrs": False}
    )
    assert plain[1] == "-a"
    assert "--delete" not in argv and "--dry-run" not in argv
    assert argv[-2:] == ["/srv/a/", "root@10.0.0.5:/data/a/"]
    assert "-p 2222" in argv[argv.index("-e") + 1]
    mirrored = rsync.rsync_command({**params, "mirror": True}, check_mode=True)
    assert "--delete" in mirrored and "--dry-run" in mirrored


def _tree(root: Path) -> None:
    (root / "sub dir").mkdir(parents=True)
    (root / "sub dir" / "Notulen – ë.docx").write_bytes(b"x" * 100)
    (root / "a.txt").write_text("hello")
    os.link(root / "a.txt", root / "a-hard.txt")
    (root / "link").symlink_to("a.txt")
    os.chmod(root / "a.txt", 0o640)


def _write(path: Path, entries: list[dict[str, object]]) -> Path:
    import json

    path.write_text("".join(json.dumps(e) + "\n" for e in entries))
    return path


def test_manifest_finds_every_kind_of_difference(tmp_path: Path) -> None:
    source, target = tmp_path / "s", tmp_path / "t"
    _tree(source)
    _tree(target)
    os.utime(target / "a.txt", (0, os.stat(source / "a.txt").st_mtime))
    os.utime(
        target / "sub dir" / "Notulen – ë.docx",
        (0, os.stat(source / "sub dir" / "Notulen – ë.docx").st_mtime),
    )
    want = {e["path"]: e for e in manifest.describe(str(source))}
    have = {e["path"]: e for e in manifest.describe(str(target))}
    assert want["link"]["type"] == "link" and want["link"]["link"] == "a.txt"
    assert want["a.txt"]["nlink"] == 2
    counts, diffs = manifest.compare(want, have, mirror=False, max_listed=10)
    assert diffs == [] and counts["files_verified"] == 3
    (target / "sub dir" / "Notulen – ë.docx").write_bytes(b"y" * 100)
    os.chmod(target / "a.txt", 0o600)
    (target / "link").unlink()
    (target / "link").symlink_to("elders")
    (target / "extra").write_text("only on the target")
    have = {e["path"]: e for e in manifest.describe(str(target))}
    counts, diffs = manifest.compare(want, have, mirror=False, max_listed=10)
    # a.txt and its hard link share their mode: both differ
    assert counts["differences"] == 4 and counts["target_extras"] == 1
    joined = "\n".join(diffs)
    assert "sha256" in joined and "mode" in joined and "link" in joined
    counts, diffs = manifest.compare(want, have, mirror=True, max_listed=10)
    assert "not on source (mirror): extra" in diffs
    del have["a.txt"]
    _, diffs = manifest.compare(want, have, mirror=False, max_listed=10)
    assert "missing on target: a.txt" in diffs


def test_freeze_refuses_writes_and_thaw_restores(tmp_path: Path) -> None:
    share = tmp_path / "share"
    _tree(share)
    try:
        changed = freeze.apply_tree(str(share), True)
    except OSError as exc:
        pytest.skip(f"no immutable attribute here: {exc}")
    try:
        assert changed == 4  # 2 inodes (one hard-linked twice), a folder, the share; no symlink
        assert freeze.write_refused(str(share))
        with pytest.raises(OSError):
            (share / "a.txt").write_text("changed")
        assert freeze.apply_tree(str(share), True) == 0  # idempotent
    finally:
        freeze.apply_tree(str(share), False)
    assert not freeze.write_refused(str(share))
    assert (share / "a.txt").read_text() == "hello"


def test_dns_values_and_batch_lines() -> None:
    assert dns.fqdn("@", "noordwaard.nl") == "noordwaard.nl."
    assert dns.fqdn("www", "noordwaard.nl") == "www.noordwaard.nl."
    assert dns.normalise("CNAME", "avd.waardstad.nl") == "avd.waardstad.nl."
    assert dns.normalise("MX", "0  x.outlook.com.") == "0 x.outlook.com."
    assert dns.normalise("TXT", "v=spf1 -all") == '"v=spf1 -all"'
    assert dns.normalise("A", "10.0.0.1") == "10.0.0.1"

    outputs = {"application_gateway_ip": "10.9.0.4", "workplace_fqdn": "avd.waardstad.nl"}
    record = {"name": "www", "type": "A", "cutover_output": "application_gateway_ip"}
    assert dns.new_value_of(record, outputs) == "10.9.0.4"
    assert dns.new_value_of({"name": "x", "type": "A", "value": "1.2.3.4"}, outputs) is None
    mx = {"name": "@", "type": "MX", "cutover_output": "workplace_fqdn"}
    assert dns.new_value_of(mx, outputs) == "0 avd.waardstad.nl"
    with pytest.raises(dns.DnsBatchError, match="no stack output"):
        dns.new_value_of({"name": "y", "type": "A", "cutover_output": "nope"}, outputs)
    lines = dns.rrset_lines("www.noordwaard.nl.", "A", 300, ["10.9.0.4"])
    assert lines == [
        "update delete www.noordwaard.nl. A",
        "update add www.noordwaard.nl. 300 A 10.9.0.4",
    ]


def test_directory_ldif_round_trip_and_desired_state() -> None:
    identity = {
        "username": "d.vandenberg",
        "display_name": "Daniëlle van den Berg",
        "given_name": "Daniëlle",
        "prefix": "van den",
        "surname": "Berg",
        "mail": "d.vandenberg@waardstad.nl",
        "aliases": ["danielle.vandenberg@noordwaard.nl"],
        "department": "Sociaal Domein",
        "old_account": "dvandenberg",
        "enabled": True,
    }
    want = directory.desired_account(identity, "noordwaard")
    text = directory.add_record("uid=d.vandenberg,ou=people,dc=w,dc=nl", want)
    assert "cn:: " in text  # non-ASCII values travel base64-encoded
    parsed = directory.parse_ldif(text)[0]
    assert parsed["cn"] == ["Daniëlle van den Berg"]
    assert directory.account_changes(want, parsed) == []
    parsed["mail"] = ["old@noordwaard.nl"]
    assert directory.account_changes(want, parsed) == [
        ("replace", "mail", ["d.vandenberg@waardstad.nl"])
    ]
    groups = directory.desired_groups([identity], "noordwaard", "ou=people,dc=w,dc=nl")
    assert set(groups) == {"afdeling-sociaal-domein", "voorheen-noordwaard"}
    change = directory.modify_record("cn=g,dc=w", [("add", "member", ["uid=a,dc=w"])])
    assert change.splitlines()[1:4] == ["changetype: modify", "add: member", "member: uid=a,dc=w"]


def test_app_config_merges_one_level() -> None:
    current = {"database": {"dsn": "a", "passfile": "p"}, "koppelingen": {"BRP": "x"}, "n": 1}
    merged = app_config.merged(current, {"database": {"dsn": "b"}, "maintenance": True})
    assert merged == {
        "database": {"dsn": "b", "passfile": "p"},
        "koppelingen": {"BRP": "x"},
        "n": 1,
        "maintenance": True,
    }


def test_dns_batches_split_between_rrsets_only() -> None:
    groups = [dns.rrset_lines(f"r{i}.z.", "A", 300, ["10.0.0.1", "10.0.0.2"]) for i in range(700)]
    parts = list(dns.messages(groups))
    assert sum(len(p) for p in parts) == 700 * 3
    assert all(len(p) <= dns.MAX_LINES_PER_MESSAGE for p in parts)
    assert all(p[0].startswith("update delete") and p[-1].startswith("update add") for p in parts)


def test_rsync_detects_what_the_tree_needs(tmp_path: Path) -> None:
    (tmp_path / "a").write_text("a")
    assert rsync.tree_features(str(tmp_path)) == {
        "hard_links": False,
        "acls": False,
        "xattrs": False,
    }
    os.link(tmp_path / "a", tmp_path / "b")
    try:
        os.setxattr(tmp_path / "a", "user.eendracht", b"1")
    except OSError:
        pytest.skip("no user xattrs on this file system")
    features = rsync.tree_features(str(tmp_path))
    assert features["hard_links"] and features["xattrs"]


def _run_copy(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    check_mode: bool,
    proof_stats: str,
    during_copy: Callable[[], object] = lambda: None,
    copy_rc: int = 0,
    connection: Any = None,
) -> tuple[list[list[str]], dict[str, Any]]:
    """The copy (eendracht_copy.copy, what the module and its action plugin run) with rsync
    and its early SSH connection replaced: the argvs it ran and its result (`failed` and `msg`
    if it refused). `during_copy` runs while the copy "runs" (to change the source under it)."""
    ran: list[list[str]] = []
    params = {
        "src": str(tmp_path), "dest": "/data/a", "dest_host": "10.0.0.5",
        "dest_port": 22, "dest_user": "root", "ssh_key": None, "ssh_args": "",
        "mirror": False, "checksum": False, "detect": True, "prove": True,
        "owners": {"users": {}, "groups": {}}, "keeps": list(rsync.ALL_KEEPS),
        "scan_only": False, "timeout": 60, "io_timeout": 60,
    }  # fmt: skip

    def run(argv: list[str], timeout: int) -> tuple[int, str, int, list[str], str]:
        ran.append(argv)
        if len(ran) == 1:
            during_copy()
        stats = RSYNC_STATS if len(ran) == 1 else proof_stats
        changed = rsync.parse_stats(stats)["files_transferred"]
        rc = copy_rc if len(ran) == 1 else 0
        return rc, stats, changed, [f">f.st...... file{n}" for n in range(changed)], ""

    monkeypatch.setattr(rsync, "run", run)
    monkeypatch.setattr(
        rsync,
        "early_connection",
        connection or (lambda _: contextlib.nullcontext(lambda: ["-S", "m"])),
    )
    try:
        return ran, {**rsync.copy(params, check_mode), "failed": False}
    except rsync.CopyError as refused:
        return ran, {**refused.details, "failed": True, "msg": str(refused)}


NOTHING_LEFT = RSYNC_STATS.replace("transferred: 11", "transferred: 0")


def test_rsync_proves_a_source_that_held_still_by_its_digest_alone(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / "a").write_text("a")
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "b").write_text("b")
    ran, outcome = _run_copy(monkeypatch, tmp_path, False, RSYNC_STATS)
    assert len(ran) == 1 and "--dry-run" not in ran[0]  # no second rsync
    assert ran[0][ran[0].index("-e") + 1].endswith("-S m")  # over the early connection
    assert not outcome["failed"] and outcome["changed"]
    assert outcome["eendracht_proof"] == {
        "method": "source unchanged", "entries_compared": 4, "entries_changed": 0,
    }  # fmt: skip

    ran, outcome = _run_copy(monkeypatch, tmp_path, True, RSYNC_STATS)
    assert len(ran) == 1 and "--dry-run" in ran[0] and not outcome["failed"]
    assert "eendracht_proof" not in outcome  # check mode copied nothing to prove


@pytest.mark.parametrize(
    "change",
    [
        lambda root: (root / "a").write_text("A"),  # content, same size
        lambda root: os.chmod(root / "a", 0o600),
        lambda root: (root / "new").write_text("n"),
        lambda root: (root / "a").rename(root / "renamed"),
        lambda root: os.setxattr(root / "a", "user.eendracht", b"1"),
    ],
    ids=["content", "mode", "added", "renamed", "xattr"],
)
def test_a_source_changed_during_the_copy_is_proved_by_a_dry_run_of_the_same_flags(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, change: Callable[[Path], object]
) -> None:
    source = tmp_path / "share"
    source.mkdir()
    (source / "a").write_text("a")

    def changing() -> None:
        try:
            change(source)
        except OSError:
            pytest.skip("no user xattrs on this file system")

    ran, outcome = _run_copy(monkeypatch, source, False, NOTHING_LEFT, changing)
    assert len(ran) == 2 and ran[1] == [*ran[0][:-2], "--dry-run", *ran[0][-2:]]
    assert not outcome["failed"] and outcome["eendracht_proof"]["method"] == "dry run"
    assert outcome["eendracht_proof"]["files_transferred"] == 0

    late = source / "late"
    ran, outcome = _run_copy(monkeypatch, source, False, RSYNC_STATS, late.touch)
    assert outcome["failed"] and "(11 files to copy)" in str(outcome["msg"])
    assert outcome["eendracht_counts"]["files_transferred"] == 11  # what the copy did


def test_files_vanishing_under_rsync_are_proved_by_a_dry_run(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / "a").write_text("a")
    ran, outcome = _run_copy(monkeypatch, tmp_path, False, NOTHING_LEFT, copy_rc=24)
    assert len(ran) == 2 and "--dry-run" in ran[1] and not outcome["failed"]


def test_the_copy_ends_its_early_ssh_connection_whether_it_runs_or_is_refused(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The connection to the target is opened before the walk (its handshake overlaps it) and
    ended however the copy ends: after the copy, or when an unmapped owner refuses it."""
    events: list[str] = []
    walked = rsync.scan_tree
    monkeypatch.setattr(rsync, "scan_tree", lambda root: events.append("walk") or walked(root))

    @contextlib.contextmanager
    def connection(_: object) -> Iterator[Callable[[], list[str]]]:
        events.append("started")
        try:
            yield lambda: events.append("waited") or ["-S", "m"]
        finally:
            events.append("ended")

    (tmp_path / "a").write_text("a")
    ran, outcome = _run_copy(monkeypatch, tmp_path, False, NOTHING_LEFT, connection=connection)
    assert not outcome["failed"] and len(ran) == 1
    assert events == ["started", "walk", "waited", "ended"]

    events.clear()
    os.chown(tmp_path / "a", 54321, 54321)  # a number the (empty) translation does not map
    ran, outcome = _run_copy(monkeypatch, tmp_path, False, NOTHING_LEFT, connection=connection)
    assert outcome["failed"] and "have no new account" in str(outcome["msg"]) and not ran
    assert events == ["started", "walk", "ended"]


def test_the_copy_waits_out_the_tick_of_the_latest_change_and_distrusts_a_clock_ahead(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A second change within the tick of an entry's last change keeps its ctime: the copy
    starts only when that tick is over (fine timestamps: 20 ms; whole seconds: 2 s)."""
    slept: list[float] = []
    monkeypatch.setattr(rsync.time, "sleep", slept.append)
    now = 1_800_000_000_123_456_789
    monkeypatch.setattr(rsync.time, "time_ns", lambda: now)

    def digest(*ctimes: int) -> Any:
        d = rsync.Digest()
        for i, ctime in enumerate(ctimes):
            d.add(
                str(i),
                os.stat_result((0o100644, i, 0, 1, 0, 0, 1, 0, 0, 0, 0.0, 0.0, 0.0, 0, 0, ctime)),
            )
        return d

    assert digest(now - 5_000_000).settle() and slept == [pytest.approx(0.015)]
    slept.clear()
    assert digest(now - 10**10).settle() and slept == []  # changed long ago
    whole = now // 10**9 * 10**9
    assert digest(whole, whole - 10**9).settle() and slept == [pytest.approx(2 - 0.123456789)]
    slept.clear()
    assert not digest(now + 10**9).settle() and slept == []  # another clock: the dry run proves


# --- every client tool a module starts is ended by the module's `timeout` ------------------

HANGING_TOOL = "#!/bin/sh\nexec sleep 30\n"  # exec: the module's kill reaches the sleep itself
# The module as Ansible runs it, in a process of its own, with the module_utils it imports.
RUN_MODULE = (
    "import runpy, sys;"
    "from eendracht.module_utils import load_module_utils;"
    "[load_module_utils(n) for n in ('eendracht_fsflags', 'eendracht_ldif', 'eendracht_ad', 'eendracht_posix_acl', 'eendracht_copy',"
    " 'eendracht_owners', 'eendracht_dns')];"
    "sys.argv = sys.argv[1:];"
    "runpy.run_path(sys.argv[0], run_name='__main__')"
)


@pytest.mark.parametrize(
    ("role", "name", "tool", "args"),
    [
        (
            "identity",
            "eendracht_directory",
            "ldapsearch",
            {
                "state": "check",
                "mapping_file": "STATE/mapping.json",
                "source": {
                    "uri": "ldap://127.0.0.1:1",
                    "bind_dn": "cn=a",
                    "password_file": "/nonexistent",
                    "people_dn": "ou=people,dc=noordwaard,dc=nl",
                },
                "target": {
                    "uri": "ldap://127.0.0.1:2",
                    "bind_dn": "cn=b",
                    "password_file": "/nonexistent",
                    "people_dn": "ou=people,dc=waardstad,dc=nl",
                },
            },
        ),
        (
            "files",
            "eendracht_manifest",
            "ldapsearch",
            {
                "mode": "owners",
                "mapping_file": "STATE/mapping.json",
                "directory": {
                    "uri": "ldap://127.0.0.1:1",
                    "bind_dn": "cn=a",
                    "password_file": "/nonexistent",
                    "base_dn": "dc=noordwaard,dc=nl",
                },
            },
        ),
        (
            "files",
            "eendracht_rsync",
            "rsync",
            {
                "src": "STATE/share",
                "dest": "/srv/shares/a",
                "dest_host": "127.0.0.1",
                "owners": {"users": {}, "groups": {}, "keep_below": 2**32},
            },
        ),
        (
            "applications",
            "eendracht_pg",
            "psql",
            {
                "state": "connect",
                "source": {"host": "127.0.0.1", "port": 1, "user": "u", "db": "zaken"},
                "passfile": "/nonexistent/pgpass",
            },
        ),
    ],
)
def test_a_hanging_client_tool_fails_the_module_after_its_timeout(
    tmp_path: Path, role: str, name: str, tool: str, args: dict[str, object]
) -> None:
    tools = tmp_path / "bin"
    tools.mkdir()
    (tools / tool).write_text(HANGING_TOOL)
    (tools / tool).chmod(0o755)
    (tmp_path / "mapping.json").write_text(
        json.dumps({"municipality": "noordwaard", "identities": []})
    )
    (tmp_path / "share").mkdir()
    text = json.dumps({**args, "timeout": 1}).replace("STATE/", f"{tmp_path}/")
    args_file = tmp_path / "args.json"
    args_file.write_text(json.dumps({"ANSIBLE_MODULE_ARGS": json.loads(text)}))
    started = time.monotonic()
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            RUN_MODULE,
            str(ROLES / role / "library" / f"{name}.py"),
            str(args_file),
        ],
        capture_output=True,
        text=True,
        env={
            **os.environ,
            "PATH": f"{tools}{os.pathsep}{os.environ['PATH']}",
            "PYTHONPATH": str(REPO / "scripts"),
        },
        timeout=25,
    )
    assert time.monotonic() - started < 15, "the module waited for the tool"
    result = json.loads(done.stdout) if done.stdout.strip() else {"stderr": done.stderr}
    assert result.get("failed"), result
    assert result["msg"].startswith(tool) and result["msg"].endswith("timed out after 1 s")
