"""What the lab hands the migration: `<state>/lab/inventory/` and `<state>/lab/outputs.json`.

The inventory is the programme's own group_vars plus a hosts.yml in which every server is a
real lab sshd; `people_source` of each municipality is pointed at its lab directory. The
outputs carry every stack output name (eendracht.outputs) with a value pointing at the lab.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path
from typing import Any

import yaml

from eendracht.lab import apps, named, postgres, slapd
from eendracht.lab.paths import LabPaths
from eendracht.lab.plan import (
    DNS_PORT,
    HUB_PORT,
    PG_PORT,
    TARGET,
    TARGET_FILES,
    FileServer,
    LabPlan,
)
from eendracht.lab.sharetree import share_root
from eendracht.outputs import STACK_OUTPUTS
from eendracht.programme import models as m

SSH_COMMON_ARGS = "-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR"
LAB_PEOPLE_SOURCE = "lab.yml"


def target_share_root(paths: LabPaths) -> Path:
    return paths.host_root(TARGET_FILES) / "srv" / "shares"


def _host_vars(paths: LabPaths, server: FileServer, programme: m.Programme) -> dict[str, Any]:
    root = paths.host_root(server.host)
    hv: dict[str, Any] = {
        "ansible_host": server.address,
        "ansible_port": server.port,
        "ansible_user": "root",
        "ansible_ssh_private_key_file": str(paths.private_key),
        "ansible_ssh_common_args": SSH_COMMON_ARGS,
        # The lab's servers are this machine: modules run with eendracht's own interpreter.
        "ansible_python_interpreter": sys.executable,
        "server_os": "linux",
        "server_roles": list(server.roles),
        "lab_root": str(root),
    }
    if server.server_os != "linux":
        hv["lab_stands_in_for"] = server.server_os
    if server.group != TARGET:
        shares = programme.municipalities[server.group].shares
        hv["lab_share_paths"] = {
            s.name: str(share_root(root, s)) for s in shares if s.server == server.host
        }
    return hv


def hosts_yml(paths: LabPaths, plan: LabPlan, programme: m.Programme) -> dict[str, Any]:
    children: dict[str, Any] = {}
    for server in plan.fileservers:
        group = children.setdefault(server.group, {"hosts": {}})
        group["hosts"][server.host] = _host_vars(paths, server, programme)
    for name, directory in plan.directories.items():
        if name in children and name != TARGET:
            children[name]["vars"] = {
                "lab_source_directory_password_file": str(slapd.password_file(paths, directory))
            }
    return {"all": {"children": children}}


def _rewrite_people_source(folder: Path, people_source: dict[str, str]) -> None:
    """Point the municipality's people_source at its lab directory, in the file that holds it."""
    files = sorted(folder.glob("*.y*ml")) if folder.is_dir() else [folder]
    for path in files:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        if isinstance(data, dict) and "people_source" in data:
            data["people_source"] = people_source
            path.write_text(
                "# people_source points at the lab's directory (eendracht lab)\n"
                + yaml.safe_dump(data, allow_unicode=True, sort_keys=False),
                encoding="utf-8",
            )
            return
    if folder.is_dir():
        (folder / LAB_PEOPLE_SOURCE).write_text(
            "# Added by eendracht lab: read people from the lab's directory.\n"
            + yaml.safe_dump({"people_source": people_source}, allow_unicode=True, sort_keys=False),
            encoding="utf-8",
        )


def write_inventory(paths: LabPaths, plan: LabPlan, programme: m.Programme) -> Path:
    out = paths.inventory
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    shutil.copytree(Path(programme.root) / "group_vars", out / "group_vars")
    for name in programme.municipalities:
        directory = plan.directories[name]
        folder = out / "group_vars" / name
        if not folder.exists():
            folder = next((out / "group_vars").glob(f"{name}.y*ml"), folder)
        _rewrite_people_source(
            folder,
            {
                "kind": "ldap",
                "uri": directory.uri,
                "base_dn": directory.people_dn,
                "bind_dn": directory.bind_dn,
            },
        )
    (out / "hosts.yml").write_text(
        "# eendracht lab inventory: every server is a real sshd on a loopback address.\n"
        + yaml.safe_dump(hosts_yml(paths, plan, programme), allow_unicode=True, sort_keys=False),
        encoding="utf-8",
    )
    return out


def _directory(paths: LabPaths, plan: LabPlan, name: str) -> dict[str, str]:
    d = plan.directories[name]
    return {
        "uri": d.uri,
        "base_dn": d.suffix,
        "bind_dn": d.bind_dn,
        "password_file": str(slapd.password_file(paths, d)),
        "people_dn": d.people_dn,
        "groups_dn": d.groups_dn,
    }


def _applications(paths: LabPaths, plan: LabPlan, side: str) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for app in plan.apps if side == "source" else plan.target_apps:
        prefix = "app" if side == "source" else "target-app"
        out.setdefault(app.municipality, {})[app.name] = {
            "url": app.url,
            "health": app.url + (app.health if app.health.startswith("/") else "/health"),
            "config": str(apps.config_path(paths, app, side)),
            "pid_file": str(paths.pids / f"{prefix}-{app.municipality}-{app.name}.pid"),
            "koppelingen": sorted(app.koppelingen),
            "databases": [postgres.source_db_name(app.municipality, d) for d in app.databases],
        }
    return out


def outputs(
    paths: LabPaths, plan: LabPlan, programme: m.Programme, scale: str, seed: int
) -> dict[str, Any]:
    s = programme.settings
    name = s.name
    gateway = plan.target_apps[0].address if plan.target_apps else plan.hub_address
    target_root = target_share_root(paths)
    values: dict[str, Any] = {
        "resource_group": f"rg-{name}-lab",
        "primary_region": s.azure.primary_region,
        "fallback_region": s.azure.fallback_region,
        "key_vault_name": f"kv-{name}-lab",
        "log_analytics_workspace_id": (
            f"/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-{name}-lab"
            f"/providers/Microsoft.OperationalInsights/workspaces/log-{name}-lab"
        ),
        "file_target_host": TARGET_FILES,
        "file_target_root": str(target_root),
        "file_share_endpoints": {
            f"{muni.name}-{share.name}": f"{TARGET_FILES}:{target_root}/{muni.name}/{share.name}"
            for muni in programme.municipalities.values()
            for share in muni.shares
        },
        "directory_uri": plan.directories[TARGET].uri,
        "directory_base_dn": plan.directories[TARGET].suffix,
        "dns_server": plan.dns_address,
        "dns_zone": s.organisation.mail_domain,
        "workplace_fqdn": f"avd.{s.organisation.mail_domain}",
        "application_gateway_ip": gateway,
        "database_server_fqdn": plan.pg_target,
        "integration_hub_endpoint": f"http://{plan.hub_address}:{HUB_PORT}",
        "host_pool_names": {
            role: f"vdpool-{name}-lab-{role}" for role in ("office", "cad", "standby")
        },
        "recovery_vault_name": f"rsv-{name}-lab",
    }
    missing = set(STACK_OUTPUTS) - set(values)
    assert not missing, f"lab outputs miss {missing}"
    source_dbs: dict[str, dict[str, list[str]]] = {}
    for app in plan.apps:
        if app.databases:
            source_dbs.setdefault(app.municipality, {})[app.name] = [
                postgres.source_db_name(app.municipality, d) for d in app.databases
            ]
    lab = {
        "programme": str(Path(programme.root).resolve()),
        "scale": scale,
        "seed": seed,
        "state": str(paths.state),
        "ssh": {"user": "root", "private_key": str(paths.private_key)},
        "fileservers": {
            f.host: {
                "group": f.group,
                "address": f.address,
                "port": f.port,
                "lab_root": str(paths.host_root(f.host)),
            }
            for f in plan.fileservers
        },
        "source_directories": {n: _directory(paths, plan, n) for n in programme.municipalities},
        "target_directory": _directory(paths, plan, TARGET),
        "dns": {
            "server": plan.dns_address,
            "port": DNS_PORT,
            "tsig_key_file": str(named.tsig_key_file(paths)),
            "tsig_key_name": named.TSIG_KEY_NAME,
            "tsig_algorithm": named.TSIG_ALGORITHM,
            "zones": {z.name: z.owner for z in plan.zones},
        },
        "postgres": {
            "host": plan.pg_source,
            "port": PG_PORT,
            "superuser": postgres.SUPERUSER,
            "password_file": str(postgres.password_file(paths)),
            "pgpass_file": str(postgres.pgpass_file(paths)),
            "source_databases": source_dbs,
            "target": {"host": plan.pg_target, "port": PG_PORT},
        },
        "applications": _applications(paths, plan, "source"),
        "target_applications": _applications(paths, plan, "target"),
        "national_services": {n.name: n.url for n in plan.national},
        "integration_hub": f"http://{plan.hub_address}:{HUB_PORT}",
    }
    return {"outputs": values, "lab": lab}


def write_outputs(path: Path, body: dict[str, Any]) -> None:
    path.write_text(json.dumps(body, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
