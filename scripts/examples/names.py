"""Curated Dutch names and the old account/mail conventions of each municipality.

Surnames carry their tussenvoegsel separately (prefix "van den", surname "Berg"), weighted
roughly by how common they are in the Netherlands (CBS/Meertens top lists), with a share of
names from the Turkish, Moroccan, German, Surinamese and Polish communities.
"""

from __future__ import annotations

import random
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass

# (prefix, surname, weight)
SURNAMES: list[tuple[str, str, int]] = [
    ("de", "Jong", 30), ("", "Jansen", 28), ("de", "Vries", 27), ("van den", "Berg", 22),
    ("van", "Dijk", 22), ("", "Bakker", 22), ("", "Janssen", 21), ("", "Visser", 20),
    ("", "Smit", 18), ("", "Meijer", 17), ("de", "Boer", 16), ("", "Mulder", 15),
    ("de", "Groot", 15), ("", "Bos", 15), ("", "Vos", 14), ("", "Peters", 14),
    ("", "Hendriks", 14), ("van", "Leeuwen", 13), ("", "Dekker", 13), ("", "Brouwer", 12),
    ("de", "Wit", 12), ("", "Dijkstra", 12), ("", "Smits", 12), ("de", "Graaf", 11),
    ("van der", "Meer", 11), ("van der", "Linden", 10), ("", "Kok", 10), ("", "Jacobs", 10),
    ("de", "Haan", 10), ("", "Vermeulen", 10), ("van den", "Heuvel", 10), ("van der", "Veen", 9),
    ("van den", "Broek", 9), ("de", "Bruijn", 9), ("de", "Bruin", 8), ("van der", "Heijden", 8),
    ("", "Schouten", 8), ("van", "Beek", 8), ("", "Willems", 8), ("van", "Vliet", 8),
    ("van de", "Ven", 8), ("", "Hoekstra", 7), ("", "Maas", 7), ("", "Verhoeven", 7),
    ("", "Koster", 7), ("van", "Dam", 7), ("van der", "Wal", 7), ("", "Prins", 7),
    ("", "Blom", 6), ("", "Huisman", 6), ("", "Peeters", 6), ("de", "Leeuw", 6),
    ("", "Kuiper", 6), ("van", "Veen", 6), ("van", "Wijk", 6), ("van", "Hout", 5),
    ("van", "Gerwen", 4), ("van der", "Sanden", 4), ("van", "Rooij", 4), ("van", "Lieshout", 4),
    ("van", "Kessel", 4), ("van", "Erp", 4), ("van de", "Wiel", 4), ("van", "Andel", 3),
    ("den", "Hartog", 3), ("van der", "Stelt", 3), ("van", "Tuijl", 3), ("", "Kant", 3),
    ("van 't", "Hof", 3), ("in 't", "Veld", 3), ("van", "Zon", 2), ("ter", "Horst", 2),
    ("", "Verbeek", 5), ("", "Timmermans", 5), ("", "Hermans", 5), ("", "Aarts", 4),
    ("", "Martens", 4), ("", "Wouters", 4), ("", "Goossens", 4), ("", "Pijnenburg", 3),
    ("", "Schellekens", 3), ("", "Heesakkers", 2), ("", "Sterk", 2), ("", "Biemans", 2),
    ("", "Nguyen", 1), ("", "Brandão", 1),
]  # fmt: skip

# Surnames from communities with their own given names: (prefix, surname, weight), given names.
COMMUNITIES: dict[str, tuple[list[tuple[str, str, int]], list[str]]] = {
    "turkish": (
        [
            ("", "Yılmaz", 4),
            ("", "Çelik", 3),
            ("", "Özil", 2),
            ("", "Öztürk", 3),
            ("", "Kaya", 3),
            ("", "Demir", 3),
            ("", "Şahin", 2),
            ("", "Doğan", 2),
            ("", "Aydın", 2),
        ],
        ["Mehmet", "Ahmet", "Fatma", "Ayşe", "Emre", "Özlem", "Burak", "Elif", "Hüseyin", "Zeynep"],
    ),
    "moroccan": (
        [
            ("el", "Amrani", 3),
            ("", "Bouzid", 2),
            ("el", "Idrissi", 2),
            ("", "Benali", 2),
            ("", "Ouali", 2),
        ],
        ["Mohamed", "Youssef", "Fatima", "Naima", "Khadija", "Said", "Soufiane", "Samira"],
    ),
    "german": (
        [("", "Müller", 3), ("", "Schäfer", 1), ("", "Schröder", 1), ("", "Weiß", 1)],
        ["Jürgen", "Lukas", "Sven", "Anja", "Katrin", "Jörg"],
    ),
    "polish": (
        [("", "Nowak", 2), ("", "Wójcik", 2), ("", "Kaczmarek", 1), ("", "Mazur", 1)],
        ["Agnieszka", "Piotr", "Katarzyna", "Łukasz", "Marta"],
    ),
    "surinamese": (
        [("", "Ramdin", 2), ("", "Sewnath", 1), ("", "Jagesar", 1), ("", "Mahabier", 1)],
        ["Priya", "Rajesh", "Anita", "Ravi", "Sunita"],
    ),
}
COMMUNITY_SHARE = 0.12  # of staff with a surname from one of these communities
NEIGHBOUR_SHARE = 0.15  # of those with a Dutch given name (mixed families, second generation)

GIVEN: list[tuple[str, int]] = [
    ("Jan", 12), ("Peter", 10), ("Mark", 10), ("Linda", 10), ("Sandra", 9), ("Marieke", 8),
    ("Kees", 7), ("Henk", 7), ("Gerrit", 6), ("Johan", 8), ("Ruud", 6), ("Bas", 8),
    ("Tim", 8), ("Daan", 7), ("Lars", 6), ("Thomas", 8), ("Niels", 7), ("Martijn", 7),
    ("Anouk", 7), ("Femke", 7), ("Lotte", 7), ("Sanne", 8), ("Iris", 6), ("Esther", 7),
    ("Monique", 6), ("Ingrid", 5), ("Wilma", 5), ("Petra", 6), ("Marloes", 6), ("Eva", 6),
    ("Sophie", 6), ("Julia", 5), ("Emma", 5), ("Noor", 5), ("Fleur", 5), ("Joost", 5),
    ("Wouter", 6), ("Rick", 5), ("Stefan", 5), ("Frank", 6), ("Erik", 6), ("Robert", 5),
    ("Hans", 5), ("Ton", 4), ("Wim", 4), ("Cor", 3), ("Adrie", 3), ("Jeroen", 6),
    ("Maarten", 5), ("Sjoerd", 3), ("Hanneke", 4), ("Annemiek", 3), ("Mirjam", 4),
    ("Daniëlle", 5), ("Zoë", 3), ("Chloë", 2), ("Noëlle", 2), ("Joëlle", 2), ("Anaïs", 1),
    ("Loïs", 2), ("René", 3), ("André", 3), ("José", 2), ("Hélène", 1), ("Sven", 2),
    ("Thijs", 4), ("Luuk", 3), ("Bram", 4), ("Koen", 5), ("Rianne", 4), ("Ilse", 4), ("Mariska", 3), ("Yvonne", 4),
]  # fmt: skip

_FOLD = str.maketrans({"ı": "i", "ø": "o", "ß": "ss", "æ": "ae", "ł": "l", "Ł": "L", "'": ""})


def ascii_fold(text: str) -> str:
    """'Daniëlle' -> 'Danielle', 'Yılmaz' -> 'Yilmaz': the mail-safe spelling."""
    text = unicodedata.normalize("NFKD", text.translate(_FOLD))
    return "".join(c for c in text if not unicodedata.combining(c))


@dataclass(frozen=True)
class Name:
    given: str
    prefix: str
    surname: str

    @property
    def full(self) -> str:
        return " ".join(p for p in (self.given, self.prefix, self.surname) if p)


def _dutch_given(rng: random.Random) -> str:
    return rng.choices([g for g, _ in GIVEN], weights=[w for _, w in GIVEN])[0]


def draw_name(rng: random.Random) -> Name:
    if rng.random() < COMMUNITY_SHARE:
        community = rng.choice(sorted(COMMUNITIES))
        surnames, given_names = COMMUNITIES[community]
        prefix, surname, _ = rng.choices(surnames, weights=[w for *_, w in surnames])[0]
        given = _dutch_given(rng) if rng.random() < NEIGHBOUR_SHARE else rng.choice(given_names)
        return Name(given, prefix, surname)
    prefix, surname, _ = rng.choices(SURNAMES, weights=[w for *_, w in SURNAMES])[0]
    return Name(_dutch_given(rng), prefix, surname)


def _low(text: str) -> str:
    return "".join(c for c in ascii_fold(text).lower() if c.isalnum())


def _initials(prefix: str) -> str:
    return "".join(word[0] for word in prefix.split())


# Old conventions differ per municipality: that is exactly what the identity mapping must undo.
Convention = Callable[[Name], str]

ACCOUNT: dict[str, Convention] = {
    # jdevries
    "initial-prefix-surname": lambda n: _low(n.given[0] + n.prefix + n.surname),
    # vriesj (sorted by surname, tussenvoegsel dropped)
    "surname-initial": lambda n: _low(n.surname) + _low(n.given[0]),
    # j.devries
    "initial.prefix-surname": lambda n: f"{_low(n.given[0])}.{_low(n.prefix + n.surname)}",
    # jvdberg
    "initial-prefixinitials-surname": lambda n: _low(n.given[0] + _initials(n.prefix) + n.surname),
    # jan.vandenberg
    "given.prefix-surname": lambda n: f"{_low(n.given)}.{_low(n.prefix + n.surname)}",
}

MAIL: dict[str, Convention] = {
    "i.prefixsurname": lambda n: f"{_low(n.given[0])}.{_low(n.prefix + n.surname)}",
    "given.prefixsurname": lambda n: f"{_low(n.given)}.{_low(n.prefix + n.surname)}",
    "i.pre.fix.surname": lambda n: ".".join(
        [_low(n.given[0]), *(_low(p) for p in n.prefix.split()), _low(n.surname)]
    ),
    "iprefixsurname": lambda n: _low(n.given[0] + n.prefix + n.surname),
}


def unique(candidate: str, taken: set[str], sep: str = "") -> str:
    """The candidate, or candidate2, candidate3... as an administrator would have made it."""
    value, n = candidate, 1
    while value in taken:
        n += 1
        value = f"{candidate}{sep}{n}"
    taken.add(value)
    return value
