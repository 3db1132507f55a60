"""The lab's fallback site (uitwijklocatie), built beside a started target site.

- a PostgreSQL standby of the target cluster, fed by streaming replication (synchronous or
  asynchronous: the target's `synchronous_standby_names`, switchable on a running lab);
- a file target mirrored from the primary one by rsync over SSH on a schedule;
- the target applications and the hub, configured for the fallback site, at capacity 0
  (started only by a failover);
- a second domain controller of the new domain, joined to the first (AD labs);
- the DNS server that plays Traffic Manager: one name per profile (the hub, each moved
  application), priority routing by record (primary first), a low TTL.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from eendracht.lab import ad_controllers, aliases, apps, named, postgres, samba, samba_join, sshd
from eendracht.lab.paths import LabPaths, write_secret
from eendracht.lab.plan import (
    DNS_PORT_AD,
    PG_PORT,
    TARGET,
    TRAFFIC_MANAGER_TTL,
    TRAFFIC_MANAGER_ZONE,
    AppService,
    FallbackSite,
    LabPlan,
    Zone,
    profile_name,
)
from eendracht.lab.procs import run
from eendracht.lab.running import ALIASES_FILE
from eendracht.lab.services import Service
from eendracht.programme import models as m

REPLICATION_INTERVAL = 2.0  # seconds between two file replication rounds
REPLICATOR = Path(__file__).with_name("file_replicator.py")
SSH_OPTIONS = ["-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
               "-o", "LogLevel=ERROR", "-o", "BatchMode=yes", "-o", "ConnectTimeout=3"]  # fmt: skip


def folder(paths: LabPaths) -> Path:
    return paths.lab / "fallback"


def files_root(paths: LabPaths, site: FallbackSite) -> Path:
    return paths.host_root(site.files.host) / "srv" / "shares"


def replication_status_file(paths: LabPaths) -> Path:
    return folder(paths) / "file-replication.json"


def replication_passfile(paths: LabPaths) -> Path:
    """The pgpass the clusters' own `postgres` user streams with (owned by it, 0600)."""
    return paths.postgres / "replication.pgpass"


def traffic_manager_folder(paths: LabPaths) -> Path:
    return paths.lab / "traffic-manager"


def tsig_key_file(paths: LabPaths) -> Path:
    return traffic_manager_folder(paths) / "tsig.key"


def standby_cluster(paths: LabPaths, site: FallbackSite) -> postgres.Cluster:
    return postgres.cluster(paths, postgres.STANDBY, site.database)


def profiles(programme: m.Programme, plan: LabPlan, site: FallbackSite) -> dict[str, Any]:
    """Traffic Manager profiles: DNS label -> (what, primary address, fallback address)."""
    out: dict[str, Any] = {
        profile_name(programme.name, "hub"): {
            "application": "",
            "municipality": "",
            "primary": plan.hub_address,
            "fallback": site.hub_address,
        }
    }
    for target, fallback in zip(plan.target_apps, site.apps, strict=True):
        out[profile_name(programme.name, target.municipality, target.name)] = {
            "municipality": target.municipality,
            "application": target.name,
            "primary": target.address,
            "fallback": fallback.address,
        }
    return out


def _primary_conninfo(paths: LabPaths, address: str, application_name: str) -> str:
    return (
        f"host={address} port={PG_PORT} user={postgres.SUPERUSER} "
        f"passfile={replication_passfile(paths)} application_name={application_name} "
        "connect_timeout=3"
    )


def _write_passfiles(paths: LabPaths, plan: LabPlan, site: FallbackSite) -> None:
    password = postgres.password_file(paths).read_text()
    lines = "".join(
        f"{address}:{PG_PORT}:*:{postgres.SUPERUSER}:{password}\n"
        for address in (plan.pg_source, plan.pg_target, site.database)
    )
    write_secret(postgres.pgpass_file(paths), lines)
    uid, gid = postgres.pg_ids()
    replication = write_secret(replication_passfile(paths), lines)
    os.chown(replication, uid, gid)


def make_standby(paths: LabPaths, primary: postgres.Cluster, standby: postgres.Cluster) -> None:
    """A base backup of the running target cluster, configured to stream from it."""
    uid, gid = postgres.pg_ids()
    if standby.data.exists():
        shutil.rmtree(standby.data)
    for d in (standby.data.parent, standby.sockets):
        d.mkdir(parents=True, exist_ok=True)
    os.chown(standby.sockets, uid, gid)
    os.chown(standby.data.parent, uid, gid)
    run(
        [
            str(postgres.pg_bin() / "pg_basebackup"),
            "-h",
            primary.address,
            "-p",
            str(primary.port),
            "-U",
            postgres.SUPERUSER,
            "-D",
            str(standby.data),
            "-X",
            "stream",
            "--no-sync",
            "-c",
            "fast",
        ],
        "the fallback site's base backup",
        user=postgres.PG_USER,
        env={**os.environ, "PGPASSFILE": str(replication_passfile(paths))},
        cwd=str(standby.data.parent),
    )
    with open(standby.data / "postgresql.auto.conf", "a", encoding="utf-8") as conf:
        conf.write(
            f"primary_conninfo = '{_primary_conninfo(paths, primary.address, 'fallback')}'\n"
        )
        conf.write("synchronous_standby_names = ''\n")
    (standby.data / "standby.signal").touch()
    postgres.chown_tree(standby.data, uid, gid)
    standby.data.chmod(0o700)


def set_replication(paths: LabPaths, primary: postgres.Cluster, mode: str) -> None:
    """Synchronous: every commit on the target waits for the fallback to have it."""
    names = "'fallback'" if mode == "synchronous" else "''"
    postgres.psql(
        paths, primary, "postgres", "-c", f"ALTER SYSTEM SET synchronous_standby_names = {names}"
    )
    postgres.psql(paths, primary, "postgres", "-c", "SELECT pg_reload_conf()")


def _app_configs(paths: LabPaths, plan: LabPlan, site: FallbackSite) -> list[tuple[str, Path]]:
    """The fallback instances read the standby's databases and call each other via the
    fallback hub; a SaaS peer stays where it is, as at the target site."""
    fallback_plan = LabPlan(
        octet=plan.octet,
        apps=plan.apps,
        target_apps=list(site.apps),
        national=plan.national,
        hub_address=site.hub_address,
        pg_target=site.database,
    )
    out = []
    for app in site.apps:
        body = apps.app_config(paths, fallback_plan, app, "target")
        body["side"] = "fallback"
        path = apps.write_json(app_config_path(paths, app), body)
        out.append((f"fallback-app-{app.municipality}-{app.name}", path))
    hub = apps.hub_config(plan, "fallback-hub", site.hub_address, site.apps)
    out.append(("fallback-hub", apps.write_json(folder(paths) / "apps" / "hub.json", hub)))
    return out


def app_config_path(paths: LabPaths, app: AppService) -> Path:
    return folder(paths) / "apps" / app.municipality / f"{app.name}.json"


def _traffic_manager(
    paths: LabPaths, programme: m.Programme, plan: LabPlan, site: FallbackSite
) -> Path:
    zone = Zone(
        TRAFFIC_MANAGER_ZONE,
        "traffic-manager",
        tuple(
            m.Record(name=label, type="A", value=p["primary"], ttl=TRAFFIC_MANAGER_TTL)
            for label, p in profiles(programme, plan, site).items()
        ),
    )
    return named.prepare(
        paths,
        [zone],
        site.traffic_manager,
        1,
        folder=traffic_manager_folder(paths),
        port=DNS_PORT_AD,
    )


def prepare(
    paths: LabPaths,
    plan: LabPlan,
    programme: m.Programme,
    progress: Callable[[str], None],
) -> list[Service]:
    """Everything of the fallback site, once the target site runs; returns its services,
    not started (the standby's data is copied from the running target cluster)."""
    site = plan.fallback
    assert site is not None
    folder(paths).mkdir(parents=True, exist_ok=True)
    out: list[Service] = []
    for server in site.servers:
        sshd.prepare(paths, server)
        out.append(
            Service(
                f"sshd-{server.host}",
                "fileserver",
                server.address,
                server.port,
                sshd.argv(sshd.host_dir(paths, server) / "sshd_config"),
                credentials_file=str(paths.private_key),
            )
        )
    files_root(paths, site).mkdir(parents=True, exist_ok=True)

    progress("fallback site: PostgreSQL standby (base backup of the target cluster)")
    _write_passfiles(paths, plan, site)
    primary = postgres.cluster(paths, "target", plan.pg_target)
    standby = standby_cluster(paths, site)
    make_standby(paths, primary, standby)
    set_replication(paths, primary, site.replication)
    out.append(
        Service(
            "postgres-fallback",
            "database",
            standby.address,
            standby.port,
            postgres.argv(standby, replicated=True),
            credentials_file=str(postgres.password_file(paths)),
            user=postgres.PG_USER,
        )
    )

    progress("fallback site: file replication, Traffic Manager, applications at capacity 0")
    config = folder(paths) / "file-replication-config.json"
    target_files = next(f for f in plan.fileservers if f.host == "target-files")
    apps.write_json(
        config,
        {
            "host": target_files.address,
            "port": target_files.port,
            "user": "root",
            "key": str(paths.private_key),
            "ssh_options": SSH_OPTIONS,
            "source": str(paths.host_root("target-files") / "srv" / "shares"),
            "target": str(files_root(paths, site)),
            "interval": REPLICATION_INTERVAL,
            "status_file": str(replication_status_file(paths)),
        },
    )
    out.append(
        Service(
            "file-replication",
            "replicator",
            site.files.address,
            0,
            [sys.executable, "-I", "-S", str(REPLICATOR), str(config)],
            probe={"status_file": str(replication_status_file(paths))},
        )
    )
    tm_config = _traffic_manager(paths, programme, plan, site)
    # named listens only on addresses it finds on an interface.
    aliases.add(site.traffic_manager, paths.lab / ALIASES_FILE)
    out.append(
        Service(
            "traffic-manager",
            "dns",
            site.traffic_manager,
            DNS_PORT_AD,
            named.argv(tm_config),
            credentials_file=str(tsig_key_file(paths)),
            probe={"zone": TRAFFIC_MANAGER_ZONE},
        )
    )
    for name, path in _app_configs(paths, plan, site):
        body = json.loads(path.read_text())
        address, port = body["listen"]
        out.append(
            Service(
                name,
                "hub" if name == "fallback-hub" else "target-application",
                address,
                port,
                apps.argv(path),
                probe={"url": f"http://{address}:{port}/health", "config": str(path)},
                on_demand=True,
            )
        )
    return out


def _controllers(paths: LabPaths, plan: LabPlan) -> tuple[samba.Domain, samba.Domain]:
    site = plan.fallback
    assert site is not None and site.controller is not None
    primary = ad_controllers.domain_of(paths, plan.controllers[TARGET])
    return primary, samba_join.replica_of(paths, plan.controllers[TARGET], site.controller.address)


def prepare_controller(paths: LabPaths, plan: LabPlan) -> None:
    """The new domain's first DC replicates (and knows its partner) from its first start."""
    samba_join.prepare_primary(*_controllers(paths, plan))


def join_controller(paths: LabPaths, plan: LabPlan) -> Service:
    """Joins the fallback DC to the running first one; returns its service, not started."""
    primary, replica = _controllers(paths, plan)
    samba_join.join(primary, replica)
    assert plan.fallback is not None and plan.fallback.controller is not None
    return samba_join.service(paths, plan.fallback.controller)


def settle_controller(paths: LabPaths, plan: LabPlan) -> None:
    samba_join.settle(*_controllers(paths, plan))
