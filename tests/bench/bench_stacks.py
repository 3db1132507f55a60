"""Benchmark: the Pulumi program under mocks (prints figures; not a test, not collected).

    .venv/bin/python -m tests.bench.bench_stacks

1. each example stack as `eendracht preview` runs it, in a fresh process: imports, programme
   loading and the mocked run (goal: under 5 s);
2. growth from 3 to 10 synthesised municipalities (120 staff each) in one warm process
   (goal: under 2x);
3. the optimisations in stacks/consolidated (dropping azure-native's type aliases, fewer
   garbage collections, no source positions under mocks) against a baseline without them, on
   the mini programme, each in a fresh process.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
GROWTH = (3, 5, 10)


def _child(mode: str, arg: str) -> dict[str, Any]:
    """Run one measurement in a fresh interpreter (cold imports, fresh Pulumi runtime)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    out = subprocess.run(
        [sys.executable, "-m", "tests.bench.bench_stacks", "--child", mode, arg],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def child(mode: str, arg: str) -> None:
    start = time.perf_counter()
    cpu_start = time.process_time()
    if mode == "baseline":
        import consolidated.mocked
        import consolidated.program

        consolidated.program.drop_type_aliases = lambda: None  # type: ignore[attr-defined]
        consolidated.mocked.fewer_collections = _no_tuning
        consolidated.mocked.without_source_positions = _no_tuning
    from consolidated.mocked import run_stack_mocked
    from eendracht.programme import load_programme
    from eendracht.stackconfig import read_stack

    imported = time.perf_counter()
    if mode == "stack":
        config = read_stack(arg)
        programme, settings = load_programme(config.programme_path), config.settings
    else:
        sys.path.insert(0, str(REPO / "tests/stacks"))
        from stack_graph import MINI, mini_settings

        programme, settings = load_programme(MINI), mini_settings()
    loaded = time.perf_counter()
    cpu_loaded = time.process_time()
    run = run_stack_mocked(programme, settings, stack=arg)
    done = time.perf_counter()
    cpu_done = time.process_time()
    print(
        json.dumps(
            {
                "imports": imported - start,
                "load": loaded - imported,
                "run": done - loaded,
                "total": done - start,
                "cpu_run": cpu_done - cpu_loaded,
                "cpu_total": cpu_done - cpu_start,
                "resources": len(run.resources),
            }
        )
    )


def _no_tuning() -> Any:
    import contextlib

    return contextlib.nullcontext()


def growth() -> list[tuple[int, int, float, float]]:
    sys.path.insert(0, str(REPO / "tests/stacks"))
    from stack_graph import mini_settings
    from synth import synthesise

    from consolidated.mocked import run_stack_mocked

    settings = mini_settings()
    run_stack_mocked(synthesise(2), settings)  # warm: provider modules imported
    times: dict[int, list[float]] = {n: [] for n in GROWTH}
    cpu: dict[int, list[float]] = {n: [] for n in GROWTH}
    sizes: dict[int, int] = {}
    for _ in range(3):  # interleaved, so load from elsewhere hits every size alike
        for n in GROWTH:
            programme = synthesise(n, head_count=120, cad=4)
            start, cpu_start = time.perf_counter(), time.process_time()
            run = run_stack_mocked(programme, settings)
            times[n].append(time.perf_counter() - start)
            cpu[n].append(time.process_time() - cpu_start)
            sizes[n] = len(run.resources)
    rows = [(n, sizes[n], statistics.median(times[n]), statistics.median(cpu[n])) for n in GROWTH]
    return rows


def main() -> None:
    if len(sys.argv) == 4 and sys.argv[1] == "--child":
        child(sys.argv[2], sys.argv[3])
        return
    print(
        f"stack program under Pulumi mocks, {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}"
    )
    print("(wall time suffers from other work on the machine; cpu time much less so)")
    print("\n1. example stacks, fresh process (goal: total under 5 s)")
    print(
        f"   {'stack':<14} {'resources':>9} {'imports':>8} {'load':>6} {'run':>6} {'total':>6}"
        f"   {'cpu run':>7} {'cpu total':>9}"
    )
    for stack in ("altena-prod", "ple1n-prod"):
        f = _child("stack", stack)
        print(
            f"   {stack:<14} {f['resources']:>9} {f['imports']:>7.2f}s {f['load']:>5.2f}s "
            f"{f['run']:>5.2f}s {f['total']:>5.2f}s   {f['cpu_run']:>6.2f}s {f['cpu_total']:>8.2f}s"
        )

    print("\n2. growth with the number of municipalities, warm process (goal: 10 vs 3 under 2x)")
    rows = growth()
    base, cpu_base = rows[0][2], rows[0][3]
    for n, resources, seconds, cpu_seconds in rows:
        print(
            f"   {n:>2} municipalities: {resources:>5} resources ({resources / rows[0][1]:4.2f}x) "
            f"wall {seconds:5.2f}s ({seconds / base:4.2f}x)  cpu {cpu_seconds:5.2f}s "
            f"({cpu_seconds / cpu_base:4.2f}x)"
        )

    print("\n3. optimisations vs baseline (mini programme, fresh process each)")
    baseline = _child("baseline", "mini")
    tuned = _child("tuned", "mini")
    print(
        f"   baseline (type aliases kept, default GC, source positions): run {baseline['run']:.2f}s, "
        f"cpu {baseline['cpu_run']:.2f}s"
    )
    print(
        f"   as shipped (aliases dropped, fewer GCs, none):               run {tuned['run']:.2f}s, "
        f"cpu {tuned['cpu_run']:.2f}s"
    )
    print(f"   speed-up: {baseline['cpu_run'] / tuned['cpu_run']:.1f}x (cpu)")


if __name__ == "__main__":
    main()
