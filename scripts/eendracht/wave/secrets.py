"""Keep secrets out of everything a wave writes: journal, status, terminal, artifacts.

Two defences: `scrub` censors the values of secret-looking keys (a result's `password`), and
`redact` replaces every known secret value (`SecretFiles.values()`: the environment's credential
files and vault values) wherever it occurs in a text, also in its JSON-escaped form.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any

# "pass" as a word of its own (db_pass, pgpass, PASSWORD), not the start of one: a count named
# checks_passed is no secret.
SECRET_KEY = re.compile(
    r"pass(word|wd|phrase)?(?![a-z])|secret|token|credential|private_key|tsig_key$", re.I
)
CENSORED = "********"
# A tool that quotes a long token cuts it short with an ellipsis (dig and nsupdate quote a bad
# key file's token as `'canary-vault-tsig-key-feb10fd9...'`): a known secret's first characters,
# this many or more, right before one are redacted too.
ELLIPSIS = re.compile(r"\.\.\.|\u2026")
MIN_PREFIX = 8


def is_secret_key(key: str) -> bool:
    return bool(SECRET_KEY.search(key)) and not key.endswith(("_file", "_path"))


def scrub(value: Any) -> Any:
    """A copy of `value` with every secret-looking key's value replaced."""
    if isinstance(value, dict):
        return {
            k: (CENSORED if isinstance(k, str) and is_secret_key(k) else scrub(v))
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [scrub(v) for v in value]
    return value


def redaction_forms(values: Iterable[str]) -> tuple[str, ...]:
    """Every form a secret value may take in a text: as it is and JSON-escaped (a result
    printed by Ansible, a message stored as JSON), longest first so that a value that contains
    another is replaced whole."""
    forms: set[str] = set()
    for value in values:
        if not value:
            continue
        forms.add(value)
        forms.add(json.dumps(value, ensure_ascii=False)[1:-1])
        forms.add(json.dumps(value)[1:-1])
    return tuple(sorted(forms, key=lambda f: (-len(f), f)))


class Redactor:
    """`redactor(text)`: `text` with every known secret value (in any of its forms) replaced."""

    def __init__(self, values: Iterable[str] = ()) -> None:
        self.values: frozenset[str] = frozenset()
        self.forms: tuple[str, ...] = ()
        self.add(values)

    def add(self, values: Iterable[str]) -> None:
        self.values = self.values | {v for v in values if v}
        self.forms = redaction_forms(self.values)

    def __call__(self, text: str) -> str:
        if not text:
            return text
        for form in self.forms:
            if form in text:
                text = text.replace(form, CENSORED)
        return self._cut_short(text) if ELLIPSIS.search(text) else text

    def _cut_short(self, text: str) -> str:
        """`text` with every secret's beginning that ends in an ellipsis replaced."""
        out: list[str] = []
        pos = 0
        for match in ELLIPSIS.finditer(text):
            end = match.start()
            longest = 0
            for form in self.forms:
                for k in range(min(len(form) - 1, end - pos), MIN_PREFIX - 1, -1):
                    if k > longest and text.startswith(form[:k], end - k):
                        longest = k
                        break
            if longest:
                out += [text[pos : end - longest], CENSORED]
                pos = end
        return "".join(out) + text[pos:]


def redact(text: str, secrets: Iterable[str]) -> str:
    """`text` with every known secret value (any of its `redaction_forms`) replaced."""
    return Redactor(secrets)(text)
