"""The identity mapping a wave uses, written to the JSON file the identity role reads.

Municipalities whose people are not listed in the programme (`people_source`) are read from
their source directory (the environment says where, and the bind credential's file) first,
so the mapping, and its collision order, covers everybody up to the wave's municipality.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from eendracht.identity import IdentityMapping, map_identities
from eendracht.module_utils import parse_ldif
from eendracht.programme.models import Person, Programme

PERSON_ATTRS = (
    "uid",
    "givenName",
    "sn",
    "mail",
    "ou",
    "eendrachtSurnamePrefix",
    "eendrachtDisabled",
)


class PeopleReadError(Exception):
    """The source directory could not be read: unreachable, refused the bind, or empty."""


def read_people(directory: dict[str, Any], timeout: float = 120) -> list[Person]:
    """People in a source directory; the bind password is read by ldapsearch from its file."""
    base = directory.get("people_dn") or directory["base_dn"]
    try:
        done = subprocess.run(
            [
                "ldapsearch", "-LLL", "-x", "-o", "ldif-wrap=no", "-o", f"nettimeout={int(timeout)}",
                "-H", directory["uri"], "-D", directory["bind_dn"],
                "-y", directory["password_file"], "-b", base, "(uid=*)", *PERSON_ATTRS,
            ],
            capture_output=True, text=True, check=False, timeout=timeout,
        )  # fmt: skip
    except subprocess.TimeoutExpired:
        raise PeopleReadError(
            f"reading people from {directory['uri']} took longer than {timeout:.0f} s"
        ) from None
    except OSError as exc:
        raise PeopleReadError(f"cannot run ldapsearch: {exc}") from None
    if done.returncode != 0:
        reason = " ".join(done.stderr.split())[:300] or f"ldapsearch exit {done.returncode}"
        raise PeopleReadError(f"cannot read people from {directory['uri']}: {reason}")
    people = []
    for entry in parse_ldif(done.stdout):
        try:
            people.append(
                Person(
                    given_name=entry.get("givenName", ["-"])[0],
                    prefix=entry.get("eendrachtSurnamePrefix", [""])[0],
                    surname=entry.get("sn", ["-"])[0],
                    department=entry.get("ou", ["-"])[0],
                    account=entry["uid"][0],
                    mail=entry.get("mail", [""])[0],
                    enabled=entry.get("eendrachtDisabled", ["FALSE"])[0].upper() != "TRUE",
                )
            )
        except (KeyError, ValidationError):
            continue  # not a person the migration can map; the preflight reports the count
    if not people:
        raise PeopleReadError(f"no people under {base} in {directory['uri']}")
    return people


def build_mapping(programme: Programme, people: dict[str, list[Person]]) -> IdentityMapping:
    """The mapping of everybody: listed people, and `people` read from the source directories."""
    return map_identities(programme, people)


def write_identity_map(mapping: IdentityMapping, municipality: str, path: Path) -> int:
    identities = mapping.for_municipality(municipality)
    records = {
        "organisation": mapping.organisation,
        "mail_domain": mapping.mail_domain,
        "upn_suffix": mapping.upn_suffix,
        "municipality": municipality,
        "identities": [i.model_dump(mode="json") for i in identities],
    }
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(records, handle, indent=1, ensure_ascii=False)
    return len(identities)
