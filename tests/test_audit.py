"""The hash-chained audit trail: what a wave records, and that an edit or a deletion in the
journal is detected by `eendracht audit verify` (BIO2 8.15.01, 8.15.05)."""

from __future__ import annotations

import itertools
import json
import shutil
import sqlite3
import threading
from collections.abc import Callable
from contextlib import closing
from pathlib import Path

import pytest
from typer.testing import CliRunner

from eendracht import audit
from eendracht.cli import app
from eendracht.wave.journal import Journal
from eendracht.wave.lock import host_name, os_user

runner = CliRunner()
CANARY = "canary-approver-s3cr3t-7f3a"


def wave_journal(tmp_path: Path) -> Path:
    """A journal of a wave that ran to the gate, was approved, then rolled back, with a
    crashed run and a refusal on the way: every kind of record."""
    path = tmp_path / "waves" / "altena" / "woudrichem" / "journal.sqlite"
    journal = Journal(path)
    journal.add_secrets((CANARY,))
    crashed = journal.start_run("wave", pid=11, lab=True)
    assert crashed
    resumed = journal.start_run("wave", pid=12, lab=True, resumed=True)  # after the crash
    journal.finish_run(resumed, "at_gate", "verify passed")
    journal.audit("rollback", "refused", by="")
    journal.approve(f"Marieke de Vries {CANARY}", resumed)
    rollback = journal.start_run("rollback", pid=13, lab=True)
    journal.finish_run(rollback, "ok")
    journal.close()
    return path


def verify(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["audit", "verify", *args])
    return result.exit_code, result.output


def test_a_wave_records_every_action_with_actor_object_result_origin_and_time(
    tmp_path: Path,
) -> None:
    path = wave_journal(tmp_path)
    with closing(Journal(path)) as journal:
        trail = journal.audit_trail()
    assert [(r.action, r.result) for r in trail] == [
        ("run", "started"),
        ("run", "interrupted"),
        ("resume", "started"),
        ("resume", "at_gate"),
        ("rollback", "refused"),
        ("approve", "approved"),
        ("rollback", "started"),
        ("rollback", "ok"),
    ]
    assert {r.object for r in trail} == {"altena/woudrichem"}
    assert {(r.actor_os_user, r.host) for r in trail} == {(os_user(), host_name())}
    approval = trail[5]
    assert approval.actor_by == "Marieke de Vries ********"
    assert [r.id for r in trail] == list(range(1, 9))
    assert all(a.at <= b.at for a, b in itertools.pairwise(trail))
    assert CANARY.encode() not in path.read_bytes()


def test_an_intact_trail_verifies_and_exports(tmp_path: Path) -> None:
    path = wave_journal(tmp_path)
    before = path.read_bytes()

    code, output = verify(str(path))
    assert code == 0, output
    assert output.strip() == f"{path}: audit trail intact, 8 records"

    code, output = verify(str(path), "--export", "json")
    assert code == 0
    document = json.loads(output[: output.rindex("}") + 1])
    assert document["intact"] is True
    assert [r["action"] for r in document["records"]][:3] == ["run", "run", "resume"]
    assert document["records"][0]["time"].endswith("+00:00")

    csv_file = tmp_path / "audit.csv"
    code, _ = verify(str(path), "--export", "csv", "--out", str(csv_file))
    assert code == 0
    lines = csv_file.read_text("utf-8").splitlines()
    assert lines[0] == "time,id,at,actor_os_user,actor_by,action,object,result,host,prev_hash,hash"
    assert len(lines) == 9
    assert path.read_bytes() == before  # read-only: looking changes nothing


Tamper = Callable[[sqlite3.Connection], None]
TAMPERING: dict[str, tuple[Tamper, str]] = {
    "a result edited": (
        lambda db: db.execute("UPDATE audit SET result='ok' WHERE id=4"),
        "record 4: edited (its hash differs)",
    ),
    "an approver edited": (
        lambda db: db.execute("UPDATE audit SET actor_by='Someone Else' WHERE action='approve'"),
        "record 6: edited (its hash differs)",
    ),
    "a record deleted": (
        lambda db: db.execute("DELETE FROM audit WHERE id=5"),
        "record 5 is missing (deleted)",
    ),
    "the newest record deleted": (
        lambda db: db.execute("DELETE FROM audit WHERE id=8"),
        "record 8 is missing (deleted): ids were given up to 8",
    ),
    "every record deleted": (
        lambda db: db.execute("DELETE FROM audit"),
        "record 1 is missing (deleted): ids were given up to 8",
    ),
    "a record deleted and the rest renumbered": (
        lambda db: (
            db.execute("DELETE FROM audit WHERE id=3"),
            db.execute("UPDATE audit SET id=id-1 WHERE id>3"),
            db.execute("UPDATE sqlite_sequence SET seq=7 WHERE name='audit'"),
        ),
        "record 3: the chain breaks (a record was removed)",
    ),
    "a record rehashed after its edit": (
        lambda db: _edit_and_rehash(db, 2),
        "record 3: the chain breaks (a record was removed)",
    ),
}


def _edit_and_rehash(db: sqlite3.Connection, record_id: int) -> None:
    """The careful forger: edits a record and recomputes its own hash (not the next one's)."""
    row = db.execute(f"SELECT * FROM audit WHERE id={record_id}").fetchone()
    fields = list(row[:-1])
    fields[6] = "ok"  # result
    digest = audit.record_hash(*fields)
    db.execute("UPDATE audit SET result='ok', hash=? WHERE id=?", (digest, record_id))


@pytest.mark.parametrize("case", sorted(TAMPERING))
def test_an_edit_or_deletion_is_detected(tmp_path: Path, case: str) -> None:
    path = wave_journal(tmp_path)
    tamper, reason = TAMPERING[case]
    with closing(sqlite3.connect(path, isolation_level=None)) as db:
        tamper(db)

    code, output = verify(str(path))

    assert code == 1, output
    assert output.strip() == f"{path}: audit trail NOT intact: {reason}"


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (lambda p: None, "no such file"),
        (lambda p: p.write_text("not a database at all " * 100), "is not a journal"),
        (
            lambda p: (
                sqlite3.connect(p).execute("CREATE TABLE runs (id INTEGER)").connection.commit()
            ),
            "has no audit trail",
        ),
    ],
    ids=["missing", "not-sqlite", "no-audit-table"],
)
def test_bad_input_is_one_line_and_exit_2(
    tmp_path: Path, make: Callable[[Path], None], reason: str
) -> None:
    path = tmp_path / "journal.sqlite"
    make(path)
    code, output = verify(str(path))
    assert code == 2
    assert len(output.strip().splitlines()) == 1
    assert output.startswith(f"{path}: {reason}")
    assert "Traceback" not in output


def test_concurrent_writers_keep_one_chain(tmp_path: Path) -> None:
    """The status command, a second terminal's approve and the wave write the same journal:
    each record is appended inside its own write transaction, so the chain stays whole."""
    path = tmp_path / "waves" / "p" / "m" / "journal.sqlite"
    Journal(path).close()

    def writer(number: int) -> None:
        with closing(Journal(path)) as journal:
            for _ in range(25):
                journal.audit("override", f"writer {number}")

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    with closing(sqlite3.connect(path)) as db:
        verdict = audit.verify(db)
    assert verdict == audit.Verdict(True, 100, "")


def test_actions_outside_a_wave_go_to_the_state_audit_log(tmp_path: Path) -> None:
    log = tmp_path / "audit.sqlite"
    assert audit.audited(log, "lab up", "inventory/altena", lambda: 42) == 42
    with pytest.raises(RuntimeError):
        audit.audited(log, "lab down", "lab", _fails)
    with closing(audit.open_read_only(log)) as db:
        assert [(r.action, r.object, r.result) for r in audit.records(db)] == [
            ("lab up", "inventory/altena", "ok"),
            ("lab down", "lab", "failed"),
        ]
        assert audit.verify(db).intact
    assert (log.stat().st_mode & 0o777) == 0o600
    copy = tmp_path / "copy.sqlite"
    shutil.copy(log, copy)
    code, _ = verify(str(copy))
    assert code == 0


def _fails() -> None:
    raise RuntimeError("lab could not stop")


def test_lab_down_is_audited_and_refused_input_writes_nothing(tmp_path: Path) -> None:
    state = tmp_path / "state"
    env = {"EENDRACHT_STATE": str(state)}
    bad = tmp_path / "not-a-programme"
    bad.mkdir()
    refused = runner.invoke(app, ["lab", "up", str(bad)], env=env)
    assert refused.exit_code == 2, refused.output
    assert not (state / "audit.sqlite").exists()  # bad input: nothing done, nothing written

    down = runner.invoke(app, ["lab", "down"], env=env)
    assert down.exit_code == 0, down.output
    with closing(audit.open_read_only(state / "audit.sqlite")) as db:
        (record,) = audit.records(db)
        assert (record.action, record.object, record.result) == ("lab down", "lab", "ok")
        assert record.actor_os_user == os_user() and record.host == host_name()
