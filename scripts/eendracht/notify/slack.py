"""Slack: an incoming webhook's `text` (the notification and fallback) and Block Kit `blocks`
(https://api.slack.com/messaging/webhooks, https://api.slack.com/reference/block-kit/blocks)."""

from __future__ import annotations

from typing import Any

from eendracht.notify.events import Event
from eendracht.notify.facts import facts

MAX_FIELDS = 10  # a section block takes at most ten fields
MAX_TEXT = 3000  # a text object's limit


def _escape(text: str) -> str:
    """Slack's three control characters in mrkdwn."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def payload(event: Event) -> dict[str, Any]:
    fields = [
        {"type": "mrkdwn", "text": f"*{label}*\n{_escape(value)}"[:2000]}
        for label, value in facts(event)[:MAX_FIELDS]
    ]
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": event.title[:150]}},
        {"type": "context", "elements": [{"type": "plain_text", "text": event.subject[:2000]}]},
        {"type": "section", "fields": fields},
    ]
    if event.message:
        blocks.append(
            {"type": "section", "text": {"type": "plain_text", "text": event.message[:MAX_TEXT]}}
        )
    return {"text": _escape(f"{event.title}: {event.subject}"), "blocks": blocks}
