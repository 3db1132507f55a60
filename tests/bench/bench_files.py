"""Files: the files role vs raw `rsync -a` of the same tree over the same SSH, then the final
delta (the final_sync phase: copy and proof) after changing 1% of the files.

    python -m tests.bench.bench_files        (BENCH_FILES, BENCH_BIG_FILES, BENCH_RUNS)

The tree defaults to the example programmes' density: 3,000 documents of 1-64 KiB and 60
scans of 24 MiB, ~1.6 GB in 3,060 files (~0.5 MB a file). The machine is shared and its disk
noisy, so raw and ours are interleaved (which goes first alternates), every copy goes to a
fresh target after a `sync`, and the median of BENCH_RUNS runs (5) is what counts.

Three figures of ours, each through the wave's own Runner: the copy task (its start to its
result), the play (the step as a wave times it inside its phase's run: its play's start to the
task that closes it, without the `ansible-playbook` start-up the phase pays once) and the
whole `ansible-playbook` run of that one play.
"""

from __future__ import annotations

import os
import random
import shutil
import statistics
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml
from tests.bench.lab_bench import MINI, bench_lab, lab_json, playbook_play, run_in_phase, timed

from eendracht.environment import load_environment
from eendracht.environment.secrets import SecretFiles
from eendracht.programme import load_programme
from eendracht.wave.context import build_context, mapping_for

FILES = int(os.environ.get("BENCH_FILES", "3000"))
BIG_FILES = int(os.environ.get("BENCH_BIG_FILES", "60"))
RUNS = int(os.environ.get("BENCH_RUNS", "5"))
MUNICIPALITY = "noordwaard"
COPY_TASKS = {
    "presync": "Bulk copy each share to the target, owners translated to the new accounts",
    "final_sync": "Delta copy of each share after the freeze, proved to leave nothing behind",
}


def make_tree(
    root: Path, files: int, big: int, owners: list[tuple[int, int]], seed: int = 1
) -> int:
    """The tree, its entries owned by the municipality's own numbers (translated by the copy)."""
    rng = random.Random(seed)
    total = 0
    for i in range(files):
        folder = root / f"map{i % 40:02d}" / f"sub{i % 7}"
        folder.mkdir(parents=True, exist_ok=True)
        size = rng.randint(1024, 64 * 1024)
        path = folder / f"document {i:05d}.docx"
        path.write_bytes(rng.randbytes(size))
        os.chown(path, *owners[i % len(owners)])
        total += size
    for i in range(big):
        size = 24 * 1024 * 1024
        path = root / f"scan-archief-{i:02d}.pdf"
        path.write_bytes(rng.randbytes(size))
        os.chown(path, *owners[i % len(owners)])
        total += size
    return total


def lab_owners(share_root: Path) -> list[tuple[int, int]]:
    """The (uid, gid) pairs the lab seeded into a source server's shares: directory numbers."""
    found = {(st.st_uid, st.st_gid) for st in map(os.lstat, share_root.rglob("*"))}
    return sorted(pair for pair in found if pair[0] >= 1000 and pair[1] >= 1000)


def run_play(
    state: Path, name: str, play: str, extravars: dict[str, Any], inventory: Path, copy_task: str
) -> tuple[float, float, float]:
    """One play as the wave runs a step, through its Runner: (the copy task's seconds, the
    step's - its play's start to its end - and the whole ansible-playbook run's)."""
    figures = run_in_phase(state, name, play, extravars, inventory)
    copy = [seconds for task, seconds in figures.by_task.items() if task.endswith(copy_task)]
    return copy[0], figures.step, figures.run


def median_line(name: str, runs: list[float]) -> str:
    shown = " ".join(f"{r:.2f}" for r in runs)
    return f"  {name:<28} median {statistics.median(runs):7.2f} s   runs {shown}"


def ratio_line(name: str, over: list[float], under: list[float]) -> str:
    """The ratio of the medians, and of each run with its pair (the median of those too: a
    pair ran back to back, under the same load)."""
    ratio = statistics.median(over) / statistics.median(under)
    pairs = [o / u for o, u in zip(over, under, strict=True)]
    each = " ".join(f"{r:.2f}" for r in pairs)
    return (
        f"  {name:<28} {ratio:.3f}x (medians)   per run {each}"
        f"   median of runs {statistics.median(pairs):.3f}x"
    )


def bench_files(state: Path) -> dict[str, Any]:
    """The runs, inside the wave's own context of the mini programme's noordwaard (the identity
    map, the source directory the owners task reads), the tree on noordwaard's file server."""
    programme = load_programme(MINI)
    env = load_environment(state / "lab" / "environment", programme, MUNICIPALITY)
    with SecretFiles(env, MUNICIPALITY) as secrets:
        mapping = mapping_for(programme, MUNICIPALITY, env, secrets)
        context = build_context(
            programme, MUNICIPALITY, env, secrets, state / "bench" / "wave", mapping
        )
        return bench_runs(state, context.extravars)


def bench_runs(state: Path, wave_vars: dict[str, Any]) -> dict[str, Any]:
    hosts = yaml.safe_load((state / "lab" / "environment" / "hosts.yml").read_text())
    children = hosts["all"]["children"]
    roots = {h: Path(f["root"]) for h, f in lab_json(state)["fileservers"].items()}
    source_host = next(iter(children[MUNICIPALITY]["hosts"]))
    target_vars = children["target"]["hosts"]["target-files"]
    owners = lab_owners(roots[source_host] / "srv" / "shares")
    source = roots[source_host] / "srv" / "bench" / "share"
    size = make_tree(source, FILES, BIG_FILES, owners)
    documents = sorted(source.rglob("*.docx"))
    target_base = roots["target-files"] / "bench"
    inventory = state / "lab" / "environment" / "hosts.yml"
    ssh = (
        f"ssh -p {target_vars['ansible_port']} -i {target_vars['ansible_ssh_private_key_file']}"
        f" {target_vars['ansible_ssh_common_args']}"
    )
    presync = playbook_play("presync", "files_presync")
    final_sync = playbook_play("final_sync", "files_final_sync")
    base_vars = {k: v for k, v in wave_vars.items() if k != "wave_dir"}

    def extravars(target_root: Path) -> dict[str, Any]:
        return {
            **base_vars,
            "shares": [
                {
                    "name": "share",
                    "server": source_host,
                    "path": "/srv/bench/share",
                    "size_gb": 2,
                    "department": "Burgerzaken",
                },
            ],
            "share_paths": {"share": str(source)},
            "target": {
                **base_vars["target"],
                "file_target_host": "target-files",
                "file_target_root": str(target_root),
            },
        }

    def raw(dest: Path) -> float:
        dest.mkdir(parents=True, exist_ok=True)
        to = f"root@{target_vars['ansible_host']}:{dest}/"
        subprocess.run(["sync"], check=True)  # no dirty pages of an earlier copy in the timing
        seconds, _ = timed(
            lambda: subprocess.run(["rsync", "-a", "-e", ssh, f"{source}/", to], check=True)
        )
        return seconds

    def ours(name: str, play: str, target_root: Path, copy_task: str) -> tuple[float, ...]:
        subprocess.run(["sync"], check=True)
        return run_play(state, name, play, extravars(target_root), inventory, copy_task)

    figures: dict[str, list[float]] = {
        k: []
        for k in (
            "raw",
            "task",
            "play",
            "step",
            "raw_delta",
            "delta_task",
            "delta_play",
            "delta_step",
        )
    }

    def interleaved(i: int, first: Callable[[], None], second: Callable[[], None]) -> None:
        for action in (first, second) if i % 2 == 0 else (second, first):
            action()

    # Each full copy's target is removed (and synced) right after it is timed: a copy that
    # ran while the other's 1.6 GB were still cached was 20-40% slower here, whichever it was.
    def forget(root: Path) -> None:
        shutil.rmtree(root, ignore_errors=True)
        subprocess.run(["sync"], check=True)

    for i in range(RUNS):

        def full_raw(dest: Path = target_base / f"raw-{i}") -> None:
            figures["raw"].append(raw(dest))
            forget(dest)

        def full_ours(i: int = i, root: Path = target_base / f"ours-{i}") -> None:
            task, play_s, step = ours(f"files-full-{i}", presync, root, COPY_TASKS["presync"])
            figures["task"].append(task)
            figures["play"].append(play_s)
            figures["step"].append(step)
            forget(root)

        interleaved(i, full_raw, full_ours)
    # The deltas' targets: a full copy each, not timed.
    raw_dest, ours_root = target_base / "raw-delta", target_base / "ours-delta"
    raw(raw_dest)
    ours("files-full-delta", presync, ours_root, COPY_TASKS["presync"])
    # The deltas: both targets are in step with the source; each round changes 1% of the documents (new content, same size) and brings both along.
    changed = max(1, len(documents) // 100)
    rng = random.Random(2)
    for i in range(RUNS):
        for path in rng.sample(documents, changed):
            path.write_bytes(rng.randbytes(path.stat().st_size))

        def delta_raw(dest: Path = raw_dest) -> None:
            figures["raw_delta"].append(raw(dest))

        def delta_ours(i: int = i, root: Path = ours_root) -> None:
            name = f"files-delta-{i}"
            task, play_s, step = ours(name, final_sync, root, COPY_TASKS["final_sync"])
            figures["delta_task"].append(task)
            figures["delta_play"].append(play_s)
            figures["delta_step"].append(step)

        interleaved(i, delta_raw, delta_ours)
    shutil.rmtree(target_base, ignore_errors=True)
    return {"files": len(documents) + BIG_FILES, "bytes": size, "changed": changed, **figures}


def report(f: dict[str, Any]) -> str:
    lines = [
        f"files: {f['files']} files, {f['bytes'] / 1e9:.2f} GB, {RUNS} interleaved runs;"
        f" final delta: {f['changed']} files (1%) changed per run",
        median_line("raw rsync -a", f["raw"]),
        median_line("ours: copy task", f["task"]),
        median_line("ours: play (the step)", f["play"]),
        median_line("ours: ansible-playbook run", f["step"]),
        ratio_line("task / raw", f["task"], f["raw"]),
        ratio_line("play / raw", f["play"], f["raw"]),
        ratio_line("ansible-playbook run / raw", f["step"], f["raw"]),
        "files final delta (final_sync: delta copy and proof):",
        median_line("raw rsync -a of the delta", f["raw_delta"]),
        median_line("ours: copy+proof task", f["delta_task"]),
        median_line("ours: play (the step)", f["delta_play"]),
        median_line("ours: ansible-playbook run", f["delta_step"]),
        ratio_line("raw delta / raw full", f["raw_delta"], f["raw"]),
        ratio_line("task delta / task full", f["delta_task"], f["task"]),
        ratio_line("play delta / play full", f["delta_play"], f["play"]),
        ratio_line("run delta / run full", f["delta_step"], f["step"]),
    ]
    return "\n".join(lines)


def main() -> None:
    with bench_lab() as state:
        print(report(bench_files(state)), flush=True)


if __name__ == "__main__":
    main()
