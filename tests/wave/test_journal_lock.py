"""Journal, lock, secrets and step bookkeeping: the parts of resume that need no Ansible."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from wave_support import MINI

from eendracht.plan import build_runbook
from eendracht.programme.loader import load_programme
from eendracht.wave.journal import Journal, StepKey
from eendracht.wave.lock import WaveLock, WaveLocked
from eendracht.wave.orchestrator import group_members, stop_leftover
from eendracht.wave.runner import redact, result_counts
from eendracht.wave.secrets import CENSORED, scrub
from eendracht.wave.steps import rollback_steps, wave_steps


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
    assert f"wave for noordwaard is running (pid {os.getpid()} since" in str(exc.value)
    first.release()
    with WaveLock(path, "noordwaard"):
        pass


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
    with pytest.raises(WaveLocked, match=f"pid {holder.pid}"):
        WaveLock(path, "x").acquire()
    holder.kill()
    holder.wait()
    lock = WaveLock(path, "x")
    lock.acquire()
    assert lock.stale_holder == holder.pid
    lock.release()


def test_secrets_scrubbed_and_redacted() -> None:
    data = {"bind_password": "s3", "nested": [{"tsig_key": "k", "ok": 1}], "password_file": "/f"}
    assert scrub(data) == {
        "bind_password": CENSORED,
        "nested": [{"tsig_key": CENSORED, "ok": 1}],
        "password_file": "/f",
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
    assert steps[6].playbook == Path("/pb/presync.yml")
    assert steps[6].extra_vars == {"wave_shares": ["burgerzaken"]}
    assert wave_steps(runbook, playbooks, until="presync")[-1].phase == "presync"
    with pytest.raises(ValueError, match="unknown phase"):
        wave_steps(runbook, playbooks, until="hypercare")
    undo = rollback_steps(runbook, playbooks, {"presync.dns", "freeze.files", "presync.files.x"})
    assert [s.step_id for s in undo] == [
        "rollback.freeze.files",
        "rollback.presync.dns",
        "rollback.source-in-service",
    ]
    assert undo[-1].tags == ("source",)


def test_leftover_ansible_group_is_stopped() -> None:
    # A process group led by something whose command line says ansible, as ansible-playbook is.
    leader = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(60)", "ansible-playbook-stand-in"],
        start_new_session=True,
    )
    try:
        assert group_members(leader.pid) == [leader.pid]
        assert stop_leftover(leader.pid, timeout=5)
        leader.wait(timeout=5)
        assert group_members(leader.pid) == []
        assert not stop_leftover(leader.pid)
    finally:
        if leader.poll() is None:
            leader.kill()
