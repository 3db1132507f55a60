"""Seeding a lab DC: users, departments, nested groups and service accounts, from a seed.

Everything is one LDIF handed to one `ldbadd` on the stopped DC's sam.ldb, on stdin: the
passwords (unicodePwd) are in it and must be in no file and on no command line. Samba's
password_hash module turns them into the NT hash and Kerberos keys as over LDAP.
"""

from __future__ import annotations

import base64
import random
import secrets
import string
import subprocess
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from eendracht.lab.errors import LabError
from eendracht.lab.paths import write_secret
from eendracht.lab.people import COLLIDING, GIVEN, SURNAMES, LabPerson, ascii_fold
from eendracht.lab.samba import LDBMODIFY, SAMBA_TOOL, TIMEOUT, Domain, ldb_apply, unicode_pwd

LDBADD = "/usr/bin/ldbadd"
# The migration's DNS account (GSS-TSIG updates of AD-integrated zones), in every DC. Member of
# DnsAdmins: the zones' ACL grants that group full control of every record (inherited), so
# it may change records someone else (Administrator, a DHCP server) created.
DNS_ACCOUNT = "svc-eendracht"
DNS_ADMINS = "DnsAdmins"
NORMAL_ACCOUNT = 512
ACCOUNTDISABLE = 2
DONT_EXPIRE_PASSWORD = 65536
GLOBAL_SECURITY_GROUP = -2147483646
FIRST_UID = 10001
FIRST_GID = 20001
DEPARTMENTS = ["Burgerzaken", "Financiën", "ICT", "Ruimtelijke Ordening", "Sociaal Domein"]
# Names with ï, beside the é, ë, ö, ü and Ç of the lab's own lists.
EXTRA_GIVEN = ["Loïs", "Eloïse", "Anaïs"]
SERVICE_ACCOUNTS = ["svc-backup", "svc-sync", "svc-zaaksysteem"]
PEOPLE_OU, GROUPS_OU, SERVICE_OU = "Medewerkers", "Groepen", "Serviceaccounts"


@dataclass(frozen=True)
class AdUser:
    sam: str  # sAMAccountName, at most 20 characters
    given_name: str
    prefix: str  # tussenvoegsel ("van der"), part of sn as Dutch AD keeps it
    surname: str
    department: str
    mail: str
    secondary_mail: str  # the old short address, proxyAddresses smtp:
    enabled: bool
    manager: str = ""  # sam of the manager
    service: bool = False
    uid_number: int = 0
    gid_number: int = 0

    @property
    def full_name(self) -> str:
        return " ".join(p for p in (self.given_name, self.prefix, self.surname) if p)

    @property
    def sn(self) -> str:
        return " ".join(p for p in (self.prefix, self.surname) if p)


@dataclass(frozen=True)
class AdGroup:
    name: str
    description: str
    members: tuple[str, ...] = ()  # sams
    groups: tuple[str, ...] = ()  # nested groups: names of groups listed before this one
    gid_number: int = 0


@dataclass(frozen=True)
class SeedData:
    users: list[AdUser]
    groups: list[AdGroup]


@dataclass(frozen=True)
class Seeded:
    users: int
    groups: int
    seconds: float


def group_name(department: str) -> str:
    return "GG-" + ascii_fold(department).replace(" ", "-")


def from_people(people: Sequence[LabPerson], departments: Sequence[str] = ()) -> SeedData:
    """AD users and groups for the lab's people (eendracht.lab.people), deterministic.

    POSIX numbers as the lab's OpenLDAP and share trees give them: person i of `people` is
    uidNumber FIRST_UID + i, a department's group and its people FIRST_GID + its place in
    `departments` (the programme's order), so the files' owners name these accounts."""
    order = list(dict.fromkeys([*departments, *sorted({p.department for p in people})]))
    heads: dict[str, str] = {}
    users: list[AdUser] = []
    for i, p in enumerate(people):
        sam = p.account[:20]
        head = heads.setdefault(p.department, sam) if p.enabled else ""
        domain = p.mail.split("@", 1)[1]
        users.append(
            AdUser(
                sam, p.given_name, p.prefix, p.surname, p.department, p.mail,
                f"{sam}@{domain}", p.enabled, "" if head == sam else heads.get(p.department, ""),
                uid_number=FIRST_UID + i, gid_number=FIRST_GID + order.index(p.department),
            )
        )  # fmt: skip
    mail_domain = people[0].mail.split("@", 1)[1] if people else "lab.invalid"
    others = FIRST_GID + len(order)  # the groups that are no department
    for k, name in enumerate(SERVICE_ACCOUNTS):
        users.append(
            AdUser(name, name, "", "service", "ICT", f"{name}@{mail_domain}", f"{name}@{mail_domain}", True,
                   service=True, uid_number=FIRST_UID + len(people) + k, gid_number=others + 1)
        )  # fmt: skip
    present = {u.department for u in users if not u.service}
    groups = [
        AdGroup(
            group_name(d),
            d,
            tuple(u.sam for u in users if u.department == d and not u.service),
            gid_number=FIRST_GID + order.index(d),
        )
        for d in order
        if d in present
    ]
    names = [group_name(g.description) for g in groups]
    groups += [
        AdGroup("GG-Leidinggevenden", "department heads", tuple(sorted(heads.values())), gid_number=others),
        AdGroup("GG-Serviceaccounts", "service accounts", tuple(SERVICE_ACCOUNTS), gid_number=others + 1),
        AdGroup("GG-Alle-medewerkers", "everyone, through the departments", (), tuple(names), gid_number=others + 2),
        AdGroup("GG-Organisatie", "nested twice", (), ("GG-Alle-medewerkers", "GG-Leidinggevenden"), gid_number=others + 3),
    ]  # fmt: skip
    return SeedData(users, groups)


def _slug(text: str) -> str:
    return "".join(c for c in ascii_fold(text).lower() if c.isalnum())


def synthetic_people(count: int, seed: int, mail_domain: str) -> list[LabPerson]:
    """Dutch people like the lab's (tussenvoegsels, diacritics); the shared names of
    eendracht.lab.people come first, so two domains seeded this way hold the same persons."""
    rng = random.Random(f"{seed}:samba-people:{mail_domain}")
    names = list(COLLIDING)
    given = [*GIVEN, *EXTRA_GIVEN]
    while len(names) < count:
        prefix, surname = rng.choice(SURNAMES)
        names.append((rng.choice(given), prefix, surname))
    taken: set[str] = set()
    out = []
    for i, (first, prefix, surname) in enumerate(names[:count]):
        base = _slug(first[0] + prefix + surname)[:16]
        account, n = base, 1
        while account in taken:
            n += 1
            account = f"{base}{n}"
        taken.add(account)
        local = f"{_slug(first)}.{_slug(prefix + surname)}" + (str(n) if n > 1 else "")
        enabled = i < len(COLLIDING) or rng.random() > 0.05  # about one in twenty has left
        department = DEPARTMENTS[i % len(DEPARTMENTS)]
        out.append(
            LabPerson(first, prefix, surname, department, account, f"{local}@{mail_domain}", enabled, False)
        )  # fmt: skip
    return out


def new_password() -> str:
    """Random, and always within AD's complexity rule (three of four character classes)."""
    alphabet = string.ascii_letters + string.digits
    core = "".join(secrets.choice(alphabet) for _ in range(20))
    return f"{core}-Aa1"


def _value(attr: str, value: str) -> str:
    if not value.isascii() or value[:1] in (" ", ":", "<") or value != value.strip():
        return f"{attr}:: {base64.b64encode(value.encode()).decode()}"
    return f"{attr}: {value}"


def _entry(dn: str, attrs: Sequence[tuple[str, str]]) -> str:
    return "\n".join([_value("dn", dn), *(_value(a, v) for a, v in attrs)]) + "\n\n"


def user_dn(domain: Domain, user: AdUser) -> str:
    ou = f"OU={SERVICE_OU}" if user.service else f"OU={user.department},OU={PEOPLE_OU}"
    return f"CN={user.full_name} ({user.sam}),{ou},{domain.base_dn}"


def group_dn(domain: Domain, name: str) -> str:
    return f"CN={name},OU={GROUPS_OU},{domain.base_dn}"


def seed_ldif(domain: Domain, data: SeedData, passwords: dict[str, str]) -> Iterator[str]:
    base = domain.base_dn
    ou = "organizationalUnit"
    for name in (PEOPLE_OU, GROUPS_OU, SERVICE_OU):
        yield _entry(f"OU={name},{base}", [("objectClass", ou)])
    for dept in sorted({u.department for u in data.users if not u.service}):
        yield _entry(f"OU={dept},OU={PEOPLE_OU},{base}", [("objectClass", ou)])
    by_sam = {u.sam: u for u in data.users}
    # Managers first: manager is a DN link, and its target must exist.
    ordered = sorted(data.users, key=lambda u: bool(u.manager))
    for u in ordered:
        uac = NORMAL_ACCOUNT | (0 if u.enabled else ACCOUNTDISABLE)
        uac |= DONT_EXPIRE_PASSWORD if u.service else 0
        attrs = [
            ("objectClass", "user"),
            ("sAMAccountName", u.sam),
            ("userPrincipalName", f"{u.sam}@{domain.dns_domain}"),
            ("givenName", u.given_name),
            ("sn", u.sn),
            ("displayName", u.full_name),
            ("mail", u.mail),
            ("proxyAddresses", f"SMTP:{u.mail}"),
            ("department", u.department),
            ("uidNumber", str(u.uid_number)),
            ("gidNumber", str(u.gid_number)),
            ("userAccountControl", str(uac)),
            ("unicodePwd", ""),  # placeholder: replaced below, base64 as the attribute needs
        ]
        if u.secondary_mail != u.mail:
            attrs.insert(8, ("proxyAddresses", f"smtp:{u.secondary_mail}"))
        if u.manager:
            attrs.append(("manager", user_dn(domain, by_sam[u.manager])))
        entry = _entry(user_dn(domain, u), attrs)
        yield entry.replace("unicodePwd: \n", f"unicodePwd:: {unicode_pwd(passwords[u.sam])}\n")
    for group in data.groups:
        attrs = [
            ("objectClass", "group"),
            ("sAMAccountName", group.name),
            ("groupType", str(GLOBAL_SECURITY_GROUP)),
            ("description", group.description),
            ("gidNumber", str(group.gid_number)),
            *(("member", user_dn(domain, by_sam[s])) for s in group.members),
            *(("member", group_dn(domain, n)) for n in group.groups),
        ]
        yield _entry(group_dn(domain, group.name), attrs)


def write_passwords(domain: Domain, data: SeedData) -> dict[str, str]:
    """A password file (0600) per account, kept if it exists; returns sam -> password."""
    out = {}
    for u in data.users:
        path = domain.password_file(u.sam)
        if path.exists():
            out[u.sam] = path.read_text(encoding="utf-8")
        else:
            out[u.sam] = new_password()
            write_secret(path, out[u.sam])
    return out


def seed(domain: Domain, data: SeedData) -> Seeded:
    """Load users and groups into the stopped DC in one ldbadd (LDIF on stdin)."""
    began = time.monotonic()
    passwords = write_passwords(domain, data)
    ldif = "".join(seed_ldif(domain, data, passwords))
    ldb_apply(domain, LDBADD, ldif, f"seeding {domain.realm}", list(passwords.values()))
    return Seeded(len(data.users), len(data.groups), time.monotonic() - began)


def dns_account_dn(domain: Domain) -> str:
    return f"CN={DNS_ACCOUNT},CN=Users,{domain.base_dn}"


def dns_keytab_file(domain: Domain) -> Path:
    return domain.secrets / f"{DNS_ACCOUNT}.keytab"


def dns_account_ldif(domain: Domain, password: str) -> str:
    """The DNS account (enabled, password never expires) and its DnsAdmins membership: one
    ldbmodify, as changetype add and modify."""
    dn = dns_account_dn(domain)
    account = _entry(
        dn,
        [
            ("changetype", "add"),
            ("objectClass", "user"),
            ("sAMAccountName", DNS_ACCOUNT),
            ("userPrincipalName", f"{DNS_ACCOUNT}@{domain.dns_domain}"),
            ("description", "eendracht: DNS updates of the migration (GSS-TSIG)"),
            ("userAccountControl", str(NORMAL_ACCOUNT | DONT_EXPIRE_PASSWORD)),
            ("unicodePwd", ""),
        ],
    ).replace("unicodePwd: \n", f"unicodePwd:: {unicode_pwd(password)}\n")
    member = _entry(
        f"CN={DNS_ADMINS},CN=Users,{domain.base_dn}",
        [("changetype", "modify"), ("add", "member"), ("member", dn)],
    )
    return account + member.replace("\n\n", "\n-\n\n")


def export_keytab(domain: Domain, principal: str, path: Path) -> Path:
    """The principal's keys from the DC's sam.ldb into `path` (0600); works on a stopped DC.
    exportkeytab appends to an existing file, so any earlier one is replaced."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    path.unlink(missing_ok=True)
    done = subprocess.run(
        [SAMBA_TOOL, "domain", "exportkeytab", str(path), f"--principal={principal}",
         "-s", str(domain.smb_conf)],
        capture_output=True, text=True, check=False, timeout=TIMEOUT, umask=0o077,
    )  # fmt: skip
    if done.returncode != 0 or not path.is_file():
        detail = " | ".join((done.stderr or done.stdout).strip().splitlines()[-3:])
        raise LabError(f"exporting the keytab of {principal} failed: {detail}")
    path.chmod(0o600)
    return path


def add_dns_account(domain: Domain) -> Path:
    """Add the DNS account to the stopped DC (password in a 0600 file, kept if it exists; on
    stdin only), make it a DnsAdmins member, and export its keytab; returns the keytab."""
    password_file = domain.password_file(DNS_ACCOUNT)
    if password_file.exists():
        password = password_file.read_text(encoding="utf-8")
    else:
        password = new_password()
        write_secret(password_file, password)
    ldif = dns_account_ldif(domain, password)
    ldb_apply(domain, LDBMODIFY, ldif, f"adding {DNS_ACCOUNT} to {domain.realm}", [password])
    return export_keytab(domain, f"{DNS_ACCOUNT}@{domain.realm}", dns_keytab_file(domain))
