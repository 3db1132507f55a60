"""What the migration benchmarks share: one lab, timing, one step through the wave's Runner."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NamedTuple

import yaml

from eendracht.environment import load_environment
from eendracht.environment.secrets import SecretFiles
from eendracht.lab import lab_down, lab_up
from eendracht.programme import load_programme
from eendracht.wave.context import build_context, mapping_for
from eendracht.wave.journal import Journal
from eendracht.wave.paths import PLAYBOOKS, REPO_ROOT
from eendracht.wave.runner import Runner
from eendracht.wave.steps import WaveStep

MINI = REPO_ROOT / "tests" / "fixtures" / "programmes" / "mini"
# The mini programme with Active Directory: a Samba DC per municipality (its zones on it,
# updated by GSS-TSIG) and a target DC, IMAP servers for the mail steps.
MINI_AD = REPO_ROOT / "tests" / "fixtures" / "programmes" / "mini-ad"
ACCOUNTS = int(os.environ.get("BENCH_ACCOUNTS", "10000"))
RECORDS = int(os.environ.get("BENCH_RECORDS", "1000"))


@contextmanager
def bench_lab(programme: Path = MINI) -> Iterator[Path]:
    state = Path(tempfile.mkdtemp(prefix="eendracht-bench-", dir="/tmp"))
    state.chmod(0o755)
    try:
        lab_up(programme, scale="small", state=state)
        yield state
    finally:
        lab_down(state)
        shutil.rmtree(state, ignore_errors=True)


def timed(action: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    result = action()
    return time.perf_counter() - start, result


class StepFigures(NamedTuple):
    run: float  # the whole ansible-playbook run (start-up included), seconds
    step: float  # the step inside it: its play's start to its end, as a wave times a step
    tasks: float  # the step's tasks, start event to result
    counts: dict[str, int]
    by_task: dict[str, float]  # each task's seconds, by name (the last run of a name)


def run_in_phase(
    state: Path, name: str, playbook_text: str, extravars: dict[str, Any], inventory: Path
) -> StepFigures:
    """One step through the wave's Runner, as a wave runs it inside its phase's run."""
    work = state / "bench" / name
    work.mkdir(parents=True, exist_ok=True)
    playbook = work / "playbook.yml"
    playbook.write_text(playbook_text)
    extravars_file = work / "extravars.json"
    extravars_file.write_text(json.dumps({"wave_dir": str(work), **extravars}))
    journal = Journal(work / "journal.sqlite")
    run_id = journal.start_run("bench", os.getpid(), lab=True)
    runner = Runner(
        journal=journal,
        run_id=run_id,
        work_dir=work,
        inventory=inventory,
        extravars_file=extravars_file,
    )
    step = WaveStep("bench", name, name, playbook, ())
    wall, result = timed(lambda: runner.run_step(step))
    if result.status != "ok":
        raise RuntimeError(f"{name}: {result.failures}")
    tasks = journal.task_seconds(run_id)
    counts = journal.counts().get("bench", {})
    by_task = {
        str(row[0]): float(row[1])
        for row in journal.db.execute(
            "SELECT task, MAX(finished_at) - MIN(started_at) FROM host_results"
            " WHERE run_id=? GROUP BY task_uuid ORDER BY MIN(started_at)",
            (run_id,),
        )
    }
    journal.close()
    return StepFigures(wall, result.seconds, tasks, counts, by_task)


def run_step(
    state: Path, name: str, playbook_text: str, extravars: dict[str, Any], inventory: Path
) -> tuple[float, float, dict[str, int]]:
    """(seconds of the whole run, seconds of its tasks, its counts): see `run_in_phase`."""
    figures = run_in_phase(state, name, playbook_text, extravars, inventory)
    return figures.run, figures.tasks, figures.counts


def playbook_play(playbook: str, tag: str) -> str:
    """The play of `playbooks/<playbook>.yml` tagged `tag`, as it is there (what a step runs)."""
    plays = yaml.safe_load((PLAYBOOKS / f"{playbook}.yml").read_text(encoding="utf-8"))
    play = next(p for p in plays if tag in (p.get("tags") or []))
    return yaml.safe_dump([play], sort_keys=False, width=1000)


@contextmanager
def wave_vars(state: Path, programme: Path, municipality: str) -> Iterator[dict[str, Any]]:
    """The extra vars a wave of `municipality` hands its steps, from the lab's environment
    (`playbook_vars`: source and target services, secrets as file paths) and the wave's
    identity map; the secret files exist while inside."""
    loaded = load_programme(programme)
    env = load_environment(state / "lab" / "environment", loaded, municipality)
    with SecretFiles(env, municipality) as secrets:
        mapping = mapping_for(loaded, municipality, env, secrets)
        context = build_context(
            loaded, municipality, env, secrets, state / "bench" / "wave", mapping
        )
        yield context.extravars


def lab_json(state: Path) -> dict[str, Any]:
    return dict(json.loads((state / "lab" / "lab.json").read_text()))


def show(name: str, figures: dict[str, float]) -> None:
    shown = ", ".join(
        f"{k}={v:.3f}" if isinstance(v, float) else f"{k}={v}" for k, v in figures.items()
    )
    print(f"{name}: {shown}", flush=True)
