"""What the orchestrator calls: `emit` an event (returns at once), `close` at the end of a run.

Built from the environment's `notifications` (`from_environment`); with no channel it does
nothing and starts no thread. Every text of an event passes the run's redaction (the secret
values the run knows, and every form of each webhook URL) before it is formatted, and the
same redaction guards every line the sender logs. Nothing here raises into the wave.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from eendracht.environment import Environment
from eendracht.notify.events import EVENT_KINDS, Event, EventKind
from eendracht.notify.formats import FORMATTERS
from eendracht.notify.sender import DEFAULT_BUDGET, Budget, Delivery, Poster, Sender, Tally, post
from eendracht.notify.urls import secret_forms
from eendracht.wave.secrets import Redactor

log = logging.getLogger("eendracht.notify")


@dataclass(frozen=True)
class Channel:
    name: str
    kind: str  # teams | slack | mattermost | json
    url: str
    events: frozenset[str]

    def __repr__(self) -> str:  # the URL is a secret
        return f"Channel({self.name!r}, {self.kind!r})"


def channels_of(env: Environment) -> list[Channel]:
    return [
        Channel(name, c.kind, env.webhooks[name], frozenset(c.events or EVENT_KINDS))
        for name, c in env.spec.notifications.channels.items()
        if name in env.webhooks
    ]


def budget_of(env: Environment) -> Budget:
    n = env.spec.notifications
    return Budget(
        timeout=n.timeout_seconds,
        attempts=n.attempts,
        event_seconds=n.event_seconds,
        drain_seconds=n.drain_seconds,
    )


class Notifier:
    def __init__(
        self,
        channels: Iterable[Channel],
        *,
        programme: str,
        municipality: str,
        environment: str,
        budget: Budget = DEFAULT_BUDGET,
        secrets: Iterable[str] = (),
        poster: Poster = post,
    ) -> None:
        self.channels = list(channels)
        self.programme = programme
        self.municipality = municipality
        self.environment = environment
        self.redact = Redactor(secrets)
        self.redact.add(f for c in self.channels for f in secret_forms(c.url))
        self.budget = budget
        self.poster = poster
        self._senders: dict[str, Sender] = {}  # one per channel, started at its first event
        self._sequence = 0
        self.cost = 0.0  # seconds the wave's own thread spent in emit and close
        self.tally = Tally()

    @classmethod
    def from_environment(
        cls, env: Environment, programme: str, municipality: str, **kw: Any
    ) -> Notifier:
        return cls(
            channels_of(env),
            programme=programme,
            municipality=municipality,
            environment=env.name,
            budget=budget_of(env),
            **kw,
        )

    @property
    def secrets(self) -> tuple[str, ...]:
        """Every form of every webhook URL: for the journal's and the runner's redaction."""
        return tuple(sorted({f for c in self.channels for f in secret_forms(c.url)}))

    def add_secrets(self, values: Iterable[str]) -> None:
        self.redact.add(values)

    def emit(
        self,
        kind: EventKind,
        *,
        run_id: int,
        run_kind: str,
        status: str = "ok",
        phase: str = "",
        step: str = "",
        message: str = "",
        actor: str = "",
        origin: str = "",
    ) -> None:
        """Queues the event for every channel that wants it; never waits, never raises."""
        started = time.monotonic()
        fields = {
            "status": status,
            "phase": phase,
            "step": step,
            "message": message,
            "actor": actor,
            "origin": origin,
        }
        try:
            self._emit(kind, run_id, run_kind, fields)
        except Exception as exc:  # a notification never fails the wave
            log.warning("notification %s not queued: %s", kind, type(exc).__name__)
        finally:
            self.cost += time.monotonic() - started

    def _emit(self, kind: EventKind, run_id: int, run_kind: str, fields: dict[str, str]) -> None:
        wanted = [c for c in self.channels if kind in c.events]
        if not wanted:
            return
        self._sequence += 1
        clean = {k: self.redact(v) for k, v in fields.items()}
        event = Event(
            kind,
            programme=self.programme,
            municipality=self.municipality,
            environment=self.environment,
            run_id=run_id,
            run_kind=run_kind,
            sequence=self._sequence,
            status=clean["status"],
            phase=clean["phase"],
            step=clean["step"],
            message=clean["message"],
            actor=clean["actor"],
            origin=clean["origin"],
        )
        label = f"{kind} #{event.sequence}"
        for channel in wanted:
            body = json.dumps(FORMATTERS[channel.kind](event), ensure_ascii=False)
            # Defence in depth: nothing the run knows as secret leaves in a body.
            body = self.redact(body)
            sender = self._senders.get(channel.name)
            if sender is None:
                sender = Sender(self.budget, poster=self.poster, redact=self.redact)
                self._senders[channel.name] = sender
            sender.submit([Delivery(channel.name, channel.url, body.encode("utf-8"), label)])

    def close(self) -> Tally:
        """Gives what is queued at most the drain budget; logs what it dropped."""
        started = time.monotonic()
        try:
            senders, self._senders = list(self._senders.values()), {}
            deadline = started + self.budget.drain_seconds  # one budget for every channel
            for sender in senders:
                sender.start_close(deadline)
            tally = Tally()
            for sender in senders:
                done = sender.close(deadline)
                tally.delivered += done.delivered
                tally.failed += done.failed
                tally.dropped += done.dropped
                tally.lines += done.lines
            self.tally = tally
        except Exception as exc:
            log.warning("notifications not drained: %s", type(exc).__name__)
        finally:
            self.cost += time.monotonic() - started
        return self.tally
