"""DNS on Active Directory: 1,000 records cut over by GSS-TSIG as a step (the `dns_cutover`
play) and by the dns batch alone, against raw `nsupdate -g` of the same changes, on the DC
of noordwaard in a mini-ad lab (its zone noordwaard.nl is AD-integrated there).

    python -m tests.bench.bench_dns_gss      (BENCH_RECORDS sets the count, BENCH_ROUNDS the rounds)

The step gets what a wave gives it: the extra vars of the lab's environment
(`playbook_vars`: `source_services.dns` with the DNS account's Kerberos settings - principal,
keytab, krb5.conf, server name) and the records as the programme's `dns` var. Each round puts
the records back as they were before each of (raw and step alternate which goes first):

- raw: `nsupdate -g` of the same update lines, one message per ≤ 600 lines as the batch
  groups them, with a ticket from `kinit -k` of the same keytab beforehand (not timed).
  Samba applies them but nsupdate cannot verify Samba's signed answers and exits 2, so its
  exit status is ignored and two of the records are asked afterwards (not timed);
- step: the play of `playbooks/cutover.yml` tagged `dns_cutover`, unchanged, through the
  wave's Runner (`run_in_phase`, a fresh rollback state): `play` is the step as a wave times
  it inside its phase's run, `task` the batch task (its start event to its result), `read` and
  `update` what the batch reports it spent on DNS, `run` the whole ansible-playbook run of
  the one step, start-up included;
- again: the same step once more right after, nothing to change (reads only);
- floor: the same play, hosts and extra vars with one debug task in place of the batch,
  measured as `play` is: what any step costs Ansible before its work;
- batch: `run_batch` called directly (state cutover, the same settings), for reference.

Medians over the rounds; ratios are medians of each round's ratio to its own raw figure.
"""

from __future__ import annotations

import os
import statistics
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import dns.message
import dns.query
import dns.rdatatype
import yaml
from tests.bench.lab_bench import (
    MINI_AD,
    bench_lab,
    lab_json,
    playbook_play,
    run_in_phase,
    show,
    timed,
    wave_vars,
)

from eendracht.module_utils import load_module_utils

RECORDS = int(os.environ.get("BENCH_RECORDS", "1000"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "5"))
MUNICIPALITY = "noordwaard"
BATCH_TASK = "Cut every record over in one signed batch"
T = 120
dns_batch = load_module_utils("eendracht_dns")


def address(net: int, i: int) -> str:
    return f"10.{net}.{i // 250}.{i % 250 + 1}"


def bench(state: Path, wave: dict[str, Any]) -> dict[str, Any]:
    source_dns = wave["source_services"]["dns"]
    server, port = source_dns["server"], int(source_dns["port"])
    kerberos = source_dns["kerberos"]
    zone = next(z for z, owner in lab_json(state)["dns"]["zones"].items() if owner == MUNICIPALITY)
    names = [f"bench{i:04d}.{zone}." for i in range(RECORDS)]
    work = state / "bench" / "dns-gss"
    work.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "KRB5_CONFIG": kerberos["krb5_conf"],
           "KRB5CCNAME": f"FILE:{work / 'ccache'}"}  # fmt: skip
    subprocess.run(["kinit", "-k", "-t", kerberos["keytab"], kerberos["principal"]], env=env,
                   timeout=T, check=True, capture_output=True)  # fmt: skip

    def script(net: int) -> str:
        groups = [
            dns_batch.rrset_lines(n, "A", 3600, [address(net, i)]) for i, n in enumerate(names)
        ]
        lines = [f"server {server} {port}"]
        for part in dns_batch.messages(groups):
            lines += [f"zone {zone}", *part, "send"]
        return "\n".join(lines) + "\n"

    def nsupdate(text: str) -> None:
        subprocess.run(["nsupdate", "-g", "-t", "60"], input=text, text=True, env=env,
                       capture_output=True, timeout=T, check=False)  # fmt: skip

    def answers(net: int) -> bool:
        """The first and last record answer their value of `net` (asked of the DC)."""
        for i in (0, RECORDS - 1):
            reply = dns.query.udp(dns.message.make_query(names[i], "A"), server, 5.0, port)
            got = {rd.to_text() for rr in reply.answer if rr.rdtype == dns.rdatatype.A for rd in rr}
            if got != {address(net, i)}:
                return False
        return True

    def put_back() -> None:
        nsupdate(before)
        if not answers(50):
            raise RuntimeError("the records were not put back")

    before, after = script(50), script(60)
    records = [{"name": n.split(".")[0], "type": "A", "value": address(50, i), "ttl": 3600,
                "cutover_to": address(60, i)} for i, n in enumerate(names)]  # fmt: skip
    zones = [{"name": zone, "cutover_ttl": 3600, "records": records}]
    base = {k: v for k, v in wave.items() if k != "wave_dir"}
    # The programme's records (group_vars in a wave): extra vars here, read at start-up.
    extravars = {**base, "dns": {"zones": zones}}
    inventory = state / "lab" / "environment" / "hosts.yml"
    play_text = playbook_play("cutover", "dns_cutover")
    floor_play = yaml.safe_load(play_text)
    floor_play[0]["tasks"] = [{"name": "An empty step", "ansible.builtin.debug": {"msg": "-"}}]
    floor_text = yaml.safe_dump(floor_play, sort_keys=False)
    rounds: list[dict[str, float]] = []
    for index in range(ROUNDS):
        row: dict[str, float] = {}

        def raw(row: dict[str, float] = row) -> None:
            put_back()
            row["raw"], _ = timed(lambda: nsupdate(after))
            if not answers(60):
                raise RuntimeError("raw nsupdate -g did not cut the records over")

        def step(row: dict[str, float] = row, index: int = index) -> None:
            put_back()
            name = f"dns-gss-step-{index}"
            figures = run_in_phase(state, name, play_text, extravars, inventory)
            counts = figures.counts
            if counts.get("records_updated") != RECORDS or not answers(60):
                raise RuntimeError(f"{name}: {counts}")
            row.update(play=figures.step, task=figures.by_task[BATCH_TASK], run=figures.run,
                       read=counts["dns_read_ms"] / 1000,
                       update=counts["dns_update_ms"] / 1000)  # fmt: skip
            again = run_in_phase(state, f"dns-gss-again-{index}", play_text, extravars, inventory)
            if again.counts.get("records_updated", 0) != 0:
                raise RuntimeError(f"{name} again: {again.counts}")
            row["again"] = again.step

        order: tuple[Callable[[], None], ...] = (raw, step) if index % 2 == 0 else (step, raw)
        for action in order:
            action()
        floor = run_in_phase(state, f"dns-gss-floor-{index}", floor_text, extravars, inventory)
        row["floor"] = floor.step
        put_back()
        params = {"state": "cutover", "server": server, "port": port, "key_file": "",
                  "kerberos": kerberos, "zones": zones, "record_types": [],
                  "state_file": str(work / f"rollback-{index}.json"), "outputs": {},
                  "timeout": T}  # fmt: skip
        row["batch"], result = timed(lambda p=params: dns_batch.run_batch(p, False))
        if result["eendracht_counts"]["records_updated"] != RECORDS:
            raise RuntimeError(f"batch {index}: {result['eendracht_counts']}")
        rounds.append(row)
        show(f"dns gss round {index + 1}", row)

    def median(key: str) -> float:
        return statistics.median(r[key] for r in rounds)

    def ratio(key: str) -> float:
        return statistics.median(r[key] / r["raw"] for r in rounds)

    figures: dict[str, Any] = {"records": RECORDS, "rounds": ROUNDS, "zone": zone,
                               "server": f"{server}:{port}"}  # fmt: skip
    for key in ("raw", "play", "task", "read", "update", "run", "again", "floor", "batch"):
        figures[f"{key}_s"] = median(key)
    for key in ("play", "task", "run", "floor", "batch"):
        figures[f"ratio_{key}"] = ratio(key)
    figures["ratio_update_only"] = ratio("update")
    figures["ratio_play_above_floor"] = statistics.median(
        (r["play"] - r["floor"]) / r["raw"] for r in rounds
    )
    for key in ("raw", "play", "floor"):
        figures[f"{key}_range"] = (
            f"{min(r[key] for r in rounds):.3f}-{max(r[key] for r in rounds):.3f}"
        )
    return figures


def main() -> None:
    with bench_lab(MINI_AD) as state, wave_vars(state, MINI_AD, MUNICIPALITY) as wave:
        show("dns gss", bench(state, wave))


if __name__ == "__main__":
    main()
