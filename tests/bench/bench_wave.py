"""Migration benchmarks: each figure is a ratio against its baseline measured in the same run.

    python -m tests.bench.bench_wave [files|identity|dns|overhead ...]

files      the files role (rsync -aHAX --numeric-ids through Ansible) vs raw `rsync -a` on the
           same tree over the same SSH, then the final delta (the final_sync phase: copy and
           proof) after changing 1% of the files
identity   10,000 accounts through the identity module vs raw `ldapadd` of the same entries
dns        1,000 records cut over by the dns module vs raw `nsupdate` of the same changes
overhead   a whole wave through `eendracht wave` (runner, events, journal) vs the same
           ansible-playbook commands run one after another without it
Not collected by pytest; prints figures. Starts one lab (small) and always takes it down.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import yaml

from eendracht.lab import lab_down, lab_up
from eendracht.wave.journal import Journal
from eendracht.wave.paths import ANSIBLE_CFG, PLAYBOOKS, REPO_ROOT
from eendracht.wave.runner import Runner

MINI = REPO_ROOT / "tests" / "fixtures" / "programmes" / "mini"
FAKE_PLAYBOOKS = REPO_ROOT / "tests" / "wave" / "fake_playbooks"
FILES = int(os.environ.get("BENCH_FILES", "12000"))
BIG_FILES = int(os.environ.get("BENCH_BIG_FILES", "12"))
ACCOUNTS = int(os.environ.get("BENCH_ACCOUNTS", "10000"))
RECORDS = int(os.environ.get("BENCH_RECORDS", "1000"))
BIN = Path(sys.executable).parent


@contextmanager
def bench_lab() -> Iterator[Path]:
    state = Path(tempfile.mkdtemp(prefix="eendracht-bench-", dir="/tmp"))
    state.chmod(0o755)
    try:
        lab_up(MINI, scale="small", state=state)
        yield state
    finally:
        lab_down(state)
        shutil.rmtree(state, ignore_errors=True)


def timed(action: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    result = action()
    return time.perf_counter() - start, result


def run_step(
    state: Path, name: str, playbook_text: str, extravars: dict[str, Any], inventory: Path
) -> tuple[float, float, dict[str, int]]:
    """One step through the wave's Runner: (wall seconds, seconds of its tasks, its counts)."""
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
    wall, result = timed(lambda: runner.run_step("bench", name, name, playbook, (), {}))
    if result.status != "ok":
        raise RuntimeError(f"{name}: {result.failures}")
    tasks = journal.task_seconds(run_id)
    counts = journal.counts().get("bench", {})
    journal.close()
    return wall, tasks, counts


def _role_play(hosts: str, role: str, tasks_from: str, extra: str = "") -> str:
    roles = PLAYBOOKS / "roles"
    return (
        f"- name: bench {role} {tasks_from}\n  hosts: {hosts}\n  gather_facts: false\n{extra}"
        f"  tasks:\n    - name: {role} {tasks_from}\n      ansible.builtin.import_role:\n"
        f"        name: {roles / role}\n        tasks_from: {tasks_from}\n"
    )


def _lab(state: Path) -> dict[str, Any]:
    return dict(json.loads((state / "lab" / "lab.json").read_text()))


# --- files ----------------------------------------------------------------------------


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
    roots = {h: Path(f["root"]) for h, f in _lab(state)["fileservers"].items()}
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
    play = _role_play(source_host, "files", "presync")
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
    final = _role_play(source_host, "files", "final_sync")
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


# --- identity -------------------------------------------------------------------------


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

    lab = _lab(state)
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


# --- DNS ------------------------------------------------------------------------------


def bench_dns(state: Path) -> dict[str, float]:
    sys.path.insert(0, str(PLAYBOOKS / "roles" / "dns" / "library"))
    import eendracht_dns_batch as module

    dns = _lab(state)["dns"]
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


# --- orchestration overhead -----------------------------------------------------------


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


def show(name: str, figures: dict[str, float]) -> None:
    shown = ", ".join(
        f"{k}={v:.3f}" if isinstance(v, float) else f"{k}={v}" for k, v in figures.items()
    )
    print(f"{name}: {shown}", flush=True)


def main(selected: list[str] | None = None) -> None:
    chosen = selected or ["files", "identity", "dns", "overhead"]
    if "overhead" in chosen:
        show("overhead", bench_overhead())
    lab_benches = [b for b in ("files", "identity", "dns") if b in chosen]
    if lab_benches:
        with bench_lab() as state:
            for name in lab_benches:
                bench = {"files": bench_files, "identity": bench_identity, "dns": bench_dns}[name]
                show(name, bench(state))


if __name__ == "__main__":
    main(sys.argv[1:])
