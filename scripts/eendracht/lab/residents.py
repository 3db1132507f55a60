"""Inhabitants (ingeschrevenen) per municipality: what the BRP stand-in and the case files know.

Each gets a BSN that passes the elfproef, so applications that check BSNs accept them.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass

from eendracht.lab.people import GIVEN, SURNAMES
from eendracht.programme import models as m

SMALL_RESIDENTS = 40
FULL_RESIDENTS_MAX = 2000
STREETS = [
    "Dorpsstraat",
    "Kerkstraat",
    "Molenweg",
    "Dijkstraat",
    "Sint Janstraat",
    "Havenkade",
    "Burgemeester Smitlaan",
    "Van 't Hofplein",
    "Ganzerik",
    "Wilhelminastraat",
]


@dataclass(frozen=True)
class Resident:
    bsn: str
    given_name: str
    prefix: str
    surname: str
    birth_date: dt.date
    street: str
    house_number: int
    municipality: str

    @property
    def full_name(self) -> str:
        return " ".join(p for p in (self.given_name, self.prefix, self.surname) if p)


def _bsn(rng: random.Random, taken: set[str]) -> str:
    while True:
        digits = [rng.randint(0, 9) for _ in range(8)]
        if digits[0] == 0:
            continue
        total = sum(d * w for d, w in zip(digits, range(9, 1, -1), strict=True))
        check = total % 11
        if check == 10:
            continue
        bsn = "".join(map(str, digits)) + str(check)
        if bsn not in taken:
            taken.add(bsn)
            return bsn


def elfproef(bsn: str) -> bool:
    if len(bsn) != 9 or not bsn.isdigit():
        return False
    weights = [9, 8, 7, 6, 5, 4, 3, 2, -1]
    return sum(int(d) * w for d, w in zip(bsn, weights, strict=True)) % 11 == 0


def residents(muni: m.Municipality, scale: str, seed: int) -> list[Resident]:
    rng = random.Random(f"{seed}:residents:{muni.name}")
    count = (
        min(muni.info.inhabitants, FULL_RESIDENTS_MAX)
        if scale == "full"
        else min(muni.info.inhabitants, SMALL_RESIDENTS)
    )
    taken: set[str] = set()
    out = []
    for _ in range(count):
        prefix, surname = rng.choice(SURNAMES)
        out.append(
            Resident(
                bsn=_bsn(rng, taken),
                given_name=rng.choice(GIVEN),
                prefix=prefix,
                surname=surname,
                birth_date=dt.date(1930, 1, 1) + dt.timedelta(days=rng.randrange(33000)),
                street=rng.choice(STREETS),
                house_number=rng.randint(1, 180),
                municipality=muni.name,
            )
        )
    return out
