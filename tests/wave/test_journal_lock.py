"""Journal, lock, secrets and step bookkeeping: the parts of resume that need no Ansible;
and the step timeout, which ends one (tiny) ansible-playbook run."""

from __future__ import annotations

import fcntl
import json
import os
import pwd
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
from wave_support import MINI

from eendracht.plan import build_runbook
from eendracht.programme.loader import load_programme
from eendracht.wave.journal import Journal, StepKey
from eendracht.wave.leftovers import leftover_processes, stop_leftovers
from eendracht.wave.lock import WaveLock, WaveLocked
from eendracht.wave.orchestrator import Wave
from eendracht.wave.runner import Runner, StepResult, redact, result_counts
from eendracht.wave.secrets import CENSORED, scrub
from eendracht.wave.steps import WaveStep, rollback_steps, wave_steps


def test_journal_records_and_resume_sets(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "journal.sqlite")
    assert oct((tmp_path / "journal.sqlite").stat().st_mode & 0o777) == "0o600"
    run = journal.start_run("wave", 1, lab=True)
    journal.start_phase(run, "presync")
    journal.start_step(run, "presync", "presync.files.a", "copy a")
    journal.record_host_result(
        run,
        "presync",
        "presync.files.a",
        task_uuid="t1",
        task="copy",
        host="h1",
        status="changed",
        started_at=1.0,
        finished_at=3.5,
        counts={"bytes_transferred": 10, "password": 5},
        message="bind password=hunter2",
    )
    journal.finish_step(run, "presync", "presync.files.a", "ok")
    journal.start_step(run, "presync", "presync.files.b", "copy b")
    # The process dies here; the next run finds the step and the run still 'running'.
    run2 = journal.start_run("wave", 2, lab=True, resumed=True)
    runs = journal.runs()
    assert runs[0]["status"] == "interrupted"
    assert {s["step_id"]: s["status"] for s in journal.steps()} == {
        "presync.files.a": "ok",
        "presync.files.b": "interrupted",
    }
    assert journal.done_steps() == {StepKey("presync", "presync.files.a")}
    assert journal.started_steps() == {"presync.files.a", "presync.files.b"}
    counts = journal.counts()
    assert counts == {"presync": {"bytes_transferred": 10}}  # the secret-named key is censored
    result = journal.host_results()[0]
    assert result["duration"] == 2.5
    assert json.loads(result["counts"])["password"] == CENSORED
    assert journal.task_seconds(run) == 2.5
    # A successful rollback starts the wave over: nothing done, the gate closed again.
    journal.approve("CIO", run2)
    assert journal.approval() is not None
    journal.finish_run(run2, "ok")
    rb = journal.start_run("rollback", 3, lab=True)
    journal.finish_run(rb, "ok")
    assert journal.done_steps() == set()
    assert journal.approval() is None
    journal.close()


def test_lock_refuses_second_holder_and_reports_stale(tmp_path: Path) -> None:
    path = tmp_path / "wave.lock"
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    path.write_text(json.dumps({"pid": int(dead.stdout), "since": "2026-01-01T00:00:00Z"}))
    first = WaveLock(path, "noordwaard")
    first.acquire()
    assert first.stale_holder == int(dead.stdout)
    with pytest.raises(WaveLocked) as exc:
        WaveLock(path, "noordwaard").acquire()
    user, host = pwd.getpwuid(os.geteuid()).pw_name, socket.gethostname()
    assert str(exc.value).startswith(
        f"wave for noordwaard is running (user {user} on host {host}, pid {os.getpid()}, since 20"
    )
    assert (exc.value.user, exc.value.host, exc.value.pid) == (user, host, os.getpid())
    holder = json.loads(path.read_text())
    assert holder["user"] == user and holder["host"] == host and holder["since"].endswith("Z")
    first.release()
    with WaveLock(path, "noordwaard"):
        pass


def test_lock_written_by_an_older_version_still_names_its_pid(tmp_path: Path) -> None:
    path = tmp_path / "wave.lock"
    path.write_text(json.dumps({"pid": 4711, "since": "2027-03-05T18:00:02Z"}))
    with path.open("r+") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        with pytest.raises(WaveLocked) as exc:
            WaveLock(path, "woudrichem").acquire()
    assert str(exc.value) == "wave for woudrichem is running (pid 4711, since 2027-03-05T18:00:02Z)"
    assert exc.value.user is None


def test_lock_is_released_when_its_holder_is_killed(tmp_path: Path) -> None:
    path = tmp_path / "wave.lock"
    code = (
        "import sys, time; sys.path.insert(0, sys.argv[2]);"
        "from eendracht.wave.lock import WaveLock;"
        "WaveLock(__import__('pathlib').Path(sys.argv[1]), 'x').acquire();"
        "print('locked', flush=True); time.sleep(60)"
    )
    scripts = str(Path(__file__).resolve().parents[2] / "scripts")
    holder = subprocess.Popen(
        [sys.executable, "-c", code, str(path), scripts], stdout=subprocess.PIPE
    )
    assert holder.stdout is not None and holder.stdout.readline().strip() == b"locked"
    with pytest.raises(
        WaveLocked, match=f"on host {socket.gethostname()}, pid {holder.pid}, since"
    ):
        WaveLock(path, "x").acquire()
    holder.kill()
    holder.wait()
    lock = WaveLock(path, "x")
    lock.acquire()
    assert lock.stale_holder == holder.pid
    lock.release()


def test_secrets_scrubbed_and_redacted() -> None:
    data = {
        "bind_password": "s3",
        "nested": [{"tsig_key": "k", "ok": 1, "db_pass": "p", "pgpass": "x"}],
        "password_file": "/f",
        "checks_passed": 12,  # a count, not a pass word
    }
    assert scrub(data) == {
        "bind_password": CENSORED,
        "nested": [{"tsig_key": CENSORED, "ok": 1, "db_pass": CENSORED, "pgpass": CENSORED}],
        "password_file": "/f",
        "checks_passed": 12,
    }
    assert redact("ldapadd: bad password topsecret1", ("topsecret1",)) == (
        f"ldapadd: bad password {CENSORED}"
    )
    loop = {
        "results": [
            {"eendracht_counts": {"bytes_transferred": 5}},
            {"eendracht_counts": {"bytes_transferred": 7, "ok": True}},
        ]
    }
    assert result_counts(loop) == {"bytes_transferred": 12}


def test_steps_follow_the_runbook_and_rollback_undoes_what_started() -> None:
    programme = load_programme(MINI)
    runbook = build_runbook(programme, "noordwaard")
    playbooks = Path("/pb")
    steps = wave_steps(runbook, playbooks)
    assert [s.step_id for s in steps] == [s.id for s in runbook.steps()]
    assert steps[7].playbook == Path("/pb/presync.yml")
    assert steps[7].extra_vars == {"wave_shares": ["burgerzaken"]}
    assert wave_steps(runbook, playbooks, until="presync")[-1].phase == "presync"
    with pytest.raises(ValueError, match="unknown phase"):
        wave_steps(runbook, playbooks, until="hypercare")
    undo = rollback_steps(runbook, playbooks, {"presync.dns", "freeze.files", "presync.files.x"})
    assert [s.step_id for s in undo] == [
        "rollback.freeze.files",
        "rollback.presync.dns",
        "rollback.source-in-service",
    ]
    assert undo[-1].tags == ("source_check",)
    assert undo[-1].timeout == runbook.source_check_timeout
    assert [s.timeout for s in undo[:-1]] == [
        e.timeout for e in runbook.rollback if e.step in ("freeze.files", "presync.dns")
    ]
    assert [s.timeout for s in steps] == [s.timeout for s in runbook.steps()]
    assert all(s.timeout >= 300 for s in steps)


def test_leftover_ansible_group_is_stopped(tmp_path: Path) -> None:
    # A session leader whose command line says ansible and names the wave folder, as the
    # ansible-playbook of a killed run does (its inventory and extra vars live there).
    wave_dir = tmp_path / "wave"
    wave_dir.mkdir()
    leader = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(60)", "ansible-playbook-stand-in",
         str(wave_dir / "inventory.yml")],
        start_new_session=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 5
        while not leftover_processes(wave_dir) and time.monotonic() < deadline:
            time.sleep(0.05)  # until the child has exec'd its command line
        assert leftover_processes(wave_dir) == [leader.pid]
        assert leftover_processes(tmp_path / "other-wave") == []
        assert stop_leftovers(wave_dir, timeout=5) == ([leader.pid], [])
        leader.wait(timeout=5)
        assert leftover_processes(wave_dir) == []
        assert stop_leftovers(wave_dir) == ([], [])
    finally:
        if leader.poll() is None:
            leader.kill()


# --- the gate: who recorded it, and whether verify passed -------------------------------

VERIFY = ("verify.files", "verify.identity", "verify.dns", "verify.applications")


def _run(
    journal: Journal, steps: list[tuple[str, str]], *, kind: str = "wave", resumed: bool = False
) -> int:
    """Drives the journal as Runner.run_step and the orchestrator do: run, phases, steps."""
    run = journal.start_run(kind, os.getpid(), lab=True, resumed=resumed)
    phase = ""
    failed = False
    for step_id, status in steps:
        step_phase = kind if kind == "rollback" else step_id.split(".")[0]
        if step_phase != phase:
            if phase:
                journal.finish_phase(run, phase, "ok")
            phase = step_phase
            journal.start_phase(run, phase)
        journal.start_step(run, phase, step_id, step_id)
        if status == "running":  # the process dies here
            return run
        journal.finish_step(run, phase, step_id, status)
        if status != "ok":
            journal.finish_phase(run, phase, "failed")
            failed = True
            break
    else:
        if phase:
            journal.finish_phase(run, phase, "ok")
    journal.finish_run(run, "failed" if failed else "at_gate")
    return run


WHOLE_WAVE = [("presync.files.a", "ok"), ("cutover.dns", "ok"), *[(v, "ok") for v in VERIFY]]


def test_verify_passed_needs_every_verify_step_and_no_failure_after(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "journal.sqlite")
    wanted = set(VERIFY)
    assert not journal.verify_passed(wanted)  # nothing ran
    _run(journal, WHOLE_WAVE[:-1])
    assert not journal.verify_passed(wanted)  # verify.applications has not run
    _run(journal, [("verify.applications", "ok")], resumed=True)
    assert journal.verify_passed(wanted)  # ok in this run or earlier in the epoch
    assert not journal.verify_passed(set())

    # The whole wave again: verify.dns passed before and fails now.
    _run(journal, [*WHOLE_WAVE[:4], ("verify.dns", "failed")])
    assert not journal.verify_passed(wanted)
    assert StepKey("verify", "verify.dns") not in journal.done_steps()  # resume runs it again
    assert StepKey("verify", "verify.applications") in journal.done_steps()
    _run(journal, [("verify.dns", "ok")], resumed=True)
    assert journal.verify_passed(wanted)

    # A step after the last verify that passed fails: no gate, even though verify passed.
    _run(journal, [("cutover.dns", "failed")])
    assert not journal.verify_passed(wanted)
    _run(journal, [("cutover.dns", "ok")], resumed=True)
    assert not journal.verify_passed(wanted)  # fixed, but verify has not passed since
    _run(journal, WHOLE_WAVE)
    assert journal.verify_passed(wanted)
    journal.close()


def test_verify_passed_is_false_after_an_interrupted_or_failed_rollback(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "journal.sqlite")
    wanted = set(VERIFY)
    _run(journal, WHOLE_WAVE)
    assert journal.verify_passed(wanted)
    _run(journal, [("verify.dns", "running")], resumed=True)  # killed inside verify.dns
    journal.start_run("wave", os.getpid(), lab=True, resumed=True)  # marks it interrupted
    assert not journal.verify_passed(wanted)
    journal.finish_run(_run(journal, [("verify.dns", "ok")], resumed=True), "at_gate")
    assert journal.verify_passed(wanted)
    _run(journal, [("rollback.cutover.dns", "ok"), ("rollback.source-in-service", "failed")],
         kind="rollback")  # fmt: skip
    assert not journal.verify_passed(wanted)  # the source side is half restored
    rb = journal.start_run("rollback", os.getpid(), lab=True)
    journal.finish_run(rb, "ok")
    assert not journal.verify_passed(wanted)  # a rollback starts the wave over
    journal.close()


def test_approval_records_the_os_user_host_and_time(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "journal.sqlite")
    before = time.time()
    at = journal.approve("CIO")
    approval = journal.approval()
    assert approval is not None
    assert approval["approved_by"] == "CIO" and before <= approval["approved_at"] == at
    assert approval["os_user"] == pwd.getpwuid(os.geteuid()).pw_name
    assert approval["host"] == socket.gethostname()
    journal.approve("migratiecoördinator", os_user="jjansen", host="beheer01")
    approval = journal.approval()
    assert approval is not None
    assert (approval["os_user"], approval["host"]) == ("jjansen", "beheer01")
    journal.close()


def test_a_journal_of_an_older_version_gets_the_gate_columns(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite"
    old = sqlite3.connect(path)
    old.executescript(
        "CREATE TABLE gate (id INTEGER PRIMARY KEY AUTOINCREMENT, run_id INTEGER,"
        " approved_by TEXT NOT NULL, approved_at REAL NOT NULL,"
        " automatic INTEGER NOT NULL DEFAULT 0);"
        "INSERT INTO gate (run_id, approved_by, approved_at) VALUES (1, 'CIO', 1.0);"
    )
    old.commit()
    old.close()
    journal = Journal(path)
    rows = [dict(r) for r in journal.db.execute("SELECT * FROM gate ORDER BY id")]
    assert rows == [
        {"id": 1, "run_id": 1, "approved_by": "CIO", "approved_at": 1.0, "automatic": 0,
         "os_user": "", "host": ""},
    ]  # fmt: skip
    journal.approve("CIO", host="beheer01")
    assert journal.db.execute("SELECT host FROM gate WHERE id = 2").fetchone()[0] == "beheer01"
    journal.close()
    Journal(path).close()  # opening it again migrates nothing twice


# --- step timeouts -----------------------------------------------------------------------

SLOW_PLAY = """
- name: A step that hangs
  hosts: localhost
  connection: local
  gather_facts: false
  tags: [files_presync]
  tasks:
    - name: Wait longer than the step may take
      ansible.builtin.command: sleep 20
      changed_when: false
"""


def _stop_workers(marker: str) -> None:
    """Ansible 2.19 runs each worker in its own session: ansible-runner's timeout stops
    ansible-playbook's process group, not a worker still running its task. The wave stops
    those (found by the wave folder in their command line) before it runs again; here the
    test does."""
    for proc in Path("/proc").iterdir():
        try:
            if proc.name.isdigit() and marker.encode() in (proc / "cmdline").read_bytes():
                os.killpg(os.getpgid(int(proc.name)), signal.SIGKILL)
        except (OSError, ProcessLookupError):
            continue


def test_a_step_past_its_timeout_fails_saying_so(tmp_path: Path) -> None:
    playbook = tmp_path / "presync.yml"
    playbook.write_text(SLOW_PLAY)
    inventory = tmp_path / "inventory.yml"
    inventory.write_text(
        json.dumps(
            {
                "all": {
                    "hosts": {
                        "localhost": {
                            "ansible_connection": "local",
                            "ansible_python_interpreter": sys.executable,
                        }
                    }
                }
            }
        )
    )
    extravars = tmp_path / "extravars.json"
    extravars.write_text("{}")
    journal = Journal(tmp_path / "journal.sqlite")
    run = journal.start_run("wave", os.getpid(), lab=True)
    runner = Runner(
        journal=journal,
        run_id=run,
        work_dir=tmp_path,
        inventory=inventory,
        extravars_file=extravars,
    )
    started = time.monotonic()
    step = WaveStep("presync", "presync.files.a", "copy a", playbook, ("files_presync",), {}, 3)
    result = runner.run_step(step)
    assert 3 <= time.monotonic() - started < 15  # not the 20 s the task would take
    assert result.status == "failed" and result.rc != 0
    assert result.failures[0] == "presync.files.a timed out after 3 s: ansible-playbook was stopped"
    assert [(s["step_id"], s["status"]) for s in journal.steps()] == [("presync.files.a", "failed")]
    _stop_workers(str(tmp_path))
    journal.close()


def test_the_wave_hands_each_step_its_runbook_timeout(tmp_path: Path) -> None:
    runbook = build_runbook(load_programme(MINI), "noordwaard")
    steps = wave_steps(runbook, Path("/pb"), until="presync")
    journal = Journal(tmp_path / "journal.sqlite")
    run = journal.start_run("wave", os.getpid(), lab=True)
    given: dict[str, int] = {}

    class Recording:
        def run_steps(self, batch: list[WaveStep]) -> list[StepResult]:
            given.update({s.step_id: s.timeout for s in batch})
            return [StepResult(s.phase, s.step_id, 0, "ok", [], 0.0) for s in batch]

    # The orchestrator's step loop alone: it needs a journal and somewhere to notify.
    results, failures = Wave._execute(
        SimpleNamespace(  # type: ignore[arg-type]
            journal=journal, per_step=False, _notify=lambda *_, **__: None
        ),
        Recording(),  # type: ignore[arg-type]
        run,
        steps,
        set(),
    )
    assert not failures and len(results) == len(steps)
    assert given == {s.id: s.timeout for s in runbook.steps() if s.id in given}
    assert list(given) == [s.step_id for s in steps]
    journal.close()
