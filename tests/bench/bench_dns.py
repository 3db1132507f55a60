"""DNS: records cut over by the dns module vs raw `nsupdate` of the same changes.

python -m tests.bench.bench_dns          (BENCH_RECORDS sets the count)
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from tests.bench.lab_bench import RECORDS, bench_lab, lab_json, run_step, show, timed

from eendracht.wave.paths import PLAYBOOKS


def bench_dns(state: Path) -> dict[str, float]:
    sys.path.insert(0, str(PLAYBOOKS / "roles" / "dns" / "library"))
    import eendracht_dns_batch as module

    dns = lab_json(state)["dns"]
    zone = next(z for z, owner in dns["zones"].items() if owner == "noordwaard")
    names = [f"bench{i:04d}.{zone}." for i in range(RECORDS)]

    def script(values: Callable[[int], str]) -> str:
        groups = [module.rrset_lines(n, "A", 3600, [values(i)]) for i, n in enumerate(names)]
        lines = [f"server {dns['server']} {dns['port']}"]
        for part in module.messages(groups):
            lines += [f"zone {zone}", *part, "send"]
        return "\n".join(lines) + "\n"

    def nsupdate(text: str) -> None:
        subprocess.run(["nsupdate", "-v", "-k", dns["tsig_key_file"]], input=text, text=True,
                       check=True, capture_output=True)  # fmt: skip

    nsupdate(script(lambda i: f"10.50.{i // 250}.{i % 250 + 1}"))  # the records before
    raw, _ = timed(lambda: nsupdate(script(lambda i: f"10.60.{i // 250}.{i % 250 + 1}")))
    nsupdate(script(lambda i: f"10.50.{i // 250}.{i % 250 + 1}"))  # back to before
    records = [
        {"name": n.split(".")[0], "type": "A", "value": f"10.50.{i // 250}.{i % 250 + 1}",
         "ttl": 3600, "cutover_to": f"10.60.{i // 250}.{i % 250 + 1}"}
        for i, n in enumerate(names)
    ]  # fmt: skip
    play = (
        "- name: bench dns\n  hosts: localhost\n  connection: local\n  gather_facts: false\n"
        "  tasks:\n    - name: One batch\n      eendracht_dns_batch:\n        state: cutover\n"
        '        server: "{{ server }}"\n        port: "{{ port }}"\n'
        '        key_file: "{{ key }}"\n        zones: "{{ zones }}"\n'
        '        state_file: "{{ wave_dir }}/dns_original.json"\n'
    )
    os.environ["ANSIBLE_LIBRARY"] = str(PLAYBOOKS / "roles" / "dns" / "library")
    extravars = {
        "server": dns["server"],
        "port": dns["port"],
        "key": dns["tsig_key_file"],
        "zones": [{"name": zone, "cutover_ttl": 3600, "records": records}],
    }
    wall, task, counts = run_step(
        state, "dns-cutover", play, extravars, state / "lab" / "environment" / "hosts.yml"
    )
    work = (counts.get("dns_read_ms", 0) + counts.get("dns_update_ms", 0)) / 1000

    def one_call_per_record() -> None:  # what community.general.nsupdate does: a call each
        for i, name in enumerate(names):
            text = "\n".join(
                [f"server {dns['server']} {dns['port']}", f"zone {zone}",
                 *module.rrset_lines(name, "A", 3600, [f"10.70.{i // 250}.{i % 250 + 1}"]),
                 "send", ""]
            )  # fmt: skip
            nsupdate(text)

    per_record, _ = timed(one_call_per_record)
    return {
        "records": RECORDS,
        "raw_nsupdate_s": raw,
        "ours_work_s": work,
        "ours_read_s": counts.get("dns_read_ms", 0) / 1000,
        "ours_update_s": counts.get("dns_update_ms", 0) / 1000,
        "ours_task_s": task,
        "ours_step_s": wall,
        "ratio_work": work / raw,
        "ratio_task": task / raw,
        "ratio_step": wall / raw,
        "per_record_nsupdate_s": per_record,
    }


def main() -> None:
    with bench_lab() as state:
        show("dns", bench_dns(state))


if __name__ == "__main__":
    main()
