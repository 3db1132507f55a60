"""What a report shows, read from a journal: plain frozen records, no SQLite in sight."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class StepSpan:
    run_id: int
    phase: str
    step_id: str
    name: str
    status: str
    started_at: float
    finished_at: float | None

    @property
    def seconds(self) -> float | None:
        return None if self.finished_at is None else self.finished_at - self.started_at


@dataclass(frozen=True)
class PhaseSpan:
    run_id: int
    phase: str
    status: str
    started_at: float
    finished_at: float | None
    steps: tuple[StepSpan, ...]

    @property
    def seconds(self) -> float | None:
        return None if self.finished_at is None else self.finished_at - self.started_at


@dataclass(frozen=True)
class RunSpan:
    id: int
    kind: str  # wave | rollback | check (| drill)
    status: str
    started_at: float
    finished_at: float | None
    resumed: bool
    lab: bool
    message: str
    phases: tuple[PhaseSpan, ...]

    @property
    def seconds(self) -> float | None:
        return None if self.finished_at is None else self.finished_at - self.started_at


@dataclass(frozen=True)
class ShareFigures:
    """One file share's copy in one phase: what moved, in how long."""

    share: str
    phase: str
    files: int
    bytes: int
    seconds: float

    @property
    def bytes_per_second(self) -> float:
        return self.bytes / self.seconds if self.seconds > 0 else 0.0


@dataclass(frozen=True)
class HostResult:
    run_id: int
    phase: str
    step_id: str
    task: str
    host: str
    status: str
    counts: dict[str, int | float | str]
    message: str


@dataclass(frozen=True)
class GateDecision:
    approved_by: str
    approved_at: float
    automatic: bool
    os_user: str
    host: str
    run_id: int | None


@dataclass(frozen=True)
class AuditTrail:
    """The journal's audit trail and whether its hash chain holds (eendracht.audit.verify),
    or `present=False` when the journal has none."""

    present: bool
    columns: tuple[str, ...] = ()
    rows: tuple[tuple[object, ...], ...] = ()
    intact: bool = False
    reason: str = ""  # why the chain does not hold, naming the first record that fails


@dataclass(frozen=True)
class Timeline:
    """The runs of a journal up to one run: the attempt it belongs to (since the last rollback
    that succeeded before it) in full, earlier runs as history."""

    run: RunSpan  # the run the report is of
    attempt: tuple[RunSpan, ...]  # its attempt's runs, the run itself last
    history: tuple[RunSpan, ...] = field(default=())  # runs before the attempt
