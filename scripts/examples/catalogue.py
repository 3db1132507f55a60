"""Applications Dutch municipalities actually run, grouped by function (GEMMA referentiecomponent).

A municipality picks one product per function it has; koppelingen are declared between
functions (consumer -> provider, so the graph has no cycles) and resolved to whichever
product the municipality runs. National services (BRP, BAG, DSO, Suwinet...) are targets as-is.
"""

from __future__ import annotations

from dataclasses import dataclass

# Department roles an application's users come from; `all` is everyone.
ROLES = (
    "publiek", "sociaal", "ruimte", "openbare_ruimte", "bedrijfsvoering",
    "financien", "iv", "bestuur", "kcc", "all",
)  # fmt: skip


@dataclass(frozen=True)
class Db:
    name: str
    engine: str
    size_gb: float


@dataclass(frozen=True)
class Product:
    name: str
    display_name: str
    supplier: str
    disposition: str  # the usual one; a programme may override it
    host: str = ""  # lx (linux app+db), app (windows app server), rds (session host)
    databases: tuple[Db, ...] = ()
    saas_replacement: str = ""


@dataclass(frozen=True)
class Link:
    target: str  # a function key or a national service
    protocol: str
    criticality: str
    description: str


@dataclass(frozen=True)
class Function:
    key: str
    category: str
    roles: tuple[str, ...]
    share: float  # of the people in those roles who use it
    products: tuple[Product, ...]
    links: tuple[Link, ...] = ()
    core: bool = False  # gets a health endpoint even when it is SaaS
    extra_users: int = 0


def P(
    name: str,
    display_name: str,
    supplier: str,
    disposition: str,
    host: str = "",
    databases: tuple[Db, ...] = (),
    saas_replacement: str = "",
) -> Product:
    return Product(name, display_name, supplier, disposition, host, databases, saas_replacement)


def L(target: str, protocol: str, criticality: str, description: str) -> Link:
    return Link(target, protocol, criticality, description)


PG, MSSQL, ORACLE = "postgresql", "mssql", "oracle"

FUNCTIONS: tuple[Function, ...] = (
    # --- publiekszaken -------------------------------------------------------------
    Function("burgerzaken", "Burgerzakencomponent", ("publiek",), 1.0, (
        P("key2burgerzaken", "Key2Burgerzaken", "Centric", "saas"),
        P("iburgerzaken", "iBurgerzaken", "PinkRoccade Local Government", "saas"),
        P("procura", "Procura Burgerzaken", "Procura", "saas"),
    ), (
        L("BRP", "stuf", "critical", "StUF-BG: mutaties en bevragingen BRP"),
        L("zaak", "zgw-api", "medium", "aanvragen reisdocumenten en rijbewijzen als zaak"),
        L("documentcreatie", "soap", "low", "uittreksels en aktes opmaken"),
    ), core=True),
    Function("brp-beheer", "GBA-administratiecomponent", ("publiek",), 0.4, (
        P("neuron-brp", "Neuron BRP", "Neuron", "saas"),
    ), (L("BRP", "digikoppeling", "critical", "bijhouding BRP (Landelijke Voorziening)"),)),
    Function("gegevensmagazijn", "Gegevensmagazijncomponent", ("iv",), 0.5, (
        P("key2datadistributie", "Key2Datadistributie", "Centric", "saas"),
    ), (
        L("BRP", "stuf", "critical", "StUF-BG afnemer: kopie BRP voor de eigen organisatie"),
        L("Digilevering", "digikoppeling", "high", "gebeurtenisberichten (verhuizing, overlijden)"),
        L("HR", "digikoppeling", "medium", "Handelsregister-bevragingen"),
    ), core=True),
    Function("afspraken", "Afsprakenbeheercomponent", ("publiek", "kcc"), 0.9, (
        P("jcc-afspraken", "JCC Afspraken", "JCC Software", "saas"),
        P("qmatic", "Qmatic Orchestra", "Qmatic", "saas"),
    ), (L("burgerzaken", "rest", "medium", "afspraken voor paspoort en rijbewijs"),)),
    Function("verkiezingen", "Verkiezingencomponent", ("publiek",), 0.3, (
        P("osv2020", "OSV2020 (Ondersteunende Software Verkiezingen)", "Kiesraad", "remoteapp", "rds"),
    ), (L("burgerzaken", "file", "medium", "kiezersregister en kandidatenlijsten"),)),
    Function("begraven", "Begraafplaatsenadministratiecomponent", ("publiek", "openbare_ruimte"), 0.15, (
        P("key2begraven", "Key2Begraven", "Centric", "saas"),
    ), (
        L("BRP", "stuf", "medium", "overledenen en rechthebbenden"),
        L("financien", "file", "medium", "grafrechten factureren"),
    )),
    # --- zaakgericht werken en documenten ------------------------------------------
    Function("zaak", "Zaakafhandelcomponent", ("all",), 0.85, (
        P("decos-join", "Decos JOIN", "Decos", "saas"),
        P("mozard", "Mozard", "Mozard", "saas"),
        P("djuma", "Djuma", "Djuma", "saas"),
        P("zaakafhandelcomponent", "Zaakafhandelcomponent (ZAC)", "Dimpact (open source)", "rehost", "lx",
          (Db("zac", PG, 18.0),)),
    ), (
        L("BRP", "haal-centraal", "critical", "Haal Centraal BRP Personen bevragen"),
        L("zaakregistratie", "zgw-api", "critical", "Zaken API: zaken en statussen"),
        L("dms", "zgw-api", "high", "Documenten API: documenten bij zaken"),
        L("documentcreatie", "soap", "medium", "brieven en besluiten genereren"),
        L("gegevensmagazijn", "stuf", "high", "StUF-BG bevragingen personen en bedrijven"),
        L("BAG", "haal-centraal", "medium", "adressen en panden bij zaken"),
    ), core=True),
    Function("zaakregistratie", "Zaakregistratiecomponent", ("iv",), 0.2, (
        P("open-zaak", "Open Zaak", "Maykin Media (open source)", "rehost", "lx", (Db("openzaak", PG, 42.0),)),
    ), (L("e-depot", "file", "medium", "overbrenging van gesloten zaakdossiers"),), core=True),
    Function("dms", "Documentregistratiecomponent", ("all",), 0.6, (
        P("corsa", "Corsa", "Circle Software", "saas"),
        P("verseon", "Verseon", "Circle Software", "saas"),
        P("alfresco", "Alfresco Content Services", "Hyland", "rehost", "lx", (Db("alfresco", PG, 64.0),)),
    ), (L("e-depot", "file", "medium", "overbrenging naar het e-Depot"),), core=True),
    Function("documentcreatie", "Documentcreatiecomponent", ("all",), 0.7, (
        P("xential", "Xential", "Xential", "saas"),
        P("smartdocuments", "SmartDocuments", "SmartDocuments", "saas"),
    )),
    Function("e-depot", "E-depotcomponent", ("iv", "bestuur"), 0.3, (
        P("de-ree-edepot", "e-Depot", "De Ree archiefsystemen", "saas"),
        P("preservica", "Preservica e-Depot", "Preservica", "saas"),
    )),
    Function("scannen", "Documentcapturecomponent", ("iv", "publiek"), 0.25, (
        P("kofax-capture", "Kofax Capture", "Tungsten Automation", "remoteapp", "rds"),
    ), (L("dms", "zgw-api", "medium", "gescande post registreren"),)),
    Function("ondertekenen", "Ondertekencomponent", ("bestuur", "bedrijfsvoering"), 0.4, (
        P("validsign", "ValidSign", "ValidSign", "saas"),
    ), (L("zaak", "zgw-api", "low", "ondertekende besluiten terug bij de zaak"),)),
    # --- dienstverlening en kanalen ------------------------------------------------
    Function("formulieren", "E-formulierencomponent", ("iv", "kcc"), 0.5, (
        P("open-formulieren", "Open Formulieren", "Maykin Media (open source)", "saas"),
        P("xxllnc-formulieren", "xxllnc E-formulieren", "xxllnc", "saas"),
    ), (
        L("DigiD", "soap", "high", "inloggen van inwoners (SAML)"),
        L("eHerkenning", "soap", "high", "inloggen van ondernemers"),
        L("zaak", "zgw-api", "high", "ingediende formulieren als zaak"),
        L("BRP", "haal-centraal", "medium", "vooringevulde persoonsgegevens"),
    ), core=True),
    Function("portaal", "Mijn-omgevingcomponent", ("kcc",), 0.5, (
        P("open-inwoner", "Open Inwoner", "Maykin Media (open source)", "saas"),
    ), (
        L("DigiD", "soap", "high", "inloggen van inwoners"),
        L("zaakregistratie", "zgw-api", "high", "lopende zaken tonen"),
        L("MijnOverheid", "digikoppeling", "medium", "berichten in de Berichtenbox"),
    )),
    Function("website", "Contentmanagementcomponent", ("bestuur", "kcc"), 0.5, (
        P("iprox", "IPROX", "Infoprojects", "saas"),
        P("simgo", "Simgo", "Simgo", "saas"),
    ), (L("formulieren", "rest", "low", "formulieren op de website"),)),
    Function("klantcontact", "Klantinteractiecomponent", ("kcc", "publiek"), 1.0, (
        P("kiss", "KISS Klantinteractie-Servicesysteem", "Dimpact (open source)", "rehost", "lx",
          (Db("kiss", PG, 6.0),)),
        P("xxllnc-kcs", "xxllnc Klantcontact", "xxllnc", "saas"),
    ), (
        L("zaak", "zgw-api", "high", "contactmomenten bij zaken"),
        L("BRP", "haal-centraal", "medium", "klant opzoeken"),
    ), core=True),
    Function("telefonie", "Callcentercomponent", ("kcc",), 1.0, (
        P("enreach-contact", "Enreach Contact", "Enreach", "saas"),
    ), extra_users=4),
    Function("raadsinformatie", "Raadsinformatiecomponent", ("bestuur",), 1.0, (
        P("ibabs", "iBabs", "Visma iBabs", "saas"),
        P("notubiz", "NotuBiz", "NotuBiz", "saas"),
    ), (L("PLOOI", "digikoppeling", "medium", "actieve openbaarmaking (Woo)"),), extra_users=19),
    Function("webcast", "Webcastcomponent", ("bestuur",), 0.3, (
        P("company-webcast", "Company Webcast", "Company Webcast", "saas"),
    ), (L("raadsinformatie", "rest", "low", "agenda bij de uitzending"),)),
    # --- sociaal domein ------------------------------------------------------------
    Function("sociaal", "Sociaal-domeincomponent", ("sociaal",), 0.9, (
        P("suite4sociaal-domein", "Suite4Sociaal Domein", "Centric", "remoteapp", "rds"),
        P("civision-samenlevingszaken", "Civision Samenlevingszaken", "PinkRoccade Local Government",
          "remoteapp", "rds"),
    ), (
        L("BRP", "stuf", "critical", "StUF-BG: cliënten en huishoudens"),
        L("Inlichtingenbureau", "file", "critical", "iWmo- en iJw-berichten via het GGk"),
        L("financien", "file", "critical", "zorgfacturen en pgb-betalingen"),
        L("zaak", "zgw-api", "medium", "meldingen Wmo en Jeugd als zaak"),
    ), core=True),
    Function("werk-inkomen", "Inkomensvoorzieningencomponent", ("sociaal",), 0.45, (
        P("gws4all", "GWS4all", "Centric", "rehost", "app", (Db("gws", ORACLE, 35.0),)),
        P("civision-inkomen", "Civision Inkomen", "PinkRoccade Local Government", "saas"),
    ), (
        L("BRP", "stuf", "critical", "StUF-BG: aanvragers en gezinsleden"),
        L("Suwinet", "digikoppeling", "critical", "Suwinet-Inkijk en GegevensAfnemer"),
        L("Inlichtingenbureau", "file", "critical", "signalen en verificatie-inkomen"),
        L("financien", "file", "critical", "betaalbestand uitkeringen"),
    ), core=True),
    Function("leerplicht", "Leerplichtcomponent", ("sociaal",), 0.15, (
        P("key2onderwijs", "Key2Onderwijs", "Centric", "saas"),
    ), (L("BRP", "stuf", "high", "leerplichtigen en verhuizingen"),)),
    # --- ruimte en openbare ruimte -------------------------------------------------
    Function("vth", "Vergunningen-, toezicht- en handhavingcomponent", ("ruimte",), 0.9, (
        P("squit-xo", "Squit XO", "Roxit (Visma)", "saas"),
        P("openwave", "OpenWave", "Roxit (Visma)", "saas"),
        P("powerbrowser", "Powerbrowser", "Genetics", "saas"),
    ), (
        L("DSO", "rest", "critical", "aanvragen en meldingen uit het Omgevingsloket"),
        L("BAG", "haal-centraal", "high", "locatie van de aanvraag"),
        L("zaak", "zgw-api", "high", "vergunningaanvragen als zaak"),
        L("dms", "zgw-api", "medium", "bouwtekeningen en besluiten"),
        L("gis", "rest", "low", "kaartlagen bij de aanvraag"),
    ), core=True),
    Function("bag-beheer", "BAG-beheercomponent", ("ruimte",), 0.15, (
        P("neuron-bag", "Neuron BAG", "Neuron", "saas"),
    ), (
        L("BAG", "digikoppeling", "critical", "mutaties naar de Landelijke Voorziening BAG"),
        L("gis", "file", "medium", "BAG-objecten als kaartlaag"),
    )),
    Function("gis", "GEO-servercomponent", ("ruimte", "openbare_ruimte"), 0.4, (
        P("arcgis-enterprise", "ArcGIS Enterprise", "Esri Nederland", "rehost", "lx", (Db("sde", PG, 120.0),)),
        P("geoserver", "GeoServer met PostGIS", "OSGeo (open source)", "rehost", "lx", (Db("gis", PG, 85.0),)),
        P("arcgis-online", "ArcGIS Online", "Esri Nederland", "saas"),
    ), (L("BRK", "digikoppeling", "medium", "kadastrale percelen"),)),
    Function("gis-desktop", "GEO-viewercomponent", ("ruimte",), 0.3, (
        P("qgis", "QGIS", "QGIS.org (open source)", "remoteapp", "rds"),
    ), (L("gis", "rest", "low", "kaartlagen (WMS/WFS)"),)),
    Function("cad", "CAD-component", ("ruimte", "openbare_ruimte"), 0.0, (
        P("autocad-civil3d", "AutoCAD Civil 3D", "Autodesk", "remoteapp", "rds"),
    ), (L("gis", "file", "low", "ondergronden en BGT uit GIS"),)),
    Function("cad-map", "CAD-component", ("ruimte",), 0.0, (
        P("autocad-map3d", "AutoCAD Map 3D", "Autodesk", "remoteapp", "rds"),
    ), (L("gis", "file", "low", "kaartlagen uit GIS"),)),
    Function("landmeten", "Landmeetkundecomponent", ("openbare_ruimte",), 0.0, (
        P("trimble-business-center", "Trimble Business Center", "Trimble", "remoteapp", "rds"),
    ), (L("cad", "file", "low", "inmetingen naar tekening"),)),
    Function("bor", "Beheer openbare ruimte-component", ("openbare_ruimte",), 0.6, (
        P("obsurv", "Obsurv", "Antea Group", "saas"),
    ), (
        L("BGT", "digikoppeling", "medium", "beheerobjecten op de BGT"),
        L("gis", "rest", "medium", "beheerkaarten"),
    )),
    Function("meldingen", "Meldingencomponent", ("openbare_ruimte", "kcc"), 0.5, (
        P("signalen", "Signalen", "Gemeente Amsterdam (open source)", "rehost", "lx", (Db("signalen", PG, 9.0),)),
        P("fixi", "Fixi", "Fixi", "saas"),
    ), (
        L("bor", "rest", "high", "meldingen openbare ruimte als werkorder"),
        L("BAG", "haal-centraal", "low", "adres van de melding"),
    )),
    # --- bedrijfsvoering -----------------------------------------------------------
    Function("financien", "Financiële administratiecomponent", ("financien",), 1.0, (
        P("key2financien", "Key2Financiën", "Centric", "saas"),
        P("afas-profit", "AFAS Profit", "AFAS Software", "saas"),
        P("unit4-financials", "Unit4 Financials", "Unit4", "saas"),
        P("oracle-financials", "Oracle E-Business Suite Financials", "Oracle", "rehost", "app",
          (Db("ebsfin", ORACLE, 60.0),)),
    ), (L("hr", "file", "high", "salarisjournaal"),), core=True, extra_users=6),
    Function("belastingen", "Belastingencomponent", ("financien",), 0.6, (
        P("key2belastingen", "Key2Belastingen", "Centric", "saas"),
        P("civision-belastingen", "Civision Belastingen", "PinkRoccade Local Government", "saas"),
    ), (
        L("BRP", "stuf", "high", "belastingplichtigen"),
        L("WOZ", "digikoppeling", "critical", "aanlevering Landelijke Voorziening WOZ"),
        L("BAG", "digikoppeling", "high", "WOZ-objecten en adressen"),
        L("BRK", "digikoppeling", "high", "eigenaren en zakelijk gerechtigden"),
        L("financien", "file", "critical", "debiteuren en ontvangsten"),
        L("MijnOverheid", "digikoppeling", "low", "aanslagen in de Berichtenbox"),
    ), core=True),
    Function("hr", "Personeelsinformatiecomponent", ("bedrijfsvoering",), 0.3, (
        P("youforce", "Youforce", "Visma | Raet", "saas"),
        P("afas-hrm", "AFAS InSite (HRM)", "AFAS Software", "saas"),
    ), extra_users=8),
    Function("contractbeheer", "Contractbeheercomponent", ("bedrijfsvoering", "financien"), 0.3, (
        P("gouwit", "GouwIT", "GouwIT", "saas"),
    ), (L("financien", "rest", "low", "verplichtingen en facturen"),)),
    Function("risicomanagement", "Risicomanagementcomponent", ("financien", "bestuur"), 0.4, (
        P("naris", "NARIS", "Naris", "saas"),
    )),
    Function("servicedesk", "Servicemanagementcomponent", ("all",), 1.0, (
        P("topdesk", "TOPdesk", "TOPdesk", "saas"),
    ), (L("hr", "file", "low", "in- en uitdiensttreding"),)),
    Function("facilitair", "Vastgoedbeheercomponent", ("bedrijfsvoering",), 0.3, (
        P("planon", "Planon", "Planon", "saas"),
        P("ultimo", "Ultimo", "Ultimo", "saas"),
    )),
    Function("managementinformatie", "Managementinformatiecomponent", ("financien", "iv", "bestuur"), 0.5, (
        P("cognos", "IBM Cognos Analytics", "IBM", "rehost", "app", (Db("cognos", MSSQL, 25.0),)),
        P("power-bi", "Power BI", "Microsoft", "saas"),
    ), (
        L("financien", "file", "medium", "grootboek en begroting"),
        L("sociaal", "file", "medium", "beleidsinformatie sociaal domein"),
    )),
    Function("berichtenverkeer", "Servicebuscomponent", ("iv",), 0.5, (
        P("enable-u", "Managed Integrations", "Enable U", "saas"),
        P("makelaarsuite", "MakelaarSuite", "Vicrea", "rehost", "app", (Db("makelaar", MSSQL, 4.0),)),
    ), (
        L("BRP", "stuf", "critical", "StUF-makelaar: BRP-bevragingen voor alle afnemers"),
        L("Digilevering", "digikoppeling", "high", "abonnementen op gebeurtenissen"),
    ), core=True),
    Function("ontwerp", "Grafische component", ("bestuur",), 0.5, (
        P("adobe-cc", "Adobe Creative Cloud", "Adobe", "saas"),
    )),
    Function("e-learning", "Leeromgevingcomponent", ("all",), 0.8, (
        P("goodhabitz", "GoodHabitz", "GoodHabitz", "saas"),
    )),
    Function("intranet", "Intranetcomponent", ("all",), 1.0, (
        P("sharepoint-2013", "SharePoint Server 2013 (intranet)", "Microsoft", "replace",
          saas_replacement="SharePoint Online"),
        P("embrace", "Embrace intranet", "Embrace", "saas"),
    )),
    Function("inkoop", "Aanbestedingscomponent", ("financien", "bedrijfsvoering"), 0.3, (
        P("negometrix", "Negometrix", "Mercell", "saas"),
    )),
    Function("kantoor", "Kantoorautomatiseringscomponent", ("all",), 1.0, (
        P("microsoft-365", "Microsoft 365 Apps", "Microsoft", "saas"),
    )),
    Function("veilig-mailen", "Beveiligde e-mailcomponent", ("all",), 0.7, (
        P("zivver", "Zivver", "Zivver", "saas"),
    )),
    Function("betalen", "Betaalcomponent", ("financien", "publiek"), 0.3, (
        P("worldline", "Worldline e-Commerce (iDEAL)", "Worldline", "saas"),
    ), (L("financien", "file", "medium", "dagafschriften online betalingen"),)),
    Function("webcare", "Webcarecomponent", ("kcc",), 1.0, (
        P("obi4wan", "OBI4wan", "OBI4wan", "saas"),
    )),
    Function("publicatie", "Publicatiecomponent", ("bestuur",), 0.5, (
        P("drop", "DROP (Decentrale Regelgeving en Officiële Publicaties)", "KOOP", "saas"),
    )),
    # --- infrastructuur die verdwijnt ----------------------------------------------
    Function("werkplek", "Werkplekcomponent", ("all",), 1.0, (
        P("citrix", "Citrix Virtual Apps and Desktops", "Cloud Software Group", "replace",
          saas_replacement="Azure Virtual Desktop"),
    )),
    Function("mail", "E-mailcomponent", ("all",), 1.0, (
        P("exchange-2016", "Microsoft Exchange Server 2016", "Microsoft", "replace",
          saas_replacement="Exchange Online"),
    )),
    Function("werkplekbeheer", "Werkplekbeheercomponent", ("iv",), 0.5, (
        P("sccm", "Microsoft Configuration Manager", "Microsoft", "replace", saas_replacement="Microsoft Intune"),
    )),
    Function("backup", "Back-upcomponent", ("iv",), 0.3, (
        P("veeam", "Veeam Backup & Replication", "Veeam", "replace", saas_replacement="Azure Backup"),
    )),
    Function("antivirus", "Beveiligingscomponent", ("iv",), 0.3, (
        P("symantec-endpoint", "Symantec Endpoint Protection", "Broadcom", "retire"),
    )),
    Function("mailarchief", "Archiefbeheercomponent", ("iv",), 0.3, (
        P("mailstore", "MailStore Server", "MailStore", "retire"),
    )),
    Function("notes", "Samenwerkingscomponent", ("all",), 0.2, (
        P("lotus-notes", "Notes-applicaties (Lotus Notes)", "HCL Software", "retire"),
    )),
    Function("access", "Zelfbouwcomponent", ("publiek", "ruimte"), 0.2, (
        P("access-databases", "Access-databases (zelfbouw)", "eigen beheer", "retire"),
    )),
    Function("hondenregister", "Zelfbouwcomponent", ("financien",), 0.2, (
        P("hondenregister", "Hondenregister (FileMaker)", "eigen beheer", "retire"),
    )),
    Function("subsidies", "Subsidiecomponent", ("sociaal", "bestuur"), 0.2, (
        P("subsidieregister", "Subsidieregister (Excel/Access)", "eigen beheer", "replace",
          saas_replacement="Decos JOIN Subsidies"),
    )),
)  # fmt: skip

BY_KEY: dict[str, Function] = {f.key: f for f in FUNCTIONS}
PRODUCT_FUNCTION: dict[str, Function] = {p.name: f for f in FUNCTIONS for p in f.products}
PRODUCTS: dict[str, Product] = {p.name: p for f in FUNCTIONS for p in f.products}
