"""Directories: one OpenLDAP slapd per municipality and one for the new organisation.

Separate instances on separate addresses (rather than one slapd with several suffixes):
each former municipality really has its own directory server, and the migration must be
able to lose, stop or freeze one of them without touching the others.
"""

from __future__ import annotations

import base64
import hashlib
import os
import secrets
from pathlib import Path

from eendracht.lab.paths import LabPaths, write_secret
from eendracht.lab.people import LabPerson, ascii_fold
from eendracht.lab.plan import Directory
from eendracht.lab.procs import run

SLAPD = "/usr/sbin/slapd"
SYSTEM_SCHEMAS = ("core", "cosine", "inetorgperson", "nis")
FIRST_UID = 10001
FIRST_GID = 20001

# OIDs under OpenLDAP's experimental arc (1.3.6.1.4.1.4203.666), as its documentation
# suggests for schemas that have no registered enterprise number of their own.
EENDRACHT_SCHEMA = """\
# eendracht: what the migration needs beyond inetOrgPerson.
attributetype ( 1.3.6.1.4.1.4203.666.11.1.1 NAME 'eendrachtDisabled'
    DESC 'TRUE when the account may no longer log on'
    EQUALITY booleanMatch
    SYNTAX 1.3.6.1.4.1.1466.115.121.1.7 SINGLE-VALUE )
attributetype ( 1.3.6.1.4.1.4203.666.11.1.2 NAME 'eendrachtMailAlias'
    DESC 'further mail addresses that deliver to this account (old addresses)'
    EQUALITY caseIgnoreIA5Match
    SUBSTR caseIgnoreIA5SubstringsMatch
    SYNTAX 1.3.6.1.4.1.1466.115.121.1.26{256} )
attributetype ( 1.3.6.1.4.1.4203.666.11.1.3 NAME 'eendrachtSurnamePrefix'
    DESC 'tussenvoegsel, e.g. van den'
    EQUALITY caseIgnoreMatch
    SYNTAX 1.3.6.1.4.1.1466.115.121.1.15{64} SINGLE-VALUE )
attributetype ( 1.3.6.1.4.1.4203.666.11.1.4 NAME 'eendrachtFormerMunicipality'
    DESC 'the municipality an account came from'
    EQUALITY caseIgnoreMatch
    SYNTAX 1.3.6.1.4.1.1466.115.121.1.15{64} )
attributetype ( 1.3.6.1.4.1.4203.666.11.1.5 NAME 'eendrachtFormerAccount'
    DESC 'the account name in the former municipality'
    EQUALITY caseIgnoreMatch
    SYNTAX 1.3.6.1.4.1.1466.115.121.1.15{64} )
objectclass ( 1.3.6.1.4.1.4203.666.11.2.1 NAME 'eendrachtAccount'
    DESC 'an account the merger migrates'
    SUP top AUXILIARY
    MAY ( eendrachtDisabled $ eendrachtMailAlias $ eendrachtSurnamePrefix $
          eendrachtFormerMunicipality $ eendrachtFormerAccount ) )
"""


def ssha(password: str) -> str:
    salt = os.urandom(8)
    digest = hashlib.sha1(password.encode() + salt).digest()
    return "{SSHA}" + base64.b64encode(digest + salt).decode()


def folder(paths: LabPaths, directory: Directory) -> Path:
    return paths.ldap / directory.name


def password_file(paths: LabPaths, directory: Directory) -> Path:
    return folder(paths, directory) / "bind.password"


def _ldif_value(attr: str, value: str) -> str:
    unsafe = value != value.strip() or value[:1] in (":", "<") or not value.isascii()
    if unsafe or any(c in value for c in "\n\r\0"):
        return f"{attr}:: {base64.b64encode(value.encode()).decode()}"
    return f"{attr}: {value}"


def _entry(dn: str, attrs: list[tuple[str, str]]) -> str:
    return "\n".join([_ldif_value("dn", dn), *(_ldif_value(a, v) for a, v in attrs)]) + "\n\n"


def department_cn(department: str) -> str:
    return ascii_fold(department).lower().replace(" ", "-")


def seed_ldif(directory: Directory, people: list[LabPerson], departments: list[str]) -> str:
    first_rdn = directory.suffix.split(",")[0]
    dc = first_rdn.split("=", 1)[1]
    out = [
        _entry(
            directory.suffix,
            [
                ("objectClass", "top"),
                ("objectClass", "dcObject"),
                ("objectClass", "organization"),
                ("dc", dc),
                ("o", directory.organisation),
            ],
        )
    ]
    containers = {directory.people_dn, directory.groups_dn}
    for dn in sorted(containers, key=len):
        parent_rdns = dn.split(",")
        # Intermediate OUs between the suffix and the container (e.g. ou=medewerkers,ou=x,...).
        for depth in range(len(parent_rdns) - len(directory.suffix.split(",")), 0, -1):
            ou_dn = ",".join(parent_rdns[depth - 1 :])
            ou = ou_dn.split(",")[0].split("=", 1)[1]
            entry = _entry(ou_dn, [("objectClass", "organizationalUnit"), ("ou", ou)])
            if entry not in out:
                out.append(entry)
    for i, p in enumerate(people):
        dn = f"uid={p.account},{directory.people_dn}"
        attrs = [
            ("objectClass", "inetOrgPerson"),
            ("objectClass", "posixAccount"),
            ("objectClass", "eendrachtAccount"),
            ("uid", p.account),
            ("cn", p.full_name),
            ("givenName", p.given_name),
            ("sn", p.surname),
            ("displayName", p.full_name),
            ("mail", p.mail),
            ("ou", p.department),
            ("employeeNumber", f"{i + 1:05d}"),
            ("uidNumber", str(FIRST_UID + i)),
            ("gidNumber", str(FIRST_GID + departments.index(p.department))),
            ("homeDirectory", f"/home/{p.account}"),
            ("loginShell", "/bin/bash"),
            ("eendrachtDisabled", "FALSE" if p.enabled else "TRUE"),
            ("eendrachtFormerMunicipality", directory.name),
        ]
        if p.prefix:
            attrs.append(("eendrachtSurnamePrefix", p.prefix))
        # Old-style short address (account@domain), as many municipal mail systems kept.
        short = f"{p.account}@{p.mail.split('@', 1)[1]}"
        if short != p.mail:
            attrs.append(("eendrachtMailAlias", short))
        out.append(_entry(dn, attrs))
    for d, department in enumerate(departments):
        members = [
            f"uid={p.account},{directory.people_dn}" for p in people if p.department == department
        ]
        if not members:
            continue
        attrs = [
            ("objectClass", "groupOfNames"),
            ("objectClass", "extensibleObject"),
            ("cn", department_cn(department)),
            ("description", department),
            ("gidNumber", str(FIRST_GID + d)),
            *(("member", dn) for dn in members),
        ]
        out.append(_entry(f"cn={department_cn(department)},{directory.groups_dn}", attrs))
    return "".join(out)


def prepare(
    paths: LabPaths, directory: Directory, people: list[LabPerson], departments: list[str]
) -> Path:
    """slapd.conf, password file, and the database loaded with slapadd; returns the config."""
    base = folder(paths, directory)
    data = base / "data"
    data.mkdir(parents=True, exist_ok=True)
    schema = paths.ldap / "eendracht.schema"
    schema.write_text(EENDRACHT_SCHEMA)
    pw_file = password_file(paths, directory)
    password = pw_file.read_text() if pw_file.exists() else secrets.token_urlsafe(18)
    write_secret(pw_file, password)
    includes = [f"include /etc/ldap/schema/{s}.schema" for s in SYSTEM_SCHEMAS]
    config = base / "slapd.conf"
    config_text = "\n".join(
        [
            f"# eendracht lab: directory of {directory.organisation}",
            *includes,
            f"include {schema}",
            f"pidfile {base / 'slapd.pid'}",
            f"argsfile {base / 'slapd.args'}",
            "modulepath /usr/lib/ldap",
            "moduleload back_mdb",
            "loglevel none",
            "sizelimit unlimited",
            "database mdb",
            "maxsize 1073741824",
            f'suffix "{directory.suffix}"',
            f'rootdn "{directory.bind_dn}"',
            f"rootpw {ssha(password)}",
            f"directory {data}",
            "index objectClass eq",
            "index uid,mail,cn eq,sub",
            "index member eq",
            "index eendrachtMailAlias eq",
            "access to attrs=userPassword by self write by anonymous auth by * none",
            "access to * by users read by * none",
            "",
        ]
    )
    write_secret(config, config_text)  # holds the password hash
    if not (data / "data.mdb").exists():
        ldif = base / "seed.ldif"
        ldif.write_text(seed_ldif(directory, people, departments))
        run(["slapadd", "-q", "-f", str(config), "-l", str(ldif)], f"loading {directory.name}")
    return config


def argv(directory: Directory, config: Path) -> list[str]:
    # -d 0: stay in the foreground (the recorded pid is slapd's own) without debug output.
    return [SLAPD, "-f", str(config), "-h", directory.uri + "/", "-d", "0"]
