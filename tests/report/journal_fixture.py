"""A small wave journaled through the real Journal class, on a clock the test drives: a wave
that fails at cutover, its resume that reaches the gate, a rollback, a second attempt that
passes, and the go/no-go approved."""

from __future__ import annotations

from pathlib import Path

import pytest

import eendracht.wave.journal as journal_module
from eendracht.report.planned import Criterion, Plan, PlannedStep
from eendracht.wave.journal import Journal

START = 1_800_000_000.0  # a Saturday in 2027
APPROVER = "J. de Vries"
FAILURE = "connection refused by zaak-db01:5432"
# (phase, step id, name, seconds, counts per host result)
WAVE = (
    ("preflight", "preflight.reachability", "Every server answers", 20, {}),
    (
        "presync",
        "presync.files.burgerzaken",
        "Copy share burgerzaken",
        240,
        {"files_transferred": 1200, "bytes_transferred": 480_000_000},
    ),
    (
        "presync",
        "presync.files.archief",
        "Copy share archief",
        120,
        {"files_transferred": 300, "bytes_transferred": 60_000_000},
    ),
    ("presync", "presync.identity", "Create the target accounts", 60, {"accounts_created": 321}),
    ("freeze", "freeze.files", "Freeze the shares", 30, {"shares_frozen": 2}),
    (
        "final_sync",
        "final_sync.files.burgerzaken",
        "Delta burgerzaken",
        40,
        {"files_transferred": 12, "bytes_transferred": 4_000_000},
    ),
    (
        "final_sync",
        "final_sync.files.archief",
        "Delta archief",
        20,
        {"files_transferred": 0, "bytes_transferred": 0},
    ),
    (
        "cutover",
        "cutover.identity",
        "Switch accounts",
        45,
        {"accounts_enabled": 320, "source_disabled": 320},
    ),
    (
        "cutover",
        "cutover.app.zaaksysteem",
        "Move the zaaksysteem",
        90,
        {"databases_restored": 1, "rows_compared": 5400},
    ),
    ("cutover", "cutover.dns", "Switch DNS", 30, {"records_updated": 17}),
    (
        "verify",
        "verify.files",
        "Compare manifests",
        50,
        {"files_verified": 1512, "bytes_verified": 544_000_000, "differences": 0},
    ),
    ("verify", "verify.identity", "Count the accounts", 20, {"accounts_verified": 321}),
    ("verify", "verify.dns", "Every record answers", 10, {"records_verified": 17}),
    ("verify", "verify.mail", "Compare mailboxes", 30, {"mailboxes_verified": 88}),
)
ROLLBACK = (
    ("rollback", "rollback.presync.files.burgerzaken", "Thaw the source", 30, {}),
    ("rollback", "rollback.source-in-service", "The source side is back in service", 25, {}),
)


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> float:
        return self.now

    def pass_(self, seconds: float) -> None:
        self.now += seconds


def _steps(
    journal: Journal,
    clock: Clock,
    run: int,
    steps: tuple[tuple[str, str, str, int, dict[str, int]], ...],
    fail: str = "",
) -> bool:
    phase_now = ""
    for phase, step_id, name, seconds, counts in steps:
        if phase != phase_now:
            if phase_now:
                journal.finish_phase(run, phase_now, "ok")
            journal.start_phase(run, phase)
            phase_now = phase
        journal.start_step(run, phase, step_id, name)
        began = clock.now
        clock.pass_(seconds)
        failed = step_id == fail
        journal.record_task(run, phase, step_id, f"{run}-{step_id}", name, "command")
        journal.record_host_result(
            run,
            phase,
            step_id,
            task_uuid=f"{run}-{step_id}",
            task=name,
            host="wdr-fs01" if ".files" in step_id else "wdr-dc01",
            status="failed" if failed else "changed",
            started_at=began,
            finished_at=clock.now,
            counts={} if failed else counts,
            message=FAILURE if failed else "",
        )
        journal.finish_step(run, phase, step_id, "failed" if failed else "ok")
        clock.pass_(2)
        if failed:
            journal.finish_phase(run, phase, "failed")
            return False
    journal.finish_phase(run, phase_now, "ok")
    return True


def build_journal(
    path: Path, monkeypatch: pytest.MonkeyPatch, secret: str = "", plant: str = ""
) -> Path:
    """The journal at `path`; `secret` is a value the environment knows (redacted), `plant`
    a text with it put in a step's name, a host's message and a run's message."""
    clock = Clock()
    with monkeypatch.context() as m:
        m.setattr(journal_module.time, "time", clock)
        journal = Journal(path)
        if secret:
            journal.add_secrets((secret,))
        run = journal.start_run("wave", 4242, lab=False)
        _steps(journal, clock, run, WAVE, fail="cutover.app.zaaksysteem")
        journal.finish_run(run, "failed", f"step cutover.app.zaaksysteem failed: {FAILURE}")
        clock.pass_(600)
        run = journal.start_run("wave", 4243, lab=False, resumed=True)
        _steps(journal, clock, run, tuple(s for s in WAVE if s[0] in ("cutover", "verify")))
        if plant:
            journal.start_step(run, "verify", "verify.extra", f"check {plant}")
            journal.record_host_result(
                run,
                "verify",
                "verify.extra",
                task_uuid="x",
                task=f"task {plant}",
                host="wdr-dc01",
                status="ok",
                started_at=clock.now,
                finished_at=clock.now + 1,
                counts={},
                message=f"message {plant}",
            )
            journal.finish_step(run, "verify", "verify.extra", "ok")
        journal.finish_run(run, "at_gate", f"verified; waiting at the gate {plant}")
        clock.pass_(300)
        run = journal.start_run("rollback", 4244, lab=False)
        _steps(journal, clock, run, ROLLBACK)
        journal.finish_run(run, "ok", "source side restored and verified")
        clock.pass_(900)
        run = journal.start_run("wave", 4245, lab=False)
        _steps(journal, clock, run, WAVE)
        journal.finish_run(run, "at_gate", "verified; waiting at the go/no-go gate")
        clock.pass_(120)
        journal.approve(APPROVER, os_user="operator", host="controle-01")
        journal.close()
    return path


def plan() -> Plan:
    """The runbook's plan as the last rehearsal measured it (a little faster than the wave)."""
    return Plan(
        programme="testprog",
        municipality="testgemeente",
        steps=tuple(
            PlannedStep(phase, step_id, name, 600, seconds * 0.8)
            for phase, step_id, name, seconds, _ in WAVE
        ),
        rollback=tuple(
            PlannedStep(phase, step_id, name, 600, None) for phase, step_id, name, _, _ in ROLLBACK
        ),
        criteria=(Criterion("verify-passed", "every verify step passed", "100%"),),
        approvers=(APPROVER,),
        rehearsal="testprog-testgemeente-20270101T000000Z",
    )
