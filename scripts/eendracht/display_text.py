"""User values shown on a terminal or in a text document, with their control characters escaped.

A programme value may hold anything YAML can (`"\\e]8;;…"`, `"\\x9b2J"`): printed as it is,
it would move the cursor, clear the screen, retitle the terminal or forge a link. `shown()` is
the one place that prevents it: every C0 and C1 control character, DEL, and the Unicode
bidirectional controls (which reorder what is read) become a visible escape (`\\x1b`,
`\\n`, `\\u202e`); everything else, diacritics included, stays as written.
"""

from __future__ import annotations

import re

_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
_CONTROLS = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    if char in _NAMED:
        return _NAMED[char]
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def shown(value: object) -> str:
    """`value` as text with every control character escaped (one line, nothing interpreted)."""
    return _CONTROLS.sub(_escape, str(value))
