"""Application health and koppelingen: one appserver process per application (source and
target side), one per national service referenced, and the integration hub.

Each reads a JSON config under `<state>/lab/apps/`; the migration repoints an application by
rewriting its config (database DSN, koppeling URLs) and sending SIGHUP.
"""

from __future__ import annotations

import dataclasses
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from eendracht.lab import postgres
from eendracht.lab.paths import LabPaths
from eendracht.lab.plan import HUB_PORT, AppService, LabPlan, NationalService
from eendracht.lab.residents import Resident

APPSERVER = Path(__file__).with_name("appserver.py")


def config_path(paths: LabPaths, app: AppService, side: str) -> Path:
    return paths.apps / side / app.municipality / f"{app.name}.json"


def national_config_path(paths: LabPaths, service: NationalService) -> Path:
    return paths.apps / "national" / f"{service.name}.json"


def hub_config_path(paths: LabPaths) -> Path:
    return paths.apps / "hub.json"


def write_json(path: Path, body: dict[str, Any]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(body, indent=2, ensure_ascii=False) + "\n")
    return path


def _koppeling_urls(plan: LabPlan, app: AppService, side: str) -> dict[str, str]:
    national = {n.name: n.url for n in plan.national}
    peers = {a.name: a.url for a in plan.apps if a.municipality == app.municipality}
    if side == "target":
        # A peer that moves along is called at its target instance; one that becomes SaaS
        # stays where it is (its source instance stands in for the supplier's service).
        peers.update(
            {a.name: a.url for a in plan.target_apps if a.municipality == app.municipality}
        )
    hub = f"http://{plan.hub_address}:{HUB_PORT}"
    urls = {}
    for target in app.koppelingen:
        if target in national:
            # Source applications call the national service directly; target ones via the hub.
            urls[target] = national[target] if side == "source" else f"{hub}/{target}"
        elif target in peers:
            urls[target] = peers[target]
    return urls


def app_config(paths: LabPaths, plan: LabPlan, app: AppService, side: str) -> dict[str, Any]:
    c = postgres.cluster(paths, side, plan.pg_source if side == "source" else plan.pg_target)
    database = None
    if app.databases:
        db = postgres.source_db_name(app.municipality, app.databases[0])
        database = {
            "dsn": f"postgresql://{postgres.SUPERUSER}@{c.address}:{c.port}/{db}",
            "passfile": str(postgres.pgpass_file(paths)),
        }
    return {
        "role": "application",
        "side": side,
        "name": app.name,
        "display_name": app.display_name,
        "municipality": app.municipality,
        "disposition": app.disposition,
        "listen": [app.address, app.port],
        "health": app.health if app.health.startswith("/") else "/health",
        "database": database,
        "koppelingen": _koppeling_urls(plan, app, side),
    }


def write_configs(
    paths: LabPaths,
    plan: LabPlan,
    residents: dict[str, list[Resident]],
    inhabitants: dict[str, int],
) -> list[tuple[str, Path]]:
    """Every service config; returns (service name, config path) in start order."""
    out: list[tuple[str, Path]] = []
    data_file = write_json(
        paths.apps / "national" / "residents.json",
        {
            "inhabitants": inhabitants,
            "residents": {
                muni: [
                    {**dataclasses.asdict(r), "birth_date": r.birth_date.isoformat()} for r in rs
                ]
                for muni, rs in residents.items()
            },
        },
    )
    for service in plan.national:
        body = {
            "role": "national",
            "name": service.name,
            "listen": [service.address, service.port],
            "data_file": str(data_file),
        }
        out.append(
            (f"national-{service.name}", write_json(national_config_path(paths, service), body))
        )
    for app in plan.apps:
        body = app_config(paths, plan, app, "source")
        out.append(
            (
                f"app-{app.municipality}-{app.name}",
                write_json(config_path(paths, app, "source"), body),
            )
        )
    for app in plan.target_apps:
        body = app_config(paths, plan, app, "target")
        out.append(
            (
                f"target-app-{app.municipality}-{app.name}",
                write_json(config_path(paths, app, "target"), body),
            )
        )
    hub = hub_config(plan, "integration-hub", plan.hub_address, plan.target_apps)
    out.append(("integration-hub", write_json(hub_config_path(paths), hub)))
    return out


def hub_config(
    plan: LabPlan, name: str, address: str, instances: Sequence[AppService]
) -> dict[str, Any]:
    """The hub routes <municipality>/<app> to the site's instance, or for an application
    without one (SaaS) to the instance that stands in for the supplier's service."""
    routes = {n.name: n.url for n in plan.national}
    routes.update({f"{a.municipality}/{a.name}": a.url for a in plan.apps})
    routes.update({f"{a.municipality}/{a.name}": a.url for a in instances})
    return {"role": "hub", "name": name, "listen": [address, HUB_PORT], "routes": routes}


def argv(config: Path) -> list[str]:
    # -I -S: isolated, without site packages (only the stdlib is used): half the start time.
    return [sys.executable, "-I", "-S", str(APPSERVER), str(config)]
