"""What a drill checks at each site: from the programme (which applications moved, their
koppelingen) and the environment (where each site answers, the Traffic Manager profiles)."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from eendracht.environment import Environment
from eendracht.environment.fallback import Fallback, Site
from eendracht.programme import models as m
from eendracht.wave.journal import Journal
from eendracht.wave.paths import JOURNAL, wave_dir

LANDED = (m.Disposition.REHOST, m.Disposition.REMOTEAPP)


def moved_municipalities(env: Environment, programme: m.Programme, state: Path | None) -> list[str]:
    """Municipalities whose wave has passed verification (at the gate or approved) and was
    not rolled back since: their applications run at the target site."""
    out = []
    for name in programme.municipalities:
        path = wave_dir(env, programme.name, name, state) / JOURNAL
        if not path.exists():
            continue
        journal = Journal(path)
        try:
            runs = [r for r in journal.runs() if r["kind"] in ("wave", "rollback")]
        finally:
            journal.close()
        last = [r for r in runs if r["status"] in ("ok", "at_gate")]
        if last and last[-1]["kind"] == "wave":
            out.append(name)
    return out


def _port(url: str) -> int:
    parts = urlsplit(url)
    return parts.port or (443 if parts.scheme == "https" else 80)


def _path(url: str) -> str:
    return urlsplit(url).path or "/"


def _profile_of(site: Fallback, municipality: str, application: str) -> str | None:
    for label, profile in site.traffic_manager.profiles.items():
        if (profile.municipality, profile.application) == (municipality, application):
            return label
    return None


def checks(
    site_name: str, fallback: Fallback, programme: m.Programme, moved: list[str]
) -> dict[str, list[dict[str, Any]]]:
    """health and chains at one site, each addressed by its Traffic Manager profile."""
    site: Site = getattr(fallback, site_name)
    hub_profile = _profile_of(fallback, "", "")
    health: list[dict[str, Any]] = []
    chains: list[dict[str, Any]] = []
    if hub_profile is not None:
        health.append(
            {"what": f"hub ({site_name})", "profile": hub_profile,
             "port": _port(site.hub.url), "path": _path(site.hub.health or site.hub.url)}
        )  # fmt: skip
    for name in moved:
        for app in programme.municipalities[name].applications:
            endpoint = site.applications.get(name, {}).get(app.name)
            profile = _profile_of(fallback, name, app.name)
            if app.disposition not in LANDED or endpoint is None or profile is None:
                continue
            port = _port(endpoint.url)
            health.append(
                {"what": f"{name}/{app.name}", "profile": profile, "port": port,
                 "path": _path(endpoint.health or endpoint.url)}
            )  # fmt: skip
            chains += [
                {"what": f"{name}/{app.name} -> {k.target}", "profile": profile, "port": port,
                 "koppeling": k.target}
                for k in app.koppelingen
            ]  # fmt: skip
    return {"health": health, "chains": chains}


def primary_ports(env: Environment, fallback: Fallback) -> list[dict[str, Any]]:
    """Every endpoint of the primary site that must refuse connections once it is down."""
    site = fallback.primary
    out: list[dict[str, Any]] = [
        {"what": "database", "host": site.database.address, "port": site.database.port},
        {"what": "hub", "host": urlsplit(site.hub.url).hostname, "port": _port(site.hub.url)},
    ]
    for municipality, apps in sorted(site.applications.items()):
        for name, endpoint in sorted(apps.items()):
            out.append(
                {"what": f"{municipality}/{name}", "host": urlsplit(endpoint.url).hostname,
                 "port": _port(endpoint.url)}
            )  # fmt: skip
    hosts = {h: v for group in env.hosts.values() for h, v in group.items()}
    files = hosts.get(site.files.host, {})
    if files.get("ansible_host"):
        out.append(
            {"what": "file server", "host": files["ansible_host"],
             "port": int(files.get("ansible_port", 22))}
        )  # fmt: skip
    if site.directory:
        directory = urlsplit(site.directory)
        out.append({"what": "domain controller", "host": directory.hostname,
                    "port": directory.port or 636})  # fmt: skip
    seen: set[tuple[str, int]] = set()
    unique = []
    for item in out:
        key = (str(item["host"]), int(item["port"]))
        if key not in seen:
            seen.add(key)
            unique.append(item)
    return unique


def directory(env: Environment, site_name: str) -> dict[str, str]:
    """The new domain's directory at one site, bound to as the migration binds to it (its
    account, the password file's path, the CA): {} when the site names no directory."""
    assert env.spec.fallback is not None
    site: Site = getattr(env.spec.fallback, site_name)
    target = env.spec.target.directory
    if not site.directory or target.password.file == "":
        return {}
    return {
        "uri": site.directory,
        "bind_dn": target.bind_dn,
        "password_file": str(env.path(target.password.file)),
        "ca_file": str(env.path(site.directory_ca_file or target.ca_file))
        if (site.directory_ca_file or target.ca_file)
        else "",
    }
