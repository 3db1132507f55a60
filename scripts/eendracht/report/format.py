"""How values are shown in both renderings: times in Amsterdam time, seconds, counts."""

from __future__ import annotations

from eendracht.report.content import local_time
from eendracht.report.labels import Label, figure

MARK = {"ok": "✓", "changed": "✓", "failed": "✗", "unreachable": "✗", "interrupted": "…"}


def when(ts: float | None) -> str:
    return local_time(ts)


def secs(value: float | None) -> str:
    return "" if value is None else f"{value:.1f}"


def num(key: str, value: int) -> str:
    return figure(key, value)


def plain(text: str) -> Label:
    return Label(text, text)


def counts(values: dict[str, int | float | str]) -> str:
    return ", ".join(
        f"{k}={figure(k, int(v)) if isinstance(v, int | float) and not isinstance(v, bool) else v}"
        for k, v in values.items()
    )


def audit_cell(column: str, value: object) -> str:
    if column == "at" and isinstance(value, int | float):
        return local_time(float(value))
    if "hash" in column and isinstance(value, str):
        return value[:12]
    return "" if value is None else str(value)
