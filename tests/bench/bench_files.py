"""Files: the files role vs raw `rsync -a` of the same tree over the same SSH, then the final
delta (the final_sync phase: copy and proof) after changing 1% of the files.

    python -m tests.bench.bench_files        (BENCH_FILES, BENCH_BIG_FILES set the tree)
"""

from __future__ import annotations

import random
import subprocess
from pathlib import Path

import yaml
from tests.bench.lab_bench import (
    BIG_FILES,
    FILES,
    bench_lab,
    lab_json,
    role_play,
    run_step,
    show,
    timed,
)


def make_tree(root: Path, files: int, big: int, seed: int = 1) -> int:
    rng = random.Random(seed)
    total = 0
    for i in range(files):
        folder = root / f"map{i % 40:02d}" / f"sub{i % 7}"
        folder.mkdir(parents=True, exist_ok=True)
        size = rng.randint(1024, 64 * 1024)
        (folder / f"document {i:05d}.docx").write_bytes(rng.randbytes(size))
        total += size
    for i in range(big):
        size = 24 * 1024 * 1024
        (root / f"scan-archief-{i:02d}.pdf").write_bytes(rng.randbytes(size))
        total += size
    return total


def bench_files(state: Path) -> dict[str, float]:
    hosts = yaml.safe_load((state / "lab" / "environment" / "hosts.yml").read_text())
    children = hosts["all"]["children"]
    roots = {h: Path(f["root"]) for h, f in lab_json(state)["fileservers"].items()}
    source_host = next(iter(children["noordwaard"]["hosts"]))
    target_vars = children["target"]["hosts"]["target-files"]
    source = roots[source_host] / "srv" / "bench" / "share"
    size = make_tree(source, FILES, BIG_FILES)
    target_root = roots["target-files"] / "bench"
    ssh = (
        f"ssh -p {target_vars['ansible_port']} -i {target_vars['ansible_ssh_private_key_file']}"
        f" {target_vars['ansible_ssh_common_args']}"
    )

    def raw_copy(folder: str) -> float:
        (target_root / folder).mkdir(parents=True, exist_ok=True)
        dest = f"root@{target_vars['ansible_host']}:{target_root}/{folder}/"
        subprocess.run(["sync"], check=True)  # no dirty pages of an earlier copy in the timing
        seconds, _ = timed(
            lambda: subprocess.run(["rsync", "-a", "-e", ssh, f"{source}/", dest], check=True)
        )
        return seconds

    raw_first = raw_copy("raw")
    extravars = {
        "municipality": "bench",
        "shares": [
            {
                "name": "share",
                "server": source_host,
                "path": "/srv/bench/share",
                "size_gb": 1,
                "department": "Bench",
            },
        ],
        "share_paths": {"share": str(source)},
        "target": {"file_target_host": "target-files", "file_target_root": str(target_root)},
    }
    play = role_play(source_host, "files", "presync")
    inventory = state / "lab" / "environment" / "hosts.yml"
    subprocess.run(["sync"], check=True)
    ours_wall, ours_task, _ = run_step(state, "files-full", play, extravars, inventory)
    raw_second = raw_copy("raw-again")
    raw = (raw_first + raw_second) / 2
    files = sorted(p for p in source.rglob("*.docx"))
    rng = random.Random(2)
    changed = rng.sample(files, max(1, len(files) // 100))
    for path in changed:
        path.write_bytes(rng.randbytes(path.stat().st_size))
    subprocess.run(["sync"], check=True)
    # The final delta is the final_sync phase (the copy and its proof), not a second presync.
    final = role_play(source_host, "files", "final_sync")
    delta_wall, delta_task, _ = run_step(state, "files-delta", final, extravars, inventory)
    raw_delta = raw_copy("raw")
    return {
        "files": len(files) + BIG_FILES,
        "bytes": size,
        "raw_rsync_s": raw,
        "raw_rsync_runs_s": f"{raw_first:.2f}/{raw_second:.2f}",
        "ours_step_s": ours_wall,
        "ours_task_s": ours_task,
        "ratio_task": ours_task / raw,
        "ratio_step": ours_wall / raw,
        "changed_files": len(changed),
        "delta_step_s": delta_wall,
        "delta_task_s": delta_task,
        "raw_delta_s": raw_delta,
        "delta_ratio_task": delta_task / ours_task,
        "delta_ratio_step": delta_wall / ours_wall,
    }


def main() -> None:
    with bench_lab() as state:
        show("files", bench_files(state))


if __name__ == "__main__":
    main()
