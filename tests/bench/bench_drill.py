"""The fallback drill's figures: RTO, RPO and the time of each step, synchronous and
asynchronous replication, on the lab (mini, or mini-ad with BENCH_DRILL_AD=1).

`python -m tests.bench.bench_drill` (BENCH_DRILL_ROUNDS drills per mode, default 3): one lab
with its fallback site, one wave that moves noordwaard's applications, then the drills. The
ratio compares the asynchronous RTO with the synchronous one, both measured in this run.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from tests.bench.lab_bench import MINI, MINI_AD

from eendracht.drill.orchestrator import Drill
from eendracht.lab import lab_down, lab_up
from eendracht.wave.paths import lab_environment

ROUNDS = int(os.environ.get("BENCH_DRILL_ROUNDS", "3"))
CLI = str(Path(sys.executable).parent / "eendracht")


def _drill(programme: Path, state: Path) -> dict:
    drill = Drill(programme, environment=lab_environment(state), lab=True, state=state)
    try:
        outcome = drill.run()
        assert outcome.exit_code == 0, outcome.message
        return drill.figures(outcome.drill)
    finally:
        drill.close()


def main() -> None:
    programme = MINI_AD if os.environ.get("BENCH_DRILL_AD") else MINI
    state = Path(tempfile.mkdtemp(prefix="eendracht-bench-drill-", dir="/tmp"))
    state.chmod(0o755)
    env = {**os.environ, "EENDRACHT_STATE": str(state)}
    try:
        lab_up(programme, scale="small", state=state, fallback="synchronous")
        subprocess.run(
            [CLI, "wave", "run", str(programme), "-m", "noordwaard", "--lab", "--yes"],
            check=True, capture_output=True, env=env, timeout=600,
        )  # fmt: skip
        rto: dict[str, list[float]] = {}
        for mode in ("synchronous", "asynchronous"):
            lab_up(programme, scale="small", state=state, fallback=mode)
            for n in range(1, ROUNDS + 1):
                f = _drill(programme, state)
                rto.setdefault(mode, []).append(f["rto_seconds"])
                rpo = f["rpo"]
                steps = ", ".join(f"{s['id']} {s['seconds']}" for s in f["steps"])
                print(
                    f"{programme.name} {mode} drill {n}: RTO {f['rto_seconds']} s; "
                    f"fail-back interruption {f['failback_interruption_seconds']} s; "
                    f"RPO {rpo['rows_missing']}/{rpo['rows_acknowledged']} transactions, "
                    f"{rpo['files_missing']}/{rpo['files_acknowledged']} files; steps (s): {steps}",
                    flush=True,
                )
        sync, asyn = statistics.median(rto["synchronous"]), statistics.median(rto["asynchronous"])
        print(f"median RTO: synchronous {sync} s, asynchronous {asyn} s ({asyn / sync:.2f}x)")
    finally:
        lab_down(state)
        shutil.rmtree(state, ignore_errors=True)


if __name__ == "__main__":
    main()
