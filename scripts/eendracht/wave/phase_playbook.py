"""One playbook for a run of consecutive steps: each step the plays of its phase playbook.

A wave starts `ansible-playbook` once per phase, not once per step: the steps of the phase
(the runbook's order, the finished ones left out) become the plays of one playbook written
into the wave's folder. Each play is the phase playbook's play for the step's tags, unchanged
but for three things:

- its name starts with the step id, so every event tells which step it belongs to;
- the step's narrowing vars (`wave_shares`, `wave_applications`, `wave_record_types`) are play
  vars, so each step sees its own;
- `any_errors_fatal`, so a failure stops the phase as a failing step stopped the wave before,
  and a last task (`STEP_DONE`) whose result tells the journal that the step finished: a run
  killed after it resumes at the next step, before it at this one.

The phase playbooks under `playbooks/` stay the source: this file only selects and orders.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from eendracht.wave.steps import WaveStep

# Tasks the wave adds for its own bookkeeping: not journaled as the step's work.
BOOKKEEPING = "eendracht: "
# The task that ends each step's last play (a debug task: no module is started).
STEP_DONE = f"{BOOKKEEPING}step finished"


@dataclass(frozen=True)
class PhasePlaybook:
    path: Path
    step_of_play: dict[str, str]  # play name -> step id


def _plays(playbook: Path, cache: dict[Path, list[dict[str, Any]]]) -> list[dict[str, Any]]:
    if playbook not in cache:
        plays = yaml.safe_load(playbook.read_text(encoding="utf-8")) or []
        cache[playbook] = [p for p in plays if isinstance(p, dict) and "hosts" in p]
    return cache[playbook]


def _tags(play: dict[str, Any]) -> set[str]:
    tags = play.get("tags") or []
    return {tags} if isinstance(tags, str) else {str(t) for t in tags}


def _step_plays(step: WaveStep, plays: list[dict[str, Any]]) -> list[dict[str, Any]]:
    wanted = set(step.tags)
    chosen = [p for p in plays if _tags(p) & wanted] if wanted else plays
    if not chosen:
        raise ValueError(
            f"step {step.step_id}: no play of {step.playbook} is tagged {', '.join(step.tags)}"
        )
    return chosen


def _done_task(step: WaveStep) -> list[dict[str, Any]]:
    return [
        {"name": f"{BOOKKEEPING}handlers of the step", "ansible.builtin.meta": "flush_handlers"},
        {
            "name": STEP_DONE,
            "ansible.builtin.debug": {"msg": step.step_id},
            "run_once": True,
        },
    ]


def write_phase_playbook(steps: Sequence[WaveStep], path: Path) -> PhasePlaybook:
    """Writes the playbook of `steps` (mode 0600) and returns which play belongs to which step."""
    cache: dict[Path, list[dict[str, Any]]] = {}
    out: list[dict[str, Any]] = []
    step_of_play: dict[str, str] = {}
    for step in steps:
        chosen = _step_plays(step, _plays(step.playbook, cache))
        for index, source in enumerate(chosen, start=1):
            play = dict(source)
            suffix = f" ({index}/{len(chosen)})" if len(chosen) > 1 else ""
            name = f"{step.step_id}: {source.get('name') or step.title}{suffix}"
            play["name"] = name
            play["any_errors_fatal"] = True
            play["vars"] = {**(source.get("vars") or {}), **step.extra_vars}
            if index == len(chosen):
                play["post_tasks"] = [*(source.get("post_tasks") or []), *_done_task(step)]
            step_of_play[name] = step.step_id
            out.append(play)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = "# Written by eendracht wave for one run; the source is playbooks/.\n" + yaml.safe_dump(
        out, sort_keys=False, allow_unicode=True, width=1000
    )
    path.unlink(missing_ok=True)
    path.touch(mode=0o600)
    path.write_text(text, encoding="utf-8")
    return PhasePlaybook(path, step_of_play)
