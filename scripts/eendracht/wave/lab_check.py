"""Independent verification of a wave on the lab, by other means than the playbooks used.

Files by a manifest built here, accounts by count and a sample of attributes read with
ldapsearch, DNS answers with dig, applications by their health and chain endpoints.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import re
import stat
import subprocess
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eendracht.identity import Identity, IdentityMapping
from eendracht.module_utils import parse_ldif
from eendracht.programme.models import Municipality, Record, RecordType
from eendracht.wave.lab_check_mail import check_mail, check_mail_source

SAMPLE = 10
ACCOUNTDISABLE = 0x2  # userAccountControl
AD_PERSONS = "(&(objectCategory=person)(objectClass=user))"
# What the checks read from AD: text attributes only (AD has binary ones, objectSid...).
AD_ATTRS = [
    "sAMAccountName", "userAccountControl", "mail", "displayName", "proxyAddresses", "info",
    "description", "uidNumber", "gidNumber", "objectClass",
]  # fmt: skip
HOSTNAME_TYPES = (RecordType.CNAME, RecordType.MX, RecordType.SRV)


@dataclass
class Check:
    area: str
    name: str
    ok: bool
    detail: str = ""


@dataclass
class LabReport:
    checks: list[Check] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks)

    def add(self, area: str, name: str, ok: bool, detail: str = "") -> None:
        self.checks.append(Check(area, name, ok, detail))

    def summary(self) -> dict[str, tuple[int, int]]:
        out: dict[str, tuple[int, int]] = {}
        for c in self.checks:
            passed, total = out.get(c.area, (0, 0))
            out[c.area] = (passed + int(c.ok), total + 1)
        return out


# --- files --------------------------------------------------------------------------


def acls(root: Path) -> dict[str, tuple[str, ...]]:
    """Extended ACL entries per path, as `getfacl -R -n -s -p` lists them (one process a tree)."""
    done = subprocess.run(
        ["getfacl", "-R", "-n", "-s", "-p", "."],
        cwd=root, capture_output=True, check=False, timeout=300,
    )  # fmt: skip
    out: dict[str, tuple[str, ...]] = {}
    for block in done.stdout.split(b"\n\n"):
        lines = block.decode("utf-8", "surrogateescape").splitlines()
        if not lines or not lines[0].startswith("# file: "):
            continue
        quoted = lines[0][len("# file: ") :].removeprefix("./")
        raw = re.sub(rb"\\([0-7]{3})", lambda m: bytes([int(m[1], 8)]), os.fsencode(quoted))
        out[os.fsdecode(raw)] = tuple(x for x in lines[1:] if x and not x.startswith("#"))
    return out


def manifest(root: Path) -> dict[str, tuple[Any, ...]]:
    """path -> (type, mode, uid, gid, ACL, xattrs, hard-link group, size/mtime/digest or link)."""
    out: dict[str, tuple[Any, ...]] = {}
    extended = acls(root)
    inodes: dict[int, list[str]] = {}
    for folder, dirs, files in os.walk(root):
        for name in dirs + files:
            full = os.path.join(folder, name)
            st = os.lstat(full)
            rel = os.path.relpath(full, root)
            xattrs: tuple[tuple[str, bytes], ...] = ()
            if not stat.S_ISLNK(st.st_mode):
                names = sorted(os.listxattr(full, follow_symlinks=False))
                xattrs = tuple(
                    (n, os.getxattr(full, n)) for n in names if not n.startswith("system.posix_acl")
                )
            base = (
                *(stat.S_IFMT(st.st_mode), stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid),
                *(extended.get(rel, ()), xattrs),
            )
            if stat.S_ISLNK(st.st_mode):
                out[rel] = (*base, "", os.readlink(full))
            elif stat.S_ISREG(st.st_mode):
                inodes.setdefault(st.st_ino, []).append(rel)
                digest = hashlib.sha256(Path(full).read_bytes()).hexdigest()
                out[rel] = (*base, "", st.st_size, int(st.st_mtime), digest)
            else:
                out[rel] = (*base, "")
    for group in inodes.values():  # a hard-link group is named by its first path
        for rel in group if len(group) > 1 else ():
            entry = out[rel]
            out[rel] = (*entry[:6], min(group), *entry[7:])
    return out


def former(entry: dict[str, list[str]]) -> tuple[str, str]:
    """(municipality, old account) a target account was made from: OpenLDAP's eendracht
    attributes, or AD's `info` ("voorheen gemeente <m>, account <a>")."""
    if "eendrachtFormerAccount" in entry:
        return entry["eendrachtFormerMunicipality"][0], entry["eendrachtFormerAccount"][0]
    found = re.match(r"^voorheen gemeente (.+?), account (.+)$", entry.get("info", [""])[0])
    return (found.group(1), found.group(2)) if found else ("", "")


def owner_numbers(lab: dict[str, Any], municipality: str) -> tuple[dict[int, int], dict[int, int]]:
    """Old number -> new, read from the two directories themselves: a source account's number
    -> the number of the target account that names it as its former account; a source group's
    -> the number of the target group with the same department (description)."""
    source, target = lab["source_directories"][municipality], lab["target_directory"]
    posix = "(|(uidNumber=*)(gidNumber=*))"
    src = ldap_entries(source, source["base_dn"], posix)
    tgt = ldap_entries(target, target["base_dn"], posix)
    new_accounts = {former(e): int(e["uidNumber"][0]) for e in tgt if "uidNumber" in e}
    new_groups = {
        e["description"][0]: int(e["gidNumber"][0])
        for e in tgt
        if "uidNumber" not in e and "gidNumber" in e and "description" in e
    }
    account = "sAMAccountName" if source.get("kind") == "active_directory" else "uid"
    users = {
        int(e["uidNumber"][0]): new_accounts[(municipality, e[account][0])]
        for e in src
        if "uidNumber" in e and (municipality, e[account][0]) in new_accounts
    }
    groups = {
        int(e["gidNumber"][0]): new_groups[e["description"][0]]
        for e in src
        if "uidNumber" not in e and "gidNumber" in e and e.get("description", [""])[0] in new_groups
    }
    return users, groups


def translated(
    entry: tuple[Any, ...], users: dict[int, int], groups: dict[int, int]
) -> tuple[Any, ...]:
    """A source entry as the target should hold it: owners and ACL entries translated
    (numbers below 1000 are system accounts and stay)."""

    def number(n: int, table: dict[int, int]) -> int:
        return n if n < 1000 else table.get(n, -1)

    acl = []
    for line in entry[4]:
        parts = line.split(":")
        at = 1 if parts[0] == "default" else 0
        if parts[at + 1] and parts[at] in ("user", "group"):
            parts[at + 1] = str(
                number(int(parts[at + 1]), users if parts[at] == "user" else groups)
            )
        acl.append(":".join(parts))
    return (*entry[:2], number(entry[2], users), number(entry[3], groups), tuple(acl), *entry[5:])


def lab_details(lab_root: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """The stack outputs of the lab's environment, and where the lab keeps what (lab.json)."""
    outputs = json.loads((lab_root / "environment" / "outputs.json").read_text(encoding="utf-8"))
    details = json.loads((lab_root / "lab.json").read_text(encoding="utf-8"))
    return outputs, details


def share_paths(lab_root: Path, municipality: str) -> dict[str, Path]:
    _, details = lab_details(lab_root)
    return {name: Path(p) for name, p in details["share_paths"].get(municipality, {}).items()}


def check_files(
    report: LabReport, mu: Municipality, lab_root: Path, outputs: dict[str, Any]
) -> None:
    """Every entry of every share on the target as at the source: content, mode, times, owners
    translated to the new accounts, ACLs, xattrs, hard links; with mirror, nothing more."""
    sources = share_paths(lab_root, mu.name)
    users, groups = owner_numbers(lab_details(lab_root)[1], mu.name)
    for share in mu.shares:
        source = sources.get(share.name)
        target = Path(outputs["file_target_root"]) / mu.name / share.name
        if source is None or not target.is_dir():
            report.add("files", share.name, False, f"missing: source {source}, target {target}")
            continue
        want = {p: translated(e, users, groups) for p, e in manifest(source).items()}
        have = manifest(target)
        missing = [p for p in want if p not in have]
        differ = [p for p in want if p in have and want[p] != have[p]]
        extra = [p for p in have if p not in want] if share.mirror else []
        files = sum(1 for v in want.values() if stat.S_ISREG(v[0]))
        ok = files > 0 and not (missing or differ or extra)
        detail = (
            f"{files} files identical, owners translated"
            if ok
            else (
                f"{files} files; {len(missing)} missing, {len(differ)} differ, {len(extra)} "
                "extra: " + ", ".join((missing + differ + extra)[:5])
            )
        )
        report.add("files", share.name, ok, detail)


# --- accounts -----------------------------------------------------------------------


def ldap_entries(directory: dict[str, Any], base: str, filt: str) -> list[dict[str, list[str]]]:
    """ldapsearch, paged and over LDAPS verified against the CA on Active Directory."""
    ad = directory.get("kind") == "active_directory"
    env = dict(os.environ)
    if directory.get("ca_file"):
        env.update(LDAPTLS_CACERT=directory["ca_file"], LDAPTLS_REQCERT="demand")
    done = subprocess.run(
        ["ldapsearch", "-LLL", "-x", "-o", "ldif-wrap=no", "-H", directory["uri"],
         "-D", directory["bind_dn"], "-y", directory["password_file"], "-b", base,
         *(["-E", "pr=500/noprompt"] if ad else []), filt, *(AD_ATTRS if ad else [])],
        capture_output=True, text=True, check=False, timeout=60, env=env,
    )  # fmt: skip
    if done.returncode not in (0, 32):
        raise RuntimeError(f"ldapsearch {directory['uri']}: {done.stderr.strip()}")
    return parse_ldif(done.stdout)


@dataclass(frozen=True)
class Account:
    """An account as the lab's check compares it, whatever the directory."""

    name: str  # the old account at the source; the new username (AD: sAMAccountName) at the target
    enabled: bool
    mail: list[str]
    display_name: list[str]
    addresses: list[str]  # OpenLDAP: the aliases; AD: proxyAddresses


def _ad_enabled(entry: dict[str, list[str]]) -> bool:
    return not int(entry.get("userAccountControl", ["2"])[0]) & ACCOUNTDISABLE


def source_accounts(directory: dict[str, Any]) -> dict[str, Account]:
    if directory.get("kind") == "active_directory":
        entries = ldap_entries(directory, directory["people_dn"], AD_PERSONS)
        return {
            e["sAMAccountName"][0]: Account(e["sAMAccountName"][0], _ad_enabled(e), [], [], [])
            for e in entries
        }
    return {
        e["uid"][0]: Account(
            e["uid"][0], e.get("eendrachtDisabled", ["FALSE"])[0] != "TRUE", [], [], []
        )
        for e in ldap_entries(directory, directory["people_dn"], "(uid=*)")
    }


def target_accounts(directory: dict[str, Any], municipality: str) -> dict[str, Account]:
    """The accounts the migration made for `municipality`'s people, by their new name."""
    if directory.get("kind") == "active_directory":
        marker = f"(info=voorheen gemeente {municipality}, account *)"
        entries = ldap_entries(directory, directory["people_dn"], f"(&{AD_PERSONS}{marker})")
        return {
            e["sAMAccountName"][0]: Account(
                e["sAMAccountName"][0],
                _ad_enabled(e),
                e.get("mail", []),
                e.get("displayName", []),
                sorted(e.get("proxyAddresses", [])),
            )
            for e in entries
        }
    filt = f"(eendrachtFormerMunicipality={municipality})"
    return {
        e["uid"][0]: Account(
            e["uid"][0],
            e.get("eendrachtDisabled", ["TRUE"])[0] != "TRUE",
            e.get("mail", []),
            e.get("displayName", []),
            sorted(e.get("eendrachtMailAlias", [])),
        )
        for e in ldap_entries(directory, directory["people_dn"], filt)
    }


PROBE_BINDS = 3


def bind_result(dc: dict[str, Any], account: str, password_file: Path) -> str:
    """What the DC says to `account`'s simple bind over LDAPS: "ok", or AD's sub-status
    ("data 533": disabled), or the tool's message."""
    env = {**os.environ, "LDAPTLS_CACERT": dc["ca_file"], "LDAPTLS_REQCERT": "demand"}
    done = subprocess.run(
        ["ldapsearch", "-x", "-H", dc["ldaps_uri"], "-D", f"{account}@{dc['domain']}",
         "-y", str(password_file), "-s", "base", "-b", "", "(objectClass=*)", "1.1"],
        capture_output=True, text=True, check=False, timeout=30, env=env,
    )  # fmt: skip
    if done.returncode == 0:
        return "ok"
    found = re.search(r"data ([0-9a-f]{3})", done.stderr)
    return f"data {found.group(1)}" if found else done.stderr.strip()[-200:]


def check_binds(
    report: LabReport,
    municipality: str,
    lab: dict[str, Any],
    mapping: IdentityMapping,
    disabled: bool,
) -> None:
    """Active Directory: a few source accounts bind with their own password, refused as
    disabled (data 533) after cutover, accepted after a rollback."""
    dc = lab.get("domain_controllers", {}).get(municipality)
    if dc is None:
        return
    users = Path(dc["directory"]) / "secrets" / "users"
    tried = 0
    for identity in mapping.for_municipality(municipality):
        password = users / f"{identity.old_account[:20]}.password"
        if not identity.enabled or not password.exists() or tried == PROBE_BINDS:
            continue
        tried += 1
        said = bind_result(dc, identity.old_account[:20], password)
        want = "data 533" if disabled else "ok"
        report.add("accounts", f"{identity.old_account} binds", said == want, said)
    report.add("accounts", "bind probes", tried > 0, f"{tried} source accounts tried")


def check_accounts(
    report: LabReport, municipality: str, lab: dict[str, Any], mapping: IdentityMapping
) -> None:
    source = lab["source_directories"][municipality]
    target = lab["target_directory"]
    ad = target.get("kind") == "active_directory"
    src = source_accounts(source)
    wanted = [i for i in mapping.for_municipality(municipality) if i.old_account in src]
    tgt = target_accounts(target, municipality)

    def new_name(identity: Identity) -> str:
        return identity.sam_account_name if ad else identity.username

    report.add(
        "accounts",
        "count",
        len(tgt) == len(wanted) and all(new_name(i) in tgt for i in wanted),
        f"{len(tgt)} target accounts for {len(wanted)} people in the source directory",
    )
    for identity in random.Random(7).sample(wanted, min(SAMPLE, len(wanted))):
        account = tgt.get(new_name(identity))
        if account is None:
            report.add("accounts", identity.username, False, "missing")
            continue
        have = {
            "mail": account.mail,
            "displayName": account.display_name,
            "addresses": account.addresses,
            "enabled": account.enabled,
        }
        want = {
            "mail": [identity.mail],
            "displayName": [identity.display_name],
            "addresses": sorted(identity.proxy_addresses if ad else identity.aliases),
            "enabled": identity.enabled,
        }
        wrong = [k for k in want if want[k] != have[k]]
        report.add("accounts", identity.username, not wrong, ", ".join(wrong) or "as mapped")
    still = [a.name for a in src.values() if a.enabled]
    report.add("accounts", "source disabled", not still, f"{len(still)} source accounts enabled")
    check_binds(report, municipality, lab, mapping, disabled=True)


# --- DNS ----------------------------------------------------------------------------


def expected(record: Record, outputs: dict[str, Any]) -> str:
    value = record.cutover_to or str(outputs[record.cutover_output])
    if record.type is RecordType.MX and " " not in value:
        value = f"0 {value}"
    return presented(record.type, value)


def presented(rtype: RecordType, value: str) -> str:
    """A record value as dig prints it: host names absolute, TXT quoted."""
    value = " ".join(value.split())
    if rtype in HOSTNAME_TYPES and not value.endswith("."):
        value += "."
    if rtype is RecordType.TXT and not value.startswith('"'):
        value = f'"{value}"'
    return value


def zone_server(lab: dict[str, Any], zone: str) -> tuple[str, int]:
    """Where the lab serves `zone`: its owner's domain controller or the lab's BIND."""
    where = lab["dns"].get("zone_servers", {}).get(zone) or lab["dns"]
    return where["server"], int(where["port"])


def dig(server: str, port: int, name: str, rtype: str) -> list[str]:
    done = subprocess.run(
        ["dig", "+short", "+norecurse", "-p", str(port), f"@{server}", name, rtype],
        capture_output=True, text=True, check=False, timeout=30,
    )  # fmt: skip
    return [" ".join(line.split()) for line in done.stdout.splitlines() if line.strip()]


def check_dns(
    report: LabReport, mu: Municipality, lab: dict[str, Any], outputs: dict[str, Any]
) -> None:
    for zone in mu.dns.zones:
        server, port = zone_server(lab, zone.name)
        for record in zone.records:
            if not record.cuts_over:
                continue
            name = zone.name + "." if record.name == "@" else f"{record.name}.{zone.name}."
            answers = dig(server, port, name, record.type.value)
            want = expected(record, outputs)
            report.add("dns", f"{name} {record.type.value}", answers == [want], f"{answers}")


# --- applications -------------------------------------------------------------------


def http_status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=15) as resp:
            return int(resp.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)
    except (urllib.error.URLError, OSError):
        return 0


def check_applications(report: LabReport, mu: Municipality, lab: dict[str, Any]) -> None:
    targets = lab.get("target_applications", {}).get(mu.name, {})
    for app in mu.applications:
        endpoint = targets.get(app.name)
        if endpoint is None:
            continue
        if app.health:
            status = http_status(endpoint["health"])
            report.add("applications", f"{app.name} health", status == 200, f"HTTP {status}")
        for k in app.koppelingen:
            status = http_status(f"{endpoint['url']}/chain/{k.target}")
            report.add("chain tests", f"{app.name} -> {k.target}", status == 200, f"HTTP {status}")


def verify_lab_wave(mu: Municipality, lab_root: Path, mapping: IdentityMapping) -> LabReport:
    outputs, lab = lab_details(lab_root)
    report = LabReport()
    check_files(report, mu, lab_root, outputs)
    check_accounts(report, mu.name, lab, mapping)
    check_dns(report, mu, lab, outputs)
    check_mail(report.add, mu, lab, mapping)
    check_applications(report, mu, lab)
    return report


# --- after a rollback: the source side in service -------------------------------------


def _writable(folder: Path) -> bool:
    probe = folder / ".eendracht-rollback-probe"
    try:
        probe.write_text("probe")
        probe.unlink()
    except OSError:
        return False
    return True


def _read_only_db(pg: dict[str, Any], db: str) -> str:
    done = subprocess.run(
        ["psql", "-X", "-A", "-t", "-h", pg["host"], "-p", str(pg["port"]), "-U", pg["superuser"],
         "-d", db, "-c", "SHOW default_transaction_read_only"],
        capture_output=True, text=True, check=False, timeout=30,
        env={**os.environ, "PGPASSFILE": pg["pgpass_file"]},
    )  # fmt: skip
    return done.stdout.strip() or done.stderr.strip()


def verify_lab_source(mu: Municipality, lab_root: Path, mapping: IdentityMapping) -> LabReport:
    """Shares writable, accounts enabled, original DNS answers, applications healthy."""
    _, lab = lab_details(lab_root)
    report = LabReport()
    for name, folder in share_paths(lab_root, mu.name).items():
        report.add("files", f"{name} writable", _writable(folder))
    src = source_accounts(lab["source_directories"][mu.name])
    should = [i.old_account for i in mapping.for_municipality(mu.name) if i.enabled]
    disabled = [u for u in should if u in src and not src[u].enabled]
    report.add("accounts", "source enabled", not disabled, f"{len(disabled)} still disabled")
    check_binds(report, mu.name, lab, mapping, disabled=False)
    check_mail_source(report.add, mu, lab, mapping)
    for zone in mu.dns.zones:
        server, port = zone_server(lab, zone.name)
        for record in zone.records:
            if not record.cuts_over:
                continue
            name = zone.name + "." if record.name == "@" else f"{record.name}.{zone.name}."
            answers = dig(server, port, name, record.type.value)
            want = presented(record.type, record.value)
            report.add(
                "dns", f"{name} {record.type.value} original", answers == [want], f"{answers}"
            )
    pg = lab["postgres"]
    for app_dbs in pg.get("source_databases", {}).get(mu.name, {}).values():
        for db in app_dbs:
            answer = _read_only_db(pg, db)
            report.add("databases", f"{db} writable", answer == "off", answer)
    for app, endpoint in lab.get("applications", {}).get(mu.name, {}).items():
        status = http_status(endpoint["health"])
        report.add("applications", f"{app} source health", status == 200, f"HTTP {status}")
    return report
