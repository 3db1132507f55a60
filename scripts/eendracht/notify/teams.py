"""Microsoft Teams: an Adaptive Card posted to a Teams *workflow* webhook.

The Workflows app (Power Automate, template "Post to a channel when a webhook request is
received", trigger "When a Teams webhook request is received") replaces the retired Office 365
connectors and takes Adaptive Cards only, not the old MessageCard:
https://learn.microsoft.com/en-us/microsoftteams/platform/webhooks-and-connectors/how-to/connectors-using
The body is a message with the card as its attachment, as in "Send Adaptive Cards using an
Incoming Webhook" (contentType application/vnd.microsoft.card.adaptive):
https://learn.microsoft.com/en-us/microsoftteams/platform/webhooks-and-connectors/how-to/add-incoming-webhook
Card version 1.4: what Teams renders on desktop and mobile (schema http://adaptivecards.io/schemas/adaptive-card.json).
"""

from __future__ import annotations

from typing import Any

from eendracht.notify.events import Event
from eendracht.notify.facts import facts

CONTENT_TYPE = "application/vnd.microsoft.card.adaptive"
SCHEMA = "http://adaptivecards.io/schemas/adaptive-card.json"
VERSION = "1.4"
MAX_MESSAGE = 2000


def card(event: Event) -> dict[str, Any]:
    body: list[dict[str, Any]] = [
        {
            "type": "TextBlock",
            "text": event.title,
            "weight": "Bolder",
            "size": "Medium",
            "color": event.severity.capitalize(),  # Good, Attention, Warning, Default
            "wrap": True,
        },
        {"type": "TextBlock", "text": event.subject, "isSubtle": True, "wrap": True},
        {
            "type": "FactSet",
            "facts": [{"title": label, "value": value} for label, value in facts(event)],
        },
    ]
    if event.message:
        body.append({"type": "TextBlock", "text": event.message[:MAX_MESSAGE], "wrap": True})
    return {"$schema": SCHEMA, "type": "AdaptiveCard", "version": VERSION, "body": body}


def payload(event: Event) -> dict[str, Any]:
    return {
        "type": "message",
        "attachments": [{"contentType": CONTENT_TYPE, "contentUrl": None, "content": card(event)}],
    }
