"""The Starlette application: `/` the overview, `/wave/<key>` a wave's page, each with its
server-sent events (`/events`, `/wave/<key>/events`), and the page's style and script.

Every page is complete without script; the script replaces the main part with the one each
event carries. Nothing here writes: the hub reads the journals through the report's view."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response, StreamingResponse
from starlette.routing import Route
from starlette.types import ASGIApp

from eendracht.live.access import TokenGate
from eendracht.live.hub import Hub
from eendracht.live.render import TEMPLATES, Renderer

KEEPALIVE_SECONDS = 15.0
HEADERS = {
    "Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; "
    "img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}
STATIC = {
    "live.css": "text/css; charset=utf-8",
    "live.js": "text/javascript; charset=utf-8",
}


def _stream(hub: Hub, current: Callable[[], tuple[int, bytes] | None]) -> StreamingResponse:
    """Server-sent events: the current state at once, then every new version; a comment
    every KEEPALIVE_SECONDS keeps proxies from closing the stream."""

    async def events() -> AsyncIterator[bytes]:
        yield b"retry: 2000\n\n"
        sent = -1
        while not hub.closing:
            wake = hub.changed
            now = current()
            if now is None:
                return
            version, event = now
            if version != sent:
                sent = version
                yield event
            try:
                await asyncio.wait_for(wake.wait(), KEEPALIVE_SECONDS)
            except TimeoutError:
                yield b": keep-alive\n\n"

    return StreamingResponse(
        events(),
        media_type="text/event-stream",
        headers={**HEADERS, "X-Accel-Buffering": "no"},
    )


def create_app(
    hub: Hub, renderer: Renderer, token: str | None = None, secure: bool = False
) -> ASGIApp:
    async def overview(_: Request) -> Response:
        html = renderer.document(
            f"{renderer.programme} — controlekamer / control room", hub.overview_html, "/events"
        )
        return HTMLResponse(html, headers=HEADERS)

    async def overview_events(_: Request) -> Response:
        return _stream(hub, lambda: (hub.overview_version, hub.overview_event))

    async def wave(request: Request) -> Response:
        key = request.path_params["key"]
        feed = hub.feeds.get(key)
        if feed is None:
            return HTMLResponse("onbekende wave / unknown wave\n", 404, headers=HEADERS)
        html = renderer.document(
            f"{feed.source.municipality} — {renderer.programme}",
            feed.html,
            f"/wave/{key}/events",
            up=feed.source.municipality,
        )
        return HTMLResponse(html, headers=HEADERS)

    async def wave_events(request: Request) -> Response:
        key = request.path_params["key"]
        if key not in hub.feeds:
            return Response("onbekende wave / unknown wave\n", 404, headers=HEADERS)

        def current() -> tuple[int, bytes] | None:
            feed = hub.feeds.get(key)
            return None if feed is None else (feed.version, feed.event)

        return _stream(hub, current)

    async def static(request: Request) -> Response:
        name = request.path_params["name"]
        if name not in STATIC:
            return Response("", 404)
        body = (Path(TEMPLATES) / name).read_bytes()
        return Response(body, media_type=STATIC[name], headers=HEADERS)

    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        await hub.start()
        try:
            yield
        finally:
            await hub.stop()

    app = Starlette(
        routes=[
            Route("/", overview),
            Route("/events", overview_events),
            Route("/static/{name}", static),
            Route("/wave/{key:path}/events", wave_events),
            Route("/wave/{key:path}", wave),
        ],
        lifespan=lifespan,
    )
    return TokenGate(app, token, secure) if token else app
