"""A problem found in user input: always tied to a file and a field path, on one short line.

Input can be hostile: a name of megabytes, a newline or a terminal escape in a key. Every part
of a problem is therefore one line of printable characters, and every value taken from the
input is cut to a short excerpt (`excerpt`, `brief_repr`), so a problem never echoes more than
a few hundred characters of what it was given.
"""

from __future__ import annotations

import reprlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

EXCERPT = 80  # characters of an input value a message shows
MAX_FIELD = 240
MAX_MESSAGE = 600


def printable(text: str) -> str:
    """`text` on one line: control and other unprintable characters escaped."""
    if text.isprintable():
        return text
    return "".join(
        c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in text
    )


def excerpt(text: str, limit: int = EXCERPT) -> str:
    """At most `limit` characters of `text` (plus how long it was), on one line."""
    if len(text) > limit:
        return f"{printable(text[: limit - 1])}… ({len(text)} characters)"
    return printable(text)


class _BriefRepr(reprlib.Repr):
    def __init__(self) -> None:
        super().__init__()
        self.maxstring = EXCERPT
        self.maxother = EXCERPT
        self.maxlong = 40
        self.maxlevel = 3
        self.maxlist = self.maxtuple = self.maxdict = self.maxset = 6


_brief = _BriefRepr()


def brief_repr(value: Any) -> str:
    """A repr of an input value that stays short however large the value is."""
    return printable(_brief.repr(value))


@dataclass(frozen=True, order=True)
class Problem:
    file: str
    field: str
    message: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "file", printable(self.file))
        object.__setattr__(self, "field", excerpt(self.field, MAX_FIELD))
        object.__setattr__(self, "message", excerpt(self.message, MAX_MESSAGE))

    def __str__(self) -> str:
        return (
            f"{self.file}: {self.field}: {self.message}"
            if self.field
            else f"{self.file}: {self.message}"
        )


class ProblemsFound(Exception):
    """Raised when input is invalid; carries every problem, not just the first."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


def field_path(loc: Iterable[str | int]) -> str:
    """Render a pydantic/JSON location as `applications[3].koppelingen[0].target`."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            part = excerpt(str(part))
            out += f".{part}" if out else part
    return out


def display_path(path: Path) -> str:
    """Paths relative to the working directory where possible, as operators typed them."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except (ValueError, OSError, RuntimeError):
        return str(path)
