"""What was planned: the runbook's steps in order with their timeouts, and how long each took
in the last rehearsal of the same municipality (its `report.json`, under
`<state>/rehearsals/<programme>-<municipality>-<stamp>/`, written by `eendracht.wave.rehearse`).

A step's planned duration is its rehearsed one when a rehearsal ran it, else its timeout (an
upper bound: `plan.timeouts`). The plan is saved as `plan.json` beside the report it was used
for, so `eendracht report` rebuilds the same picture without the programme.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from eendracht.plan import Runbook

PLAN_FILE = "plan.json"
REHEARSAL_REPORT = "report.json"


@dataclass(frozen=True)
class PlannedStep:
    phase: str
    step_id: str
    title: str
    timeout: int
    rehearsed: float | None = None  # seconds in the last rehearsal that ran it ok

    @property
    def seconds(self) -> float:
        return self.rehearsed if self.rehearsed is not None else float(self.timeout)


@dataclass(frozen=True)
class Criterion:
    id: str
    criterion: str
    threshold: str


@dataclass(frozen=True)
class Plan:
    programme: str
    municipality: str
    steps: tuple[PlannedStep, ...]
    rollback: tuple[PlannedStep, ...]
    criteria: tuple[Criterion, ...] = ()
    approvers: tuple[str, ...] = ()
    rehearsal: str = ""  # the rehearsal folder the durations come from, "" when none
    notes: tuple[str, ...] = field(default=())

    def step(self, step_id: str) -> PlannedStep | None:
        for s in (*self.steps, *self.rollback):
            if s.step_id == step_id:
                return s
        return None

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, ensure_ascii=False) + "\n"

    @classmethod
    def from_json(cls, text: str) -> Plan:
        data = json.loads(text)
        return cls(
            programme=str(data["programme"]),
            municipality=str(data["municipality"]),
            steps=tuple(PlannedStep(**s) for s in data["steps"]),
            rollback=tuple(PlannedStep(**s) for s in data["rollback"]),
            criteria=tuple(Criterion(**c) for c in data.get("criteria", [])),
            approvers=tuple(str(a) for a in data.get("approvers", [])),
            rehearsal=str(data.get("rehearsal", "")),
        )


def rehearsed_seconds(report: Path) -> dict[str, float]:
    """Seconds of each step that ended ok in a rehearsal's report.json (the last run of it)."""
    data: Any = json.loads(report.read_text(encoding="utf-8"))
    out: dict[str, float] = {}
    for step in data.get("wave", {}).get("steps", []):
        if step.get("status") == "ok" and isinstance(step.get("seconds"), int | float):
            out[str(step["step"])] = float(step["seconds"])
    return out


def last_rehearsal(
    rehearsals: Path, programme: str, municipality: str, exclude: Path | None = None
) -> Path | None:
    """The newest rehearsal folder of this municipality that ran its wave (a report with steps).

    Folders are named `<programme>-<municipality>-<UTC stamp>`, so their names sort in time."""
    prefix = f"{programme}-{municipality}-"
    if not rehearsals.is_dir():
        return None
    for folder in sorted(rehearsals.iterdir(), key=lambda p: p.name, reverse=True):
        if not folder.name.startswith(prefix) or folder == exclude:
            continue
        report = folder / REHEARSAL_REPORT
        try:
            if report.is_file() and rehearsed_seconds(report):
                return folder
        except (OSError, ValueError, AttributeError):
            continue
    return None


def plan_of(runbook: Runbook, rehearsal: Path | None = None) -> Plan:
    """The runbook's steps and rollback with the rehearsal's durations where it has them."""
    seconds = rehearsed_seconds(rehearsal / REHEARSAL_REPORT) if rehearsal else {}
    steps = tuple(
        PlannedStep(s.phase.value, s.id, s.title, s.timeout, seconds.get(s.id))
        for s in runbook.steps()
    )
    undo = [
        PlannedStep(
            "rollback",
            f"rollback.{e.step}",
            e.description,
            e.timeout,
            seconds.get(f"rollback.{e.step}"),
        )
        for e in runbook.rollback
        if e.playbook
    ]
    source = PlannedStep(
        "rollback",
        "rollback.source-in-service",
        "The source side is back in service",
        runbook.source_check_timeout,
        seconds.get("rollback.source-in-service"),
    )
    rollback = (*undo, source)
    return Plan(
        programme=runbook.programme,
        municipality=runbook.municipality,
        steps=steps,
        rollback=rollback,
        criteria=tuple(Criterion(c.id, c.criterion, c.threshold) for c in runbook.gate.criteria),
        approvers=tuple(runbook.gate.approvers),
        rehearsal=rehearsal.name if rehearsal else "",
    )
