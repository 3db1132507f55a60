"""The report written after a run: never fails the run. Whatever goes wrong (the plan, the
journal, a chart) is said in one line and the run's exit code stands."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from pathlib import Path

from eendracht.plan import build_runbook
from eendracht.programme.models import Programme
from eendracht.report.content import Check
from eendracht.report.planned import Plan, last_rehearsal, plan_of
from eendracht.report.write import ReportPaths, write_report
from eendracht.wave.paths import rehearsals_dir

Say = Callable[[str], None]


def plan_for(
    programme: Programme, municipality: str, state: Path | None, exclude: Path | None = None
) -> Plan:
    """The runbook's plan with the durations of the municipality's last rehearsal under the
    state root (not the folder `exclude`: a rehearsal's own)."""
    rehearsal = last_rehearsal(rehearsals_dir(state), programme.name, municipality, exclude=exclude)
    return plan_of(build_runbook(programme, municipality), rehearsal)


def report_after(
    journal: Path,
    *,
    run_id: int | None,
    plan: Callable[[], Plan | None],
    say: Say,
    out: Path | None = None,
    checks: Iterable[object] = (),
) -> tuple[ReportPaths | None, float]:
    """Writes the report of `run_id` (None: the journal's last run); returns its paths (None
    when not written) and the seconds it took."""
    began = time.monotonic()
    if run_id == 0 or not journal.is_file():
        return None, 0.0
    try:
        found = tuple(
            Check(str(c.area), str(c.name), bool(c.ok), str(c.detail))  # type: ignore[attr-defined]
            for c in checks
        )
        paths = write_report(journal, out, run_id=run_id, plan=plan(), checks=found)
    except Exception as exc:  # the report never fails the run: said, and the run stands
        say(f"report not written ({type(exc).__name__}: {exc}); the run's result stands")
        return None, time.monotonic() - began
    say(f"report: {paths.html} and {paths.pdf}")
    return paths, time.monotonic() - began
