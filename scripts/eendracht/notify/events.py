"""What a wave tells the people who follow it: one event, immutable, the same for every channel.

An event carries no secret by construction: its texts are names the programme gives (phases,
steps, municipalities), statuses, and messages that pass the run's redaction before they are
made (`Notifier.emit`). The channel formatters only rearrange these fields.
"""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any, Final, Literal, get_args

EventKind = Literal[
    "phase_started",
    "phase_finished",
    "step_failed",
    "gate_waiting",
    "approved",
    "rolled_back",
    "rollback_failed",
]
EVENT_KINDS: Final[tuple[EventKind, ...]] = get_args(EventKind)

# One line a person reads first, per kind (the formatters add the details).
TITLES: Final[dict[EventKind, str]] = {
    "phase_started": "phase {phase} started",
    "phase_finished": "phase {phase} finished: {status}",
    "step_failed": "step {step} failed",
    "gate_waiting": "waiting at the go/no-go gate",
    "approved": "go/no-go approved by {actor}",
    "rolled_back": "rolled back: the source side is restored",
    "rollback_failed": "rollback incomplete",
}
# How bad it is: the formatters colour by it, and always say it in words as well.
SEVERITY: Final[dict[str, str]] = {"ok": "good", "failed": "attention", "waiting": "warning"}


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


@dataclass(frozen=True)
class Event:
    kind: EventKind
    programme: str
    municipality: str
    environment: str
    run_id: int
    run_kind: str  # wave | check | rollback | approve
    status: str = "ok"  # ok | failed | waiting
    phase: str = ""
    step: str = ""
    message: str = ""
    actor: str = ""  # approved: who decided (--by)
    origin: str = ""  # approved: the operating-system user and host that recorded it
    time: str = field(default_factory=_now)
    sequence: int = 0  # per wave process, from 1: receivers see gaps and order
    id: str = field(default_factory=lambda: uuid.uuid4().hex)  # to drop a retried duplicate

    @property
    def title(self) -> str:
        return TITLES[self.kind].format(
            phase=self.phase, step=self.step, status=self.status, actor=self.actor
        )

    @property
    def subject(self) -> str:
        """Which wave: `altena/woudrichem (altena-prod), wave run 3`."""
        return (
            f"{self.programme}/{self.municipality} ({self.environment}), "
            f"{self.run_kind} run {self.run_id}"
        )

    @property
    def severity(self) -> str:
        return SEVERITY.get(self.status, "default")

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "title": self.title}
