"""The runbook of one wave: phases -> steps, each with what it touches, its check and rollback.

A step is selected in its phase's playbook by `playbook` + its one tag `<concern>_<phase>`
(+ `extra_vars` narrowing it to one share, a group of applications or a set of DNS record
types); its rollback by `rollback.playbook` + its tag `<concern>_rollback`. Every step and
every rollback carries `timeout`, the seconds ansible-runner lets it run (`plan.timeouts`).
"""

from __future__ import annotations

import datetime as dt
import json

from pydantic import BaseModel, ConfigDict

from eendracht.programme.models import PhaseName


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


ROLLBACK_PLAYBOOK = "playbooks/rollback.yml"
# The last play of a rollback: the source side is back in service (every concern checked).
SOURCE_CHECK_TAG = "source_check"


class Touches(_Frozen):
    """What a step reads or changes; targets are names of stack outputs (see outputs.py)."""

    hosts: list[str] = []
    targets: list[str] = []
    shares: list[str] = []
    bytes: int = 0
    files: int = 0
    accounts: int = 0
    users: int = 0  # people who work with the applications touched
    records: int = 0
    applications: list[str] = []
    databases: list[str] = []
    koppelingen: int = 0
    devices: int = 0
    mailboxes: int = 0


class Rollback(_Frozen):
    description: str
    playbook: str = ""  # empty: nothing to undo
    tags: list[str] = []
    extra_vars: dict[str, list[str]] = {}
    timeout: int = 0  # seconds; 0 only when there is nothing to run


class Step(_Frozen):
    id: str  # stable: "presync.files.burgerzaken", "cutover.app.zaaksysteem"
    phase: PhaseName
    title: str
    playbook: str
    tags: list[str]  # one: `<concern>_<phase>`
    extra_vars: dict[str, list[str]] = {}
    timeout: int  # seconds ansible-runner lets the step run before it fails it
    actions: list[str]  # what it does, in order
    touches: Touches
    check: str  # the verification that must hold before the wave goes on
    rollback: Rollback
    moved_from: PhaseName | None = None  # set when the programme leaves the step's phase out


class PhasePlan(_Frozen):
    name: PhaseName
    date: dt.date
    starts: dt.datetime  # local time (Europe/Amsterdam) the phase starts, not before
    days_before: int
    description: str
    playbook: str
    steps: list[Step]


class CutoverGroup(_Frozen):
    """Applications moved in one step: one, or the members of a koppeling cycle."""

    position: int
    applications: list[str]
    cycle: bool
    depends_on: list[str]  # applications moved in earlier groups that these call


class NotMoved(_Frozen):
    application: str
    reason: str


class ApplicationOrder(_Frozen):
    groups: list[CutoverGroup]
    cycles: list[list[str]]
    not_moved: list[NotMoved]

    @property
    def sequence(self) -> list[str]:
        return [a for g in self.groups for a in g.applications]


class GateCriterion(_Frozen):
    id: str
    criterion: str
    threshold: str


class Gate(_Frozen):
    """Go/no-go after verify: every criterion holds, then an approver records the decision."""

    criteria: list[GateCriterion]
    approvers: list[str]
    decision: str


class RollbackEntry(_Frozen):
    step: str
    description: str
    playbook: str
    tags: list[str]
    extra_vars: dict[str, list[str]] = {}
    timeout: int


class IdentitySummary(_Frozen):
    accounts: int
    enabled: int
    aliases: int
    renamed: int
    collisions: int
    accents_folded: int
    tussenvoegsels_joined: int
    from_directory: bool


class Totals(_Frozen):
    hosts: int
    shares: int
    file_bytes: int
    files: int
    database_bytes: int
    accounts: int
    records: int
    applications_moved: int
    koppelingen: int
    devices: int
    mailboxes: int


class Runbook(_Frozen):
    programme: str
    organisation: str
    municipality: str
    display_name: str
    wave: int  # 1-based position in the wave order
    weekend: dt.date
    phases: list[PhasePlan]
    application_order: ApplicationOrder
    gate: Gate
    rollback: list[RollbackEntry]  # the steps to undo, last done first
    source_check_timeout: int  # the rollback's last play, SOURCE_CHECK_TAG
    identity: IdentitySummary
    totals: Totals
    notes: list[str]

    def steps(self) -> list[Step]:
        return [s for p in self.phases for s in p.steps]

    def step(self, step_id: str) -> Step:
        for s in self.steps():
            if s.id == step_id:
                return s
        raise KeyError(f"no step {step_id!r} in the runbook of {self.municipality}")

    def to_json(self) -> str:
        return json.dumps(self.model_dump(mode="json"), indent=2, ensure_ascii=False) + "\n"
