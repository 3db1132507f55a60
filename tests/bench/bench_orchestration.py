"""Orchestration: a whole wave through `eendracht wave` (runner, events, journal) vs the same
ansible-playbook commands run one after another without it.

    python -m tests.bench.bench_orchestration
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from tests.bench.lab_bench import BIN, FAKE_PLAYBOOKS, MINI, show, timed

from eendracht.wave.paths import ANSIBLE_CFG


def bench_overhead() -> dict[str, float]:
    from eendracht.plan import build_runbook
    from eendracht.programme.loader import load_programme
    from eendracht.wave.orchestrator import Wave
    from eendracht.wave.steps import wave_steps

    state = Path(tempfile.mkdtemp(prefix="eendracht-bench-overhead-"))
    from tests.wave.wave_support import fake_environment

    environment = fake_environment(state / "environment")
    try:
        wave = Wave(
            MINI, "noordwaard", environment=environment, state=state, playbooks=FAKE_PLAYBOOKS
        )
        ours, outcome = timed(lambda: wave.run())
        assert outcome.status == "at_gate", outcome.message
        tasks = wave.journal.task_seconds(outcome.run_id)
        extravars = json.loads((wave.dir / "extravars.json").read_text())
        steps = wave_steps(build_runbook(load_programme(MINI), "noordwaard"), FAKE_PLAYBOOKS)
        env = {**os.environ, "ANSIBLE_CONFIG": str(ANSIBLE_CFG)}

        def plain() -> None:
            for step in steps:
                extra = state / "plain-extravars.json"
                extra.write_text(json.dumps({**extravars, **step.extra_vars}))
                subprocess.run(
                    [str(BIN / "ansible-playbook"), "-i", str(MINI), "-e", f"@{extra}",
                     "--tags", ",".join(step.tags), str(step.playbook)],
                    check=True, capture_output=True, env=env,
                )  # fmt: skip

        baseline, _ = timed(plain)
        wave.close()
        return {
            "steps": len(steps),
            "plain_ansible_s": baseline,
            "eendracht_wave_s": ours,
            "overhead": ours / baseline - 1,
            "tasks_s": tasks,
        }
    finally:
        shutil.rmtree(state, ignore_errors=True)


def main() -> None:
    show("overhead", bench_overhead())


if __name__ == "__main__":
    main()
