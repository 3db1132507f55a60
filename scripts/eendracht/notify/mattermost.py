"""Mattermost: its incoming webhooks take Slack's `text` and message attachments
(https://developers.mattermost.com/integrate/webhooks/incoming/,
https://developers.mattermost.com/integrate/reference/message-attachments/); Block Kit
`blocks` are not rendered there, so the details go in one attachment's fields."""

from __future__ import annotations

from typing import Any

from eendracht.notify.events import Event
from eendracht.notify.facts import facts

COLOURS = {"good": "#2e7d32", "attention": "#c62828", "warning": "#ef6c00", "default": "#607d8b"}


def payload(event: Event) -> dict[str, Any]:
    attachment: dict[str, Any] = {
        "fallback": f"{event.title}: {event.subject}",
        "color": COLOURS[event.severity],
        "title": event.title,
        "text": event.message[:4000],
        "fields": [
            {"short": True, "title": label, "value": value} for label, value in facts(event)
        ],
    }
    return {"text": f"**{event.title}**: {event.subject}", "attachments": [attachment]}
