"""Pydantic models of a programme's YAML. Every model forbids unknown keys.

Field names are the YAML keys; `docs/programme.md` is their reference. Cross-file
rules (references, order) live in `rules.py`, not here: a model only knows its own file.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import re
from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

from eendracht.state import REPO_ROOT

SLUG = r"^[a-z][a-z0-9-]*$"
DNS_NAME = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
MAIL = re.compile(r"^[a-z0-9][a-z0-9._%+-]*@([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")

Slug = Annotated[str, Field(pattern=SLUG, min_length=2, max_length=40)]
Name = Annotated[str, Field(min_length=1, max_length=120)]

# Azure regions inside the European Union (BIO2 / AVG: data stays in the EU): the policy pack's
# list (policy/eu_regions.json, shipped with the pack), so the model and the pack cannot differ.
EU_REGIONS: frozenset[str] = frozenset(
    json.loads((REPO_ROOT / "policy" / "eu_regions.json").read_text(encoding="utf-8"))
)

# National services (Landelijke voorzieningen) a koppeling may target instead of an application.
NATIONAL_SERVICES = frozenset(
    {
        "BRP",
        "BAG",
        "BGT",
        "BRK",
        "BRO",
        "HR",
        "WOZ",
        "Suwinet",
        "DigiD",
        "eHerkenning",
        "MijnOverheid",
        "Digilevering",
        "Digimelding",
        "BRI",
        "DSO",
        "PLOOI",
        "Inlichtingenbureau",
        "GBA-V",
    }
)


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


def _dns_name(value: str) -> str:
    value = value.lower().rstrip(".")
    if not DNS_NAME.match(value):
        raise ValueError(f"not a valid DNS domain name: {value!r}")
    return value


def _mail(value: str) -> str:
    value = value.lower()
    if not MAIL.match(value):
        raise ValueError(f"not a valid mail address: {value!r}")
    return value


# --- the programme (group_vars/all) -------------------------------------------------


class UsernamePattern(StrEnum):
    INITIAL_SURNAME = "initial.surname"  # j.devries
    GIVEN_SURNAME = "given.surname"  # jan.devries


class Organisation(Model):
    name: Name
    mail_domain: str
    upn_suffix: str
    alias_domains: list[str] = Field(default_factory=list)
    username_pattern: UsernamePattern = UsernamePattern.INITIAL_SURNAME
    cost_centre: Annotated[str, Field(pattern=r"^[A-Z0-9-]{2,20}$")] = "CONS-IT"

    _domains = field_validator("mail_domain", "upn_suffix")(_dns_name)

    @property
    def ad_domain(self) -> str:
        """The new organisation's Active Directory domain, which the stacks' domain controllers
        carry: `ad.<upn_suffix>`."""
        return f"ad.{self.upn_suffix}"

    @field_validator("alias_domains")
    @classmethod
    def _aliases(cls, value: list[str]) -> list[str]:
        return [_dns_name(v) for v in value]


class Azure(Model):
    primary_region: str
    fallback_region: str
    address_space: str = "10.100.0.0/16"

    @field_validator("primary_region", "fallback_region")
    @classmethod
    def _eu(cls, value: str) -> str:
        if value not in EU_REGIONS:
            raise ValueError(
                f"region {value!r} is not an Azure region in the EU "
                f"(one of {', '.join(sorted(EU_REGIONS))})"
            )
        return value

    @field_validator("address_space")
    @classmethod
    def _cidr(cls, value: str) -> str:
        net = ipaddress.ip_network(value, strict=True)
        if not net.is_private or net.prefixlen > 20:
            raise ValueError(f"address space {value!r} must be private and /20 or larger")
        return value

    @model_validator(mode="after")
    def _distinct(self) -> Azure:
        if self.primary_region == self.fallback_region:
            raise ValueError(
                f"fallback_region must differ from primary_region ({self.primary_region})"
            )
        return self


class PhaseName(StrEnum):
    PREFLIGHT = "preflight"
    PRESYNC = "presync"
    FREEZE = "freeze"
    FINAL_SYNC = "final_sync"
    CUTOVER = "cutover"
    VERIFY = "verify"


PHASE_ORDER: tuple[PhaseName, ...] = tuple(PhaseName)


class Phase(Model):
    name: PhaseName
    days_before: Annotated[int, Field(ge=0, le=60)] = 0
    description: str = ""


def default_phases() -> list[Phase]:
    return [
        Phase(name=PhaseName.PREFLIGHT, days_before=14, description="checks, no changes"),
        Phase(name=PhaseName.PRESYNC, days_before=7, description="bulk copy, lower DNS TTLs"),
        Phase(name=PhaseName.FREEZE, description="Friday 18:00: sources read-only"),
        Phase(name=PhaseName.FINAL_SYNC, description="delta copy of what changed"),
        Phase(name=PhaseName.CUTOVER, description="accounts, DNS, applications, koppelingen"),
        Phase(name=PhaseName.VERIFY, description="technical and chain tests, then go/no-go"),
    ]


class Wave(Model):
    municipality: Slug
    weekend: dt.date
    notes: str = ""

    @field_validator("weekend")
    @classmethod
    def _weekend(cls, value: dt.date) -> dt.date:
        if value.isoweekday() not in (5, 6, 7):
            raise ValueError(
                f"{value.isoformat()} is a {value:%A}; a migration weekend starts Fri-Sun"
            )
        return value


class GoNoGo(Model):
    """Thresholds the verify phase measures before the gate."""

    max_failed_health_checks: Annotated[int, Field(ge=0)] = 0
    max_failed_chain_tests: Annotated[int, Field(ge=0)] = 0
    min_verified_file_ratio: Annotated[float, Field(ge=0.9, le=1.0)] = 1.0
    approvers: list[Name] = Field(default_factory=lambda: ["CIO", "migratiecoördinator"])


class ProgrammeSettings(Model):
    name: Slug
    description: str = ""
    organisation: Organisation
    azure: Azure
    waves: Annotated[list[Wave], Field(min_length=1)]
    phases: list[Phase] = Field(default_factory=default_phases)
    go_no_go: GoNoGo = GoNoGo()

    @field_validator("phases")
    @classmethod
    def _phase_order(cls, value: list[Phase]) -> list[Phase]:
        names = [p.name for p in value]
        if len(set(names)) != len(names):
            raise ValueError("a phase is listed twice")
        order = [PHASE_ORDER.index(n) for n in names]
        if order != sorted(order):
            raise ValueError(f"phases must follow {' -> '.join(PHASE_ORDER)}")
        for required in (PhaseName.PREFLIGHT, PhaseName.CUTOVER, PhaseName.VERIFY):
            if required not in names:
                raise ValueError(f"phase {required.value!r} cannot be left out")
        return value


# --- a municipality (group_vars/<municipality>) --------------------------------------


class SiteKind(StrEnum):
    TOWN_HALL = "townhall"
    NEIGHBOURHOOD_OFFICE = "neighbourhood_office"
    DEPOT = "depot"
    DATACENTRE = "datacentre"


class Site(Model):
    name: Slug
    kind: SiteKind
    address_space: str
    staff: Annotated[int, Field(ge=0)] = 0

    @field_validator("address_space")
    @classmethod
    def _cidr(cls, value: str) -> str:
        if not ipaddress.ip_network(value, strict=True).is_private:
            raise ValueError(f"site address space {value!r} is not private")
        return value


class MunicipalityInfo(Model):
    name: Slug
    display_name: Name
    inhabitants: Annotated[int, Field(gt=0)]
    head_count: Annotated[int, Field(gt=0)]
    mail_domain: str
    departments: Annotated[list[Name], Field(min_length=1)]
    sites: Annotated[list[Site], Field(min_length=1)]
    # The municipality's own Active Directory domain (its DNS name), where its directory is AD;
    # see Municipality.ad_domain for the default.
    ad_domain: str | None = None

    _domain = field_validator("mail_domain")(_dns_name)

    @field_validator("ad_domain")
    @classmethod
    def _ad_domain(cls, value: str | None) -> str | None:
        return None if value is None else _dns_name(value)

    @field_validator("departments")
    @classmethod
    def _unique(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError("a department is listed twice")
        return value


class Workplace(StrEnum):
    OFFICE = "office"
    CAD = "cad"  # GPU session host (NV-series)


class Person(Model):
    given_name: Name
    prefix: str = ""  # tussenvoegsel: "van den", "de", "van 't"
    surname: Name
    department: Name
    account: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9._-]{0,63}$")]
    mail: str
    workplace: Workplace = Workplace.OFFICE
    enabled: bool = True

    _mail = field_validator("mail")(_mail)

    @field_validator("prefix")
    @classmethod
    def _prefix(cls, value: str) -> str:
        if value and not re.fullmatch(r"[a-z' ]+", value):
            raise ValueError(f"tussenvoegsel {value!r} is written in lower case, e.g. 'van den'")
        return value

    @property
    def full_name(self) -> str:
        return " ".join(p for p in (self.given_name, self.prefix, self.surname) if p)


class PeopleSource(Model):
    """Where people are read from when they are not listed: the source directory."""

    kind: Annotated[str, Field(pattern=r"^(ldap|active_directory)$")] = "ldap"
    uri: str
    base_dn: str
    bind_dn: str = ""


# Characters a path on a Windows file server cannot hold (besides the separator).
WINDOWS_RESERVED = frozenset('<>:"/|?*')


# Leading labels that say "a directory" rather than whose it is: ad.gemeentealtena.nl is ALTENA's.
GENERIC_LABELS = frozenset(("ad", "corp", "intern", "internal", "dc"))


def netbios_name(domain: str) -> str:
    """The NetBIOS (pre-Windows 2000) name of an AD domain: its first label that is not a
    generic one (ad., corp., ...), in capitals, at most 15 letters, digits and hyphens."""
    labels = domain.split(".")
    while len(labels) > 1 and labels[0].lower() in GENERIC_LABELS:
        labels = labels[1:]
    label = re.sub(r"[^A-Za-z0-9-]", "", labels[0]).upper()
    return label[:15].rstrip("-") or "DOMAIN"


def _controls(value: str) -> bool:
    return any(ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F for c in value)


def is_windows_path(value: str) -> bool:
    return re.match(r"^[A-Z]:\\", value) is not None


def normalised_path(value: str) -> str:
    """An absolute, normalised folder path: `/srv/shares/x` or `D:\\Shares\\x`, never a root.

    Refused rather than repaired: `..` and `.` segments, `//`, a trailing separator, control
    characters, the root itself (`/`, `D:\\`); on Windows also `/`, reserved characters and
    segments ending in a dot or a space (Windows drops those, so `x.` would be `x`)."""
    if _controls(value):
        raise ValueError(f"path {value!r} holds a control character")
    if is_windows_path(value):
        rest = value[3:]
        if not rest:
            raise ValueError(f"path {value!r} is a drive's root, not a folder on it")
        for segment in rest.split("\\"):
            if segment in ("", ".", ".."):
                raise ValueError(
                    f"path {value!r} is not normalised (empty, '.' or '..' segment, or a trailing \\)"
                )
            if segment != segment.rstrip(". ") or WINDOWS_RESERVED & set(segment):
                raise ValueError(
                    f"path {value!r}: segment {segment!r} ends in a dot or space or holds one of "
                    + "".join(sorted(WINDOWS_RESERVED))
                )
        return value
    if not value.startswith("/"):
        raise ValueError(f"path {value!r} is not absolute (/… or D:\\…)")
    if value == "/":
        raise ValueError("path '/' is the root folder, not a folder on it")
    if any(segment in ("", ".", "..") for segment in value[1:].split("/")):
        raise ValueError(
            f"path {value!r} is not normalised (empty, '.' or '..' segment, or a trailing /)"
        )
    return value


FolderPath = Annotated[str, AfterValidator(normalised_path)]


def path_inside(path: str, root: str) -> bool:
    """Whether normalised `path` lies below normalised `root` (Windows: case-insensitive)."""
    if is_windows_path(path) != is_windows_path(root):
        return False
    if is_windows_path(path):
        return path.lower().startswith(root.lower().rstrip("\\") + "\\")
    return path.startswith(root.rstrip("/") + "/")


class Share(Model):
    name: Slug
    server: Slug
    path: FolderPath  # inside a share root of its server (rules.py)
    size_gb: Annotated[float, Field(ge=0)]
    files: Annotated[int, Field(ge=0)] = 0
    department: Name
    protocol: Annotated[str, Field(pattern=r"^(nfs|smb|local)$")] = "smb"
    mirror: bool = False  # delete on the target what the source no longer has


class RecordType(StrEnum):
    A = "A"
    AAAA = "AAAA"
    CNAME = "CNAME"
    MX = "MX"
    TXT = "TXT"
    SRV = "SRV"


class Record(Model):
    name: Annotated[str, Field(pattern=r"^(@|[a-z0-9_*]([a-z0-9_.-]*[a-z0-9])?)$")]
    type: RecordType
    value: Name
    ttl: Annotated[int, Field(ge=30, le=604800)] = 3600
    cutover_to: str = ""  # literal new value
    cutover_output: str = ""  # or the name of a stack output holding it

    @model_validator(mode="after")
    def _one_target(self) -> Record:
        if self.cutover_to and self.cutover_output:
            raise ValueError("give cutover_to or cutover_output, not both")
        return self

    @property
    def cuts_over(self) -> bool:
        return bool(self.cutover_to or self.cutover_output)


class Zone(Model):
    name: str
    server: Slug
    cutover_ttl: Annotated[int, Field(ge=30, le=3600)] = 300
    records: list[Record] = Field(default_factory=list)

    _zone = field_validator("name")(_dns_name)


class Dns(Model):
    zones: list[Zone] = Field(default_factory=list)


class MailboxKind(StrEnum):
    USER = "user"
    SHARED = "shared"
    ROOM = "room"


class Mailbox(Model):
    address: str
    kind: MailboxKind = MailboxKind.USER
    owner: str = ""  # old account of the person, for user mailboxes
    size_gb: Annotated[float, Field(ge=0)] = 1.0

    _address = field_validator("address")(_mail)


class Device(Model):
    serial: Annotated[str, Field(pattern=r"^[A-Z0-9-]{4,40}$")]
    manufacturer: Name
    model: Name
    assigned_user: str = ""  # old account
    group_tag: str = ""


class Disposition(StrEnum):
    SAAS = "saas"
    REHOST = "rehost"
    REMOTEAPP = "remoteapp"
    REPLACE = "replace"
    RETIRE = "retire"


class DatabaseEngine(StrEnum):
    POSTGRESQL = "postgresql"
    MSSQL = "mssql"
    ORACLE = "oracle"


class Database(Model):
    name: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,62}$")]
    engine: DatabaseEngine = DatabaseEngine.POSTGRESQL
    size_gb: Annotated[float, Field(ge=0)] = 1.0


class Protocol(StrEnum):
    STUF = "stuf"
    ZGW_API = "zgw-api"
    HAAL_CENTRAAL = "haal-centraal"
    DIGIKOPPELING = "digikoppeling"
    FILE = "file"
    REST = "rest"
    SOAP = "soap"


class Criticality(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"


class Koppeling(Model):
    target: Name  # an application of the same municipality, or a national service
    protocol: Protocol
    criticality: Criticality = Criticality.MEDIUM
    description: str = ""


class Application(Model):
    name: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]{0,40}$")]
    display_name: Name
    supplier: Name
    category: Name  # GEMMA referentiecomponent, e.g. "Zaakafhandelcomponent"
    disposition: Disposition
    users: Annotated[int, Field(ge=0)]
    server: str = ""  # host in hosts.yml, for applications that run on-premises
    saas_replacement: str = ""  # for `replace`: what it becomes
    databases: list[Database] = Field(default_factory=list)
    health: str = ""  # URL path or URL answering 200 when healthy
    koppelingen: list[Koppeling] = Field(default_factory=list)

    @model_validator(mode="after")
    def _needs(self) -> Application:
        if self.disposition in (Disposition.REHOST, Disposition.REMOTEAPP) and not self.server:
            raise ValueError(f"a {self.disposition.value} application needs its `server`")
        if self.disposition is Disposition.REPLACE and not self.saas_replacement:
            raise ValueError("a replaced application names its `saas_replacement`")
        return self


# --- hosts.yml ---------------------------------------------------------------------


class ServerRole(StrEnum):
    FILESERVER = "fileserver"
    DIRECTORY = "directory"
    DNS = "dns"
    DATABASE = "database"
    APPLICATION = "application"
    MAIL = "mail"


class Host(Model):
    """A server as hosts.yml declares it; its ansible_* variables are kept in `connection`."""

    name: str
    group: str
    connection: dict[str, str | int | bool] = Field(default_factory=dict)
    server_roles: list[ServerRole] = Field(default_factory=list)
    server_os: Annotated[str, Field(pattern=r"^(linux|windows)$")] = "linux"
    # The folders this server's shares may be in (a share's path lies inside one): the limit of
    # what the files role copies and freezes there.
    share_roots: list[FolderPath] = Field(default_factory=list)

    @model_validator(mode="after")
    def _roots_of_its_os(self) -> Host:
        windows = self.server_os == "windows"
        for root in self.share_roots:
            if is_windows_path(root) != windows:
                raise ValueError(
                    f"share root {root!r} is not a {self.server_os} path (server_os {self.server_os})"
                )
        return self


# --- the whole programme -----------------------------------------------------------


class Municipality(Model):
    info: MunicipalityInfo
    people: list[Person] = Field(default_factory=list)
    people_source: PeopleSource | None = None
    shares: list[Share] = Field(default_factory=list)
    dns: Dns = Dns()
    mailboxes: list[Mailbox] = Field(default_factory=list)
    devices: list[Device] = Field(default_factory=list)
    applications: list[Application] = Field(default_factory=list)
    hosts: list[Host] = Field(default_factory=list)

    @property
    def name(self) -> str:
        return self.info.name

    @property
    def ad_domain(self) -> str | None:
        """The municipality's Active Directory domain, or None when its directory is not AD:
        `info.ad_domain`, else `<name>.local` when a Windows server holds its directory or its
        people are read from Active Directory."""
        windows_dc = any(
            h.server_os == "windows" and ServerRole.DIRECTORY in h.server_roles for h in self.hosts
        )
        from_ad = self.people_source is not None and self.people_source.kind == "active_directory"
        if self.info.ad_domain is not None:
            return self.info.ad_domain
        return f"{self.info.name}.local" if windows_dc or from_ad else None

    def application(self, name: str) -> Application | None:
        return next((a for a in self.applications if a.name == name), None)


class Programme(Model):
    root: str  # the programme folder, as given
    settings: ProgrammeSettings
    municipalities: dict[str, Municipality]  # in wave order

    @property
    def name(self) -> str:
        return self.settings.name

    def municipality(self, name: str) -> Municipality:
        try:
            return self.municipalities[name]
        except KeyError:
            known = ", ".join(self.municipalities)
            raise KeyError(f"unknown municipality {name!r} (known: {known})") from None

    def wave(self, name: str) -> Wave:
        return next(w for w in self.settings.waves if w.municipality == name)
