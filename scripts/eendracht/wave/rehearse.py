"""A rehearsal of a migration weekend: lab up, the whole wave, independent checks, lab down.

The lab goes down whatever happens (after the frozen source shares are thawed: immutable
files cannot be removed). The journal, the JSON report and the weekend report (report.html,
report.pdf: `eendracht.report`) are kept under `<state>/rehearsals/<programme>-<municipality>-<stamp>/`.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
import time
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eendracht.audit import audited, open_read_only, state_log
from eendracht.environment.vault import VaultKey
from eendracht.lab import SCALES, LabError, lab_down, lab_up
from eendracht.module_utils import thaw_tree
from eendracht.programme.loader import load_programme
from eendracht.report.hook import plan_for, report_after
from eendracht.state import usable_state_root
from eendracht.wave.lab_check import LabReport, verify_lab_source, verify_lab_wave
from eendracht.wave.orchestrator import EXIT_FAILED, EXIT_OK, Wave, WaveOutcome
from eendracht.wave.paths import JOURNAL, lab_dir, lab_environment, rehearsals_dir
from eendracht.wave.runner import Listener
from eendracht.wave.status import wave_status
from eendracht.wave.timing import PhaseTime, phase_times

Say = Callable[[str], None]


@dataclass
class Rehearsal:
    exit_code: int
    outcome: WaveOutcome | None
    report: LabReport | None
    seconds: dict[str, float] = field(default_factory=dict)
    phases: list[PhaseTime] = field(default_factory=list)
    status: dict[str, Any] = field(default_factory=dict)
    saved: Path | None = None
    error: str = ""


def _keep_journal(state: Path | None, name: str, journal: Path | None) -> Path:
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    folder = rehearsals_dir(state) / f"{name}-{stamp}"
    folder.mkdir(parents=True, exist_ok=True)
    if journal is not None and journal.is_file():
        # Through SQLite, not as a file: while a reader (the live page) has the journal open,
        # the wave's close does not checkpoint, and its last commits are only in the -wal.
        kept = folder / JOURNAL
        kept.touch(mode=0o600)  # never readable by others, not even while it is written
        with closing(open_read_only(journal)) as source, closing(sqlite3.connect(kept)) as copy:
            source.backup(copy)
        kept.chmod(0o600)
    return folder


def _phase_time(p: PhaseTime) -> dict[str, Any]:
    return {
        "run": p.run_id,
        "phase": p.phase,
        "steps": p.steps,
        "seconds": round(p.seconds, 2),
        "work": round(p.work, 2),
        "overhead": round(p.overhead, 2),
    }


def _save(folder: Path, result: Rehearsal) -> Path:
    body = {
        "exit_code": result.exit_code,
        "outcome": None
        if result.outcome is None
        else {"status": result.outcome.status, "message": result.outcome.message},
        "seconds": result.seconds,
        "phases": [_phase_time(p) for p in result.phases],
        "checks": [] if result.report is None else [c.__dict__ for c in result.report.checks],
        "wave": result.status,
        "error": result.error,
    }
    (folder / "report.json").write_text(json.dumps(body, indent=2, ensure_ascii=False) + "\n")
    return folder


def rehearse(
    programme_path: Path,
    municipality: str,
    *,
    yes: bool,
    approve: Callable[[], str | None] | None = None,
    state: Path | None = None,
    scale: str = "small",
    listener: Listener | None = None,
    say: Say = print,
    vault_password_file: Path | None = None,
) -> Rehearsal:
    """`approve` is asked at the gate when not `yes` (the approver, or None to decline);
    declining rolls the wave back.

    A bad scale, state root or programme is refused before anything is written or started
    (LabError, StateRootError, ProblemsFound)."""
    if scale not in SCALES:
        raise LabError(f"scale must be one of {', '.join(SCALES)}, not {scale!r}")
    usable_state_root(state)
    vault = VaultKey.from_file(vault_password_file) if vault_password_file else None
    programme = load_programme(programme_path, vault)
    programme.municipality(municipality)
    result = Rehearsal(EXIT_FAILED, None, None)
    began = time.monotonic()
    journal: Path | None = None
    try:
        say(f"lab up ({scale}) for {programme.name}")
        audited(
            state_log(state),
            "lab up",
            str(programme_path),
            lambda: lab_up(programme_path, scale=scale, state=state, vault=vault),
        )
        result.seconds["lab_up"] = round(time.monotonic() - began, 1)
        wave = Wave(
            programme_path, municipality, environment=lab_environment(state), rehearsal=True,
            state=state, listener=listener, programme=programme,
            vault_password_file=vault_password_file,
        )  # fmt: skip
        journal = wave.dir / JOURNAL
        start = time.monotonic()
        outcome = wave.run(yes=yes)
        if outcome.status == "at_gate":
            approver = approve() if approve is not None else None
            if approver:
                outcome = wave.approve(approver)
            else:
                say("gate declined: rolling back")
                outcome = wave.rollback()
        result.outcome = outcome
        result.seconds["wave"] = round(time.monotonic() - start, 1)
        check = {"complete": verify_lab_wave, "rolled_back": verify_lab_source}.get(outcome.status)
        if check is not None:
            start = time.monotonic()
            mu = programme.municipality(municipality)
            result.report = check(mu, lab_dir(state), wave.mapping())
            result.seconds["verification"] = round(time.monotonic() - start, 1)
        result.status = wave_status(wave.journal, programme.name, municipality)
        result.phases = phase_times(wave.journal, [r["id"] for r in wave.journal.runs()])
        wave.close()
        ok = outcome.status == "complete" and result.report is not None and result.report.ok
        result.exit_code = EXIT_OK if ok else EXIT_FAILED
    except Exception as exc:  # the lab still goes down; the error is reported
        result.error = f"{type(exc).__name__}: {exc}"
        raise
    finally:
        folder = _keep_journal(state, f"{programme.name}-{municipality}", journal)
        start = time.monotonic()
        thaw_tree(lab_dir(state) / "files")
        audited(state_log(state), "lab down", "lab", lambda: lab_down(state))
        result.seconds["lab_down"] = round(time.monotonic() - start, 1)
        result.seconds["total"] = round(time.monotonic() - began, 1)
        result.saved = _save(folder, result)
        # The weekend report, beside the journal: never changes the rehearsal's result.
        _, seconds = report_after(
            folder / JOURNAL,
            run_id=None,
            plan=lambda: plan_for(programme, municipality, state, exclude=folder),
            say=say,
            out=folder,
            checks=result.report.checks if result.report is not None else (),
        )
        result.seconds["report"] = round(seconds, 2)
        _save(folder, result)
    return result
