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


def test_full_wave_stops_at_gate_then_approve(state: Path, outputs_file: Path) -> None:
    wave = _wave(state, outputs_file)
    outcome = wave.run()
    assert outcome.status == "at_gate", outcome.message
    assert _trace(wave)[0] == "preflight-first"
    assert _trace(wave)[-1] == "verify-second"
    assert len(_trace(wave)) == 12
    steps = wave.journal.steps()
    assert [s["status"] for s in steps] == ["ok"] * 12
    counts = wave.journal.counts()
    assert counts["presync"] == {"bytes_transferred": 10, "accounts_created": 2}
    extravars = json.loads((wave.dir / "extravars.json").read_text())
    assert extravars["municipality"] == "noordwaard"
    assert extravars["target"]["dns_zone"] == "fake-dns_zone"
    assert wave.approve("CIO").status == "complete"
    assert wave.journal.approval()["approved_by"] == "CIO"  # type: ignore[index]
    assert wave.rollback().status == "refused"


def test_failure_then_resume_runs_only_what_did_not_finish(state: Path, outputs_file: Path) -> None:
    wave = _wave(state, outputs_file)
    (wave.dir / "fail-freeze").touch()
    outcome = wave.run()
    assert outcome.status == "failed"
    assert "freeze" in outcome.message
    assert _trace(wave) == [
        "preflight-first",
        "preflight-second",
        "presync-first",
        "presync-second",
        "freeze-first",
    ]
    (wave.dir / "fail-freeze").unlink()
    outcome = wave.run(resume=True, yes=True)
    assert outcome.status == "complete", outcome.message
    trace = _trace(wave)
    assert trace.count("freeze-first") == 1
    assert trace.count("presync-first") == 1
    assert trace[5] == "freeze-second"
    assert wave.journal.approval()["automatic"] == 1  # type: ignore[index]


def test_until_stops_after_phase_and_rollback_resets(state: Path, outputs_file: Path) -> None:
    wave = _wave(state, outputs_file)
    assert wave.run(until="presync").status == "stopped"
    assert wave.journal.done_phases() == {"preflight", "presync"}
    assert wave.rollback().status == "rolled_back"
    assert wave.journal.done_phases() == set()
    assert _trace(wave)[-2:] == ["rollback-first", "rollback-second"]


def test_second_run_is_refused_while_locked(state: Path, outputs_file: Path) -> None:
    wave = _wave(state, outputs_file)
    other = WaveLock(wave.dir / "wave.lock", "noordwaard")
    other.acquire()
    try:
        with pytest.raises(WaveLocked, match=r"wave for noordwaard is running \(pid \d+ since"):
            wave.run()
    finally:
        other.release()
