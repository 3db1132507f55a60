"""CSV fields for the import files (Autopilot device list, Exchange migration batches) that a
spreadsheet cannot run as a formula.

OWASP, "CSV Injection" (owasp.org/www-community/attacks/CSV_Injection): a field starting with
`=`, `+`, `-`, `@`, a tab or a carriage return may be read as a formula; such a field gets a
single quote in front, every field is wrapped in double quotes, and a double quote inside is
doubled (RFC 4180). The templates write every row with `eendracht_csv_row`, never by hand.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def csv_field(value: Any) -> str:
    """One field: quoted, inner quotes doubled, a formula prefix neutralised."""
    text = "" if value is None else str(value)
    if text.startswith(FORMULA_PREFIXES):
        text = "'" + text
    return '"' + text.replace('"', '""') + '"'


def csv_row(values: Iterable[Any]) -> str:
    """A row of fields, each by csv_field, separated by commas (no line end)."""
    return ",".join(csv_field(v) for v in values)


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {"eendracht_csv_field": csv_field, "eendracht_csv_row": csv_row}
