"""The steps of a phase: the plays of its playbook, each identified by its first tag.

The runbook plan (`eendracht plan`) names the same steps; here they are read from the
playbooks the runner will execute, so the journal and `--skip-tags` always agree.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

WAVE_PHASES: tuple[str, ...] = (
    "preflight",
    "presync",
    "freeze",
    "final_sync",
    "cutover",
    "verify",
)
ROLLBACK = "rollback"


@dataclass(frozen=True)
class Step:
    phase: str
    step_id: str
    name: str


def playbook_path(playbooks: Path, phase: str) -> Path:
    return playbooks / f"{phase}.yml"


def phase_steps(playbooks: Path, phase: str) -> list[Step]:
    plays: Any = yaml.safe_load(playbook_path(playbooks, phase).read_text(encoding="utf-8"))
    steps = []
    for index, play in enumerate(plays or []):
        if not isinstance(play, dict) or "hosts" not in play:
            continue
        tags = play.get("tags") or []
        tags = [tags] if isinstance(tags, str) else list(tags)
        name = str(play.get("name") or f"play {index + 1}")
        steps.append(Step(phase, str(tags[0]) if tags else name, name))
    return steps


def wave_phases(configured: list[str], until: str | None = None) -> list[str]:
    """The programme's phases in wave order, stopping after `until`."""
    phases = [p for p in WAVE_PHASES if p in configured]
    if until is not None:
        if until not in phases:
            raise ValueError(f"unknown phase {until!r} (phases: {', '.join(phases)})")
        phases = phases[: phases.index(until) + 1]
    return phases
