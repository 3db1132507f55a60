"""DNS: records cut over by the dns role's `dns_cutover` play vs raw `nsupdate` of the same changes.

python -m tests.bench.bench_dns          (BENCH_RECORDS sets the count, BENCH_ROUNDS the rounds)

Each round puts the records back as they were, times raw `nsupdate -v -k` of the changes, puts
them back again and runs the play of `playbooks/cutover.yml` tagged `dns_cutover`, unchanged,
as a step through the wave's Runner (a fresh rollback state, so the originals are kept first).
Reported, as medians over the rounds (every round too):

- raw: `nsupdate` of the same update lines, one message per ≤ 600 lines as the batch sends them;
- work: what the batch reports it spent on DNS (the signed AXFR read and the update);
- task: the batch task, its start event to its result (journal);
- play: the play's start event to its last task's result (journal) — a step's time in a phase
  run, where ansible-playbook's start-up and the loading of the inventory's variables are paid
  once for all steps of the phase;
- run: the whole ansible-playbook run of the one step, start-up included, for reference;
- floor: the play of an empty step (the same play, hosts and extra vars, one debug task in
  place of the batch), measured as `play` is: what any step costs Ansible before its work.

BENCH_DNS_PER_RECORD=1 also times one nsupdate per record (what community.general.nsupdate does).
"""

from __future__ import annotations

import os
import statistics
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml
from tests.bench.lab_bench import (
    RECORDS,
    bench_lab,
    lab_json,
    playbook_play,
    run_step,
    show,
    timed,
)

from eendracht.module_utils import load_module_utils
from eendracht.wave.journal import Journal

ROUNDS = int(os.environ.get("BENCH_ROUNDS", "5"))
dns_batch = load_module_utils("eendracht_dns")


def journal_figures(journal_file: Path) -> tuple[float, float]:
    """(play, task) of the step's run: play start (the step's start, as the Runner journals it
    from the play's start event) to its last result; the batch task's start to its result."""
    journal = Journal(journal_file)
    try:
        step = journal.steps()[-1]
        results = [r for r in journal.host_results() if r["step_id"] == step["step_id"]]
        play = max(r["finished_at"] for r in results) - step["started_at"]
        task = max(r["duration"] or 0.0 for r in results)
    finally:
        journal.close()
    return play, task


def bench_dns(state: Path) -> dict[str, Any]:
    dns = lab_json(state)["dns"]
    zone = next(z for z, owner in dns["zones"].items() if owner == "noordwaard")
    names = [f"bench{i:04d}.{zone}." for i in range(RECORDS)]

    def address(net: int, i: int) -> str:
        return f"10.{net}.{i // 250}.{i % 250 + 1}"

    def script(values: Callable[[int], str]) -> str:
        groups = [dns_batch.rrset_lines(n, "A", 3600, [values(i)]) for i, n in enumerate(names)]
        lines = [f"server {dns['server']} {dns['port']}"]
        for part in dns_batch.messages(groups):
            lines += [f"zone {zone}", *part, "send"]
        return "\n".join(lines) + "\n"

    def nsupdate(text: str) -> None:
        subprocess.run(["nsupdate", "-v", "-k", dns["tsig_key_file"]], input=text, text=True,
                       check=True, capture_output=True)  # fmt: skip

    before, after = script(lambda i: address(50, i)), script(lambda i: address(60, i))
    records = [
        {"name": n.split(".")[0], "type": "A", "value": address(50, i), "ttl": 3600,
         "cutover_to": address(60, i)}
        for i, n in enumerate(names)
    ]  # fmt: skip
    extravars = {
        "municipality": "noordwaard",
        "target": {},
        "source_services": {
            "dns": {
                "server": dns["server"],
                "port": dns["port"],
                "tsig_key_file": dns["tsig_key_file"],
            }
        },
        # The programme's records (group_vars in a wave): extra vars here, read at start-up.
        "dns": {"zones": [{"name": zone, "cutover_ttl": 3600, "records": records}]},
    }
    inventory = state / "lab" / "environment" / "hosts.yml"
    play_text = playbook_play("cutover", "dns_cutover")
    floor_play = yaml.safe_load(play_text)
    floor_play[0]["tasks"] = [{"name": "An empty step", "ansible.builtin.debug": {"msg": "-"}}]
    floor_text = yaml.safe_dump(floor_play, sort_keys=False)
    rounds: list[dict[str, float]] = []
    for index in range(ROUNDS):
        nsupdate(before)
        raw, _ = timed(lambda: nsupdate(after))
        nsupdate(before)
        name = f"dns-cutover-{index}"
        run, _, counts = run_step(state, name, play_text, extravars, inventory)
        if counts.get("records_updated") != RECORDS:
            raise RuntimeError(f"{name}: {counts}")
        play, task = journal_figures(state / "bench" / name / "journal.sqlite")
        run_step(state, f"dns-floor-{index}", floor_text, extravars, inventory)
        floor, _ = journal_figures(state / "bench" / f"dns-floor-{index}" / "journal.sqlite")
        work = (counts["dns_read_ms"] + counts["dns_update_ms"]) / 1000
        rounds.append(
            {"raw": raw, "work": work, "read": counts["dns_read_ms"] / 1000,
             "update": counts["dns_update_ms"] / 1000, "task": task, "play": play, "run": run,
             "floor": floor}
        )  # fmt: skip
        show(f"dns round {index + 1}", rounds[-1])

    def median(key: str) -> float:
        return statistics.median(r[key] for r in rounds)

    raw = median("raw")
    figures: dict[str, Any] = {
        "records": RECORDS,
        "rounds": ROUNDS,
        "raw_nsupdate_s": raw,
        "work_s": median("work"),
        "read_s": median("read"),
        "update_s": median("update"),
        "task_s": median("task"),
        "play_s": median("play"),
        "run_s": median("run"),
        "floor_s": median("floor"),
        "ratio_work": statistics.median(r["work"] / r["raw"] for r in rounds),
        "ratio_task": statistics.median(r["task"] / r["raw"] for r in rounds),
        "ratio_play": statistics.median(r["play"] / r["raw"] for r in rounds),
        "ratio_run": statistics.median(r["run"] / r["raw"] for r in rounds),
        "ratio_floor": statistics.median(r["floor"] / r["raw"] for r in rounds),
        "ratio_play_above_floor": statistics.median(
            (r["play"] - r["floor"]) / r["raw"] for r in rounds
        ),
    }
    if os.environ.get("BENCH_DNS_PER_RECORD") == "1":

        def one_call_per_record() -> None:  # what community.general.nsupdate does: a call each
            for i, n in enumerate(names):
                text = "\n".join(
                    [f"server {dns['server']} {dns['port']}", f"zone {zone}",
                     *dns_batch.rrset_lines(n, "A", 3600, [address(70, i)]), "send", ""]
                )  # fmt: skip
                nsupdate(text)

        figures["per_record_nsupdate_s"], _ = timed(one_call_per_record)
    return figures


def main() -> None:
    with bench_lab() as state:
        show("dns", bench_dns(state))


if __name__ == "__main__":
    main()
