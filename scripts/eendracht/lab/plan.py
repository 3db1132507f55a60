"""The lab's shape for one programme: which service runs where (address, port), nothing started.

Every address is 127.<lab>.<kind>.<n>; `<lab>` comes from the state root (see `net.py`), so two
labs with different states rarely meet, and `up` checks every listener is free before starting.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from eendracht.lab.net import address
from eendracht.programme import models as m

SSH_PORT = 2222
LDAP_PORT = 1389
DNS_PORT = 1053
PG_PORT = 5432
APP_PORT = 8080
TARGET_APP_FIRST_PORT = 9001
HUB_PORT = 8443
TARGET_FILES = "target-files"
TARGET_MAIL = "target-mail"
TARGET = "target"  # the group (and zone owner) that stands for the new organisation
TARGET_DB = "target-db"  # the target database server's shell (the drill rebuilds it there)
FALLBACK = "fallback"  # the group of the fallback site's servers
FALLBACK_FILES = "fallback-files"
FALLBACK_DB = "fallback-db"
TRAFFIC_MANAGER_ZONE = "trafficmanager.net"
TRAFFIC_MANAGER_TTL = 30  # seconds: low, so a switch reaches the clients quickly
DC_PORTS = (53, 88, 389, 445, 464, 636)  # DNS, Kerberos, LDAP, SMB, kpasswd, LDAPS
DNS_PORT_AD = 53
MAIL_PORTS = (1143, 1993)  # IMAP, IMAPS


def domain_dn(domain: str) -> str:
    return ",".join(f"dc={part}" for part in domain.split("."))


@dataclass(frozen=True)
class FileServer:
    host: str
    group: str
    address: str
    port: int
    roles: tuple[str, ...]
    server_os: str


@dataclass(frozen=True)
class Directory:
    name: str  # municipality, or "target"
    address: str
    port: int
    suffix: str
    bind_dn: str
    people_dn: str
    groups_dn: str
    organisation: str

    @property
    def uri(self) -> str:
        return f"ldap://{self.address}:{self.port}"


@dataclass(frozen=True)
class DomainController:
    """A Samba AD DC: one per municipality whose directory is Active Directory, one for the
    new organisation's domain (the stacks' domain controllers)."""

    name: str  # municipality, or "target"
    domain: str  # the AD domain's DNS name
    address: str

    @property
    def realm(self) -> str:
        return self.domain.upper()

    @property
    def netbios(self) -> str:
        return m.netbios_name(self.domain)


@dataclass(frozen=True)
class MailHost:
    """An IMAP server (Dovecot): one per municipality, one for the new organisation."""

    name: str  # municipality, or "target"
    address: str


@dataclass(frozen=True)
class Zone:
    name: str
    owner: str  # municipality, or "target"
    records: tuple[m.Record, ...]


@dataclass(frozen=True)
class AppService:
    municipality: str
    name: str
    display_name: str
    address: str
    port: int
    databases: tuple[str, ...]  # database names as the programme gives them
    health: str
    koppelingen: tuple[str, ...]  # targets: applications of the municipality or national services
    disposition: str

    @property
    def url(self) -> str:
        return f"http://{self.address}:{self.port}"


@dataclass(frozen=True)
class NationalService:
    name: str
    address: str
    port: int

    @property
    def url(self) -> str:
        return f"http://{self.address}:{self.port}"


@dataclass(frozen=True)
class FallbackSite:
    """The fallback site (uitwijklocatie) beside the target site: a PostgreSQL standby, a
    replicated file target, the applications and the hub at capacity 0, a second DC of the
    new domain, and the DNS server that plays Traffic Manager for both sites."""

    replication: str  # synchronous | asynchronous
    files: FileServer
    database_host: FileServer  # the standby's shell (promote, rewind)
    primary_database_host: FileServer  # the target cluster's shell
    database: str  # the standby cluster's address
    hub_address: str
    apps: tuple[AppService, ...]  # a fallback instance of every target application
    controller: DomainController | None  # joined to the new domain's first DC
    traffic_manager: str  # the Traffic Manager DNS server's address (port 53)

    @property
    def servers(self) -> tuple[FileServer, ...]:
        return (self.files, self.database_host, self.primary_database_host)


def profile_name(programme: str, *parts: str) -> str:
    """A Traffic Manager profile's DNS label: <programme>-<municipality>-<application>."""
    label = "-".join((programme, *parts)).lower()
    if len(label) > 63:
        raise ValueError(f"Traffic Manager profile name {label!r} is longer than 63 characters")
    return label


@dataclass
class LabPlan:
    octet: int
    fileservers: list[FileServer] = field(default_factory=list)
    directories: dict[str, Directory] = field(default_factory=dict)  # municipalities + target
    dns_address: str = ""
    zones: list[Zone] = field(default_factory=list)
    pg_source: str = ""
    pg_target: str = ""
    apps: list[AppService] = field(default_factory=list)
    target_apps: list[AppService] = field(default_factory=list)
    national: list[NationalService] = field(default_factory=list)
    hub_address: str = ""
    controllers: dict[str, DomainController] = field(default_factory=dict)  # AD + target
    mail_hosts: dict[str, MailHost] = field(default_factory=dict)  # municipalities + target
    fallback: FallbackSite | None = None  # `lab up --fallback MODE`

    @property
    def active_directory(self) -> bool:
        """The new organisation's directory is Active Directory (a municipality runs AD)."""
        return TARGET in self.controllers

    def zones_on(self, owner: str) -> list[Zone]:
        return [z for z in self.zones if z.owner == owner]

    @property
    def named_zones(self) -> list[Zone]:
        """Zones whose owner has no domain controller: BIND serves them."""
        return [z for z in self.zones if z.owner not in self.controllers]

    def listeners(self) -> list[tuple[str, str, int, str]]:
        """(service, address, port, protocol) for every listener, to check before starting."""
        out = [(f"sshd-{f.host}", f.address, f.port, "tcp") for f in self.fileservers]
        out += [(f"slapd-{d.name}", d.address, d.port, "tcp") for d in self.directories.values()]
        if self.named_zones:
            out += [
                ("named", self.dns_address, DNS_PORT, "tcp"),
                ("named", self.dns_address, DNS_PORT, "udp"),
            ]
        out += [("postgres-source", self.pg_source, PG_PORT, "tcp")]
        out += [("postgres-target", self.pg_target, PG_PORT, "tcp")]
        out += [(f"app-{a.municipality}-{a.name}", a.address, a.port, "tcp") for a in self.apps]
        out += [
            (f"target-app-{a.municipality}-{a.name}", a.address, a.port, "tcp")
            for a in self.target_apps
        ]
        out += [(f"national-{n.name}", n.address, n.port, "tcp") for n in self.national]
        out += [("integration-hub", self.hub_address, HUB_PORT, "tcp")]
        for dc in self.controllers.values():
            out += [(f"samba-{dc.name}", dc.address, port, "tcp") for port in DC_PORTS]
            out += [(f"samba-{dc.name}", dc.address, DNS_PORT_AD, "udp")]
        for mail in self.mail_hosts.values():
            out += [(f"imap-{mail.name}", mail.address, port, "tcp") for port in MAIL_PORTS]
        if self.fallback is not None:
            out += self.fallback_listeners(self.fallback)
        return out

    @staticmethod
    def fallback_listeners(site: FallbackSite) -> list[tuple[str, str, int, str]]:
        out = [(f"sshd-{f.host}", f.address, f.port, "tcp") for f in site.servers]
        out += [("postgres-fallback", site.database, PG_PORT, "tcp")]
        out += [(f"fallback-app-{a.municipality}-{a.name}", a.address, a.port, "tcp")
                for a in site.apps]  # fmt: skip
        out += [("fallback-hub", site.hub_address, HUB_PORT, "tcp")]
        out += [("traffic-manager", site.traffic_manager, DNS_PORT_AD, p) for p in ("tcp", "udp")]
        if site.controller is not None:
            dc = site.controller
            out += [(f"samba-{dc.name}", dc.address, port, "tcp") for port in DC_PORTS]
            out += [(f"samba-{dc.name}", dc.address, DNS_PORT_AD, "udp")]
        return out


def _source_directory(muni: m.Municipality, addr: str) -> Directory:
    suffix = domain_dn(muni.info.mail_domain)
    people_dn = f"ou=people,{suffix}"
    bind_dn = f"cn=admin,{suffix}"
    source = muni.people_source
    if source is not None and source.kind == "ldap":
        rdns = [r.strip() for r in source.base_dn.split(",") if r.strip()]
        dcs = [r for r in rdns if r.lower().startswith("dc=")]
        if dcs:
            suffix = ",".join(dcs)
            people_dn = ",".join(rdns) if len(rdns) > len(dcs) else f"ou=people,{suffix}"
        if source.bind_dn.lower().endswith(suffix.lower()):
            bind_dn = source.bind_dn
        elif not source.bind_dn:
            bind_dn = f"cn=admin,{suffix}"
    return Directory(
        name=muni.name,
        address=addr,
        port=LDAP_PORT,
        suffix=suffix,
        bind_dn=bind_dn,
        people_dn=people_dn,
        groups_dn=f"ou=groups,{suffix}",
        organisation=muni.info.display_name,
    )


def plan_lab(programme: m.Programme, octet: int) -> LabPlan:
    plan = LabPlan(octet=octet)
    n = 0
    for muni in programme.municipalities.values():
        for host in muni.hosts:
            n += 1
            plan.fileservers.append(
                FileServer(
                    host=host.name,
                    group=muni.name,
                    address=address(octet, "fileserver", n),
                    port=SSH_PORT,
                    roles=tuple(r.value for r in host.server_roles),
                    server_os=host.server_os,
                )
            )
    plan.fileservers.append(
        FileServer(
            TARGET_FILES,
            TARGET,
            address(octet, "fileserver", 254),
            SSH_PORT,
            ("fileserver",),
            "linux",
        )
    )

    # A municipality with Active Directory gets a DC, any other an OpenLDAP; the new
    # organisation's directory is AD as soon as one municipality brings AD.
    org = programme.settings.organisation
    for i, muni in enumerate(programme.municipalities.values(), start=1):
        if muni.ad_domain is not None:
            plan.controllers[muni.name] = DomainController(
                muni.name, muni.ad_domain, address(octet, "domain-controller", i)
            )
        else:
            plan.directories[muni.name] = _source_directory(muni, address(octet, "directory", i))
    if plan.controllers:
        plan.controllers[TARGET] = DomainController(
            TARGET, org.ad_domain, address(octet, "domain-controller", 254)
        )
    else:
        target_suffix = domain_dn(org.mail_domain)
        plan.directories[TARGET] = Directory(
            name=TARGET,
            address=address(octet, "directory", 254),
            port=LDAP_PORT,
            suffix=target_suffix,
            bind_dn=f"cn=admin,{target_suffix}",
            people_dn=f"ou=people,{target_suffix}",
            groups_dn=f"ou=groups,{target_suffix}",
            organisation=org.name,
        )

    plan.dns_address = address(octet, "dns", 1)
    seen: set[str] = set()
    for muni in programme.municipalities.values():
        for zone in muni.dns.zones:
            if zone.name not in seen:
                seen.add(zone.name)
                plan.zones.append(Zone(zone.name, muni.name, tuple(zone.records)))
    if org.mail_domain not in seen:
        plan.zones.append(Zone(org.mail_domain, TARGET, ()))

    for i, muni in enumerate(programme.municipalities.values(), start=1):
        plan.mail_hosts[muni.name] = MailHost(muni.name, address(octet, "mail", i))
    plan.mail_hosts[TARGET] = MailHost(TARGET, address(octet, "mail", 254))
    # The target mail server's shell: the mailbox moves run there (doveadm needs its config).
    plan.fileservers.append(
        FileServer(
            TARGET_MAIL, TARGET, plan.mail_hosts[TARGET].address, SSH_PORT, ("mail",), "linux"
        )
    )

    plan.pg_source = address(octet, "database", 1)
    plan.pg_target = address(octet, "database", 254)

    a = 0
    national: list[str] = []
    gateway = address(octet, "target-application", 1)
    for muni in programme.municipalities.values():
        called = {k.target for app in muni.applications for k in app.koppelingen}
        for app in muni.applications:
            for k in app.koppelingen:
                if k.target in m.NATIONAL_SERVICES and k.target not in national:
                    national.append(k.target)
            # Every application a wave tests or whose database it moves runs in the lab.
            if not (app.health or app.koppelingen or app.name in called or app.databases):
                continue
            a += 1
            common = dict(
                municipality=muni.name,
                name=app.name,
                display_name=app.display_name,
                databases=tuple(
                    d.name for d in app.databases if d.engine is m.DatabaseEngine.POSTGRESQL
                ),
                health=app.health,
                koppelingen=tuple(k.target for k in app.koppelingen),
                disposition=app.disposition.value,
            )
            plan.apps.append(
                AppService(address=address(octet, "application", a), port=APP_PORT, **common)  # type: ignore[arg-type]
            )
            # Only what moves into the landing zone gets a target instance; SaaS and
            # replaced applications are handed over to their supplier.
            if app.disposition in (m.Disposition.REHOST, m.Disposition.REMOTEAPP):
                plan.target_apps.append(
                    AppService(
                        address=gateway,
                        port=TARGET_APP_FIRST_PORT + len(plan.target_apps),
                        **common,  # type: ignore[arg-type]
                    )
                )
    plan.national = [
        NationalService(name, address(octet, "national", i), APP_PORT)
        for i, name in enumerate(national, start=1)
    ]
    plan.hub_address = address(octet, "target-application", 2)
    return plan


REPLICATION_MODES = ("synchronous", "asynchronous")


def plan_fallback(plan: LabPlan, programme: m.Programme, replication: str) -> FallbackSite:
    """The fallback site of a lab plan: the same services on 127.<lab>.10.x."""
    if replication not in REPLICATION_MODES:
        raise ValueError(f"replication must be one of {', '.join(REPLICATION_MODES)}")
    octet = plan.octet
    db = address(octet, "fallback", 4)
    gateway = address(octet, "fallback", 7)
    controller = None
    if TARGET in plan.controllers:
        controller = DomainController(
            FALLBACK, plan.controllers[TARGET].domain, address(octet, "fallback", 8)
        )
    return FallbackSite(
        replication=replication,
        files=FileServer(
            FALLBACK_FILES,
            FALLBACK,
            address(octet, "fallback", 1),
            SSH_PORT,
            ("fileserver",),
            "linux",
        ),
        database_host=FileServer(FALLBACK_DB, FALLBACK, db, SSH_PORT, ("database",), "linux"),
        primary_database_host=FileServer(
            TARGET_DB, TARGET, plan.pg_target, SSH_PORT, ("database",), "linux"
        ),
        database=db,
        hub_address=address(octet, "fallback", 2),
        # The target's applications as they are, at the fallback site's gateway.
        apps=tuple(replace(a, address=gateway) for a in plan.target_apps),
        controller=controller,
        traffic_manager=address(octet, "traffic-manager", 1),
    )
