"""Identity: accounts through the identity module vs raw `ldapadd` of the same entries.

python -m tests.bench.bench_identity     (BENCH_ACCOUNTS sets the count)
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.bench.lab_bench import ACCOUNTS, bench_lab, lab_json, run_step, show, timed

from eendracht.wave.paths import PLAYBOOKS

DEPARTMENTS = [f"Afdeling {n}" for n in ("A", "B", "C", "D", "E", "F", "G", "H", "I", "J")]


def identities(count: int) -> list[dict[str, Any]]:
    out = []
    for i in range(count):
        username = f"m.medewerker{i:05d}"
        out.append(
            {
                "username": username,
                "display_name": f"Medewerker {i:05d} van der Bank",
                "given_name": "Medewerker",
                "prefix": "van der",
                "surname": f"Bank{i:05d}",
                "mail": f"{username}@waardstad.nl",
                "aliases": [f"mw{i:05d}@bench.nl"],
                "department": DEPARTMENTS[i % len(DEPARTMENTS)],
                "old_account": f"mw{i:05d}",
                "enabled": True,
                "upn": f"{username}@waardstad.nl",
            }
        )
    return out


def _ldap(directory: dict[str, Any], tool: str, ldif: str) -> None:
    subprocess.run(
        [tool, "-x", "-H", directory["uri"], "-D", directory["bind_dn"], "-y",
         directory["password_file"]],
        input=ldif, text=True, check=True, capture_output=True,
    )  # fmt: skip


def bench_identity(state: Path) -> dict[str, float]:
    sys.path.insert(0, str(PLAYBOOKS / "roles" / "identity" / "library"))
    import eendracht_directory as module  # the module's own LDIF writer, for the same entries

    lab = lab_json(state)
    target = lab["target_directory"]
    base = target["base_dn"]
    people = identities(ACCOUNTS)
    container = {"objectClass": ["organizationalUnit"], "ou": ["bench-raw"]}
    _ldap(target, "ldapadd", module.add_record(f"ou=bench-raw,{base}", container))
    raw_ldif = "".join(
        module.add_record(
            f"uid={p['username']},ou=bench-raw,{base}",
            {
                "objectClass": module.ACCOUNT_CLASSES,
                **module.desired_account(p, "bench"),
                "eendrachtDisabled": ["TRUE"],
            },
        )
        for p in people
    )
    raw_file = state / "bench-raw.ldif"
    raw_file.write_text(raw_ldif)
    raw, _ = timed(
        lambda: subprocess.run(
            [
                "ldapadd",
                "-x",
                "-H",
                target["uri"],
                "-D",
                target["bind_dn"],
                "-y",
                target["password_file"],
                "-f",
                str(raw_file),
            ],
            check=True,
            capture_output=True,
        )
    )
    mapping = state / "bench-mapping.json"
    mapping.write_text(json.dumps({"municipality": "bench", "identities": people}))
    source = {**target, "people_dn": f"ou=nobody,{base}"}
    ours_target = {
        **target,
        "people_dn": f"ou=bench-ours,{base}",
        "groups_dn": f"ou=bench-groups,{base}",
    }
    play = (
        "- name: bench identity\n  hosts: localhost\n  connection: local\n  gather_facts: false\n"
        "  tasks:\n    - name: Accounts in bulk\n      eendracht_directory:\n        state: present\n"
        '        mapping_file: "{{ mapping }}"\n        source: "{{ source }}"\n'
        '        target: "{{ ours }}"\n'
    )
    os.environ["ANSIBLE_LIBRARY"] = str(PLAYBOOKS / "roles" / "identity" / "library")
    extravars = {"mapping": str(mapping), "source": source, "ours": ours_target}
    inventory = state / "lab" / "environment" / "hosts.yml"
    wall, task, _ = run_step(state, "identity-full", play, extravars, inventory)
    again_wall, again_task, _ = run_step(state, "identity-again", play, extravars, inventory)
    return {
        "accounts": ACCOUNTS,
        "raw_ldapadd_s": raw,
        "ours_step_s": wall,
        "ours_task_s": task,
        "throughput_ratio_task": raw / task,
        "throughput_ratio_step": raw / wall,
        "idempotent_rerun_step_s": again_wall,
        "idempotent_rerun_task_s": again_task,
    }


def main() -> None:
    with bench_lab() as state:
        show("identity", bench_identity(state))


if __name__ == "__main__":
    main()
