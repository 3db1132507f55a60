"""The live page in HTML: Jinja2 with every value escaped, the report's labels and formats.

A page is `base.html.j2` around a main part (`wave.html.j2`, `overview.html.j2`); the
server-sent events carry the same main part, rendered once per change, so a browser without
script shows at load everything a browser with it is kept up to date with."""

from __future__ import annotations

import time
from pathlib import Path

import jinja2

from eendracht.live.page import LivePage
from eendracht.live.words import LIVE_STATUS, W
from eendracht.report import format as fmt
from eendracht.report.content import LOCAL
from eendracht.report.html import templates_at
from eendracht.report.labels import STATUS, L, Label

TEMPLATES = Path(__file__).parent / "templates"


def _mark(status: str) -> str:
    if status in LIVE_STATUS:
        return LIVE_STATUS[status][0]
    return fmt.MARK.get(status, {"running": "▶", "at_gate": "‖"}.get(status, "•"))


def _word(status: str) -> Label:
    if status in LIVE_STATUS:
        return LIVE_STATUS[status][1]
    return STATUS.get(status, Label(status, status))


def _minutes(seconds: float) -> str:
    return f"{seconds / 60:.0f}"


def _clock(ts: float | None) -> str:
    return fmt.when(ts)[11:16] if ts else ""


def environment() -> jinja2.Environment:
    env = templates_at(TEMPLATES)
    env.globals.update(
        L=L,
        W=W,
        mark=_mark,
        word=_word,
        when=fmt.when,
        clock=_clock,
        secs=fmt.secs,
        minutes=_minutes,
        counts=fmt.counts,
        zone=str(LOCAL),
    )
    return env


class Renderer:
    def __init__(self, programme: str) -> None:
        self.env = environment()
        self.programme = programme

    def wave(self, page: LivePage) -> str:
        return self.env.get_template("wave.html.j2").render(
            p=page, c=page.content, programme=self.programme, now=time.time()
        )

    def overview(self, pages: list[LivePage]) -> str:
        return self.env.get_template("overview.html.j2").render(
            pages=pages, programme=self.programme, now=time.time()
        )

    def document(self, title: str, main: str, events: str, up: str = "") -> str:
        """The whole page: `main` as rendered, `events` the URL of its server-sent events."""
        return self.env.get_template("base.html.j2").render(
            title=title, main=main, events=events, up=up, programme=self.programme
        )
