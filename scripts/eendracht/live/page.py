"""What one wave's live page shows: the report's content (`eendracht.report.content.gather`)
and what only a running wave has: the step, task and host running now with the phase's counts,
an ETA to the gate, the go/no-go criteria judged, the koppelingen matrix."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from eendracht.live.koppelingen import Matrix, matrix
from eendracht.live.sources import Source
from eendracht.report.content import Content, GanttRow, gather
from eendracht.report.labels import AREAS, Label, figure
from eendracht.report.planned import Plan
from eendracht.report.view import JournalView
from eendracht.wave.steps import WAVE_PHASES

# The report's count names, in both languages.
COUNT_NAMES = {name: Label(nl, en) for _, (_, ms) in AREAS.items() for name, nl, en in ms}
# A go/no-go criterion (gate.<x>) is judged by the verify steps of its area.
CRITERION_AREA = {"health": "applications", "chain": "applications"}
PACE_LIMITS = (0.25, 4.0)  # a few odd steps never make the ETA absurd


@dataclass(frozen=True)
class Running:
    phase: str
    step_id: str
    step: str
    task: str
    host: str
    since: float
    counts: tuple[tuple[Label, str], ...]


@dataclass(frozen=True)
class Eta:
    state: str  # running | at_gate | decided | not_running | unknown
    at: float | None = None
    seconds_left: float = 0.0
    pace: float = 1.0  # actual / planned of the steps done


@dataclass(frozen=True)
class CriterionResult:
    id: str
    criterion: str
    threshold: str
    status: str  # passed | failed | pending
    detail: str


@dataclass(frozen=True)
class Bars:
    """A row of the timeline as percentages of the picture's width."""

    key: str
    status: str
    planned: tuple[float, float] | None
    actual: tuple[tuple[float, float, str], ...]
    planned_seconds: float | None
    actual_seconds: float | None
    started_at: float | None


@dataclass(frozen=True)
class LivePage:
    source: Source
    content: Content | None
    running: Running | None = None
    eta: Eta = field(default_factory=lambda: Eta("unknown"))
    criteria: tuple[CriterionResult, ...] = ()
    koppelingen: Matrix | None = None
    phases: tuple[Bars, ...] = ()
    error: str = ""
    journal_at: float = 0.0  # the newest time in the journal when the page was built

    @property
    def status(self) -> str:
        return self.content.run.status if self.content else "pending"


def _status(row: GanttRow) -> str:
    return row.actual[-1].status if row.actual else "pending"


def _bars(rows: tuple[GanttRow, ...], t0: float, now: float) -> tuple[Bars, ...]:
    ends = [
        b.start + b.seconds for r in rows for b in (*r.actual, *([r.planned] if r.planned else []))
    ]
    width = max([now - t0, *ends, 1.0])

    def pct(start: float, seconds: float) -> tuple[float, float]:
        return (round(100 * start / width, 2), round(max(0.4, 100 * seconds / width), 2))

    return tuple(
        Bars(
            r.key,
            _status(r),
            pct(r.planned.start, r.planned.seconds) if r.planned else None,
            tuple((*pct(b.start, b.seconds), b.status) for b in r.actual),
            r.planned.seconds if r.planned else None,
            sum(b.seconds for b in r.actual) if r.actual else None,
            t0 + r.actual[0].start if r.actual else None,
        )
        for r in rows
    )


def _running(view: JournalView, content: Content) -> Running | None:
    run = content.run
    if run.status != "running":
        return None
    steps = [s for p in run.phases for s in p.steps if s.status == "running"]
    latest = view.latest_task(run.id)
    if not steps and latest is None:
        return None
    step = steps[-1] if steps else None
    phase = step.phase if step else (latest.phase if latest else "")
    ids = [r.id for r in content.timeline.attempt if r.kind == run.kind]
    counts = view.counts(ids).get(phase, {})
    return Running(
        phase,
        step.step_id if step else (latest.step_id if latest else ""),
        step.name if step else "",
        latest.task if latest else "",
        latest.host if latest else "",
        step.started_at if step else (latest.started_at if latest else run.started_at),
        tuple((COUNT_NAMES.get(k, Label(k, k)), figure(k, v)) for k, v in counts.items()),
    )


def _eta(content: Content, plan: Plan | None, now: float) -> Eta:
    run = content.run
    if content.gate is not None:
        return Eta("decided")
    if run.status == "at_gate":
        return Eta("at_gate")
    if run.kind != "wave" or run.status != "running":
        return Eta("not_running")
    if plan is None:
        return Eta("unknown")
    rows = {r.key: r for r in content.step_rows}
    done_planned = done_actual = left = 0.0
    for step in plan.steps:
        if step.phase not in WAVE_PHASES:
            continue
        row = rows.get(step.step_id)
        last = row.actual[-1] if row and row.actual else None
        if last is not None and last.status == "ok":
            done_planned += step.seconds
            done_actual += last.seconds
        elif last is not None and last.status == "running":
            left += max(0.0, step.seconds - last.seconds)
        else:
            left += step.seconds
    pace = done_actual / done_planned if done_planned > 0 else 1.0
    pace = min(max(pace, PACE_LIMITS[0]), PACE_LIMITS[1])
    seconds = left * pace
    return Eta("running", now + seconds, seconds, pace)


def _criteria(content: Content, plan: Plan | None) -> tuple[CriterionResult, ...]:
    if plan is None:
        return ()
    out = []
    for c in plan.criteria:
        area = c.id.split(".", 1)[-1]
        prefix = f"verify.{CRITERION_AREA.get(area, area)}"
        mine = [r for r in content.step_rows if r.key.startswith(prefix) and r.actual]
        failed = [
            v for v in content.verification if v.step_id.startswith(prefix) and v.status == "failed"
        ]
        if not mine or any(_status(r) in ("running", "pending") for r in mine):
            status, detail = "pending", ""
        elif all(_status(r) == "ok" for r in mine):
            status, detail = "passed", ""
        else:
            status, detail = "failed", failed[-1].message if failed else ""
        out.append(CriterionResult(c.id, c.criterion, c.threshold, status, detail))
    return tuple(out)


def build_page(
    source: Source,
    view: JournalView,
    plan: Plan | None,
    programme: str,
    chain_pairs: list[tuple[str, str, str, str]],
) -> LivePage:
    """The page of one journal as it stands now."""
    if not view.run_ids():
        return LivePage(source, None)
    now = time.time()
    content = gather(view, plan=plan, programme=programme, municipality=source.municipality)
    t0 = content.timeline.attempt[0].started_at
    return LivePage(
        source,
        content,
        running=_running(view, content),
        eta=_eta(content, plan, now),
        criteria=_criteria(content, plan),
        koppelingen=matrix(chain_pairs, list(content.verification)) if chain_pairs else None,
        phases=_bars(content.phase_rows, t0, now),
        journal_at=view.last_write(),
    )
