"""The live page served for a test: uvicorn in a thread on a free loopback port, over a
state root the test fills with journals written by the real Journal class (or by a real
wave or rehearsal); and Debian's chromium through Playwright to look at it."""

from __future__ import annotations

import shutil
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import uvicorn

from eendracht.live.serve import Served, live_app, uvicorn_config
from eendracht.programme.loader import load_programme
from eendracht.programme.models import Programme
from eendracht.wave.steps import WAVE_PHASES

if TYPE_CHECKING:
    from playwright.sync_api import Page

REPO = Path(__file__).resolve().parents[2]
MINI = REPO / "tests" / "fixtures" / "programmes" / "mini"
MUNICIPALITY = "noordwaard"

_programme: Programme | None = None


def mini() -> Programme:
    global _programme
    if _programme is None:
        _programme = load_programme(MINI)
    return _programme


def wave_journal(state: Path, environment: str = "prod") -> Path:
    """Where a wave of the mini programme's noordwaard against `environment` keeps its journal."""
    return state / "waves" / environment / mini().name / MUNICIPALITY / "journal.sqlite"


@contextmanager
def serving(
    state: Path, *, token: str | None = None, poll: float = 0.1, rescan: float = 0.3
) -> Iterator[tuple[str, Served]]:
    """The base URL of the live page of the mini programme under `state`, and what serves it."""
    served = live_app(mini(), state, token=token, poll=poll, rescan=rescan)
    server = uvicorn.Server(uvicorn_config(served.app, "127.0.0.1", 0))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the live page did not start"
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}", served
    finally:
        served.hub.end_streams()
        server.should_exit = True
        thread.join(10)


def events(client: httpx.Client, url: str, limit: float = 10.0) -> Iterator[tuple[str, str]]:
    """(event, data) of a server-sent event stream, as they arrive."""
    with client.stream("GET", url, timeout=limit) as answer:
        assert answer.status_code == 200, answer.status_code
        name, data = "", ""
        for line in answer.iter_lines():
            if line.startswith("event: "):
                name = line[7:]
            elif line.startswith("data: "):
                data = line[6:]
            elif line == "" and name:
                yield name, data
                name, data = "", ""


# Every phase row of a wave's page as "phase=status", in the page's order.
PHASES_JS = """() => Array.from(document.querySelectorAll('tr[data-phase]'))
    .map(r => r.dataset.phase + '=' + r.dataset.status).join(' ')"""


@contextmanager
def chromium_page(problems: list[str]) -> Iterator[Page]:
    """A page in Debian's chromium (through Playwright); its console errors and uncaught
    page errors are added to `problems`."""
    from playwright.sync_api import sync_playwright

    chromium = shutil.which("chromium")
    assert chromium, "chromium is missing: run `make setup` (scripts/setup/system-packages.sh)"
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 1100, "height": 1600})
            page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
            page.on(
                "console",
                lambda m: problems.append(m.text) if m.type == "error" else None,
            )
            yield page
        finally:
            browser.close()


def mark_loaded(page: Page) -> None:
    """A mark on the page's window that a reload would remove (see `not_reloaded`)."""
    page.evaluate("() => { window.loadedOnce = true; }")


def not_reloaded(page: Page) -> bool:
    return bool(page.evaluate("() => window.loadedOnce === true"))


def look(page: Page, seen: list[str]) -> str:
    """The page's phase rows now, added to `seen` when they changed."""
    now = str(page.evaluate(PHASES_JS))
    if not seen or seen[-1] != now:
        seen.append(now)
    return now


def phases_moving(seen: list[str], statuses: tuple[str, ...] = ("running",)) -> list[str]:
    """The phases in the order they were seen to move: seen in one of `statuses`, or (with
    "ok" among them) seen turning ok after a look that showed them otherwise. Phases shown ok
    from the first look on were not seen moving."""
    moved: list[str] = []
    before: dict[str, str] = {}
    for snapshot in seen:
        now = dict(item.split("=") for item in snapshot.split())
        for phase in WAVE_PHASES:
            status = now.get(phase)
            turned_ok = status == "ok" and phase in before and before[phase] != "ok"
            moving = (status in statuses and status != "ok") or (turned_ok and "ok" in statuses)
            if moving and (not moved or moved[-1] != phase):
                moved.append(phase)
        before = now
    return moved
