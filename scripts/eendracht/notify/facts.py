"""The label/value pairs every channel shows under an event's title, in one order."""

from __future__ import annotations

from eendracht.notify.events import Event


def facts(event: Event) -> list[tuple[str, str]]:
    """The event's details that are set, labelled for a person."""
    pairs = [
        ("Programme", event.programme),
        ("Municipality", event.municipality),
        ("Environment", event.environment),
        ("Run", f"{event.run_kind} {event.run_id}"),
        ("Phase", event.phase),
        ("Step", event.step),
        ("Status", event.status),
        ("Approved by", event.actor),
        ("Recorded from", event.origin),
        ("Time (UTC)", event.time),
    ]
    return [(label, value) for label, value in pairs if value]
