"""The live page served for a test: uvicorn in a thread on a free loopback port, over a
state root the test fills with journals written by the real Journal class."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import uvicorn

from eendracht.live.serve import Served, live_app, uvicorn_config
from eendracht.programme.loader import load_programme
from eendracht.programme.models import Programme

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
