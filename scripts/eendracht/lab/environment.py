"""What the lab hands the migration: an environment like any other, in `<state>/lab/environment/`.

`environment.yml` (services and secret files), `hosts.yml` (every server a real lab sshd) and
`outputs.json` (every stack output name, pointing at the lab) — the layout docs/migration.md
describes for a real environment. The lab's own details (where it keeps each service, for its
independent checks) go to `<state>/lab/lab.json`, which no playbook reads.
"""

from __future__ import annotations

import json
import shutil
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from eendracht.lab import (
    ad_controllers,
    ad_dns,
    apps,
    fallback_site,
    mail_servers,
    named,
    postgres,
    samba_seed,
    slapd,
)
from eendracht.lab.paths import LabPaths
from eendracht.lab.people import LabPerson, lab_people
from eendracht.lab.plan import (
    DNS_PORT,
    DNS_PORT_AD,
    FALLBACK,
    HUB_PORT,
    PG_PORT,
    TARGET,
    TARGET_FILES,
    TARGET_MAIL,
    TRAFFIC_MANAGER_TTL,
    TRAFFIC_MANAGER_ZONE,
    AppService,
    DomainController,
    FileServer,
    LabPlan,
)
from eendracht.lab.sharetree import share_root
from eendracht.outputs import STACK_OUTPUTS
from eendracht.programme import models as m

SSH_COMMON_ARGS = "-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR"
ENVIRONMENT_NAME = "lab"


def target_share_root(paths: LabPaths) -> Path:
    return paths.host_root(TARGET_FILES) / "srv" / "shares"


def _host_vars(paths: LabPaths, server: FileServer, programme: m.Programme) -> dict[str, Any]:
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
    }
    if server.group not in (TARGET, FALLBACK):
        root = paths.host_root(server.host)
        shares = programme.municipalities[server.group].shares
        hv["share_paths"] = {
            s.name: str(share_root(root, s)) for s in shares if s.server == server.host
        }
    return hv


def hosts_yml(paths: LabPaths, plan: LabPlan, programme: m.Programme) -> dict[str, Any]:
    children: dict[str, Any] = {}
    servers = list(plan.fileservers)
    if plan.fallback is not None:
        servers += plan.fallback.servers
    for server in servers:
        group = children.setdefault(server.group, {"hosts": {}})
        group["hosts"][server.host] = _host_vars(paths, server, programme)
    return {"all": {"children": children}}


def _url_health(app: AppService) -> dict[str, str]:
    return {
        "url": app.url,
        "health": app.url + (app.health if app.health.startswith("/") else "/health"),
    }


def _endpoint(paths: LabPaths, app: AppService, side: str) -> dict[str, str]:
    prefix = "app" if side == "source" else "target-app"
    return {
        **_url_health(app),
        "config": str(apps.config_path(paths, app, side)),
        "reload_pid_file": str(paths.pids / f"{prefix}-{app.municipality}-{app.name}.pid"),
    }


PROBES = 3  # source accounts per municipality whose binds verify and rollback try


def _source_directory(
    paths: LabPaths, plan: LabPlan, name: str, people: Sequence[LabPerson]
) -> dict[str, Any]:
    if name not in plan.controllers:
        directory = plan.directories[name]
        return {
            "uri": directory.uri,
            "base_dn": directory.suffix,
            "people_dn": directory.people_dn,
            "bind_dn": directory.bind_dn,
            "password": {"file": str(slapd.password_file(paths, directory))},
        }
    domain = ad_controllers.domain_of(paths, plan.controllers[name])
    spec: dict[str, Any] = domain.directory_spec(
        people_dn=f"OU={samba_seed.PEOPLE_OU},{domain.base_dn}"
    )
    spec["password"] = {
        "file": spec.pop("password_file")
    }  # a secret reference, as environments have them
    probes = [p.account[:20] for p in people if p.enabled][:PROBES]
    spec["probes"] = [
        {"account": sam, "password": {"file": str(domain.password_file(sam))}} for sam in probes
    ]
    return spec


def _dns(paths: LabPaths, plan: LabPlan, name: str) -> dict[str, Any]:
    """The server of the municipality's zones: its DC (GSS-TSIG) or the lab's BIND (TSIG)."""
    if name in plan.controllers:
        dc = plan.controllers[name]
        kerberos: dict[str, Any] = dict(ad_dns.kerberos(paths, dc))
        kerberos["keytab"] = {"file": kerberos["keytab"]}
        return {"server": dc.address, "port": DNS_PORT_AD, "kerberos": kerberos}
    return {
        "server": plan.dns_address,
        "port": DNS_PORT,
        "tsig_key": {"file": str(named.tsig_key_file(paths))},
    }


def _source_mail(paths: LabPaths, plan: LabPlan, name: str) -> dict[str, Any]:
    """The municipality's IMAP server; a password file per mailbox, as an IMAP migration
    batch has a password per mailbox."""
    server = mail_servers.server_of(paths, plan, plan.mail_hosts[name])
    return {
        "host": server.address,
        "port": server.imaps_port,
        "tls": "imaps",
        "ca_file": str(server.files.cert),
        "login": "name",
        "password_dir": str(server.files.secrets),
    }


def _target_mail(paths: LabPaths, plan: LabPlan, programme: m.Programme) -> dict[str, Any]:
    """The new organisation's Dovecot: the moves run on its host, verification logs on as
    its migration master user."""
    target = mail_servers.target_mail(programme, mail_servers.directory_kind(plan))
    server = mail_servers.server_of(paths, plan, plan.mail_hosts[TARGET])
    return {
        "kind": "dovecot",
        "server": TARGET_MAIL,
        "config": str(server.files.config),
        "user_field": target.user_field,
        "shared_user": target.shared_template,
        "work_dir": str(server.files.moves),  # the lab's files stay under its state
        "imap": {
            "host": server.address,
            "port": server.imaps_port,
            "tls": "imaps",
            "ca_file": str(server.files.cert),
            "master_user": mail_servers.MASTER,
            "master_password": {"file": str(server.password_file(mail_servers.MASTER))},
        },
    }


def _target_directory(paths: LabPaths, plan: LabPlan) -> dict[str, Any]:
    if plan.active_directory:
        domain = ad_controllers.domain_of(paths, plan.controllers[TARGET])
        return {
            "kind": "active_directory",
            "bind_dn": domain.admin_principal,
            "people_dn": f"OU=Medewerkers,{domain.base_dn}",
            "groups_dn": f"OU=Groepen,{domain.base_dn}",
            "password": {"file": str(domain.admin_password_file)},
            "ca_file": str(domain.ca_cert),
        }
    target = plan.directories[TARGET]
    return {
        "bind_dn": target.bind_dn,
        "people_dn": target.people_dn,
        "groups_dn": target.groups_dn,
        "password": {"file": str(slapd.password_file(paths, target))},
    }


def environment_yml(
    paths: LabPaths,
    plan: LabPlan,
    programme: m.Programme,
    people: Mapping[str, Sequence[LabPerson]],
) -> dict[str, Any]:
    municipalities: dict[str, Any] = {}
    for name, mu in programme.municipalities.items():
        endpoints: dict[str, dict[str, Any]] = {}
        for app in plan.apps:
            if app.municipality == name:
                endpoints.setdefault(app.name, {})["source"] = _endpoint(paths, app, "source")
        for app in plan.target_apps:
            if app.municipality == name:
                endpoints.setdefault(app.name, {})["target"] = _endpoint(paths, app, "target")
        municipalities[name] = {
            "directory": _source_directory(paths, plan, name, people.get(name, ())),
            "dns": _dns(paths, plan, name),
            "mail": _source_mail(paths, plan, name),
            "databases": {
                "host": plan.pg_source,
                "port": PG_PORT,
                "user": postgres.SUPERUSER,
                "names": {
                    d.name: postgres.source_db_name(name, d.name)
                    for app in mu.applications
                    for d in app.databases
                },
            },
            "applications": endpoints,
        }
    return {
        "name": ENVIRONMENT_NAME,
        "programme": programme.name,
        "description": "the rehearsal lab: real daemons on loopback addresses (eendracht lab)",
        # The lab's waves go with the lab: `lab down` removes their journals too.
        "waves_dir": str(paths.lab / "waves"),
        "postgres_passfile": {"file": str(postgres.pgpass_file(paths))},
        "target": {
            "directory": _target_directory(paths, plan),
            "databases": {"port": PG_PORT, "user": postgres.SUPERUSER},
            "mail": _target_mail(paths, plan, programme),
        },
        "municipalities": municipalities,
        **({"fallback": _fallback(paths, plan, programme)} if plan.fallback else {}),
    }


def _site_database(
    paths: LabPaths, host: str, address: str, side: str, application_name: str
) -> dict[str, Any]:
    return {
        "host": host,
        "address": address,
        "port": PG_PORT,
        "user": postgres.SUPERUSER,
        "data_dir": str(postgres.cluster(paths, side, address).data),
        "bin_dir": str(postgres.pg_bin()),
        "os_user": postgres.PG_USER,
        "replication_passfile": str(fallback_site.replication_passfile(paths)),
        "application_name": application_name,
    }


def _directory_uri(dc: DomainController | None) -> dict[str, str]:
    if dc is None:
        return {}
    return {"directory": f"ldaps://{dc.address}"}


def _fallback(paths: LabPaths, plan: LabPlan, programme: m.Programme) -> dict[str, Any]:
    """The fallback site and its control: the lab's own site_control module stands for the
    commands a real environment names (systemctl, az vm)."""
    site = plan.fallback
    assert site is not None
    control = [sys.executable, "-m", "eendracht.lab.site_control", "--state", str(paths.state)]
    fallback_apps: dict[str, dict[str, Any]] = {}
    for app in site.apps:
        fallback_apps.setdefault(app.municipality, {})[app.name] = _url_health(app)
    primary_apps: dict[str, dict[str, Any]] = {}
    for app in plan.target_apps:
        primary_apps.setdefault(app.municipality, {})[app.name] = _url_health(app)
    primary_hub = f"http://{plan.hub_address}:{HUB_PORT}"
    fallback_hub = f"http://{site.hub_address}:{HUB_PORT}"
    return {
        "replication": site.replication,
        "control": {
            "outage": [*control, "outage"],
            "stop": [*control, "stop"],
            "start": [*control, "start"],
        },
        "primary": {
            "database": _site_database(
                paths, site.primary_database_host.host, plan.pg_target, "target", "primary"
            ),
            "files": {"host": TARGET_FILES, "path": str(target_share_root(paths))},
            "hub": {"url": primary_hub, "health": f"{primary_hub}/health"},
            "applications": primary_apps,
            **_directory_uri(plan.controllers.get(TARGET)),
        },
        "fallback": {
            "database": _site_database(
                paths, site.database_host.host, site.database, postgres.STANDBY, "fallback"
            ),
            "files": {"host": site.files.host, "path": str(fallback_site.files_root(paths, site))},
            "hub": {"url": fallback_hub, "health": f"{fallback_hub}/health"},
            "applications": fallback_apps,
            **_directory_uri(site.controller),
        },
        "traffic_manager": {
            "server": site.traffic_manager,
            "port": DNS_PORT_AD,
            "tsig_key": {"file": str(fallback_site.tsig_key_file(paths))},
            "zone": TRAFFIC_MANAGER_ZONE,
            "ttl": TRAFFIC_MANAGER_TTL,
            "profiles": fallback_site.profiles(programme, plan, site),
        },
        "files": {
            "interval_seconds": fallback_site.REPLICATION_INTERVAL,
            "status_file": str(fallback_site.replication_status_file(paths)),
            "ssh_user": "root",
            "ssh_key": str(paths.private_key),
        },
    }


def _directory_outputs(paths: LabPaths, plan: LabPlan) -> dict[str, str]:
    """The stacks' directory outputs: the new domain's DC (LDAPS) or the target slapd."""
    if plan.active_directory:
        domain = ad_controllers.domain_of(paths, plan.controllers[TARGET])
        return {"directory_uri": f"ldaps://{domain.address}", "directory_base_dn": domain.base_dn}
    target = plan.directories[TARGET]
    return {"directory_uri": target.uri, "directory_base_dn": target.suffix}


def outputs(paths: LabPaths, plan: LabPlan, programme: m.Programme) -> dict[str, Any]:
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
        **_directory_outputs(paths, plan),
        "dns_server": _dns(paths, plan, TARGET)["server"],
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
    return values


def _service(paths: LabPaths, app: AppService, side: str) -> dict[str, Any]:
    """An application process as the lab's checks know it: endpoint, koppelingen, databases."""
    endpoint = _endpoint(paths, app, side)
    return {
        **endpoint,
        "pid_file": endpoint["reload_pid_file"],
        "koppelingen": sorted(app.koppelingen),
        "databases": [postgres.source_db_name(app.municipality, d) for d in app.databases],
    }


def _directory(paths: LabPaths, plan: LabPlan, name: str) -> dict[str, str]:
    if name in plan.controllers:
        domain = ad_controllers.domain_of(paths, plan.controllers[name])
        return domain.directory_spec(
            people_dn=f"OU={samba_seed.PEOPLE_OU},{domain.base_dn}",
            groups_dn=f"OU={samba_seed.GROUPS_OU},{domain.base_dn}",
        )
    d = plan.directories[name]
    return {
        "kind": "openldap",
        "uri": d.uri,
        "base_dn": d.suffix,
        "bind_dn": d.bind_dn,
        "password_file": str(slapd.password_file(paths, d)),
        "people_dn": d.people_dn,
        "groups_dn": d.groups_dn,
    }


def details(
    paths: LabPaths, plan: LabPlan, programme: m.Programme, scale: str, seed: int
) -> dict[str, Any]:
    """Where the lab keeps what, for `lab status` and its independent checks (lab.json)."""
    source_dbs: dict[str, dict[str, list[str]]] = {}
    for app in plan.apps:
        if app.databases:
            source_dbs.setdefault(app.municipality, {})[app.name] = [
                postgres.source_db_name(app.municipality, d) for d in app.databases
            ]
    return {
        "programme": str(Path(programme.root).resolve()),
        "scale": scale,
        "seed": seed,
        "state": str(paths.state),
        "environment": str(paths.environment),
        "ssh": {"user": "root", "private_key": str(paths.private_key)},
        "fileservers": {
            f.host: {
                "group": f.group,
                "address": f.address,
                "port": f.port,
                "root": str(paths.host_root(f.host)),
            }
            for f in plan.fileservers
        },
        "share_paths": {
            mu.name: {s.name: str(share_root(paths.host_root(s.server), s)) for s in mu.shares}
            for mu in programme.municipalities.values()
        },
        "source_directories": {n: _directory(paths, plan, n) for n in programme.municipalities},
        "target_directory": _directory(paths, plan, TARGET),
        "dns": {
            "server": plan.dns_address if plan.named_zones else "",
            "port": DNS_PORT,
            "tsig_key_file": str(named.tsig_key_file(paths)) if plan.named_zones else "",
            "tsig_key_name": named.TSIG_KEY_NAME,
            "tsig_algorithm": named.TSIG_ALGORITHM,
            "zones": {z.name: z.owner for z in plan.zones},
            # Where each zone is served: its owner's DC (AD-integrated) or the lab's BIND.
            "zone_servers": {
                z.name: {k: _dns(paths, plan, z.owner)[k] for k in ("server", "port")}
                for z in plan.zones
            },
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
        "applications": {
            mu: {a.name: _service(paths, a, "source") for a in plan.apps if a.municipality == mu}
            for mu in programme.municipalities
        },
        "target_applications": {
            mu: {
                a.name: _service(paths, a, "target")
                for a in plan.target_apps
                if a.municipality == mu
            }
            for mu in programme.municipalities
        },
        "national_services": {n.name: n.url for n in plan.national},
        "integration_hub": f"http://{plan.hub_address}:{HUB_PORT}",
        "domain_controllers": ad_controllers.details(paths, plan),
        "mail_servers": mail_servers.details(
            paths, plan, mail_servers.target_mail(programme, mail_servers.directory_kind(plan))
        ),
        "mail_domain": programme.settings.organisation.mail_domain,
    }


def _yaml(header: str, body: dict[str, Any]) -> str:
    return header + yaml.safe_dump(body, allow_unicode=True, sort_keys=False)


def write_environment(
    paths: LabPaths, plan: LabPlan, programme: m.Programme, scale: str, seed: int
) -> Path:
    people = lab_people(programme, scale, seed)
    """Writes the environment (atomically: a half-written one is never seen) and lab.json."""
    out = paths.environment
    tmp = out.with_name(out.name + ".new")
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir(parents=True)
    (tmp / "environment.yml").write_text(
        _yaml("# Written by eendracht lab: the rehearsal lab as an environment.\n",
              environment_yml(paths, plan, programme, people)),
        encoding="utf-8",
    )  # fmt: skip
    (tmp / "hosts.yml").write_text(
        _yaml("# eendracht lab: every server is a real sshd on a loopback address.\n",
              hosts_yml(paths, plan, programme)),
        encoding="utf-8",
    )  # fmt: skip
    (tmp / "outputs.json").write_text(
        json.dumps(outputs(paths, plan, programme), indent=2, ensure_ascii=False) + "\n",
        encoding="utf-8",
    )
    if out.exists():
        shutil.rmtree(out)
    tmp.rename(out)
    paths.details.write_text(
        json.dumps(details(paths, plan, programme, scale, seed), indent=2, ensure_ascii=False)
        + "\n",
        encoding="utf-8",
    )
    return out
