"""Synthesised programmes for stack tests and the stack benchmark: N municipalities of a
given head count, each with a town hall and a neighbourhood office, a few applications
(rehost, remoteapp, saas with koppelingen) and shares. Built from the models directly."""

from __future__ import annotations

import datetime as dt

from eendracht.programme import models as m

DEPARTMENTS = ("Burgerzaken", "Sociaal Domein", "Ruimte", "Bedrijfsvoering")


def _people(slug: str, count: int, cad: int) -> list[m.Person]:
    return [
        m.Person(
            given_name="Medewerker",
            surname=f"Nummer{i}",
            department=DEPARTMENTS[i % len(DEPARTMENTS)],
            account=f"{slug[:3]}{i:05d}",
            mail=f"medewerker.{i}@{slug}.nl",
            workplace=m.Workplace.CAD if i < cad else m.Workplace.OFFICE,
        )
        for i in range(count)
    ]


def _applications(slug: str) -> list[m.Application]:
    server = f"{slug[:3]}-app01"
    return [
        m.Application(
            name="zaaksysteem",
            display_name="Zaaksysteem",
            supplier="Leverancier",
            category="Zaakafhandelcomponent",
            disposition=m.Disposition.REHOST,
            users=50,
            server=server,
            databases=[m.Database(name="zaken", size_gb=20)],
            health="/health",
            koppelingen=[
                m.Koppeling(target="BRP", protocol=m.Protocol.HAAL_CENTRAAL),
                m.Koppeling(target="belastingen", protocol=m.Protocol.STUF),
            ],
        ),
        m.Application(
            name="belastingen",
            display_name="Belastingen",
            supplier="Leverancier",
            category="Belastingcomponent",
            disposition=m.Disposition.REMOTEAPP,
            users=10,
            server=server,
            health="/health",
            koppelingen=[m.Koppeling(target="WOZ", protocol=m.Protocol.STUF)],
        ),
        m.Application(
            name="burgerzaken",
            display_name="Burgerzaken",
            supplier="Leverancier",
            category="Burgerzakencomponent",
            disposition=m.Disposition.SAAS,
            users=10,
            koppelingen=[m.Koppeling(target="zaaksysteem", protocol=m.Protocol.ZGW_API)],
        ),
    ]


def municipality(index: int, head_count: int, cad: int) -> m.Municipality:
    slug = f"gemeente{index:02d}"
    hosts = [
        m.Host(
            name=f"{slug[:3]}-app01",
            group=slug,
            server_roles=[m.ServerRole.APPLICATION, m.ServerRole.DATABASE],
            server_os="windows",
        ),
        m.Host(name=f"{slug[:3]}-fs01", group=slug, server_roles=[m.ServerRole.FILESERVER]),
    ]
    return m.Municipality(
        info=m.MunicipalityInfo(
            name=slug,
            display_name=f"Gemeente {index}",
            inhabitants=20_000,
            head_count=head_count,
            mail_domain=f"{slug}.nl",
            departments=list(DEPARTMENTS),
            sites=[
                m.Site(
                    name="gemeentehuis",
                    kind=m.SiteKind.TOWN_HALL,
                    address_space=f"10.{20 + index}.0.0/24",
                    staff=head_count,
                ),
                m.Site(
                    name="wijkkantoor",
                    kind=m.SiteKind.NEIGHBOURHOOD_OFFICE,
                    address_space=f"10.{20 + index}.1.0/24",
                ),
            ],
        ),
        people=_people(slug, head_count, cad),
        shares=[
            m.Share(name=s, server=hosts[1].name, path=f"/srv/{s}", size_gb=50, department=d)
            for s, d in (("algemeen", "Bedrijfsvoering"), ("burgerzaken", "Burgerzaken"))
        ],
        applications=_applications(slug),
        hosts=hosts,
    )


def synthesise(municipalities: int = 3, head_count: int = 120, cad: int = 4) -> m.Programme:
    munis = {
        f"gemeente{i:02d}": municipality(i, head_count, cad) for i in range(1, municipalities + 1)
    }
    first = dt.date(2027, 3, 6)  # a Saturday
    settings = m.ProgrammeSettings(
        name="synthese",
        organisation=m.Organisation(
            name="Gemeente Synthese",
            mail_domain="synthese.nl",
            upn_suffix="synthese.nl",
            alias_domains=[f"{n}.nl" for n in munis],
        ),
        azure=m.Azure(primary_region="westeurope", fallback_region="swedencentral"),
        waves=[
            m.Wave(municipality=n, weekend=first + dt.timedelta(weeks=2 * i))
            for i, n in enumerate(munis)
        ],
    )
    return m.Programme(root="synthesised", settings=settings, municipalities=munis)
