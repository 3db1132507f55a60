"""PLE1N: Sint-Michielsgestel, Sint-Oedenrode and Haaren bring their ICT together.

Shaped after the shared-service case: close to 600 staff, about 150 applications, three
complete municipal organisations migrated one by one into one consolidated environment, with
I&A, belastingen and P&O hosted by Sint-Michielsgestel and a fallback site (uitwijklocatie)
in Sint-Oedenrode. Older landscape than Altena: Oracle and MSSQL back ends, fewer SaaS.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from examples.build import Context, Department, SiteSpec, Spec
from examples.catalogue import Db
from examples.names import Name

D = Department
S = SiteSpec

SHARED_NAMES = (
    (Name("Jan", "de", "Vries"), ("sint-michielsgestel", "sint-oedenrode")),
    (Name("Daniëlle", "van den", "Berg"), ("sint-michielsgestel", "haaren")),
    (Name("Mark", "van de", "Ven"), ("sint-michielsgestel", "sint-oedenrode", "haaren")),
    (Name("Linda", "van den", "Heuvel"), ("sint-oedenrode", "haaren")),
    (Name("Peter", "", "Verhoeven"), ("sint-michielsgestel", "haaren")),
    (Name("Fatma", "", "Çelik"), ("sint-michielsgestel", "sint-oedenrode")),
    (Name("Bas", "van", "Hout"), ("sint-michielsgestel", "sint-oedenrode")),
    (Name("Lukas", "", "Müller"), ("sint-oedenrode", "haaren")),
    (Name("Zoë", "", "Janssen"), ("sint-michielsgestel", "haaren")),
)

SHARED_MAILBOXES = (
    "info", "publiekszaken", "wmo", "jeugd", "participatie", "facturen", "vergunningen", "griffie", "communicatie",
)  # fmt: skip
ROOMS = ("raadzaal", "trouwkamer", "collegekamer", "spreekkamer-1")

ORACLE, MSSQL = "oracle", "mssql"

SINT_MICHIELSGESTEL = Spec(
    name="sint-michielsgestel", display_name="Gemeente Sint-Michielsgestel", inhabitants=28_600,
    domain="sint-michielsgestel.nl", ad_zone="gestel.local", host_prefix="smg", net=41, public_net="192.0.2",
    departments=(
        D("Publiekszaken", "publiek", 27), D("Klantcontactcentrum", "kcc", 10),
        D("Maatschappelijke Ontwikkeling", "sociaal", 48), D("Ruimtelijke Ontwikkeling", "ruimte", 26, cad_share=0.3),
        D("Openbare Ruimte", "openbare_ruimte", 42, cad_share=0.1), D("Bedrijfsvoering", "bedrijfsvoering", 23),
        D("Financiën", "financien", 14), D("I&A (PLE1N)", "iv", 28), D("Belastingen (PLE1N)", "financien", 16),
        D("P&O (PLE1N)", "bedrijfsvoering", 9), D("Bestuurszaken", "bestuur", 12),
    ),
    sites=(
        S("gemeentehuis", "townhall", 200), S("rekencentrum", "datacentre", 0),
        S("servicepunt-berlicum", "neighbourhood_office", 10), S("servicepunt-den-dungen", "neighbourhood_office", 6),
        S("gemeentewerf", "depot", 39),
    ),
    account="initial-prefixinitials-surname", mail="i.prefixsurname", vendor="hp",
    products=(
        "key2burgerzaken", "key2datadistributie", "jcc-afspraken", "osv2020", "key2begraven",
        "decos-join", "corsa", "xential", "de-ree-edepot", "kofax-capture", "validsign",
        "open-formulieren", "iprox", "xxllnc-kcs", "enreach-contact", "ibabs", "company-webcast",
        "suite4sociaal-domein", "gws4all", "key2onderwijs",
        "squit-xo", "neuron-bag", "arcgis-enterprise", "qgis", "autocad-civil3d", "autocad-map3d",
        "trimble-business-center", "obsurv", "fixi",
        "key2financien", "key2belastingen", "youforce", "gouwit", "naris", "topdesk", "planon", "cognos",
        "makelaarsuite", "adobe-cc", "microsoft-365", "zivver", "worldline", "drop", "negometrix",
        "citrix", "exchange-2016", "sccm", "veeam", "symantec-endpoint", "sharepoint-2013", "lotus-notes",
        "access-databases", "mailstore",
    ),
    dispositions={
        "key2burgerzaken": "rehost", "key2datadistributie": "rehost", "decos-join": "rehost", "corsa": "rehost",
        "key2financien": "rehost", "key2belastingen": "rehost",
    },
    databases={
        "key2burgerzaken": (Db("bzs", ORACLE, 22.0),), "key2datadistributie": (Db("dds", ORACLE, 14.0),),
        "decos-join": (Db("decosjoin", MSSQL, 55.0),), "corsa": (Db("corsa", MSSQL, 80.0),),
        "key2financien": (Db("fin", ORACLE, 30.0),), "key2belastingen": (Db("bel", ORACLE, 45.0),),
    },
    shared_mailboxes=(*SHARED_MAILBOXES, "ple1n-servicedesk", "ple1n-belastingen", "ple1n-po"), rooms=ROOMS,
    fileservers=2, kiosks=4,
)  # fmt: skip

SINT_OEDENRODE = Spec(
    name="sint-oedenrode", display_name="Gemeente Sint-Oedenrode", inhabitants=18_100,
    domain="sint-oedenrode.nl", ad_zone="rooi.local", host_prefix="sor", net=42, public_net="198.51.100",
    departments=(
        D("Publiekszaken", "publiek", 20), D("Klantcontactcentrum", "kcc", 8), D("Samenleving", "sociaal", 44),
        D("Ruimte", "ruimte", 22, cad_share=0.3), D("Openbare Werken", "openbare_ruimte", 46, cad_share=0.1),
        D("Bedrijfsvoering", "bedrijfsvoering", 26), D("Financiën", "financien", 14),
        D("Informatiebeheer", "iv", 8), D("Bestuurszaken", "bestuur", 10),
    ),
    sites=(
        S("gemeentehuis", "townhall", 150), S("uitwijklocatie", "datacentre", 0),
        S("servicepunt-olland", "neighbourhood_office", 6), S("gemeentewerf", "depot", 42),
    ),
    account="given.prefix-surname", mail="given.prefixsurname", vendor="dell",
    products=(
        "iburgerzaken", "qmatic", "osv2020", "key2begraven",
        "mozard", "verseon", "smartdocuments", "de-ree-edepot", "validsign",
        "xxllnc-formulieren", "simgo", "xxllnc-kcs", "enreach-contact", "notubiz",
        "civision-samenlevingszaken", "civision-inkomen", "key2onderwijs",
        "powerbrowser", "neuron-bag", "geoserver", "qgis", "autocad-civil3d", "obsurv", "signalen",
        "civision-belastingen", "unit4-financials", "youforce", "gouwit", "naris", "topdesk", "ultimo", "power-bi",
        "enable-u", "adobe-cc", "goodhabitz", "microsoft-365", "zivver", "worldline", "obi4wan", "drop",
        "citrix", "exchange-2016", "sccm", "veeam", "symantec-endpoint", "hondenregister", "mailstore",
        "subsidieregister",
    ),
    dispositions={
        "iburgerzaken": "rehost", "verseon": "rehost", "civision-inkomen": "rehost",
        "civision-belastingen": "rehost", "unit4-financials": "rehost",
    },
    databases={
        "iburgerzaken": (Db("iburgerzaken", MSSQL, 18.0),), "verseon": (Db("verseon", MSSQL, 70.0),),
        "civision-inkomen": (Db("civinkomen", MSSQL, 25.0),), "civision-belastingen": (Db("civbel", MSSQL, 30.0),),
        "unit4-financials": (Db("unit4", MSSQL, 20.0),),
    },
    shared_mailboxes=SHARED_MAILBOXES, rooms=ROOMS, kiosks=3,
)  # fmt: skip

HAAREN = Spec(
    name="haaren", display_name="Gemeente Haaren", inhabitants=14_100, domain="haaren.nl",
    ad_zone="haaren.local", host_prefix="hrn", net=43, public_net="203.0.113",
    departments=(
        D("Publiekszaken", "publiek", 14), D("Klantcontactcentrum", "kcc", 5), D("Samenleving", "sociaal", 34),
        D("Ruimte", "ruimte", 16, cad_share=0.25), D("Openbare Ruimte", "openbare_ruimte", 30, cad_share=0.1),
        D("Bedrijfsvoering", "bedrijfsvoering", 18), D("Financiën", "financien", 10),
        D("Informatiebeheer", "iv", 4), D("Bestuurszaken", "bestuur", 8),
    ),
    sites=(
        S("gemeentehuis", "townhall", 100), S("servicepunt-helvoirt", "neighbourhood_office", 8),
        S("servicepunt-esch", "neighbourhood_office", 5), S("gemeentewerf", "depot", 26),
    ),
    account="surname-initial", mail="iprefixsurname", vendor="lenovo",
    products=(
        "key2burgerzaken", "neuron-brp", "jcc-afspraken", "osv2020", "key2begraven",
        "djuma", "corsa", "xential", "preservica", "kofax-capture", "validsign",
        "open-formulieren", "open-inwoner", "iprox", "enreach-contact", "ibabs",
        "suite4sociaal-domein", "gws4all", "key2onderwijs",
        "openwave", "neuron-bag", "arcgis-online", "qgis", "autocad-civil3d", "obsurv", "fixi",
        "key2financien", "key2belastingen", "afas-hrm", "gouwit", "naris", "topdesk", "planon", "power-bi",
        "makelaarsuite", "adobe-cc", "microsoft-365", "zivver", "worldline", "drop",
        "citrix", "exchange-2016", "sccm", "veeam", "lotus-notes", "access-databases", "sharepoint-2013",
    ),
    dispositions={"corsa": "rehost", "key2financien": "rehost"},
    databases={"corsa": (Db("corsa", MSSQL, 40.0),), "key2financien": (Db("fin", ORACLE, 15.0),)},
    shared_mailboxes=SHARED_MAILBOXES, rooms=ROOMS[:3],
)  # fmt: skip

SPECS = (HAAREN, SINT_OEDENRODE, SINT_MICHIELSGESTEL)  # wave order: smallest first

CONTEXT = Context(
    programme="ple1n",
    new_domain="ple1n.nl",
    mx_target="ple1n-nl.mail.protection.outlook.com",
    files_endpoint="ple1nbestanden.file.core.windows.net",
    shared_names=SHARED_NAMES,
)

PROGRAMME: dict[str, Any] = {
    "programme": {
        "name": "ple1n",
        "description": "Sint-Michielsgestel, Sint-Oedenrode en Haaren: één ICT-omgeving voor bijna 600 medewerkers, met uitwijklocatie.",
        "organisation": {
            "name": "PLE1N",
            "mail_domain": "ple1n.nl",
            "upn_suffix": "ple1n.nl",
            "alias_domains": ["haaren.nl", "sint-oedenrode.nl", "sint-michielsgestel.nl"],
            "username_pattern": "given.surname",
            "cost_centre": "PLE1N-IA",
        },
        "azure": {
            "primary_region": "westeurope",
            "fallback_region": "germanywestcentral",
            "address_space": "10.110.0.0/16",
        },
        "waves": [
            {"municipality": "haaren", "weekend": dt.date(2027, 5, 29), "notes": "kleinste organisatie eerst"},
            {"municipality": "sint-oedenrode", "weekend": dt.date(2027, 6, 12),
             "notes": "uitwijklocatie blijft tot na de laatste golf in de lucht"},
            {"municipality": "sint-michielsgestel", "weekend": dt.date(2027, 6, 26),
             "notes": "thuisbasis van I&A, Belastingen en P&O van PLE1N"},
        ],
        "go_no_go": {
            "max_failed_health_checks": 0,
            "max_failed_chain_tests": 0,
            "min_verified_file_ratio": 1.0,
            "approvers": ["hoofd afdeling I&A PLE1N", "migratiecoördinator", "gemeentesecretaris"],
        },
    }
}  # fmt: skip
