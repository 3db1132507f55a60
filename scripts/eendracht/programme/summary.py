"""Figures of a programme, per municipality in wave order: what `check` shows."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from eendracht.programme import models as m


@dataclass(frozen=True)
class MunicipalityFigures:
    name: str
    weekend: str
    inhabitants: int
    head_count: int
    people: int
    cad_users: int
    sites: int
    shares: int
    share_gb: float
    share_files: int
    zones: int
    records: int
    records_cut_over: int
    mailboxes: int
    devices: int
    applications: int
    dispositions: dict[str, int]
    koppelingen: int
    national_koppelingen: int
    databases: int


def figures(programme: m.Programme) -> list[MunicipalityFigures]:
    out = []
    for name, mu in programme.municipalities.items():
        records = [r for z in mu.dns.zones for r in z.records]
        koppelingen = [k for a in mu.applications for k in a.koppelingen]
        out.append(
            MunicipalityFigures(
                name=name,
                weekend=programme.wave(name).weekend.isoformat(),
                inhabitants=mu.info.inhabitants,
                head_count=mu.info.head_count,
                people=len(mu.people),
                cad_users=sum(p.workplace is m.Workplace.CAD for p in mu.people),
                sites=len(mu.info.sites),
                shares=len(mu.shares),
                share_gb=round(sum(s.size_gb for s in mu.shares), 1),
                share_files=sum(s.files for s in mu.shares),
                zones=len(mu.dns.zones),
                records=len(records),
                records_cut_over=sum(r.cuts_over for r in records),
                mailboxes=len(mu.mailboxes),
                devices=len(mu.devices),
                applications=len(mu.applications),
                dispositions=dict(Counter(a.disposition.value for a in mu.applications)),
                koppelingen=len(koppelingen),
                national_koppelingen=sum(k.target in m.NATIONAL_SERVICES for k in koppelingen),
                databases=sum(len(a.databases) for a in mu.applications),
            )
        )
    return out
