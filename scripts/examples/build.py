"""Builds one municipality's group_vars (and its hosts) from a compact, curated spec."""

from __future__ import annotations

import random
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from examples import catalogue as cat
from examples import names as nm

NATIONAL = (
    "BRP", "BAG", "BGT", "BRK", "BRO", "HR", "WOZ", "Suwinet", "DigiD", "eHerkenning",
    "MijnOverheid", "Digilevering", "Digimelding", "BRI", "DSO", "PLOOI", "Inlichtingenbureau",
    "GBA-V",
)  # fmt: skip

# (manufacturer, office model, cad model, serial shape)
VENDORS: dict[str, tuple[str, tuple[str, ...], str, str]] = {
    "hp": ("HP", ("EliteBook 840 G9", "EliteBook 840 G10", "EliteBook 845 G10"), "ZBook Fury 16 G10", "5CG###@@@@"),
    "dell": ("Dell", ("Latitude 5440", "Latitude 7440", "Latitude 5430"), "Precision 5680", "@@@@@@@"),
    "lenovo": ("Lenovo", ("ThinkPad T14 Gen 4", "ThinkPad T14s Gen 4", "ThinkPad L14 Gen 3"), "ThinkPad P16 Gen 2", "PF@@@@@@"),
}  # fmt: skip


@dataclass(frozen=True)
class Department:
    name: str
    role: str  # one of catalogue.ROLES
    staff: int
    cad_share: float = 0.0  # of its staff who draw (GPU workplace)


@dataclass(frozen=True)
class SiteSpec:
    name: str
    kind: str
    staff: int


@dataclass(frozen=True)
class Spec:
    name: str
    display_name: str
    inhabitants: int
    domain: str
    ad_zone: str  # the old Active Directory's DNS zone
    host_prefix: str
    net: int  # second octet of the municipality's 10.x address plan
    public_net: str  # first three octets of its public /28
    departments: tuple[Department, ...]
    sites: tuple[SiteSpec, ...]
    account: str  # names.ACCOUNT convention
    mail: str  # names.MAIL convention
    vendor: str  # VENDORS key
    products: tuple[str, ...]
    dispositions: dict[str, str] = field(default_factory=dict)
    replacements: dict[str, str] = field(default_factory=dict)
    databases: dict[str, tuple[cat.Db, ...]] = field(default_factory=dict)  # on-premises back ends
    shared_mailboxes: tuple[str, ...] = ()
    rooms: tuple[str, ...] = ()
    fileservers: int = 1
    kiosks: int = 2

    @property
    def head_count(self) -> int:
        return sum(d.staff for d in self.departments)


@dataclass(frozen=True)
class Context:
    """What a municipality needs to know about its programme."""

    programme: str
    new_domain: str
    mx_target: str  # the new organisation's Exchange Online MX host
    files_endpoint: str  # Azure Files host the old file-server alias moves to
    shared_names: tuple[
        tuple[nm.Name, tuple[str, ...]], ...
    ]  # same person name, several municipalities
    serials: set[str] = field(default_factory=set)


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", nm.ascii_fold(text).lower()).strip("-")


# --- hosts --------------------------------------------------------------------------

# Where the file servers keep their shares (each file server's `share_roots`).
SHARE_ROOT = "/srv/samba"


def hosts(spec: Spec) -> dict[str, dict[str, Any]]:
    p, net = spec.host_prefix, spec.net
    linux = {"ansible_user": "beheer", "server_os": "linux"}
    windows = {"ansible_connection": "winrm", "ansible_port": 5986, "server_os": "windows"}
    out: dict[str, dict[str, Any]] = {
        f"{p}-dc01": {
            "ansible_host": f"10.{net}.0.10",
            **windows,
            "server_roles": ["directory", "dns"],
        },
    }
    for i in range(1, spec.fileservers + 1):
        out[f"{p}-fs0{i}"] = {
            "ansible_host": f"10.{net}.0.{20 + i}",
            **linux,
            "server_roles": ["fileserver"],
            "share_roots": [SHARE_ROOT],
        }
    out[f"{p}-lx01"] = {
        "ansible_host": f"10.{net}.0.30",
        **linux,
        "server_roles": ["application", "database"],
    }
    out[f"{p}-sql01"] = {"ansible_host": f"10.{net}.0.40", **windows, "server_roles": ["database"]}
    out[f"{p}-app01"] = {
        "ansible_host": f"10.{net}.0.50",
        **windows,
        "server_roles": ["application"],
    }
    out[f"{p}-rds01"] = {
        "ansible_host": f"10.{net}.0.60",
        **windows,
        "server_roles": ["application"],
    }
    out[f"{p}-ex01"] = {"ansible_host": f"10.{net}.0.70", **windows, "server_roles": ["mail"]}
    return out


# --- the municipality ---------------------------------------------------------------


def municipality(spec: Spec) -> dict[str, Any]:
    sites = []
    for i, site in enumerate(spec.sites):
        space = f"10.{spec.net}.0.0/22" if i == 0 else f"10.{spec.net}.{4 * i + 4}.0/24"
        sites.append(
            {"name": site.name, "kind": site.kind, "address_space": space, "staff": site.staff}
        )
    return {
        "municipality": {
            "name": spec.name,
            "display_name": spec.display_name,
            "inhabitants": spec.inhabitants,
            "head_count": spec.head_count,
            "mail_domain": spec.domain,
            "departments": [d.name for d in spec.departments],
            "sites": sites,
        }
    }


# --- people -------------------------------------------------------------------------


@dataclass
class PersonRow:
    name: nm.Name
    department: Department
    cad: bool = False
    enabled: bool = True
    account: str = ""
    mail: str = ""


def people(spec: Spec, ctx: Context, rng: random.Random) -> list[PersonRow]:
    shared = [n for n, where in ctx.shared_names if spec.name in where]
    seats = [d for d in spec.departments for _ in range(d.staff)]
    rng.shuffle(seats)
    rows: list[PersonRow] = []
    for i, dept in enumerate(seats):
        name = shared[i] if i < len(shared) else nm.draw_name(rng)
        cad = rng.random() < dept.cad_share
        rows.append(PersonRow(name, dept, cad=cad, enabled=rng.random() > 0.015))
    order = {d.name: i for i, d in enumerate(spec.departments)}
    rows.sort(
        key=lambda r: (
            order[r.department.name],
            nm.ascii_fold(r.name.surname),
            r.name.prefix,
            r.name.given,
        )
    )
    accounts: set[str] = set()
    mails: set[str] = set()
    for row in rows:
        row.account = nm.unique(nm.ACCOUNT[spec.account](row.name), accounts)
        local = nm.unique(nm.MAIL[spec.mail](row.name), mails)
        row.mail = f"{local}@{spec.domain}"
    return rows


def people_yaml(rows: list[PersonRow]) -> dict[str, Any]:
    out = []
    for r in rows:
        item: dict[str, Any] = {"given_name": r.name.given}
        if r.name.prefix:
            item["prefix"] = r.name.prefix
        item |= {
            "surname": r.name.surname,
            "department": r.department.name,
            "account": r.account,
            "mail": r.mail,
        }
        if r.cad:
            item["workplace"] = "cad"
        if not r.enabled:
            item["enabled"] = False
        out.append(item)
    return {"people": out}


# --- shares -------------------------------------------------------------------------

# GB per member of staff and files per GB, by the kind of work a department does.
SHARE_PROFILE = {
    "publiek": (3.0, 3200), "sociaal": (5.5, 2600), "ruimte": (9.0, 900), "openbare_ruimte": (6.0, 1100),
    "bedrijfsvoering": (3.5, 3000), "financien": (4.0, 3400), "iv": (12.0, 1500), "bestuur": (4.5, 2800),
    "kcc": (1.5, 3500),
}  # fmt: skip


def shares(spec: Spec, rows: list[PersonRow], rng: random.Random) -> dict[str, Any]:
    by_role = {d.role: d.name for d in spec.departments}
    fs = [f"{spec.host_prefix}-fs0{i}" for i in range(1, spec.fileservers + 1)]
    out = []
    for i, dept in enumerate(spec.departments):
        per_person, per_gb = SHARE_PROFILE[dept.role]
        size = round(dept.staff * per_person * rng.uniform(0.7, 1.4), 1)
        name = slug(dept.name)
        out.append(
            {
                "name": name,
                "server": fs[i % len(fs)],
                "path": f"{SHARE_ROOT}/{name}",
                "size_gb": size,
                "files": int(size * per_gb * rng.uniform(0.8, 1.2)),
                "department": dept.name,
            }
        )
    drawing_depts = [d for d in spec.departments if d.cad_share > 0]
    if drawing_depts:
        cad_people = sum(1 for r in rows if r.cad)
        size = round(40 + cad_people * rng.uniform(35, 60), 1)
        out.append(
            {
                "name": "tekeningen",
                "server": fs[-1],
                "path": f"{SHARE_ROOT}/tekeningen",
                "size_gb": size,
                "files": int(size * 450),
                "department": drawing_depts[0].name,
            }
        )
    home = round(spec.head_count * rng.uniform(2.5, 4.5), 1)
    iv = by_role.get("iv", spec.departments[0].name)
    out.append(
        {
            "name": "homes",
            "server": fs[0],
            "path": f"{SHARE_ROOT}/homes",
            "size_gb": home,
            "files": int(home * 2400),
            "department": iv,
        }
    )
    general = round(spec.head_count * rng.uniform(0.8, 1.5), 1)
    out.append(
        {
            "name": "algemeen",
            "server": fs[0],
            "path": f"{SHARE_ROOT}/algemeen",
            "size_gb": general,
            "files": int(general * 2900),
            "department": by_role.get("bestuur", iv),
        }
    )
    scans = round(spec.head_count * rng.uniform(0.2, 0.5), 1)
    out.append(
        {
            "name": "scans",
            "server": fs[0],
            "path": f"{SHARE_ROOT}/scans",
            "size_gb": scans,
            "files": int(scans * 1800),
            "department": by_role.get("publiek", iv),
            "mirror": True,
        }
    )
    return {"shares": out}


# --- DNS ----------------------------------------------------------------------------


def dns(spec: Spec, ctx: Context) -> dict[str, Any]:
    d, pub, p, net = spec.domain, spec.public_net, spec.host_prefix, spec.net
    mail_host = f"mail.{d}."
    public = [
        {"name": "@", "type": "MX", "value": f"10 {mail_host}", "ttl": 3600, "cutover_to": f"0 {ctx.mx_target}."},
        {"name": "@", "type": "TXT", "value": f"v=spf1 mx ip4:{pub}.2 -all", "ttl": 3600,
         "cutover_to": "v=spf1 include:spf.protection.outlook.com -all"},
        {"name": "_dmarc", "type": "TXT", "value": f"v=DMARC1; p=quarantine; rua=mailto:dmarc@{d}", "ttl": 3600},
        {"name": "mail", "type": "A", "value": f"{pub}.2", "ttl": 3600},
        {"name": "webmail", "type": "CNAME", "value": mail_host, "ttl": 3600},
        {"name": "autodiscover", "type": "CNAME", "value": mail_host, "ttl": 3600,
         "cutover_to": "autodiscover.outlook.com."},
        {"name": "_sip._tls", "type": "SRV", "value": f"100 1 443 sip.{d}.", "ttl": 3600,
         "cutover_to": "100 1 443 sipdir.online.lync.com."},
        {"name": "sip", "type": "A", "value": f"{pub}.3", "ttl": 3600},
        {"name": "www", "type": "A", "value": f"{pub}.4", "ttl": 3600, "cutover_output": "application_gateway_ip"},
        {"name": "formulieren", "type": "A", "value": f"{pub}.5", "ttl": 1800, "cutover_output": "application_gateway_ip"},
        {"name": "mijn", "type": "A", "value": f"{pub}.6", "ttl": 1800, "cutover_output": "application_gateway_ip"},
        {"name": "citrix", "type": "A", "value": f"{pub}.7", "ttl": 3600},
        {"name": "werkplek", "type": "CNAME", "value": f"citrix.{d}.", "ttl": 900, "cutover_output": "workplace_fqdn"},
        {"name": "vpn", "type": "A", "value": f"{pub}.8", "ttl": 86400},
    ]  # fmt: skip
    internal = [
        {"name": f"{p}-dc01", "type": "A", "value": f"10.{net}.0.10", "ttl": 1200},
        {"name": f"{p}-fs01", "type": "A", "value": f"10.{net}.0.21", "ttl": 1200},
        {"name": f"{p}-lx01", "type": "A", "value": f"10.{net}.0.30", "ttl": 1200},
        {"name": f"{p}-sql01", "type": "A", "value": f"10.{net}.0.40", "ttl": 1200},
        {"name": f"{p}-rds01", "type": "A", "value": f"10.{net}.0.60", "ttl": 1200},
        {"name": "bestanden", "type": "CNAME", "value": f"{p}-fs01.{spec.ad_zone}.", "ttl": 3600,
         "cutover_to": f"{ctx.files_endpoint}."},
        {"name": "zaken", "type": "A", "value": f"10.{net}.0.30", "ttl": 900, "cutover_output": "application_gateway_ip"},
        {"name": "gis", "type": "A", "value": f"10.{net}.0.30", "ttl": 900, "cutover_output": "application_gateway_ip"},
        {"name": "sql", "type": "CNAME", "value": f"{p}-sql01.{spec.ad_zone}.", "ttl": 3600,
         "cutover_output": "database_server_fqdn"},
        {"name": "_ldap._tcp", "type": "SRV", "value": f"0 100 389 {p}-dc01.{spec.ad_zone}.", "ttl": 600},
    ]  # fmt: skip
    return {
        "dns": {
            "zones": [
                {"name": d, "server": f"{p}-dc01", "cutover_ttl": 300, "records": public},
                {
                    "name": spec.ad_zone,
                    "server": f"{p}-dc01",
                    "cutover_ttl": 300,
                    "records": internal,
                },
            ]
        }
    }


# --- mailboxes and devices ----------------------------------------------------------


def mailboxes(spec: Spec, rows: list[PersonRow], rng: random.Random) -> dict[str, Any]:
    out: list[dict[str, Any]] = []
    for r in rows:
        size = round(min(49.5, rng.lognormvariate(0.9, 0.8)), 1)
        out.append({"address": r.mail, "kind": "user", "owner": r.account, "size_gb": size})
    for local in spec.shared_mailboxes:
        out.append(
            {
                "address": f"{local}@{spec.domain}",
                "kind": "shared",
                "size_gb": round(rng.uniform(2, 35), 1),
            }
        )
    for local in spec.rooms:
        out.append({"address": f"{local}@{spec.domain}", "kind": "room", "size_gb": 0.1})
    return {"mailboxes": out}


def _serial(shape: str, rng: random.Random, taken: set[str]) -> str:
    alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ0123456789"
    while True:
        serial = "".join(
            rng.choice("0123456789") if c == "#" else rng.choice(alphabet) if c == "@" else c
            for c in shape
        )
        if serial not in taken:
            taken.add(serial)
            return serial


def devices(
    spec: Spec, ctx: Context, rows: list[PersonRow], rng: random.Random, tag: str
) -> dict[str, Any]:
    maker, office_models, cad_model, shape = VENDORS[spec.vendor]
    out = []
    for r in rows:
        if not r.enabled:
            continue
        model = cad_model if r.cad else rng.choice(office_models)
        out.append(
            {
                "serial": _serial(shape, rng, ctx.serials),
                "manufacturer": maker,
                "model": model,
                "assigned_user": r.account,
                "group_tag": f"{tag}-CAD" if r.cad else f"{tag}-OFFICE",
            }
        )
    for _ in range(spec.kiosks):
        out.append(
            {
                "serial": _serial(shape, rng, ctx.serials),
                "manufacturer": maker,
                "model": office_models[0],
                "group_tag": f"{tag}-KIOSK",
            }
        )
    return {"devices": out}


# --- applications -------------------------------------------------------------------


def applications(spec: Spec, rows: list[PersonRow]) -> dict[str, Any]:
    staff_by_role = Counter[str]()
    for d in spec.departments:
        staff_by_role[d.role] += d.staff
    staff_by_role["all"] = spec.head_count
    cad_ruimte = sum(1 for r in rows if r.cad and r.department.role == "ruimte")
    cad_all = sum(1 for r in rows if r.cad)
    scale = spec.head_count / 150

    disposition = {p: spec.dispositions.get(p, cat.PRODUCTS[p].disposition) for p in spec.products}
    runs: dict[str, str] = {}  # function -> the product that serves it for koppelingen
    for p in spec.products:
        key = cat.PRODUCT_FUNCTION[p].key
        if key not in runs and disposition[p] not in ("retire", "replace"):
            runs[key] = p

    out = []
    for p in spec.products:
        prod, fn, disp = cat.PRODUCTS[p], cat.PRODUCT_FUNCTION[p], disposition[p]
        users = round(sum(staff_by_role[r] for r in fn.roles) * fn.share) + fn.extra_users
        if fn.key == "cad":
            users = cad_all
        elif fn.key == "cad-map":
            users = cad_ruimte
        elif fn.key == "landmeten":
            users = max(1, round(staff_by_role["openbare_ruimte"] * 0.06))
        app: dict[str, Any] = {
            "name": p, "display_name": prod.display_name, "supplier": prod.supplier,
            "category": fn.category, "disposition": disp, "users": max(1, users),
        }  # fmt: skip
        if disp in ("rehost", "remoteapp"):
            host = prod.host or ("rds" if disp == "remoteapp" else "app")
            app["server"] = f"{spec.host_prefix}-{host}01"
        if disp == "replace":
            app["saas_replacement"] = spec.replacements.get(p, prod.saas_replacement)
        dbs = spec.databases.get(p, prod.databases)
        if disp in ("rehost", "remoteapp") and dbs:
            app["databases"] = [
                {"name": db.name, "engine": db.engine, "size_gb": round(db.size_gb * scale, 1)}
                for db in dbs
            ]
        if disp in ("rehost", "remoteapp") or (disp == "saas" and fn.core):
            app["health"] = "/health"
        if disp not in ("retire", "replace"):
            links = []
            for link in fn.links:
                target = link.target if link.target in NATIONAL else runs.get(link.target, "")
                if target and target != p:
                    links.append(
                        {
                            "target": target,
                            "protocol": link.protocol,
                            "criticality": link.criticality,
                            "description": link.description,
                        }
                    )
            if links:
                app["koppelingen"] = links
        out.append(app)
    return {"applications": out}


def build(
    spec: Spec, ctx: Context, tag: str
) -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, Any]]]:
    """The files of group_vars/<municipality>/ and the hosts of its group."""
    rng = random.Random(f"{ctx.programme}/{spec.name}")
    rows = people(spec, ctx, rng)
    files = {
        "municipality.yml": municipality(spec),
        "people.yml": people_yaml(rows),
        "shares.yml": shares(spec, rows, rng),
        "dns.yml": dns(spec, ctx),
        "mailboxes.yml": mailboxes(spec, rows, rng),
        "devices.yml": devices(spec, ctx, rows, rng, tag),
        "applications.yml": applications(spec, rows),
    }
    return files, hosts(spec)
