"""From a person to the usernames they may get, best first, and why each part looks as it does."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from eendracht.identity.fold import FoldNotes, fold, notes_for, to_ascii
from eendracht.identity.models import Change, ChangeKind
from eendracht.programme.models import Person, UsernamePattern

MAX_LOCAL_PART = 64  # RFC 5321: the longest local part of a mail address
MAX_GIVEN_PART = 20
FALLBACK = "x"

# Rules, in the order they are tried after the pattern's own name is taken.
PATTERN = "pattern"
ALL_INITIALS = "all initials"
FULL_GIVEN_NAME = "full given name"
NUMBER = "number"


@dataclass(frozen=True)
class NameParts:
    initial: str  # "j"; "ij" for IJsbrand (the Dutch IJ is one letter)
    initials: str  # "jw" for "Jan Willem"; "" with one given name
    given: str  # "janwillem"
    surname: str  # "vandenberg": tussenvoegsel joined
    given_notes: FoldNotes
    surname_notes: FoldNotes
    prefix: str
    fallbacks: tuple[Change, ...]


def _leading_letters(text: str) -> str:
    return re.sub(r"^[0-9]+", "", text)


def name_parts(person: Person) -> NameParts:
    fallbacks: list[Change] = []
    given = _leading_letters(fold(person.given_name))[:MAX_GIVEN_PART]
    if not given:
        given = FALLBACK
        fallbacks.append(
            Change(
                kind=ChangeKind.FALLBACK,
                detail=f"given name {person.given_name!r} has no Latin letter; used {FALLBACK!r}",
            )
        )
    ascii_given = to_ascii(person.given_name)
    initial = "ij" if ascii_given.startswith("IJ") and given.startswith("ij") else given[0]
    words = [_leading_letters(fold(w)) for w in re.split(r"[\s\-]+", person.given_name)]
    words = [w for w in words if w]
    initials = "".join(w[0] for w in words) if len(words) > 1 else ""

    surname = fold(f"{person.prefix}{person.surname}")
    if not surname:
        surname = fold(person.account) or FALLBACK
        fallbacks.append(
            Change(
                kind=ChangeKind.FALLBACK,
                detail=f"surname {person.surname!r} has no Latin letter; used {surname!r} "
                "from the old account",
            )
        )
    return NameParts(
        initial=initial,
        initials=initials,
        given=given,
        surname=surname,
        given_notes=notes_for(person.given_name),
        # A tussenvoegsel's own spaces are reported as the joining, not as dropped separators.
        surname_notes=notes_for(person.prefix.replace(" ", "") + person.surname),
        prefix=person.prefix,
        fallbacks=tuple(fallbacks),
    )


def compose(first: str, surname: str, suffix: str = "") -> str:
    room = MAX_LOCAL_PART - len(first) - 1 - len(suffix)
    return f"{first}.{surname[:room]}{suffix}"


def numbering_stem(parts: NameParts, pattern: UsernamePattern) -> tuple[str, str]:
    """The two parts a numbered candidate is built from: (`j`, `devries`) -> `j.devries2`."""
    first = parts.initial if pattern is UsernamePattern.INITIAL_SURNAME else parts.given
    return first, parts.surname


def candidates(
    parts: NameParts,
    pattern: UsernamePattern,
    first_number: int = 2,
    next_number: Callable[[int], int] | None = None,
) -> Iterator[tuple[str, str, int]]:
    """(username, rule, number) triples, best first; endless, so a free one is always found.

    `number` is 0 for the named candidates. `first_number` skips numbered candidates the
    caller knows are all taken; so does `next_number(n)`, asked before each numbered candidate:
    the first number from n on that the caller does not know to be taken.
    """
    seen: set[str] = set()
    first, _ = numbering_stem(parts, pattern)
    ordered: list[tuple[str, str]] = [(compose(first, parts.surname), PATTERN)]
    if pattern is UsernamePattern.INITIAL_SURNAME:
        if parts.initials:
            ordered.append((compose(parts.initials, parts.surname), ALL_INITIALS))
        ordered.append((compose(parts.given, parts.surname), FULL_GIVEN_NAME))
    for name, rule in ordered:
        if name not in seen:
            seen.add(name)
            yield name, rule, 0
    n = max(2, first_number)
    while True:
        if next_number is not None:
            n = next_number(n)
        name = compose(first, parts.surname, str(n))
        if name not in seen:
            yield name, NUMBER, n
        n += 1


def naming_changes(person: Person, parts: NameParts, username: str, rule: str) -> list[Change]:
    """Why the username differs from the name as written (collisions are added by the caller)."""
    changes = list(parts.fallbacks)
    uses_given = rule == FULL_GIVEN_NAME or username.split(".", 1)[0] == parts.given
    if uses_given:
        given_notes = parts.given_notes
    elif rule == ALL_INITIALS:
        given_notes = notes_for("".join(w[:1] for w in re.split(r"[\s\-]+", person.given_name)))
    else:
        given_notes = notes_for(person.given_name[:1])
    accents = (*given_notes.accents, *parts.surname_notes.accents)
    if accents:
        changes.append(
            Change(kind=ChangeKind.ACCENTS, detail=f"{', '.join(dict.fromkeys(accents))} folded")
        )
    if parts.prefix:
        changes.append(
            Change(
                kind=ChangeKind.TUSSENVOEGSEL,
                detail=f"tussenvoegsel {parts.prefix!r} joined to the surname: {parts.surname}",
            )
        )
    separators = (*(given_notes.separators if uses_given else ()), *parts.surname_notes.separators)
    if separators:
        written = f"{person.prefix} {person.surname}".strip()
        if uses_given:
            written = f"{person.given_name} / {written}"
        changes.append(
            Change(
                kind=ChangeKind.SEPARATORS,
                detail=f"{', '.join(dict.fromkeys(separators))} dropped from {written!r}",
            )
        )
    dropped = (*(given_notes.dropped if uses_given else ()), *parts.surname_notes.dropped)
    if dropped:
        changes.append(
            Change(
                kind=ChangeKind.DROPPED,
                detail=f"left out (no Latin spelling): {' '.join(dict.fromkeys(dropped))}",
            )
        )
    full_first = parts.given if uses_given else parts.initial
    if len(full_first) + 1 + len(parts.surname) > MAX_LOCAL_PART:
        changes.append(
            Change(
                kind=ChangeKind.SHORTENED,
                detail=f"cut to {MAX_LOCAL_PART} characters, the longest a mail address allows",
            )
        )
    return changes
