"""The PDF report, written with fpdf2 (no browser at wave time): the charts as PNG images,
the tables as text (searchable, and read by pdftotext in the tests). Page 1 holds the summary
and the Gantt chart of the phases, so a printed first page tells the story.

The font is the DejaVu Sans that matplotlib ships, so any name in the journal prints."""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path

import matplotlib
from fpdf import FPDF
from fpdf.fonts import FontFace
from PIL import Image

from eendracht.report import format as fmt
from eendracht.report.charts import Chart
from eendracht.report.content import Content
from eendracht.report.labels import STATUS, L, Label

FONTS = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
CELL_CHARS = 300
HEAD = FontFace(emphasis="BOLD", fill_color=(235, 235, 235))


def _status(s: str) -> str:
    return f"{fmt.MARK.get(s, '')} {STATUS.get(s, fmt.plain(s))}".strip()


class _Pdf(FPDF):
    def footer(self) -> None:
        self.set_y(-10)
        self.set_font("dejavu", size=7)
        self.cell(0, 5, f"{L['title']} — {self.page_no()}", align="C")


def _clip(text: object) -> str:
    value = "" if text is None else str(text)
    return value if len(value) <= CELL_CHARS else value[: CELL_CHARS - 1] + "…"


def _heading(pdf: FPDF, label: Label | str, size: int = 13) -> None:
    pdf.set_font("dejavu", "B", size)
    pdf.multi_cell(0, 7, str(label), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("dejavu", size=8)


def _text(pdf: FPDF, text: str) -> None:
    pdf.multi_cell(0, 4.5, _clip(text), new_x="LMARGIN", new_y="NEXT")


def _table(pdf: FPDF, head: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    pdf.set_font("dejavu", size=7)
    with pdf.table(headings_style=HEAD, line_height=3.6, padding=0.8) as table:
        row = table.row()
        for h in head:
            row.cell(h)
        for values in rows:
            row = table.row()
            for v in values:
                row.cell(_clip(v))
    pdf.set_font("dejavu", size=8)
    pdf.ln(2)


def _image(pdf: FPDF, chart: Chart) -> None:
    width, height = Image.open(io.BytesIO(chart.png)).size
    room_w = pdf.w - pdf.l_margin - pdf.r_margin
    room_h = pdf.h - pdf.get_y() - 24
    if room_h < 40:
        pdf.add_page()
        room_h = pdf.h - pdf.get_y() - 24
    w = min(room_w, room_h * width / height)
    pdf.image(io.BytesIO(chart.png), w=w, h=w * height / width)
    pdf.set_font("dejavu", size=7)
    _text(pdf, chart.description)
    pdf.set_font("dejavu", size=8)


def render_pdf(content: Content, gantts: list[Chart], throughput: Chart | None) -> bytes:
    c = content
    pdf = _Pdf(orientation="L", format="A4")
    pdf.set_auto_page_break(True, margin=14)
    pdf.set_margins(10, 10, 10)
    pdf.add_font("dejavu", "", str(FONTS / "DejaVuSans.ttf"))
    pdf.add_font("dejavu", "B", str(FONTS / "DejaVuSans-Bold.ttf"))
    pdf.set_title(f"{L['title']}: {c.programme} / {c.municipality}, run {c.run.id}")
    pdf.set_creator("eendracht")
    pdf.add_page()
    _heading(pdf, f"{L['title']}: {c.programme or '?'} / {c.municipality or '?'}", 16)
    run = c.run
    gate = (
        f"{L['approved_by']} {c.gate.approved_by}, {fmt.when(c.gate.approved_at)}"
        + (f" — {L['automatic']}" if c.gate.automatic else "")
        if c.gate
        else str(L["no_gate"])
    )
    for line in (
        f"Run {run.id} ({run.kind}): {_status(run.status)} — {fmt.when(run.started_at)} → "
        f"{fmt.when(run.finished_at)}" + (f" — {run.message}" if run.message else ""),
        f"{L['gate']}: {gate}",
        f"{L['failures']}: {len(c.failures)}; {L['planned']}: {L[c.planned_basis]}",
    ):
        _text(pdf, line)
    pdf.ln(1)
    for i, chart in enumerate(gantts):
        if i:
            pdf.add_page()
        _image(pdf, chart)

    pdf.add_page()
    _heading(pdf, L["phases"])
    planned = {r.key: r.planned.seconds for r in c.phase_rows if r.planned}
    _table(
        pdf,
        ("fase / phase", "run", "status", "start", "s actual", "s planned"),
        [
            (
                p.phase,
                r.id,
                _status(p.status),
                fmt.when(p.started_at),
                fmt.secs(p.seconds),
                fmt.secs(planned.get(p.phase)),
            )
            for r in c.timeline.attempt
            for p in r.phases
        ],
    )
    _heading(pdf, L["throughput"])
    if throughput is not None:
        _image(pdf, throughput)
        _table(
            pdf,
            ("share", "fase / phase", "files", "bytes", "s", "MB/s"),
            [
                (
                    s.share,
                    s.phase,
                    fmt.num("files", s.files),
                    fmt.num("bytes", s.bytes),
                    fmt.secs(s.seconds),
                    f"{s.bytes_per_second / 1e6:.2f}",
                )
                for s in sorted(c.shares, key=lambda s: (s.share, s.phase))
            ],
        )
    else:
        _text(pdf, str(L["no_shares"]))
    _heading(pdf, L["areas"])
    for area in c.areas:
        _heading(pdf, area.label, 10)
        _table(
            pdf,
            ("", *area.phases, "totaal / total"),
            [
                (str(row.label), *(row.by_phase.get(p, "") for p in area.phases), row.total)
                for row in area.rows
            ],
        )
    _heading(pdf, L["verification"])
    if c.verification:
        _table(
            pdf,
            ("stap / step", "taak / task", "host", "status", "tellingen / counts", "melding"),
            [
                (r.step_id, r.task, r.host, _status(r.status), fmt.counts(r.counts), r.message)
                for r in c.verification
            ],
        )
    else:
        _text(pdf, str(L["no_verification"]))
    if c.checks:
        _table(
            pdf,
            ("gebied / area", "controle / check", "status", "detail"),
            [(k.area, k.name, _status("ok" if k.ok else "failed"), k.detail) for k in c.checks],
        )
    _heading(pdf, L["gate"])
    _text(pdf, gate)
    if c.gate:
        _text(pdf, f"{L['recorded_by']} {c.gate.os_user or '?'}@{c.gate.host or '?'}")
    if c.plan and c.plan.criteria:
        _table(
            pdf,
            ("id", "criterium / criterion", "drempel / threshold"),
            [(k.id, k.criterion, k.threshold) for k in c.plan.criteria],
        )
    _heading(pdf, L["failures"])
    if c.failures:
        _table(
            pdf,
            ("run", "stap / step", "taak / task", "host", "status", "melding / message"),
            [
                (r.run_id, r.step_id, r.task, r.host, _status(r.status), r.message)
                for r in c.failures
            ],
        )
    else:
        _text(pdf, str(L["no_failures"]))
    _heading(pdf, L["runs"])
    _table(
        pdf,
        ("run", "soort / kind", "status", "start", "s", "melding / message"),
        [
            (
                r.id,
                r.kind,
                _status(r.status),
                fmt.when(r.started_at),
                fmt.secs(r.seconds),
                r.message,
            )
            for r in (*c.timeline.history, *c.timeline.attempt)
        ],
    )
    _heading(pdf, L["audit"])
    if c.audit.present:
        verdict = (
            f"{L['audit_intact']} ({len(c.audit.rows)})"
            if c.audit.intact
            else f"{L['audit_broken']}: {c.audit.reason}"
        )
        _text(pdf, verdict)
    if c.audit.present and c.audit.rows:
        _table(
            pdf,
            c.audit.columns,
            [
                tuple(fmt.audit_cell(col, v) for col, v in zip(c.audit.columns, row, strict=False))
                for row in c.audit.rows
            ],
        )
    elif c.audit.present:
        _text(pdf, "(leeg / empty)")
    else:
        _text(pdf, str(L["no_audit"]))
    return bytes(pdf.output())
