"""`eendracht wave serve`: the app over a programme's journals, served by uvicorn."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import uvicorn
from starlette.types import ASGIApp

from eendracht.live.app import create_app
from eendracht.live.hub import POLL_SECONDS, RESCAN_SECONDS, Hub
from eendracht.live.koppelingen import chain_pairs
from eendracht.live.render import Renderer
from eendracht.live.sources import Source
from eendracht.programme.models import Programme
from eendracht.report.hook import plan_for
from eendracht.report.planned import Plan


@dataclass(frozen=True)
class Served:
    app: ASGIApp
    hub: Hub


def live_app(
    programme: Programme,
    state: Path,
    *,
    token: str | None = None,
    secure: bool = False,
    poll: float = POLL_SECONDS,
    rescan: float = RESCAN_SECONDS,
) -> Served:
    """The live page of `programme`'s journals under the state root `state`."""
    renderer = Renderer(programme.name)
    pairs = {m: chain_pairs(programme, m) for m in programme.municipalities}

    def plan(source: Source) -> Plan | None:
        exclude = source.folder if source.kind == "rehearsal" else None
        return plan_for(programme, source.municipality, state, exclude=exclude)

    hub = Hub(
        state,
        programme.name,
        set(programme.municipalities),
        plan_for=plan,
        chain_pairs=lambda m: pairs.get(m, []),
        render=renderer.wave,
        render_overview=renderer.overview,
        poll=poll,
        rescan=rescan,
    )
    return Served(create_app(hub, renderer, token, secure), hub)


def uvicorn_config(
    app: ASGIApp,
    host: str,
    port: int,
    tls_cert: Path | None = None,
    tls_key: Path | None = None,
) -> uvicorn.Config:
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        ssl_certfile=str(tls_cert) if tls_cert else None,
        ssl_keyfile=str(tls_key) if tls_key else None,
        log_level="warning",
        access_log=False,
        lifespan="on",
        timeout_graceful_shutdown=2,
        server_header=False,
    )
