"""The HTML report: one self-contained file (the charts are SVG data URIs, the style inline,
no script), rendered with Jinja2 with every value escaped."""

from __future__ import annotations

import base64
from pathlib import Path

import jinja2

from eendracht.report import format as fmt
from eendracht.report.charts import Chart
from eendracht.report.content import Content
from eendracht.report.labels import STATUS, L

TEMPLATES = Path(__file__).parent / "templates"


def _b64(text: str) -> str:
    return base64.b64encode(text.encode("utf-8")).decode("ascii")


def templates_at(folder: Path) -> jinja2.Environment:
    """Jinja2 as every eendracht page uses it: templates from `folder`, every value escaped,
    an undefined name an error rather than an empty string."""
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(folder),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def _environment() -> jinja2.Environment:
    env = templates_at(TEMPLATES)
    env.filters["b64"] = _b64
    env.globals.update(
        L=L,
        STATUS=STATUS,
        MARK=fmt.MARK,
        when=fmt.when,
        secs=fmt.secs,
        num=fmt.num,
        plain=fmt.plain,
        counts=fmt.counts,
        audit_cell=fmt.audit_cell,
        zip=zip,
    )
    return env


def render_html(content: Content, gantts: list[Chart], throughput: Chart | None) -> str:
    planned_phase = {r.key: r.planned.seconds for r in content.phase_rows if r.planned}
    return (
        _environment()
        .get_template("report.html.j2")
        .render(
            c=content,
            gantts=gantts,
            throughput=throughput,
            shares=sorted(content.shares, key=lambda s: (s.share, s.phase)),
            planned_phase=planned_phase,
        )
    )
