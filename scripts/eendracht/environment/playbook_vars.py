"""What the playbooks read from the environment, as extra vars.

    target            the stack outputs
    source_services   the migrated municipality's directory, DNS server, databases and
                      application endpoints (secrets as file paths)
    target_services   the target directory, database server and application endpoints
    postgres_passfile the pgpass file of both PostgreSQL servers
    share_roots_by_host the programme's share roots of each of the municipality's servers

The roles document each in their argument specs; nothing else tells them where they run.
"""

from __future__ import annotations

from typing import Any

from eendracht.environment.load import Environment
from eendracht.environment.models import Endpoint
from eendracht.environment.secrets import SecretFiles
from eendracht.programme import models as m


def _endpoint(endpoint: Endpoint, app: m.Application) -> dict[str, str]:
    url = endpoint.url.rstrip("/")
    health = endpoint.health
    if not health and app.health:
        health = app.health if "://" in app.health else url + "/" + app.health.lstrip("/")
    return {
        "url": url,
        "health": health,
        "config": endpoint.config,
        "reload_pid_file": endpoint.reload_pid_file,
    }


def source_directory(env: Environment, secrets: SecretFiles, municipality: str) -> dict[str, str]:
    directory = env.services(municipality).directory
    if directory is None:
        return {}
    return {
        "uri": directory.uri,
        "base_dn": directory.base_dn,
        "bind_dn": directory.bind_dn,
        "people_dn": directory.people_dn or directory.base_dn,
        "password_file": secrets.paths[f"municipalities.{municipality}.directory.password"],
    }


def playbook_vars(
    env: Environment, secrets: SecretFiles, programme: m.Programme, municipality: str
) -> dict[str, Any]:
    services = env.services(municipality)
    mu = programme.municipality(municipality)
    outputs = env.outputs
    base_dn = str(outputs.get("directory_base_dn", ""))
    source: dict[str, Any] = {"directory": source_directory(env, secrets, municipality)}
    if services.dns is not None:
        source["dns"] = {
            "server": services.dns.server,
            "port": services.dns.port,
            "tsig_key_file": secrets.paths[f"municipalities.{municipality}.dns.tsig_key"],
        }
    if services.databases is not None:
        source["databases"] = services.databases.model_dump()
    source["applications"] = {}
    target_apps: dict[str, Any] = {}
    for app in mu.applications:
        endpoints = services.applications.get(app.name)
        if endpoints is None:
            continue
        if endpoints.source is not None:
            source["applications"][app.name] = _endpoint(endpoints.source, app)
        if endpoints.target is not None:
            target_apps[app.name] = _endpoint(endpoints.target, app)
    directory = env.spec.target.directory
    target: dict[str, Any] = {
        "directory": {
            "uri": str(outputs.get("directory_uri", "")),
            "base_dn": base_dn,
            "bind_dn": directory.bind_dn,
            "people_dn": directory.people_dn or f"ou=medewerkers,{base_dn}",
            "groups_dn": directory.groups_dn or f"ou=groepen,{base_dn}",
            "password_file": secrets.paths["target.directory.password"],
        },
        "applications": target_apps,
    }
    if env.spec.target.databases is not None:
        target["databases"] = {
            "host": str(outputs.get("database_server_fqdn", "")),
            "port": env.spec.target.databases.port,
            "user": env.spec.target.databases.user,
        }
    return {
        "target": outputs,
        "source_services": source,
        "target_services": target,
        "postgres_passfile": secrets.paths.get("postgres_passfile", ""),
        # The programme's share roots per server: freeze refuses anything outside them.
        "share_roots_by_host": {h.name: list(h.share_roots) for h in mu.hosts if h.share_roots},
    }
