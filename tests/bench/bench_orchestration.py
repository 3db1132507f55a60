"""Orchestration: a whole wave on the lab, one ansible-playbook per phase (how a wave runs)
against one per step (how it ran before), each on a fresh lab, in the same run.

    python -m tests.bench.bench_orchestration
    BENCH_PROGRAMME=inventory/altena BENCH_MUNICIPALITY=woudrichem python -m tests.bench.bench_orchestration

Work is the time the wave's tasks ran (each task from its first host's start to its last
host's result); overhead is the rest of the phases' wall time (`eendracht.wave.timing`).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from tests.bench.lab_bench import MINI, show, timed

from eendracht.lab import lab_down, lab_up
from eendracht.module_utils import thaw_tree
from eendracht.wave.orchestrator import Wave
from eendracht.wave.paths import REPO_ROOT, lab_dir, lab_environment
from eendracht.wave.timing import phase_times

PROGRAMME = Path(os.environ.get("BENCH_PROGRAMME", str(MINI)))
MUNICIPALITY = os.environ.get("BENCH_MUNICIPALITY", "noordwaard")


def wave_on_lab(per_step: bool) -> dict[str, Any]:
    state = Path(tempfile.mkdtemp(prefix="eendracht-bench-orchestration-", dir="/tmp"))
    state.chmod(0o755)
    programme = PROGRAMME if PROGRAMME.is_absolute() else REPO_ROOT / PROGRAMME
    try:
        lab_up(programme, scale="small", state=state)
        wave = Wave(
            programme,
            MUNICIPALITY,
            environment=lab_environment(state),
            rehearsal=True,
            state=state,
            per_step=per_step,
        )
        wall, outcome = timed(lambda: wave.run(yes=True))
        if outcome.status != "complete":
            raise RuntimeError(outcome.message)
        phases = phase_times(wave.journal, [outcome.run_id])
        wave.close()
    finally:
        thaw_tree(lab_dir(state) / "files")
        lab_down(state)
        shutil.rmtree(state, ignore_errors=True)
    work = sum(p.work for p in phases)
    in_phases = sum(p.seconds for p in phases)
    return {
        "steps": len(outcome.steps),
        "playbook_runs": len(outcome.steps) if per_step else len(phases),
        "wave_s": wall,
        "work_s": work,
        "overhead_s": wall - work,
        "overhead": (wall - work) / work,
        "phases_s": in_phases,
    }


def main() -> None:
    before = wave_on_lab(per_step=True)
    show(f"one run per step  ({PROGRAMME.name}/{MUNICIPALITY})", before)
    after = wave_on_lab(per_step=False)
    show(f"one run per phase ({PROGRAMME.name}/{MUNICIPALITY})", after)
    show(
        "per phase vs per step",
        {
            "wave_ratio": after["wave_s"] / before["wave_s"],
            "overhead_ratio": after["overhead_s"] / before["overhead_s"],
        },
    )


if __name__ == "__main__":
    main()
