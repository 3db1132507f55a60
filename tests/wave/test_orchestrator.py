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


def test_full_wave_follows_the_plan_stops_at_gate_then_approve(
    state: Path, outputs_file: Path
) -> None:
    wave = _wave(state, outputs_file)
    outcome = wave.run()
    assert outcome.status == "at_gate", outcome.message
    trace = _trace(wave)
    assert trace[0] == "preflight.reachability"
    assert "presync.files:burgerzaken" in trace
    assert trace.index("cutover.applications:documentbeheer") < trace.index(
        "cutover.applications:zaaksysteem"
    )
    assert trace[-1].startswith("verify.applications:")
    assert len(trace) == len(wave.journal.steps()) == 26
    assert {s["status"] for s in wave.journal.steps()} == {"ok"}
    counts = wave.journal.counts()
    assert counts["presync"] == {"bytes_transferred": 40, "accounts_created": 8}
    extravars = json.loads((wave.dir / "extravars.json").read_text())
    assert extravars["municipality"] == "noordwaard"
    assert extravars["target"]["dns_zone"] == "fake-dns_zone"
    mapping = json.loads(Path(extravars["identity_map_file"]).read_text())
    assert {i["old_account"] for i in mapping["identities"]} >= {"jdevries", "mozil"}
    assert wave.approve("CIO").status == "complete"
    assert wave.journal.approval()["approved_by"] == "CIO"  # type: ignore[index]
    assert wave.rollback().status == "refused"
    assert wave.run(resume=True).status == "complete"


def test_failure_then_resume_runs_only_what_did_not_finish(state: Path, outputs_file: Path) -> None:
    wave = _wave(state, outputs_file)
    (wave.dir / "fail-freeze.files").touch()
    outcome = wave.run(until="freeze")
    assert outcome.status == "failed"
    assert "freeze.files" in outcome.message
    assert _trace(wave)[-1] == "presync.identity"
    (wave.dir / "fail-freeze.files").unlink()
    assert wave.approve("CIO").status == "refused"
    outcome = wave.run(until="final_sync", resume=True)
    assert outcome.status == "stopped", outcome.message
    trace = _trace(wave)
    assert trace.count("presync.identity") == 1
    assert trace.count("preflight.reachability") == 1
    assert trace[-4:] == [
        "freeze.files",
        "freeze.applications:burgerzaken+documentbeheer+financien+zaaksysteem",
        "final_sync.files:burgerzaken",
        "final_sync.files:sociaal-domein",
    ]


def test_until_stops_after_phase_and_rollback_resets(state: Path, outputs_file: Path) -> None:
    wave = _wave(state, outputs_file)
    assert wave.run(until="presync").status == "stopped"
    assert len(wave.journal.done_steps()) == 10
    assert wave.rollback().status == "rolled_back"
    assert wave.journal.done_steps() == set()
    assert _trace(wave)[-2:] == ["rollback.dns", "rollback.source"]


def test_second_run_is_refused_while_locked(state: Path, outputs_file: Path) -> None:
    wave = _wave(state, outputs_file)
    other = WaveLock(wave.dir / "wave.lock", "noordwaard")
    other.acquire()
    try:
        with pytest.raises(WaveLocked, match=r"wave for noordwaard is running \(pid \d+ since"):
            wave.run()
    finally:
        other.release()
