"""Rules across files: references, uniqueness, order. Each returns problems, never raises.

They run on `Parsed` (whatever the loader could read, even with problems elsewhere) and on
`Origins` (the file of each piece), both defined here: `loader.py` imports this module.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from eendracht.outputs import STACK_OUTPUTS
from eendracht.problems import Problem
from eendracht.programme import models as m


@dataclass(frozen=True)
class Parsed:
    """What parsed: cross-file rules run on it even when other files had problems."""

    settings: m.ProgrammeSettings | None
    municipalities: dict[str, m.Municipality]


@dataclass
class Origins:
    """Where each piece of the programme came from, for problem messages and rules."""

    programme_file: str = ""
    hosts_file: str = ""
    municipality_files: dict[str, dict[str, str]] = field(default_factory=dict)

    def of(self, municipality: str, key: str) -> str:
        return self.municipality_files.get(municipality, {}).get(key, "")


Rule = Callable[[Parsed, Origins], Iterator[Problem]]
RULES: list[Rule] = []


def rule(fn: Rule) -> Rule:
    RULES.append(fn)
    return fn


def check_rules(parsed: Parsed, origins: Origins) -> list[Problem]:
    return [p for r in RULES for p in r(parsed, origins)]


def _duplicates(values: list[str]) -> set[str]:
    return {v for v, n in Counter(values).items() if n > 1}


@rule
def waves_name_known_municipalities(p: Parsed, o: Origins) -> Iterator[Problem]:
    if p.settings is None:
        return
    seen: set[str] = set()
    for i, wave in enumerate(p.settings.waves):
        where = f"programme.waves[{i}].municipality"
        if wave.municipality in seen:
            yield Problem(
                o.programme_file, where, f"municipality {wave.municipality!r} has two waves"
            )
        seen.add(wave.municipality)
        if wave.municipality not in o.municipality_files:
            yield Problem(
                o.programme_file,
                where,
                f"unknown municipality {wave.municipality!r} (not a group in {o.hosts_file})",
            )
    for group in o.municipality_files:
        if group not in seen:
            yield Problem(
                o.programme_file, "programme.waves", f"municipality {group!r} has no wave"
            )


@rule
def waves_in_date_order(p: Parsed, o: Origins) -> Iterator[Problem]:
    if p.settings is None:
        return
    waves = p.settings.waves
    for i in range(1, len(waves)):
        if waves[i].weekend <= waves[i - 1].weekend:
            yield Problem(
                o.programme_file,
                f"programme.waves[{i}].weekend",
                f"{waves[i].weekend} is not after the previous wave's {waves[i - 1].weekend}; "
                "list waves in order, one municipality per weekend",
            )


@rule
def old_domains_kept_as_aliases(p: Parsed, o: Origins) -> Iterator[Problem]:
    if p.settings is None:
        return
    org = p.settings.organisation
    kept = {*org.alias_domains, org.mail_domain}
    for name, mu in p.municipalities.items():
        if mu.info.mail_domain not in kept:
            yield Problem(
                o.of(name, "municipality"),
                "municipality.mail_domain",
                f"old domain {mu.info.mail_domain!r} is not kept: add it to programme.organisation.alias_domains",
            )
        for i, person in enumerate(mu.people):
            domain = person.mail.split("@", 1)[1]
            if domain not in kept:
                yield Problem(
                    o.of(name, "people"),
                    f"people[{i}].mail",
                    f"domain {domain!r} is not kept as an alias of the new organisation",
                )


@rule
def municipality_named_as_group(p: Parsed, o: Origins) -> Iterator[Problem]:
    for name, mu in p.municipalities.items():
        if mu.info.name != name:
            yield Problem(
                o.of(name, "municipality"),
                "municipality.name",
                f"{mu.info.name!r} differs from its group {name!r}",
            )


@rule
def people_listed_or_sourced(p: Parsed, o: Origins) -> Iterator[Problem]:
    for name, mu in p.municipalities.items():
        where = o.of(name, "municipality")
        if not mu.people and mu.people_source is None:
            yield Problem(
                where, "people", "list the people or give a people_source to read them from"
            )
        if mu.people and mu.info.head_count != len(mu.people):
            yield Problem(
                where,
                "municipality.head_count",
                f"{mu.info.head_count} differs from the {len(mu.people)} people listed in {o.of(name, 'people')}",
            )


@rule
def people_unique_and_in_departments(p: Parsed, o: Origins) -> Iterator[Problem]:
    for name, mu in p.municipalities.items():
        file = o.of(name, "people")
        departments = set(mu.info.departments)
        accounts: set[str] = set()
        mails: set[str] = set()
        for i, person in enumerate(mu.people):
            if person.department not in departments:
                yield Problem(
                    file, f"people[{i}].department", f"unknown department {person.department!r}"
                )
            if person.account in accounts:
                yield Problem(
                    file, f"people[{i}].account", f"account {person.account!r} is used twice"
                )
            if person.mail in mails:
                yield Problem(file, f"people[{i}].mail", f"mail {person.mail!r} is used twice")
            accounts.add(person.account)
            mails.add(person.mail)
        if mu.people:
            used = {person.department for person in mu.people}
            for i, dept in enumerate(mu.info.departments):
                if dept not in used:
                    yield Problem(
                        o.of(name, "municipality"),
                        f"municipality.departments[{i}]",
                        f"department {dept!r} has nobody in it",
                    )


def _hosts_with(mu: m.Municipality, role: m.ServerRole) -> set[str]:
    return {h.name for h in mu.hosts if role in h.server_roles}


@rule
def shares_on_file_servers(p: Parsed, o: Origins) -> Iterator[Problem]:
    for name, mu in p.municipalities.items():
        file = o.of(name, "shares")
        servers = _hosts_with(mu, m.ServerRole.FILESERVER)
        departments = set(mu.info.departments)
        for i, share in enumerate(mu.shares):
            if share.server not in servers:
                yield Problem(
                    file,
                    f"shares[{i}].server",
                    f"{share.server!r} is not a fileserver of {name} in {o.hosts_file}",
                )
            if share.department not in departments:
                yield Problem(
                    file, f"shares[{i}].department", f"unknown department {share.department!r}"
                )
        for dup in _duplicates([s.name for s in mu.shares]):
            yield Problem(file, "shares", f"share name {dup!r} is used twice")


@rule
def shares_inside_share_roots(p: Parsed, o: Origins) -> Iterator[Problem]:
    """A share lies inside a share root its server declares: what the files role may copy
    and freeze there. A path elsewhere (`/etc`, another share root's parent) is refused."""
    for name, mu in p.municipalities.items():
        file = o.of(name, "shares")
        hosts = {h.name: h for h in mu.hosts}
        for i, share in enumerate(mu.shares):
            host = hosts.get(share.server)
            if host is None:
                continue  # shares_on_file_servers reports it
            if not host.share_roots:
                yield Problem(
                    file,
                    f"shares[{i}].path",
                    f"{share.path!r} is not inside a share root: {share.server} declares no "
                    f"share_roots in {o.hosts_file}",
                )
            elif not any(m.path_inside(share.path, root) for root in host.share_roots):
                yield Problem(
                    file,
                    f"shares[{i}].path",
                    f"{share.path!r} is not inside a share root of {share.server} "
                    f"({', '.join(host.share_roots)})",
                )


@rule
def dns_zones_and_records(p: Parsed, o: Origins) -> Iterator[Problem]:
    zones_seen: dict[str, str] = {}
    for name, mu in p.municipalities.items():
        file = o.of(name, "dns")
        servers = _hosts_with(mu, m.ServerRole.DNS)
        for zi, zone in enumerate(mu.dns.zones):
            where = f"dns.zones[{zi}]"
            if zone.name in zones_seen:
                yield Problem(
                    file, f"{where}.name", f"zone {zone.name!r} is also in {zones_seen[zone.name]}"
                )
            zones_seen[zone.name] = name
            if zone.server not in servers:
                yield Problem(
                    file,
                    f"{where}.server",
                    f"{zone.server!r} is not a dns server of {name} in {o.hosts_file}",
                )
            names = Counter(r.name for r in zone.records)
            for ri, rec in enumerate(zone.records):
                if rec.cutover_output and rec.cutover_output not in STACK_OUTPUTS:
                    yield Problem(
                        file,
                        f"{where}.records[{ri}].cutover_output",
                        f"unknown stack output {rec.cutover_output!r}",
                    )
                if rec.type is m.RecordType.CNAME and names[rec.name] > 1:
                    yield Problem(
                        file,
                        f"{where}.records[{ri}].name",
                        f"CNAME {rec.name!r} cannot coexist with other records",
                    )
                if rec.cuts_over and zone.cutover_ttl > rec.ttl:
                    yield Problem(
                        file,
                        f"{where}.cutover_ttl",
                        f"{zone.cutover_ttl} is above record ttl {rec.ttl}",
                    )


@rule
def mailboxes_and_devices_have_owners(p: Parsed, o: Origins) -> Iterator[Problem]:
    serials: dict[str, str] = {}
    for name, mu in p.municipalities.items():
        accounts = {person.account for person in mu.people}
        file = o.of(name, "mailboxes")
        for i, box in enumerate(mu.mailboxes):
            if box.kind is m.MailboxKind.USER and mu.people and box.owner not in accounts:
                yield Problem(file, f"mailboxes[{i}].owner", f"unknown account {box.owner!r}")
        for dup in _duplicates([b.address for b in mu.mailboxes]):
            yield Problem(file, "mailboxes", f"address {dup!r} is used twice")
        file = o.of(name, "devices")
        for i, dev in enumerate(mu.devices):
            if dev.assigned_user and mu.people and dev.assigned_user not in accounts:
                yield Problem(
                    file, f"devices[{i}].assigned_user", f"unknown account {dev.assigned_user!r}"
                )
            if dev.serial in serials:
                yield Problem(
                    file,
                    f"devices[{i}].serial",
                    f"serial {dev.serial!r} is also in {serials[dev.serial]}",
                )
            serials[dev.serial] = name


@rule
def applications_and_koppelingen(p: Parsed, o: Origins) -> Iterator[Problem]:
    for name, mu in p.municipalities.items():
        file = o.of(name, "applications")
        apps: dict[str, m.Application] = {}
        for a in mu.applications:
            apps.setdefault(a.name, a)  # the first of a name, as Municipality.application
        hosts = {h.name for h in mu.hosts}
        for dup in _duplicates([a.name for a in mu.applications]):
            yield Problem(file, "applications", f"application name {dup!r} is used twice")
        for ai, app in enumerate(mu.applications):
            where = f"applications[{ai}]"
            if app.server and app.server not in hosts:
                yield Problem(
                    file,
                    f"{where}.server",
                    f"unknown host {app.server!r} (not in group {name} of {o.hosts_file})",
                )
            for dup in _duplicates([d.name for d in app.databases]):
                yield Problem(file, f"{where}.databases", f"database {dup!r} is listed twice")
            for ki, k in enumerate(app.koppelingen):
                kwhere = f"{where}.koppelingen[{ki}].target"
                if k.target == app.name:
                    yield Problem(file, kwhere, "an application cannot be coupled to itself")
                elif k.target not in apps and k.target not in m.NATIONAL_SERVICES:
                    yield Problem(file, kwhere, f"unknown application {k.target!r}")
                elif k.target in apps and apps[k.target].disposition is m.Disposition.RETIRE:
                    yield Problem(
                        file,
                        kwhere,
                        f"{k.target!r} is retired; repoint or retire this koppeling",
                    )
