"""The orchestration core on trivial local playbooks: journal, resume, gate, rollback, lock."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from wave_support import FAKE_PLAYBOOKS, MINI

from eendracht.wave.lock import WaveLock, WaveLocked
from eendracht.wave.orchestrator import Wave


def _wave(state: Path, outputs_file: Path) -> Wave:
    return Wave(
        MINI, "noordwaard", state=state, playbooks=FAKE_PLAYBOOKS, outputs_file=outputs_file
    )


def _trace(wave: Wave) -> list[str]:
    path = wave.dir / "trace"
    return path.read_text().split() if path.exists() else []


def test_wave_follows_the_plan_until_presync_then_rolls_back(
    state: Path, outputs_file: Path
) -> None:
    wave = _wave(state, outputs_file)
    outcome = wave.run(until="presync")
    assert outcome.status == "stopped", outcome.message
    assert _trace(wave) == [
        "preflight.reachability",
        "preflight.capacity",
        "preflight.directory",
        "preflight.dns",
        "preflight.identity",
        "preflight.applications",
        "presync.files:burgerzaken",
        "presync.files:sociaal-domein",
        "presync.dns",
        "presync.identity",
    ]
    assert {s["status"] for s in wave.journal.steps()} == {"ok"}
    assert wave.journal.counts()["presync"] == {"bytes_transferred": 40, "accounts_created": 8}
    extravars = json.loads((wave.dir / "extravars.json").read_text())
    assert extravars["municipality"] == "noordwaard"
    assert extravars["target"]["dns_zone"] == "fake-dns_zone"
    mapping = json.loads(Path(extravars["identity_map_file"]).read_text())
    assert {i["old_account"] for i in mapping["identities"]} >= {"jdevries", "mozil"}
    assert wave.approve("CIO").status == "refused"  # verify has not run
    assert wave.rollback().status == "rolled_back"
    assert wave.journal.done_steps() == set()
    assert _trace(wave)[-2:] == ["rollback.dns", "rollback.source"]


def test_failure_then_resume_runs_only_what_did_not_finish(state: Path, outputs_file: Path) -> None:
    wave = _wave(state, outputs_file)
    (wave.dir / "fail-presync.dns").touch()
    outcome = wave.run(until="presync")
    assert outcome.status == "failed"
    assert "presync.dns" in outcome.message
    assert _trace(wave)[-1] == "presync.files:sociaal-domein"
    (wave.dir / "fail-presync.dns").unlink()
    outcome = wave.run(until="presync", resume=True)
    assert outcome.status == "stopped", outcome.message
    trace = _trace(wave)
    assert trace.count("preflight.reachability") == 1
    assert trace.count("presync.files:burgerzaken") == 1
    assert trace[-2:] == ["presync.dns", "presync.identity"]
    statuses = [(s["step_id"], s["status"]) for s in wave.journal.steps()]
    assert ("presync.dns", "failed") in statuses and ("presync.dns", "ok") in statuses


def test_gate_waits_for_verify_and_approval_closes_rollback(
    state: Path, outputs_file: Path
) -> None:
    wave = _wave(state, outputs_file)
    assert wave.approve("CIO").status == "refused"
    run = wave.journal.start_run("wave", 1, lab=False)
    for step in ("verify.files", "verify.identity", "verify.dns"):
        wave.journal.start_step(run, "verify", step, step)
        wave.journal.finish_step(run, "verify", step, "ok")
    assert not wave.verified()  # verify.applications has not passed
    wave.journal.start_step(run, "verify", "verify.applications", "apps")
    wave.journal.finish_step(run, "verify", "verify.applications", "ok")
    wave.journal.finish_run(run, "at_gate")
    assert wave.verified()
    outcome = wave.approve("CIO J. Jansen")
    assert outcome.status == "complete"
    approval = wave.journal.approval()
    assert approval is not None and approval["approved_by"] == "CIO J. Jansen"
    assert wave.approve("someone else").message.startswith("already approved by CIO")
    assert wave.run().status == "complete"  # nothing runs after the gate
    assert wave.rollback().status == "refused"


def test_second_run_is_refused_while_locked(state: Path, outputs_file: Path) -> None:
    wave = _wave(state, outputs_file)
    other = WaveLock(wave.dir / "wave.lock", "noordwaard")
    other.acquire()
    try:
        with pytest.raises(
            WaveLocked,
            match=r"wave for noordwaard is running \(user \S+ on host \S+, pid \d+, since",
        ):
            wave.run()
    finally:
        other.release()
