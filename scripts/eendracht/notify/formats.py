"""The body each kind of channel gets for an event."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final, Literal

from eendracht.notify import generic, mattermost, slack, teams
from eendracht.notify.events import Event

ChannelKind = Literal["teams", "slack", "mattermost", "json"]
FORMATTERS: Final[dict[str, Callable[[Event], dict[str, Any]]]] = {
    "teams": teams.payload,
    "slack": slack.payload,
    "mattermost": mattermost.payload,
    "json": generic.payload,
}
