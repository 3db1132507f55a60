"""Writes a run's report: `report.html` and `report.pdf` (and the `plan.json` used) in one
folder, each file written whole before it replaces the one before.

Where: a wave's run N is reported in `<wave dir>/reports/run-N/` (the wave dir holds
`journal.sqlite`); a rehearsal in its own folder under `<state>/rehearsals/`, beside its
`journal.sqlite` and `report.json`.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from eendracht.report.charts import chunks, gantt, span, throughput
from eendracht.report.content import Check, gather
from eendracht.report.html import render_html
from eendracht.report.labels import L
from eendracht.report.pdf import render_pdf
from eendracht.report.planned import PLAN_FILE, Plan
from eendracht.report.view import open_view

HTML = "report.html"
PDF = "report.pdf"


@dataclass(frozen=True)
class ReportPaths:
    folder: Path
    html: Path
    pdf: Path
    run_id: int


def run_folder(wave_dir: Path, run_id: int) -> Path:
    """Where run `run_id` of the wave whose journal is in `wave_dir` is reported."""
    return wave_dir / "reports" / f"run-{run_id}"


def _write(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_report(
    journal: Path,
    out: Path | None = None,
    *,
    run_id: int | None = None,
    plan: Plan | None = None,
    programme: str = "",
    municipality: str = "",
    checks: tuple[Check, ...] = (),
) -> ReportPaths:
    """The report of run `run_id` (default the journal's last) into `out` (default the run's
    folder beside the journal). Without `plan`, the `plan.json` in `out` is used if there is
    one. Reads the journal read-only; raises NotAJournal before writing anything."""
    with open_view(journal) as view:
        rid = run_id if run_id is not None else max(view.run_ids(), default=0)
        timeline = view.timeline(rid)  # NotAJournal when there is no such run
        folder = out if out is not None else run_folder(view.path.parent, timeline.run.id)
        if plan is None and (folder / PLAN_FILE).is_file():
            plan = Plan.from_json((folder / PLAN_FILE).read_text(encoding="utf-8"))
        # A wave's journal is in <waves>/<programme>/<municipality>/: its names, unless the
        # plan (or the caller) knows them.
        wave_dir = view.path.parent
        content = gather(
            view,
            run_id=rid,
            plan=plan,
            programme=programme or (plan.programme if plan else wave_dir.parent.name),
            municipality=municipality or (plan.municipality if plan else wave_dir.name),
            checks=checks,
        )
    until = span(content.step_rows)
    charts = [gantt(content.phase_rows, str(L["phases"]), until=until)]
    parts = chunks(content.step_rows)
    for i, part in enumerate(parts, 1):
        title = str(L["steps"]) + (f" ({i}/{len(parts)})" if len(parts) > 1 else "")
        charts.append(gantt(part, title, until=until))
    shares = throughput(content.shares)
    html = render_html(content, charts, shares).encode("utf-8")
    pdf = render_pdf(content, charts, shares)
    folder.mkdir(parents=True, exist_ok=True)
    if plan is not None:
        _write(folder / PLAN_FILE, plan.to_json().encode("utf-8"))
    _write(folder / HTML, html)
    _write(folder / PDF, pdf)
    return ReportPaths(folder, folder / HTML, folder / PDF, rid)
