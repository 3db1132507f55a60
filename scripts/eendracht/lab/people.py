"""The people a lab is seeded with: the programme's own, or synthetic Dutch ones like them.

Small scale keeps a subset per municipality that still holds every cross-municipality name
collision and every department; full scale keeps everyone and fills up to the head count.
"""

from __future__ import annotations

import random
import unicodedata
from collections import Counter
from dataclasses import dataclass

from eendracht.programme import models as m

# fmt: off
GIVEN = [
    "Jan", "Daniëlle", "Mehmet", "Sanne", "Pieter", "Zoë", "Anouk", "Kees", "Fleur", "Bram",
    "Eline", "Joost", "Noëlle", "Sven", "Lotte", "Ruud", "Inge", "Thijs", "Chloë", "Geert",
    "Fatima", "Youssef", "Ingrid", "Maarten", "Renée", "Wouter", "Esmée", "Hüseyin", "Annelies",
    "Sjoerd", "Mirjam", "Jeroen", "Saskia", "Karel", "Ilse", "Niels", "Marloes", "Stijn",
]
SURNAMES = [
    ("de", "Jong"), ("", "Jansen"), ("", "Janssen"), ("de", "Vries"), ("van den", "Berg"),
    ("van", "Dijk"), ("", "Bakker"), ("", "Visser"), ("", "Smit"), ("", "Meijer"),
    ("de", "Boer"), ("", "Mulder"), ("de", "Groot"), ("", "Bos"), ("", "Vos"), ("", "Peters"),
    ("", "Hendriks"), ("van", "Leeuwen"), ("", "Dekker"), ("", "Brouwer"), ("de", "Wit"),
    ("van 't", "Hof"), ("", "Özil"), ("", "Müller"), ("van der", "Linden"), ("", "Kuipers"),
    ("ter", "Horst"), ("", "Çelik"), ("van der", "Meer"), ("", "Verhoeven"),
]
# Names every synthetic municipality shares, so collisions exist even without listed people.
# fmt: on
COLLIDING = [("Jan", "de", "Vries"), ("Daniëlle", "van den", "Berg")]
SMALL_PEOPLE = 24


@dataclass(frozen=True)
class LabPerson:
    given_name: str
    prefix: str
    surname: str
    department: str
    account: str
    mail: str
    enabled: bool
    listed: bool  # True when the programme lists this person, False when synthesised

    @property
    def full_name(self) -> str:
        return " ".join(p for p in (self.given_name, self.prefix, self.surname) if p)

    @property
    def name_key(self) -> str:
        return ascii_fold(self.full_name).lower()


def ascii_fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c) and c.isascii())


def _slug(text: str) -> str:
    return "".join(c for c in ascii_fold(text).lower() if c.isalnum())


def _from_programme(p: m.Person) -> LabPerson:
    return LabPerson(
        p.given_name, p.prefix, p.surname, p.department, p.account, p.mail, p.enabled, True
    )


def _synthesise(
    muni: m.Municipality, count: int, taken: set[str], rng: random.Random
) -> list[LabPerson]:
    departments = muni.info.departments
    names: list[tuple[str, str, str]] = [] if taken else list(COLLIDING)
    while len(names) < count:
        given = rng.choice(GIVEN)
        prefix, surname = rng.choice(SURNAMES)
        names.append((given, prefix, surname))
    out = []
    for i, (given, prefix, surname) in enumerate(names[:count]):
        base = _slug(given[0] + prefix + surname)
        account, n = base, 1
        while account in taken:
            n += 1
            account = f"{base}{n}"
        taken.add(account)
        local = f"{_slug(given)}.{_slug(prefix + surname)}" + (str(n) if n > 1 else "")
        out.append(
            LabPerson(
                given_name=given,
                prefix=prefix,
                surname=surname,
                department=departments[i % len(departments)],
                account=account,
                mail=f"{local}@{muni.info.mail_domain}",
                enabled=rng.random() > 0.04,
                listed=False,
            )
        )
    return out


def _colliding_keys(everyone: dict[str, list[LabPerson]]) -> set[str]:
    seen: Counter[str] = Counter()
    for people in everyone.values():
        seen.update({p.name_key for p in people})
    return {k for k, n in seen.items() if n > 1}


def _small_subset(people: list[LabPerson], collisions: set[str], limit: int) -> list[LabPerson]:
    keep: list[LabPerson] = [p for p in people if p.name_key in collisions]
    departments = {p.department for p in keep}
    for p in people:
        if p.department not in departments:
            keep.append(p)
            departments.add(p.department)
    for p in people:
        if len(keep) >= limit:
            break
        if p not in keep:
            keep.append(p)
    order = {id(p): i for i, p in enumerate(people)}
    return sorted(keep, key=lambda p: order[id(p)])


def lab_people(programme: m.Programme, scale: str, seed: int) -> dict[str, list[LabPerson]]:
    """People per municipality, in a deterministic order, for the given scale and seed."""
    everyone: dict[str, list[LabPerson]] = {}
    listed_count: dict[str, int] = {}
    for name, muni in programme.municipalities.items():
        rng = random.Random(f"{seed}:people:{name}")
        listed = [_from_programme(p) for p in muni.people]
        listed_count[name] = len(listed)
        taken = {p.account for p in listed}
        wanted = (
            muni.info.head_count if scale == "full" else min(muni.info.head_count, SMALL_PEOPLE)
        )
        missing = max(0, wanted - len(listed)) if (scale == "full" or not listed) else 0
        everyone[name] = listed + _synthesise(muni, missing, taken, rng) if missing else listed
    if scale == "full":
        return everyone
    collisions = _colliding_keys(everyone)
    # The programme's own people are all kept: their mailboxes, devices and accounts are what
    # the wave moves. Small only limits the people the lab makes up.
    return {
        n: _small_subset(ps, collisions, max(SMALL_PEOPLE, listed_count[n]))
        for n, ps in everyone.items()
    }


def colliding_names(people: dict[str, list[LabPerson]]) -> list[str]:
    """Full names that occur in more than one municipality (the identity mapping's hard part)."""
    keys = _colliding_keys(people)
    names = {p.full_name for ps in people.values() for p in ps if p.name_key in keys}
    return sorted(names)
