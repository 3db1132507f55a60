"""A generic JSON webhook: the event as it is (`Event.as_dict`), for a SIEM, a chat bridge or
the live page of another tool; `id` lets a receiver drop a delivery it got twice."""

from __future__ import annotations

from typing import Any

from eendracht.notify.events import Event

SCHEMA = "eendracht.notification/1"


def payload(event: Event) -> dict[str, Any]:
    return {"schema": SCHEMA, **event.as_dict()}
