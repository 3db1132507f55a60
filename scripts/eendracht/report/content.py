"""Everything a report shows, gathered once from the journal view and the plan: the charts,
the HTML and the PDF all render this one `Content`."""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from eendracht.report.labels import AREAS, Label, figure
from eendracht.report.model import (
    AuditTrail,
    GateDecision,
    HostResult,
    RunSpan,
    ShareFigures,
    StepSpan,
    Timeline,
)
from eendracht.report.planned import Plan, PlannedStep
from eendracht.report.view import JournalView

LOCAL = ZoneInfo("Europe/Amsterdam")  # a municipality's weekend is read in its own time


def local_time(ts: float | None) -> str:
    if ts is None:
        return ""
    return dt.datetime.fromtimestamp(ts, LOCAL).strftime("%Y-%m-%d %H:%M:%S %Z")


@dataclass(frozen=True)
class Bar:
    start: float  # seconds since the attempt's start
    seconds: float
    status: str


@dataclass(frozen=True)
class GanttRow:
    key: str
    label: str
    planned: Bar | None
    actual: tuple[Bar, ...]
    title: str = ""  # a step's title (the label is its id)


@dataclass(frozen=True)
class AreaRow:
    key: str
    label: Label
    by_phase: dict[str, str]  # phase -> the figure as shown
    total: str


@dataclass(frozen=True)
class Area:
    key: str
    label: Label
    phases: tuple[str, ...]
    rows: tuple[AreaRow, ...]


@dataclass(frozen=True)
class Check:
    """One check of the independent verification a rehearsal runs after the wave."""

    area: str
    name: str
    ok: bool
    detail: str


@dataclass(frozen=True)
class Content:
    programme: str
    municipality: str
    journal: str
    generated_at: float
    timeline: Timeline
    plan: Plan | None
    phase_rows: tuple[GanttRow, ...]
    step_rows: tuple[GanttRow, ...]
    shares: tuple[ShareFigures, ...]
    areas: tuple[Area, ...]
    verification: tuple[HostResult, ...]
    failures: tuple[HostResult, ...]
    gate: GateDecision | None
    audit: AuditTrail
    checks: tuple[Check, ...] = field(default=())

    @property
    def run(self) -> RunSpan:
        return self.timeline.run

    @property
    def rollbacks(self) -> tuple[RunSpan, ...]:
        return tuple(
            r for r in (*self.timeline.history, *self.timeline.attempt) if r.kind == "rollback"
        )

    @property
    def planned_basis(self) -> str:
        if self.plan is None:
            return "no_plan"
        return "planned_from_rehearsal" if self.plan.rehearsal else "planned_from_timeout"


def _end(span_end: float | None, fallback: float) -> float:
    return span_end if span_end is not None else fallback


def _planned_layout(plan: Plan, timeline: Timeline, t0: float) -> dict[str, Bar]:
    """Each planned step laid end to end: the wave's from the attempt's start, a rollback's
    (only the steps it ran, in the plan's order) from that rollback run's start."""
    out: dict[str, Bar] = {}
    at = 0.0
    for step in plan.steps:
        out[step.step_id] = Bar(at, step.seconds, "planned")
        at += step.seconds
    for run in timeline.attempt:
        if run.kind != "rollback":
            continue
        ran = {s.step_id for p in run.phases for s in p.steps}
        at = run.started_at - t0
        for step in plan.rollback:
            if step.step_id in ran:
                out[step.step_id] = Bar(at, step.seconds, "planned")
                at += step.seconds
    return out


def _rows(
    timeline: Timeline, plan: Plan | None, t0: float, now: float
) -> tuple[tuple[GanttRow, ...], tuple[GanttRow, ...]]:
    planned = _planned_layout(plan, timeline, t0) if plan else {}
    steps: dict[str, list[StepSpan]] = {}
    phase_bars: dict[str, list[Bar]] = {}
    names: dict[str, str] = {}
    for run in timeline.attempt:
        if run.kind == "check" and run is not timeline.run:
            continue  # a check run changes nothing: listed, drawn only in its own report
        for phase in run.phases:
            end = _end(phase.finished_at, _end(run.finished_at, now))
            phase_bars.setdefault(phase.phase, []).append(
                Bar(phase.started_at - t0, max(0.0, end - phase.started_at), phase.status)
            )
            for step in phase.steps:
                steps.setdefault(step.step_id, []).append(step)
                names[step.step_id] = step.name
    # The plan's order: every wave step (one not run yet shows its plan only), the rollback
    # steps that ran; then whatever the journal has that the plan does not.
    order: list[PlannedStep | str] = []
    if plan:
        order += [
            s for s in (*plan.steps, *plan.rollback) if s.phase != "rollback" or s.step_id in steps
        ]
    known = {s.step_id for s in order if isinstance(s, PlannedStep)}
    order += [k for k in steps if k not in known]
    step_rows = []
    for item in order:
        key = item.step_id if isinstance(item, PlannedStep) else item
        title = item.title if isinstance(item, PlannedStep) else names.get(key, key)
        bars = tuple(
            Bar(
                s.started_at - t0,
                max(0.0, _end(s.finished_at, now) - s.started_at),
                s.status,
            )
            for s in steps.get(key, [])
        )
        step_rows.append(GanttRow(key, key, planned.get(key), bars, title))
    phase_names: list[str] = []
    for row in step_rows:
        name = row.key.split(".", 1)[0]
        if name not in phase_names:
            phase_names.append(name)
    phase_rows = []
    for name in phase_names:
        mine = [
            planned[r.key] for r in step_rows if r.key.split(".", 1)[0] == name and r.key in planned
        ]
        plan_bar = (
            Bar(min(b.start for b in mine), sum(b.seconds for b in mine), "planned")
            if mine
            else None
        )
        phase_rows.append(GanttRow(name, name, plan_bar, tuple(phase_bars.get(name, []))))
    return tuple(phase_rows), tuple(step_rows)


def _areas(counts: dict[str, dict[str, int]]) -> tuple[Area, ...]:
    out = []
    for key, (label, measures) in AREAS.items():
        phases = tuple(p for p in counts if any(m[0] in counts[p] for m in measures))
        rows = []
        for name, nl, en in measures:
            values = {p: counts[p][name] for p in phases if name in counts[p]}
            if not values:
                continue
            rows.append(
                AreaRow(
                    name,
                    Label(nl, en),
                    {p: figure(name, v) for p, v in values.items()},
                    figure(name, sum(values.values())),
                )
            )
        if rows:
            out.append(Area(key, label, phases, tuple(rows)))
    return tuple(out)


def gather(
    view: JournalView,
    *,
    run_id: int | None = None,
    plan: Plan | None = None,
    programme: str = "",
    municipality: str = "",
    checks: tuple[Check, ...] = (),
) -> Content:
    timeline = view.timeline(run_id)
    now = time.time()
    t0 = timeline.attempt[0].started_at
    run = timeline.run
    ids = [run.id] if run.kind == "check" else [r.id for r in timeline.attempt if r.kind != "check"]
    phase_rows, step_rows = _rows(timeline, plan, t0, now)
    return Content(
        programme=programme or (plan.programme if plan else ""),
        municipality=municipality or (plan.municipality if plan else ""),
        journal=str(view.path),
        generated_at=now,
        timeline=timeline,
        plan=plan,
        phase_rows=phase_rows,
        step_rows=step_rows,
        shares=tuple(view.shares(ids)),
        areas=_areas(view.counts(ids)),
        verification=tuple(view.verification(ids)),
        failures=tuple(view.failures([r.id for r in timeline.attempt])),
        gate=view.gate(timeline.run.id),
        audit=view.audit(),
        checks=checks,
    )
