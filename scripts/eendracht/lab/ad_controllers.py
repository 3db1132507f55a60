"""The lab's Active Directory: a Samba DC for each AD domain of the plan, seeded with its
municipality's people, and the services `lab up` starts for them.

A domain is provisioned once per state (the cache under `<state>/cache/samba`, outside `lab/`,
survives `lab down`: the next `lab up` of the same programme copies it in a fraction of a
second); the people are seeded into the stopped DC in one bulk load.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from eendracht.lab import samba, samba_run, samba_seed
from eendracht.lab.paths import LabPaths, write_secret
from eendracht.lab.people import LabPerson
from eendracht.lab.plan import DomainController, LabPlan
from eendracht.lab.services import Service


def domain_of(paths: LabPaths, dc: DomainController) -> samba.Domain:
    return samba.Domain(dc.realm, dc.netbios, "dc1", dc.address, paths.lab / "ad" / dc.name)


def cache_dir(paths: LabPaths) -> Path:
    return paths.state / "cache" / "samba"


def prepare(
    paths: LabPaths,
    plan: LabPlan,
    people: Mapping[str, Sequence[LabPerson]],
    departments: Mapping[str, Sequence[str]] | None = None,
) -> dict[str, int]:
    """Provision every DC (in parallel) and seed its people (POSIX numbers by the
    municipality's `departments`, as its share trees have them); returns accounts per domain."""
    departments = departments or {}
    pending = []
    for name, dc in plan.controllers.items():
        admin = write_secret(
            paths.lab / "ad" / "secrets" / f"{name}-administrator.password",
            # Complex enough for AD's default password policy.
            f"{secrets.token_urlsafe(18)}-Aa1",
        )
        pending.append((domain_of(paths, dc), admin))
    samba.provision_all(pending, cache_dir(paths))
    data = {
        name: samba_seed.from_people(list(people.get(name, ())), departments.get(name, ()))
        for name in plan.controllers
    }
    # One ldbadd per domain, mostly password hashing, then the DNS account (every DC, the
    # target's too) and its keytab: two domains at a time on two cores.
    with ThreadPoolExecutor(max_workers=2) as pool:
        seeded = {
            name: pool.submit(_seed, domain, data[name])
            for (domain, _), name in zip(pending, plan.controllers, strict=True)
        }
        counts = {name: users for name, f in seeded.items() if (users := f.result())}
    for domain, _ in pending:
        samba_run.client_files(domain)  # the krb5.conf of its realm
    samba_run.prepare_mount_points()
    return counts


def _seed(domain: samba.Domain, data: samba_seed.SeedData) -> int:
    """Seed the stopped DC's people (if any) and add the DNS account; returns people seeded."""
    users = samba_seed.seed(domain, data).users if data.users else 0
    samba_seed.add_dns_account(domain)
    return users


def dc_service(name: str, domain: samba.Domain) -> Service:
    """A DC as `lab up` starts and probes it (its argv names its partner's files, if any)."""
    return Service(
        f"samba-{name}",
        "domain-controller",
        domain.address,
        636,
        samba_run.argv(domain),
        credentials_file=str(domain.admin_password_file),
        probe={
            "realm": domain.realm,
            "netbios": domain.netbios,
            "host_name": domain.host_name,
            "directory": str(domain.directory),
        },
    )


def services(paths: LabPaths, plan: LabPlan) -> list[Service]:
    return [dc_service(dc.name, domain_of(paths, dc)) for dc in plan.controllers.values()]


def details(paths: LabPaths, plan: LabPlan) -> dict[str, dict[str, str]]:
    """Where each DC is and the files a client needs (written by `prepare`)."""
    out = {}
    for name, dc in plan.controllers.items():
        domain = domain_of(paths, dc)
        out[name] = {
            "domain": dc.domain,
            "realm": dc.realm,
            "netbios": dc.netbios,
            "address": dc.address,
            "host_name": domain.fqdn,
            "ldaps_uri": f"ldaps://{dc.address}",
            "base_dn": domain.base_dn,
            "admin_principal": domain.admin_principal,
            "admin_password_file": str(domain.admin_password_file),
            "ca_file": str(domain.ca_cert),
            "krb5_conf": str(samba_run.krb5_conf_path(domain)),
            "directory": str(domain.directory),
        }
    return out
