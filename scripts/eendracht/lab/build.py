"""Building a fresh lab: pick free addresses, prepare and seed every service, start them."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from eendracht.lab import (
    ad_controllers,
    ad_dns,
    aliases,
    apps,
    claims,
    environment,
    fallback_site,
    mail_servers,
    named,
    net,
    postgres,
    slapd,
    sshd,
)
from eendracht.lab.errors import LabError
from eendracht.lab.manifest import Manifest
from eendracht.lab.paths import LabPaths
from eendracht.lab.people import LabPerson, colliding_names, lab_people
from eendracht.lab.plan import (
    DNS_PORT,
    HUB_PORT,
    TARGET,
    TARGET_FILES,
    LabPlan,
    plan_fallback,
    plan_lab,
)
from eendracht.lab.residents import residents
from eendracht.lab.running import ALIASES_FILE, spawn, wait_answering
from eendracht.lab.services import Service
from eendracht.lab.sharetree import TreeFigures, budgets, seed_share, share_root
from eendracht.programme import models as m

Progress = Callable[[str], None]


def full_plan(programme: m.Programme, octet: int, fallback: str) -> LabPlan:
    """The lab's plan, with its fallback site when `fallback` names a replication mode."""
    plan = plan_lab(programme, octet)
    if fallback:
        plan.fallback = plan_fallback(plan, programme, fallback)
    return plan


def _free_plan(programme: m.Programme, paths: LabPaths, fallback: str) -> LabPlan:
    for attempt in range(net.LAB_OCTETS):
        octet = net.lab_octet(paths.state, attempt)
        if not claims.claim(octet, paths.state):
            continue
        plan = full_plan(programme, octet, fallback)
        free = all(
            (net.udp_free if proto == "udp" else net.tcp_free)(addr, port)
            for _, addr, port, proto in plan.listeners()
        )
        if free:
            return plan
        claims.release(octet, paths.state)
    raise LabError("no free range of loopback addresses for the lab (127.100-199.x.x all busy)")


def _services(paths: LabPaths, plan: LabPlan, programme: m.Programme) -> list[Service]:
    """Every daemon except the HTTP ones (those need their databases first)."""
    out = []
    for f in plan.fileservers:
        config = sshd.host_dir(paths, f) / "sshd_config"
        out.append(
            Service(
                f"sshd-{f.host}",
                "fileserver",
                f.address,
                f.port,
                sshd.argv(config),
                credentials_file=str(paths.private_key),
            )
        )
    for d in plan.directories.values():
        config = slapd.folder(paths, d) / "slapd.conf"
        out.append(
            Service(
                f"slapd-{d.name}",
                "directory",
                d.address,
                d.port,
                slapd.argv(d, config),
                credentials_file=str(slapd.password_file(paths, d)),
                probe={"uri": d.uri, "bind_dn": d.bind_dn, "base_dn": d.suffix},
            )
        )
    if plan.named_zones:
        out.append(
            Service(
                "named",
                "dns",
                plan.dns_address,
                DNS_PORT,
                named.argv(paths.dns / "named.conf"),
                credentials_file=str(named.tsig_key_file(paths)),
                probe={"zone": plan.named_zones[0].name},
            )
        )
    for side, address in (("source", plan.pg_source), ("target", plan.pg_target)):
        c = postgres.cluster(paths, side, address)
        out.append(
            Service(
                f"postgres-{side}",
                "database",
                c.address,
                c.port,
                postgres.argv(c, replicated=plan.fallback is not None and side == "target"),
                credentials_file=str(postgres.password_file(paths)),
                user=postgres.PG_USER,
            )
        )
    return out


def _http_services(
    paths: LabPaths, configs: list[tuple[str, Path]], plan: LabPlan
) -> list[Service]:
    where: dict[str, tuple[str, int, str]] = {}
    for n in plan.national:
        where[f"national-{n.name}"] = (n.address, n.port, "national")
    for a in plan.apps:
        where[f"app-{a.municipality}-{a.name}"] = (a.address, a.port, "application")
    for a in plan.target_apps:
        where[f"target-app-{a.municipality}-{a.name}"] = (a.address, a.port, "target-application")
    where["integration-hub"] = (plan.hub_address, HUB_PORT, "hub")
    out = []
    for name, config in configs:
        address, port, kind = where[name]
        out.append(
            Service(
                name,
                kind,
                address,
                port,
                apps.argv(config),
                probe={"url": f"http://{address}:{port}/health", "config": str(config)},
            )
        )
    return out


def _seed_files(
    paths: LabPaths,
    plan: LabPlan,
    programme: m.Programme,
    people: dict[str, list[LabPerson]],
    scale: str,
    seed: int,
) -> dict[str, Any]:
    total = TreeFigures()
    per_share: dict[str, int] = {}
    every_share = [s for mu in programme.municipalities.values() for s in mu.shares]
    share_budgets = budgets(every_share, scale)
    for f in plan.fileservers:
        root = paths.host_root(f.host)
        root.mkdir(parents=True, exist_ok=True)
        if f.group == TARGET:
            if f.host == TARGET_FILES:
                environment.target_share_root(paths).mkdir(parents=True, exist_ok=True)
            continue
        muni = programme.municipalities[f.group]
        for share in muni.shares:
            if share.server != f.host:
                continue
            # The department's group, as the directory numbers it (gidNumber).
            departments = muni.info.departments
            offset = departments.index(share.department) if share.department in departments else 0
            gid = slapd.FIRST_GID + offset
            figures = seed_share(
                share_root(root, share),
                share,
                people[f.group],
                share_budgets[(share.server, share.name)],
                seed,
                gid,
            )
            per_share[f"{f.group}/{share.name}"] = figures.files
            total.add(figures)
    return {
        "files": total.files,
        "bytes": total.bytes,
        "directories": total.directories,
        "symlinks": total.symlinks,
        "hardlinks": total.hardlinks,
        "empty_files": total.empty,
        "files_per_share": per_share,
        "deepest_paths": total.paths,
    }


def build(
    programme: m.Programme, paths: LabPaths, wanted: Manifest, progress: Progress
) -> tuple[Manifest, LabPlan]:
    scale, seed = wanted.scale, wanted.seed
    postgres.require_traversable(paths.state)
    plan = _free_plan(programme, paths, wanted.fallback)
    wanted.octet = plan.octet
    for d in (paths.lab, paths.pids, paths.logs):
        d.mkdir(parents=True, exist_ok=True)
    paths.lab.chmod(0o755)
    people = lab_people(programme, scale, seed)
    inhabitants = {n: mu.info.inhabitants for n, mu in programme.municipalities.items()}
    resident_lists = {n: residents(mu, scale, seed) for n, mu in programme.municipalities.items()}

    with ThreadPoolExecutor(max_workers=2) as pool:
        # initdb is the slowest step; it runs while the file trees and directories are seeded.
        pg_source = postgres.cluster(paths, "source", plan.pg_source)
        pg_target = postgres.cluster(paths, "target", plan.pg_target)
        pg_ready = pool.submit(postgres.prepare, paths, pg_source, pg_target)
        progress("keys and sshd configurations")
        sshd.ensure_client_key(paths)
        for f in plan.fileservers:
            sshd.prepare(paths, f)
        progress("share trees")
        files = _seed_files(paths, plan, programme, people, scale, seed)
        progress("directories")
        for name, directory in plan.directories.items():
            if name == TARGET:
                slapd.prepare(paths, directory, [], [])
            else:
                departments = programme.municipalities[name].info.departments
                slapd.prepare(paths, directory, people[name], list(departments))
        if plan.named_zones:
            progress("DNS zones (BIND)")
            serial = int(dt.date.today().strftime("%Y%m%d")) * 100 + 1
            named.prepare(paths, plan.named_zones, plan.dns_address, serial)
        pg_ready.result()
        if plan.fallback is not None:
            postgres.write_replicated_settings(pg_target)
    progress("Active Directory domain controllers")
    by_municipality = {n: list(mu.info.departments) for n, mu in programme.municipalities.items()}
    accounts = ad_controllers.prepare(paths, plan, people, by_municipality)
    progress("mail servers")
    target_mail = mail_servers.target_mail(programme, mail_servers.directory_kind(plan))
    messages = mail_servers.prepare(paths, plan, people, scale, seed, target=target_mail)

    if plan.fallback is not None and plan.fallback.controller is not None:
        # Before the target DC's argv is computed: it then names its partner's files.
        fallback_site.prepare_controller(paths, plan)
    daemons = _services(paths, plan, programme)
    daemons += ad_controllers.services(paths, plan)
    daemons += mail_servers.services(paths, plan, people, target=target_mail)
    wanted.services = daemons
    wanted.write(paths.manifest)  # before starting: `down` can always find what was meant
    progress("starting sshd, slapd, samba, dovecot, named, postgres")
    if plan.named_zones:
        aliases.add(plan.dns_address, paths.lab / ALIASES_FILE)
    for s in daemons:
        spawn(paths, s)
    wanted.write(paths.manifest)
    wait_answering(
        paths, [s for s in daemons if s.kind in ("database", "mail", "domain-controller")]
    )
    mail_servers.publish_shared(paths, plan, people, target_mail)
    progress("AD-integrated DNS zones")
    dc_zones = ad_dns.load_all(paths, plan)

    progress("application databases")
    databases: dict[str, dict[str, int]] = {}
    for app in plan.apps:
        for db in app.databases:
            name = postgres.source_db_name(app.municipality, db)
            databases[name] = postgres.seed_database(
                paths, pg_source, app, name, resident_lists[app.municipality], scale, seed
            )
    configs = apps.write_configs(paths, plan, resident_lists, inhabitants)
    http = _http_services(paths, configs, plan)
    wanted.services = daemons + http
    progress("application and national-service processes")
    for s in http:
        spawn(paths, s)
    wanted.write(paths.manifest)
    wait_answering(paths, wanted.services)
    if plan.fallback is not None:
        site = fallback_site.prepare(paths, plan, programme, progress)
        wanted.services += site
        wanted.write(paths.manifest)
        for s in site:
            if not s.on_demand:
                spawn(paths, s)
        wanted.write(paths.manifest)
        wait_answering(paths, [s for s in site if not s.on_demand])
        if plan.fallback.controller is not None:
            progress("fallback site: a second domain controller joined to the first")
            dc = fallback_site.join_controller(paths, plan)
            wanted.services.append(dc)
            wanted.write(paths.manifest)
            spawn(paths, dc)
            wanted.write(paths.manifest)
            wait_answering(paths, [dc])
            fallback_site.settle_controller(paths, plan)
    stray = net.outside_loopback([s.pid for s in wanted.services if s.pid])
    if stray:
        listed = ", ".join(f"{proto} {where}" for proto, where in stray)
        raise LabError(f"a lab daemon listens outside 127.0.0.0/8 ({listed}); refused")

    wanted.seeded = {
        "people": {n: len(ps) for n, ps in people.items()},
        "disabled_accounts": {n: sum(not p.enabled for p in ps) for n, ps in people.items()},
        "colliding_names": colliding_names(people),
        "groups": {n: len({p.department for p in ps}) for n, ps in people.items()},
        "residents": {n: len(rs) for n, rs in resident_lists.items()},
        "shares": files,
        "zones": {z.name: len(z.records) for z in plan.zones},
        "zones_on_domain_controllers": dc_zones,
        "ad_accounts": accounts,
        "mail_messages": messages,
        "databases": databases,
    }
    return wanted, plan
