"""Fold a person's name into the characters a username may hold: [a-z0-9].

Decomposition (NFKD) strips the accents that are marks (ë, ö, ü, ç, é); letters that are
letters of their own (ß, ø, æ, ł, ı) have no decomposition and are spelled out first.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from functools import lru_cache

_SPELLED_OUT = str.maketrans(
    {
        "ß": "ss",
        "ẞ": "SS",
        "ø": "o",
        "Ø": "O",
        "æ": "ae",
        "Æ": "AE",
        "œ": "oe",
        "Œ": "OE",
        "ł": "l",
        "Ł": "L",
        "đ": "d",
        "Đ": "D",
        "ð": "d",
        "Ð": "D",
        "þ": "th",
        "Þ": "TH",
        "ı": "i",
        "ĳ": "ij",
        "Ĳ": "IJ",
    }
)
_ALLOWED = frozenset("abcdefghijklmnopqrstuvwxyz0123456789")
_SEPARATORS = frozenset(" -'’‘`´.")


# Names repeat (a municipality of 100,000 people has a few thousand given names and surnames),
# and folding is most of a person's mapping: each piece of a name is folded once.
NAMES_KEPT = 1 << 16


@lru_cache(maxsize=NAMES_KEPT)
def to_ascii(text: str) -> str:
    """Latin letters without their accents; other characters are left as they are."""
    decomposed = unicodedata.normalize("NFKD", text.translate(_SPELLED_OUT))
    return "".join(c for c in decomposed if not unicodedata.combining(c))


@lru_cache(maxsize=NAMES_KEPT)
def fold(text: str) -> str:
    """Lower case a-z and digits only: `van 't Hof` -> `vanthof`, `Özil` -> `ozil`."""
    return "".join(c for c in to_ascii(text).lower() if c in _ALLOWED)


@dataclass(frozen=True)
class FoldNotes:
    """What folding did to a piece of a name, so the mapping can say why a name changed."""

    accents: tuple[str, ...] = ()  # "ë→e", in order of first appearance
    separators: tuple[str, ...] = ()  # "hyphen", "apostrophe", "space"
    dropped: tuple[str, ...] = ()  # characters with no Latin spelling


_SEPARATOR_NAMES = {" ": "space", "-": "hyphen", ".": "full stop"}


@lru_cache(maxsize=NAMES_KEPT)
def notes_for(text: str) -> FoldNotes:
    accents: list[str] = []
    separators: list[str] = []
    dropped: list[str] = []
    for char in text:
        if char.isascii():
            if char in _SEPARATORS:
                name = _SEPARATOR_NAMES.get(char, "apostrophe")
                if name not in separators:
                    separators.append(name)
            elif char.lower() not in _ALLOWED and char not in dropped:
                dropped.append(char)
            continue
        if char in _SEPARATORS:
            if "apostrophe" not in separators:
                separators.append("apostrophe")
            continue
        folded = fold(char)
        if folded:
            note = f"{char}→{folded}"
            if note not in accents:
                accents.append(note)
        elif char not in dropped:
            dropped.append(char)
    return FoldNotes(tuple(accents), tuple(separators), tuple(dropped))
