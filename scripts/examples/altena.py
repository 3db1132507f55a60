"""Altena: Aalburg, Werkendam and Woudrichem merged on 1 January 2019 (~57,000 inhabitants).

Shaped after the case: ~140 applications after consolidation, SaaS-first (most become SaaS,
the social-domain applications do not yet and are delivered as RemoteApp), AutoCAD users
in spatial planning and public space who need GPU sessions, and neighbourhood offices
(steunpunten) besides the town halls. Woudrichem migrates first: the README rehearses it.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from examples.build import Context, Department, SiteSpec, Spec
from examples.names import Name

D = Department
S = SiteSpec

SHARED_NAMES = (
    (Name("Jan", "de", "Vries"), ("woudrichem", "aalburg", "werkendam")),
    (Name("Daniëlle", "van den", "Berg"), ("woudrichem", "werkendam")),
    (Name("Mark", "", "Jansen"), ("aalburg", "werkendam")),
    (Name("Linda", "", "Bakker"), ("woudrichem", "aalburg")),
    (Name("Peter", "van", "Dijk"), ("woudrichem", "werkendam")),
    (Name("Ahmet", "", "Yılmaz"), ("aalburg", "werkendam")),
    (Name("Sanne", "", "Visser"), ("woudrichem", "aalburg", "werkendam")),
    (Name("Kees", "van der", "Stelt"), ("woudrichem", "aalburg")),
    (Name("Mehmet", "", "Özil"), ("woudrichem", "werkendam")),
)

SHARED_MAILBOXES = (
    "info", "wmo", "jeugd", "werkeninkomen", "facturen", "vergunningen", "griffie",
    "servicedesk", "communicatie", "bestuurssecretariaat",
)  # fmt: skip
ROOMS = ("raadzaal", "trouwzaal", "collegekamer", "spreekkamer-1", "spreekkamer-2")

WOUDRICHEM = Spec(
    name="woudrichem", display_name="Gemeente Woudrichem", inhabitants=14_700, domain="woudrichem.nl",
    ad_zone="gemwoudrichem.local", host_prefix="wdr", net=31, public_net="192.0.2",
    departments=(
        D("Publiekszaken", "publiek", 14), D("Klantcontactcentrum", "kcc", 6),
        D("Sociaal Domein", "sociaal", 26), D("Ruimte", "ruimte", 15, cad_share=0.35),
        D("Openbare Ruimte", "openbare_ruimte", 24, cad_share=0.12), D("Bedrijfsvoering", "bedrijfsvoering", 13),
        D("Financiën", "financien", 10), D("Informatievoorziening", "iv", 8), D("Bestuursondersteuning", "bestuur", 6),
    ),
    sites=(
        S("gemeentehuis", "townhall", 100), S("steunpunt-andel", "neighbourhood_office", 6),
        S("steunpunt-giessen", "neighbourhood_office", 4), S("gemeentewerf", "depot", 12),
    ),
    account="initial-prefix-surname", mail="i.prefixsurname", vendor="hp",
    products=(
        "key2burgerzaken", "neuron-brp", "key2datadistributie", "jcc-afspraken", "osv2020", "key2begraven",
        "zaakafhandelcomponent", "open-zaak", "corsa", "xential", "de-ree-edepot", "validsign",
        "open-formulieren", "open-inwoner", "iprox", "xxllnc-kcs", "enreach-contact", "ibabs",
        "suite4sociaal-domein", "gws4all", "key2onderwijs",
        "squit-xo", "neuron-bag", "geoserver", "autocad-civil3d", "obsurv", "fixi",
        "key2financien", "key2belastingen", "youforce", "gouwit", "naris", "topdesk", "power-bi", "enable-u",
        "adobe-cc", "negometrix", "microsoft-365", "zivver", "worldline", "obi4wan", "drop",
        "citrix", "exchange-2016", "lotus-notes", "access-databases",
    ),
    shared_mailboxes=("publiekszaken", *SHARED_MAILBOXES), rooms=ROOMS, kiosks=3,
)  # fmt: skip

AALBURG = Spec(
    name="aalburg", display_name="Gemeente Aalburg", inhabitants=13_400, domain="aalburg.nl",
    ad_zone="aalburg.local", host_prefix="alb", net=32, public_net="198.51.100",
    departments=(
        D("Publiekszaken", "publiek", 12), D("Samenleving", "sociaal", 22), D("Ruimte", "ruimte", 14, cad_share=0.3),
        D("Buitendienst", "openbare_ruimte", 22, cad_share=0.1), D("Bedrijfsvoering", "bedrijfsvoering", 12),
        D("Financiën", "financien", 9), D("Informatievoorziening", "iv", 7), D("Bestuur en Griffie", "bestuur", 6),
    ),
    sites=(
        S("gemeentehuis", "townhall", 84), S("steunpunt-veen", "neighbourhood_office", 5),
        S("steunpunt-genderen", "neighbourhood_office", 4), S("gemeentewerf", "depot", 11),
    ),
    account="surname-initial", mail="given.prefixsurname", vendor="lenovo",
    products=(
        "iburgerzaken", "qmatic", "osv2020", "key2begraven",
        "djuma", "verseon", "smartdocuments", "de-ree-edepot", "validsign",
        "xxllnc-formulieren", "simgo", "xxllnc-kcs", "enreach-contact", "notubiz",
        "civision-samenlevingszaken", "civision-inkomen", "key2onderwijs",
        "powerbrowser", "neuron-bag", "arcgis-online", "autocad-civil3d", "autocad-map3d", "obsurv", "fixi",
        "afas-profit", "civision-belastingen", "afas-hrm", "gouwit", "naris", "topdesk", "ultimo", "power-bi",
        "enable-u", "adobe-cc", "goodhabitz", "microsoft-365", "zivver", "worldline", "drop",
        "citrix", "exchange-2016", "sccm", "hondenregister", "subsidieregister", "mailstore",
    ),
    shared_mailboxes=("burgerzaken", *SHARED_MAILBOXES), rooms=ROOMS[:4],
)  # fmt: skip

WERKENDAM = Spec(
    name="werkendam", display_name="Gemeente Werkendam", inhabitants=28_900, domain="werkendam.nl",
    ad_zone="werkendam.local", host_prefix="wkd", net=33, public_net="203.0.113",
    departments=(
        D("Burgerzaken", "publiek", 18), D("Klantcontactcentrum", "kcc", 9), D("Sociaal Domein", "sociaal", 36),
        D("Ruimtelijke Ontwikkeling", "ruimte", 20, cad_share=0.35),
        D("Openbare Ruimte", "openbare_ruimte", 34, cad_share=0.12), D("Bedrijfsvoering", "bedrijfsvoering", 20),
        D("Financiën", "financien", 15), D("Informatievoorziening", "iv", 13), D("Bestuursondersteuning", "bestuur", 11),
    ),
    sites=(
        S("gemeentehuis", "townhall", 140), S("steunpunt-sleeuwijk", "neighbourhood_office", 8),
        S("steunpunt-dussen", "neighbourhood_office", 6), S("steunpunt-nieuwendijk", "neighbourhood_office", 4),
        S("gemeentewerf", "depot", 18),
    ),
    account="initial.prefix-surname", mail="i.pre.fix.surname", vendor="dell",
    products=(
        "key2burgerzaken", "key2datadistributie", "jcc-afspraken", "osv2020", "key2begraven",
        "decos-join", "corsa", "xential", "de-ree-edepot", "kofax-capture", "validsign",
        "open-formulieren", "iprox", "xxllnc-kcs", "enreach-contact", "ibabs",
        "suite4sociaal-domein", "gws4all", "key2onderwijs",
        "squit-xo", "neuron-bag", "arcgis-enterprise", "qgis", "autocad-civil3d", "autocad-map3d",
        "trimble-business-center", "obsurv", "signalen",
        "key2financien", "key2belastingen", "youforce", "gouwit", "naris", "topdesk", "planon", "power-bi",
        "enable-u", "adobe-cc", "embrace", "negometrix", "microsoft-365", "zivver", "worldline", "drop",
        "citrix", "exchange-2016", "sccm", "veeam", "lotus-notes", "access-databases",
    ),
    shared_mailboxes=("burgerzaken", *SHARED_MAILBOXES), rooms=ROOMS, fileservers=2, kiosks=4,
)  # fmt: skip

SPECS = (WOUDRICHEM, AALBURG, WERKENDAM)  # wave order

CONTEXT = Context(
    programme="altena",
    new_domain="gemeentealtena.nl",
    mx_target="gemeentealtena-nl.mail.protection.outlook.com",
    files_endpoint="altenabestanden.file.core.windows.net",
    shared_names=SHARED_NAMES,
)

PROGRAMME: dict[str, Any] = {
    "programme": {
        "name": "altena",
        "description": "Aalburg, Werkendam en Woudrichem worden de gemeente Altena: één Azure-omgeving, SaaS-first, GPU voor tekenaars.",
        "organisation": {
            "name": "Gemeente Altena",
            "mail_domain": "gemeentealtena.nl",
            "upn_suffix": "gemeentealtena.nl",
            "alias_domains": ["woudrichem.nl", "aalburg.nl", "werkendam.nl"],
            "username_pattern": "initial.surname",
            "cost_centre": "ALT-IV",
        },
        "azure": {"primary_region": "westeurope", "fallback_region": "northeurope", "address_space": "10.100.0.0/16"},
        "waves": [
            {"municipality": "woudrichem", "weekend": dt.date(2027, 3, 13),
             "notes": "eerste golf; generale repetitie in het lab in de week ervoor"},
            {"municipality": "aalburg", "weekend": dt.date(2027, 3, 20)},
            {"municipality": "werkendam", "weekend": dt.date(2027, 4, 3),
             "notes": "na Pasen; grootste gemeente, twee bestandsservers"},
        ],
        "phases": [
            {"name": "preflight", "days_before": 21, "description": "controles en ketentestplan, geen wijzigingen"},
            {"name": "presync", "days_before": 7, "description": "bulkkopie bestanden en databases, DNS-TTL's omlaag"},
            {"name": "freeze", "description": "vrijdag 18:00: bronnen alleen-lezen, leveranciers op de hoogte"},
            {"name": "final_sync", "description": "deltakopie van wat sinds de bulkkopie veranderde"},
            {"name": "cutover", "description": "accounts, DNS, applicaties en koppelingen om"},
            {"name": "verify", "description": "technische tests en ketentests, daarna go/no-go"},
        ],
        "go_no_go": {
            "max_failed_health_checks": 0,
            "max_failed_chain_tests": 0,
            "min_verified_file_ratio": 1.0,
            "approvers": ["CIO", "migratiecoördinator", "teammanager Informatie", "functioneel beheer Sociaal Domein"],
        },
    }
}  # fmt: skip
