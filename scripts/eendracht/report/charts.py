"""The report's pictures, drawn with matplotlib on its Agg canvas (no display, no pyplot's
global state): a Gantt chart of planned against actual per phase and per step, and the
throughput per share. Each is an SVG for the HTML and a PNG for the PDF.

Colour is never the only signal: planned bars are hatched and sit above the actual ones, a
failed bar is cross-hatched and marked ✗, an interrupted one dotted, and the legend names all.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import matplotlib
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from eendracht.report.content import GanttRow
from eendracht.report.labels import L
from eendracht.report.model import ShareFigures

PLANNED = "#bdbdbd"
ACTUAL_OK = "#1f6fb4"  # the tests look for this blue in the PDF's first page
FAILED = "#d62728"
INTERRUPTED = "#7f7f7f"
FINAL_SYNC = "#17becf"

STYLE = {  # status -> (colour, hatch, mark)
    "ok": (ACTUAL_OK, "", ""),
    "failed": (FAILED, "xx", "✗"),
    "interrupted": (INTERRUPTED, "..", "…"),
    "running": (INTERRUPTED, "..", "…"),
}
RC: dict[Any, Any] = {
    "svg.fonttype": "none",
    "font.size": 9,
    "hatch.linewidth": 0.8,
    "svg.hashsalt": "report",
}


@dataclass(frozen=True)
class Chart:
    title: str
    description: str  # the picture in words, for the HTML's alt text and the PDF's caption
    svg: str
    png: bytes


def _render(fig: Figure, title: str, description: str) -> Chart:
    FigureCanvasAgg(fig)
    with matplotlib.rc_context(RC):
        svg = io.StringIO()
        fig.savefig(svg, format="svg", bbox_inches="tight")
        png = io.BytesIO()
        fig.savefig(png, format="png", dpi=110, bbox_inches="tight")
    return Chart(title, description, svg.getvalue(), png.getvalue())


MAX_ROWS = 32  # rows in one Gantt picture: a longer runbook is drawn in several


def span(rows: Sequence[GanttRow]) -> float:
    """Seconds from the start to the end of the last bar, planned or actual."""
    return max(
        [
            b.start + b.seconds
            for r in rows
            for b in (*r.actual, *([r.planned] if r.planned else []))
        ]
        or [0.0]
    )


def chunks(rows: Sequence[GanttRow], size: int = MAX_ROWS) -> list[list[GanttRow]]:
    """The rows in pictures of at most `size`, a phase kept together when it fits in one."""
    out: list[list[GanttRow]] = []
    groups: dict[str, list[GanttRow]] = {}
    for row in rows:
        groups.setdefault(row.key.split(".", 1)[0], []).append(row)
    for group in groups.values():
        for i in range(0, len(group), size):
            part = group[i : i + size]
            if out and len(out[-1]) + len(part) <= size:
                out[-1] += part
            else:
                out.append(list(part))
    return out


def gantt(rows: Sequence[GanttRow], title: str, *, until: float | None = None) -> Chart:
    """One row per phase or step: the planned bar (hatched, grey) above the actual (solid).

    `until`: the seconds the time axis runs to (several pictures of one timeline share it)."""
    end = until if until is not None else span(rows)
    unit, xlabel = (1.0, str(L["seconds_since"])) if end < 300 else (60.0, str(L["minutes"]))
    with matplotlib.rc_context(RC):
        fig = Figure(figsize=(10, 1.6 + 0.26 * max(len(rows), 1)))
        ax = fig.add_subplot()
        ax.set_xlim(0, end * 1.04 / unit or 1)
        for y, row in enumerate(rows):
            if row.planned is not None:
                ax.barh(
                    y - 0.2,
                    row.planned.seconds / unit,
                    left=row.planned.start / unit,
                    height=0.35,
                    color=PLANNED,
                    hatch="//",
                    edgecolor="#636363",
                    linewidth=0.5,
                )
            for bar in row.actual:
                colour, hatch, mark = STYLE.get(bar.status, STYLE["ok"])
                ax.barh(
                    y + 0.2,
                    max(bar.seconds / unit, 0.002),
                    left=bar.start / unit,
                    height=0.35,
                    color=colour,
                    hatch=hatch,
                    edgecolor="black" if hatch else colour,
                    linewidth=0.5,
                )
                if mark:
                    ax.text(
                        (bar.start + bar.seconds) / unit,
                        y + 0.2,
                        f" {mark}",
                        va="center",
                        ha="left",
                        fontsize=9,
                        color="black",
                    )
        ax.set_yticks(range(len(rows)), [r.label for r in rows])
        ax.invert_yaxis()
        ax.set_xlabel(xlabel)
        ax.set_title(title, loc="left")
        ax.grid(axis="x", linestyle=":", linewidth=0.5)
        ax.set_axisbelow(True)
        ax.legend(
            handles=[
                Patch(facecolor=PLANNED, hatch="//", edgecolor="#636363", label=str(L["planned"])),
                Patch(facecolor=ACTUAL_OK, label=f"{L['actual']}: ok"),
                Patch(facecolor=FAILED, hatch="xx", edgecolor="black", label="✗ mislukt / failed"),
                Patch(
                    facecolor=INTERRUPTED,
                    hatch="..",
                    edgecolor="black",
                    label="… onderbroken / interrupted",
                ),
            ],
            loc="upper center",
            bbox_to_anchor=(0.5, -0.5 / max(len(rows), 3) - 0.12),
            ncol=4,
            frameon=False,
        )
    planned = sum(1 for r in rows if r.planned is not None)
    failed = [r.label for r in rows if any(b.status == "failed" for b in r.actual)]
    description = f"{len(rows)} rows, {planned} with a planned bar" + (
        f"; failed: {', '.join(failed)}" if failed else "; nothing failed"
    )
    return _render(fig, title, description)


def throughput(shares: Sequence[ShareFigures]) -> Chart | None:
    """MB per second each share was copied at: the bulk copy (presync) and the final delta."""
    if not shares:
        return None
    names = sorted({s.share for s in shares})
    by = {(s.share, s.phase): s for s in shares}
    with matplotlib.rc_context(RC):
        fig = Figure(figsize=(10, 1.6 + 0.42 * len(names)))
        ax = fig.add_subplot()
        for offset, phase, colour, hatch in (
            (-0.2, "presync", ACTUAL_OK, ""),
            (0.2, "final_sync", FINAL_SYNC, "\\\\"),
        ):
            ys: list[float] = []
            values: list[float] = []
            for y, name in enumerate(names):
                if (name, phase) in by:
                    ys.append(y + offset)
                    values.append(by[(name, phase)].bytes_per_second / 1e6)
            if ys:
                ax.barh(
                    ys,
                    values,
                    height=0.38,
                    color=colour,
                    hatch=hatch,
                    edgecolor="black",
                    linewidth=0.4,
                    label=phase,
                )
                for at, v in zip(ys, values, strict=True):
                    ax.text(v, at, f" {v:.2f}", va="center", fontsize=8)
        ax.set_yticks(range(len(names)), names)
        ax.invert_yaxis()
        ax.set_xlabel(str(L["mb_per_s"]))
        ax.set_title(str(L["throughput"]), loc="left")
        ax.grid(axis="x", linestyle=":", linewidth=0.5)
        ax.set_axisbelow(True)
        ax.legend(loc="lower right")
    fastest = max(shares, key=lambda s: s.bytes_per_second)
    description = (
        f"{len(names)} shares; fastest {fastest.share} ({fastest.phase}) at "
        f"{fastest.bytes_per_second / 1e6:.2f} MB/s"
    )
    return _render(fig, str(L["throughput"]), description)
