"""Keep secrets out of everything a wave writes: journal, status, terminal, artifacts."""

from __future__ import annotations

import re
from typing import Any

SECRET_KEY = re.compile(
    r"pass(word|wd|phrase)?|secret|token|credential|private_key|tsig_key$", re.I
)
CENSORED = "********"


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
