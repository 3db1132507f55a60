"""A wave as an AWX workflow: pure data, built from the runbook (no AWX, no awx.awx here).

Nodes, each with an identifier unique in the workflow:

- `context` first: reads the wave `eendracht wave prepare` wrote and hands its variables to
  every later job (`playbooks/wave_context.yml`, set_stats);
- one node per runbook step (the step's id) in the runbook's order, each on success to the
  next; a step is a job template of its phase playbook with the step's tag and narrowing vars,
  as `eendracht wave run` selects it;
- `go-no-go` after the last step: an approval node; approved, the wave is complete; denied, it
  rolls everything back;
- rollback nodes: a failure of step k leads into exactly what `eendracht wave rollback` would
  run had the wave stopped there (`rollback_steps` with the steps up to k started), each undo
  step on `always` to the next, as every undo step runs even when one fails. Failures whose
  rollbacks end alike share those nodes, so the graph grows with the runbook, not its square.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eendracht.plan import Runbook
from eendracht.plan.models import Gate
from eendracht.wave.steps import WaveStep, rollback_steps

CONTEXT = "context"
GATE = "go-no-go"
CONTEXT_PLAYBOOK = "playbooks/wave_context.yml"
CONTEXT_TIMEOUT = 300  # seconds: reading one JSON file
PLAYBOOKS = Path("playbooks")  # as the project sees it: paths relative to its root


@dataclass(frozen=True)
class JobTemplate:
    key: str  # the step id it runs (a rollback's: its first use), unique
    title: str
    playbook: str  # relative to the project's root
    tags: tuple[str, ...]
    extra_vars: dict[str, Any]
    timeout: int  # seconds; 0: no limit


@dataclass
class Node:
    identifier: str
    template: str  # a JobTemplate key; empty for the approval node
    success: list[str] = field(default_factory=list)
    failure: list[str] = field(default_factory=list)
    always: list[str] = field(default_factory=list)


@dataclass
class Workflow:
    programme: str
    municipality: str
    templates: dict[str, JobTemplate]
    nodes: list[Node]  # context, the steps in order, the gate, then the rollback nodes
    gate: Gate
    first_step: str

    def node(self, identifier: str) -> Node:
        return next(n for n in self.nodes if n.identifier == identifier)


def _key(step: WaveStep) -> tuple[str, tuple[str, ...], str]:
    return (str(step.playbook), step.tags, repr(sorted(step.extra_vars.items())))


class _Rollbacks:
    """The rollback nodes, shared by every failure whose rollback ends alike."""

    def __init__(self, templates: dict[str, JobTemplate]) -> None:
        self.templates = templates
        self.nodes: list[Node] = []
        self._template_of: dict[tuple[str, tuple[str, ...], str], str] = {}
        self._chain_of: dict[tuple[tuple[str, tuple[str, ...], str], ...], str] = {}
        self._used: set[str] = set()

    def _template(self, step: WaveStep) -> str:
        key = _key(step)
        if key not in self._template_of:
            self._template_of[key] = step.step_id
            self.templates[step.step_id] = JobTemplate(
                key=step.step_id,
                title=step.title,
                playbook=str(step.playbook),
                tags=step.tags,
                extra_vars=dict(step.extra_vars),
                timeout=step.timeout,
            )
        return self._template_of[key]

    def _identifier(self, step_id: str) -> str:
        name, n = step_id, 1
        while name in self._used:
            n += 1
            name = f"{step_id}#{n}"
        self._used.add(name)
        return name

    def chain(self, steps: list[WaveStep]) -> str:
        """The identifier of the first node of a rollback that runs `steps` in order."""
        key = tuple(_key(s) for s in steps)
        if key not in self._chain_of:
            rest = self.chain(steps[1:]) if len(steps) > 1 else ""
            node = Node(self._identifier(steps[0].step_id), self._template(steps[0]))
            node.always = [rest] if rest else []
            self.nodes.append(node)
            self._chain_of[key] = node.identifier
        return self._chain_of[key]


def build_workflow(runbook: Runbook, first_step: str | None = None) -> Workflow:
    """The workflow of a wave; `first_step` starts it there (after the context node), as a
    resumed wave would: the steps before it count as done for the rollback paths."""
    steps = runbook.steps()
    ids = [s.id for s in steps]
    if first_step is not None and first_step not in ids:
        raise KeyError(first_step)
    start = ids.index(first_step) if first_step else 0
    templates: dict[str, JobTemplate] = {
        CONTEXT: JobTemplate(
            key=CONTEXT,
            title="Read the prepared wave and hand its variables to the jobs after it",
            playbook=CONTEXT_PLAYBOOK,
            tags=(),
            extra_vars={},
            timeout=CONTEXT_TIMEOUT,
        )
    }
    rollbacks = _Rollbacks(templates)
    nodes = [Node(CONTEXT, CONTEXT)]
    for k, step in enumerate(steps):
        if k < start:
            continue
        templates[step.id] = JobTemplate(
            key=step.id,
            title=step.title,
            playbook=step.playbook,
            tags=tuple(step.tags),
            extra_vars=dict(step.extra_vars),
            timeout=step.timeout,
        )
        nodes[-1].success = [step.id]
        started = set(ids[: k + 1])
        node = Node(step.id, step.id)
        node.failure = [rollbacks.chain(rollback_steps(runbook, PLAYBOOKS, started))]
        nodes.append(node)
    nodes[-1].success = [GATE]
    gate = Node(GATE, "")
    gate.failure = [rollbacks.chain(rollback_steps(runbook, PLAYBOOKS, set(ids)))]
    nodes.append(gate)
    return Workflow(
        programme=runbook.programme,
        municipality=runbook.municipality,
        templates=templates,
        nodes=nodes + rollbacks.nodes,
        gate=runbook.gate,
        first_step=ids[start],
    )
