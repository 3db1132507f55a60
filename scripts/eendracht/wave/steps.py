"""The steps a wave executes: the runbook of `eendracht plan`, resolved to playbook files.

A step is the play of its phase playbook for the step's tags, narrowed by its extra vars; a
wave runs the steps of a phase as one ansible-playbook (`phase_playbook`). Its id is stable,
so the journal can tell which steps finished and `--resume` runs the rest in order.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eendracht.plan import Runbook
from eendracht.plan.models import SOURCE_CHECK_TAG

WAVE_PHASES: tuple[str, ...] = (
    "preflight",
    "presync",
    "freeze",
    "final_sync",
    "cutover",
    "verify",
)
ROLLBACK = "rollback"
# The last rollback step proves the source side is back in service: the play of
# playbooks/rollback.yml tagged SOURCE_CHECK_TAG ("source_check", from the plan).


@dataclass(frozen=True)
class WaveStep:
    phase: str
    step_id: str
    title: str
    playbook: Path
    tags: tuple[str, ...]
    extra_vars: dict[str, Any] = field(default_factory=dict, hash=False)
    timeout: int = 0  # seconds ansible-runner lets it run (the runbook's); 0: no limit


def _playbook(playbooks: Path, name: str) -> Path:
    return playbooks / Path(name).name


def wave_steps(runbook: Runbook, playbooks: Path, until: str | None = None) -> list[WaveStep]:
    phases = [p.name.value for p in runbook.phases]
    if until is not None:
        if until not in phases:
            raise ValueError(f"unknown phase {until!r} (phases: {', '.join(phases)})")
        phases = phases[: phases.index(until) + 1]
    return [
        WaveStep(
            phase=s.phase.value,
            step_id=s.id,
            title=s.title,
            playbook=_playbook(playbooks, s.playbook),
            tags=tuple(s.tags),
            extra_vars=dict(s.extra_vars),
            timeout=s.timeout,
        )
        for s in runbook.steps()
        if s.phase.value in phases
    ]


def rollback_steps(runbook: Runbook, playbooks: Path, started: set[str]) -> list[WaveStep]:
    """Undo what was started, last done first (the runbook's order), then check the source."""
    out: list[WaveStep] = []
    seen: set[tuple[tuple[str, ...], str]] = set()
    for entry in runbook.rollback:
        if entry.step not in started or not entry.playbook:
            continue
        key = (tuple(entry.tags), repr(sorted(entry.extra_vars.items())))
        if key in seen:
            continue
        seen.add(key)
        out.append(
            WaveStep(
                phase=ROLLBACK,
                step_id=f"rollback.{entry.step}",
                title=entry.description,
                playbook=_playbook(playbooks, entry.playbook),
                tags=tuple(entry.tags),
                extra_vars=dict(entry.extra_vars),
                timeout=entry.timeout,
            )
        )
    out.append(
        WaveStep(
            phase=ROLLBACK,
            step_id="rollback.source-in-service",
            title="The source side is back in service",
            playbook=playbooks / "rollback.yml",
            tags=(SOURCE_CHECK_TAG,),
            timeout=runbook.source_check_timeout,
        )
    )
    return out
