"""Mail: one mailbox of 1,000 messages moved by the mail role's module, and by the
`mail_presync` step, vs raw doveadm.

python -m tests.bench.bench_mail          (BENCH_MESSAGES sets the count, BENCH_ROUNDS the rounds;
                                           BENCH_MAIL=module or step runs one part only)

The module (first part):

Two lab Dovecots (source and target) on a claimed 127.<lab>.9.x range; the source mailbox is
seeded once. Each round moves it into two fresh target users, in alternating order:

- raw: `doveadm -c <include> backup -R -u <user> -x shared -x shared/* imapc:` alone, with
  the same include (the recipe's settings), written beforehand and not timed;
- module: `eendracht_mailbox` state=moved as a process from its file (as Ansible runs it on
  the target): `work` is what it reports for the mailbox (target status, quota, source
  read over IMAP, the per-move include, doveadm, status again), `process` the whole module
  process, Python and Ansible's module code included.

Then a second module run of the same mailbox (nothing to copy) and a verification (both sides
read over IMAP, Message-IDs compared). Medians over the rounds; ratios against raw.

The step (second part), in a mini-ad lab (`lab_up`: noordwaard's IMAP server, the target
Dovecot whose people are the target DC's): the mailbox of pvandijk at noordwaard is replaced
by one of BENCH_MESSAGES messages (seeded as the first part's, the server running). Each
round makes two fresh target users in the target DC (over LDAPS, not timed), then, in
alternating order:

- raw: `doveadm backup` of the mailbox into one of them, the same include as the module
  writes (`move_config`: the target's config, the source as imapc), written beforehand;
- step: the play of `playbooks/presync.yml` tagged `mail_presync`, unchanged, through the
  wave's Runner (`run_in_phase`) with the extra vars of the lab's environment
  (`playbook_vars`: source and target mail servers) and the mailbox as the programme's
  `mailboxes` var, into the other (an identity map of the round's own names the old account
  to the new UPN): `play` is the step as a wave times it inside its phase's run, `task` the
  move task (its start event to its result, the module's start on the target mail server
  over SSH included), `run` the whole ansible-playbook run;
- again: the same step right after, nothing to copy (what a delta with no new mail costs);
- floor: the same play, hosts and extra vars, one debug task in place of the role's tasks.

Then once the `mail_cutover` step of the last round's mailbox (delta move and verification).
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml
from tests.bench.lab_bench import (
    MINI_AD,
    bench_lab,
    lab_json,
    playbook_play,
    run_in_phase,
    timed,
    wave_vars,
)

from eendracht.lab import claims, net
from eendracht.lab import dovecot as dv
from eendracht.lab.dovecot_seed import seed_user
from eendracht.lab.paths import LabPaths, write_secret
from eendracht.module_utils import load_module_utils
from eendracht.state import REPO_ROOT

MESSAGES = int(os.environ.get("BENCH_MESSAGES", "1000"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
SEED = 2024
MODULE = REPO_ROOT / "playbooks" / "roles" / "mail" / "library" / "eendracht_mailbox.py"
RUN_MODULE = (
    "import runpy, sys;"
    "from eendracht.module_utils import load_module_utils;"
    "load_module_utils('eendracht_mailmove');"
    "sys.argv = sys.argv[1:];"
    "runpy.run_path(sys.argv[0], run_name='__main__')"
)
mailmove = load_module_utils("eendracht_mailmove")


def _claim(state: Path) -> int:
    for attempt in range(net.LAB_OCTETS):
        octet = net.lab_octet(state, attempt)
        addresses = [dv.mail_address(octet, n) for n in (1, 254)]
        free = all(net.tcp_free(a, p) for a in addresses for p in (dv.IMAP_PORT, dv.IMAPS_PORT))
        if free and claims.claim(octet, state):
            return octet
    raise SystemExit("no free lab range for the mail servers")


def _server_args(server: dv.MailServer) -> dict[str, Any]:
    return {
        "host": server.address,
        "port": server.imaps_port,
        "ca_file": str(server.files.cert),
        "password_dir": str(server.files.secrets),
    }


def _module(args: dict[str, Any], state: Path) -> tuple[dict[str, Any], float]:
    path = state / "args.json"
    path.write_text(json.dumps({"ANSIBLE_MODULE_ARGS": args}))
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-c", RUN_MODULE, str(MODULE), str(path)],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT / "scripts")},
        check=False,
    )
    seconds = time.monotonic() - started
    result: dict[str, Any] = json.loads(done.stdout)
    if result.get("failed"):
        raise SystemExit(f"the module failed: {result.get('msg')}")
    return result, seconds


def _raw(source: dv.MailServer, target: dv.MailServer, user: str, state: Path) -> float:
    """doveadm backup alone, with the recipe's include written beforehand (not timed)."""
    params = {
        "source": {**_server_args(source), "tls": "imaps", "master_user": None},
        "target": {"config": str(target.files.config)},
        "exclude": ["shared", "shared/*"],
        "lock_timeout": 60,
    }
    move = {"source": "groot", "target": user, "source_login": "groot"}
    password = source.password_file("groot").read_text(encoding="utf-8")
    include = state / "raw-move.conf"
    write_secret(include, mailmove.move_config(params, move, password))
    argv = ["doveadm", "-c", str(include), "backup", "-R", "-u", user]
    argv += ["-x", "shared", "-x", "shared/*", "imapc:"]
    try:
        started = time.monotonic()
        subprocess.run(argv, capture_output=True, timeout=600, check=True)
        return time.monotonic() - started
    finally:
        include.unlink()


def module_bench() -> None:
    state = Path(tempfile.mkdtemp(prefix="eendracht-bench-mail-", dir="/tmp"))
    state.chmod(0o755)  # the mail processes (uid dovecot) must reach their Maildirs
    paths = LabPaths(state)
    paths.lab.mkdir()
    octet = _claim(state)
    groot = dv.MailUser("groot", "groot@noordwaard.nl", "Groot Archief")
    source = dv.MailServer(
        "bench-bron", dv.mail_address(octet, 1), dv.mail_root(paths, "bron"), (groot,)
    )
    users = [f"{kind}{n}" for n in range(ROUNDS + 1) for kind in ("raw", "mod")]
    target = dv.MailServer(
        "bench-doel",
        dv.mail_address(octet, 254),
        dv.mail_root(paths, "doel"),
        tuple(dv.MailUser(u, f"{u}@waardstad.nl", u) for u in users),
    )
    figures: dict[str, list[float]] = {"raw": [], "work": [], "process": []}
    try:
        for server in (source, target):
            dv.prepare(server)
        seed_user(source, groot, SEED, MESSAGES, attachments=1)
        for server in (source, target):
            record = dv.start(server, paths.pids)
            dv.wait_answering(server, record)
        base = {
            "state": "moved",
            "source": _server_args(source),
            "target": {**_server_args(target), "config": str(target.files.config)},
            "work_dir": str(state / "moves"),
            "parallel": 1,
        }
        for n in range(ROUNDS):
            order = ("raw", "mod") if n % 2 == 0 else ("mod", "raw")
            for kind in order:
                if kind == "raw":
                    figures["raw"].append(_raw(source, target, f"raw{n}", state))
                    continue
                args = {**base, "mailboxes": [{"source": "groot", "target": f"mod{n}"}]}
                result, seconds = _module(args, state)
                entry = result["mailboxes"][0]
                assert entry["messages"] == MESSAGES, entry
                figures["work"].append(entry["seconds"])
                figures["process"].append(seconds)
        args = {**base, "mailboxes": [{"source": "groot", "target": "mod0"}]}
        again, again_s = _module(args, state)
        assert again["changed"] is False
        verified, verify_s = _module({**args, "state": "verified"}, state)
        assert verified["scores"] == {"perfect": 1}
    finally:
        for server in (source, target):
            dv.stop(server, paths.pids)
        claims.release(octet, state)
        shutil.rmtree(state, ignore_errors=True)
    raw = statistics.median(figures["raw"])
    print(f"mailbox of {MESSAGES} messages, {ROUNDS} rounds (medians; every round in brackets)")
    for name, values in figures.items():
        rounds = ", ".join(f"{v:.3f}" for v in values)
        ratio = statistics.median(values) / raw
        print(f"  {name:8} {statistics.median(values):7.3f} s  {ratio:4.2f}x raw  [{rounds}]")
    print(f"  second run, nothing to copy (process): {again_s:.3f} s")
    print(f"  verification, both sides over IMAP (process): {verify_s:.3f} s")


MUNICIPALITY = "noordwaard"
SOURCE_USER = dv.MailUser("pvandijk", "pieter.vandijk@noordwaard.nl", "Pieter van Dijk")
MOVE_TASK = "Move the mailboxes into the target mail server"


def _target_user(wave: dict[str, Any], name: str, domain: str) -> str:
    """A fresh account in the target DC (disabled, as the identity step leaves it before
    cutover) under the people's OU the target Dovecot searches; returns its UPN."""
    directory = wave["target_services"]["directory"]
    upn = f"{name}@{domain}"
    ldif = (
        f"dn: CN={name},{directory['people_dn']}\nobjectClass: user\n"
        f"sAMAccountName: {name.replace('.', '')[:20]}\nuserPrincipalName: {upn}\n"
        "userAccountControl: 514\n"
    )
    env = {**os.environ, "LDAPTLS_CACERT": directory["ca_file"], "LDAPTLS_REQCERT": "demand"}
    argv = ["ldapadd", "-x", "-H", directory["uri"], "-D", directory["bind_dn"]]
    argv += ["-y", directory["password_file"]]
    subprocess.run(argv, input=ldif, text=True, env=env, capture_output=True, timeout=60,
                   check=True)  # fmt: skip
    return upn


def _messages(config: str, user: str) -> int:
    done = subprocess.run(
        ["doveadm", "-c", config, "-f", "flow", "mailbox", "status", "-t", "-u", user,
         "messages", "*"],
        capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    return int(done.stdout.strip().split("=", 1)[1])


def step_bench(state: Path, wave: dict[str, Any]) -> dict[str, list[float]]:
    source_vars = wave["source_services"]["mail"]
    target_vars = wave["target_services"]["mail"]
    config = target_vars["config"]
    lab = lab_json(state)
    root = Path(lab["mail_servers"][MUNICIPALITY]["root"])
    source = dv.MailServer(MUNICIPALITY, source_vars["host"], root, (SOURCE_USER,))
    shutil.rmtree(source.files.home(SOURCE_USER.account) / "Maildir")
    seed_user(source, SOURCE_USER, SEED, MESSAGES, attachments=1)
    if _messages(str(source.files.config), SOURCE_USER.account) != MESSAGES:
        raise SystemExit("the source mailbox was not seeded")
    work = state / "bench" / "mail"
    work.mkdir(parents=True, exist_ok=True)
    base = {k: v for k, v in wave.items() if k != "wave_dir"}
    mailbox = {"address": SOURCE_USER.mail, "kind": "user", "owner": SOURCE_USER.account}
    inventory = state / "lab" / "environment" / "hosts.yml"
    presync = playbook_play("presync", "mail_presync")
    floor_play = yaml.safe_load(presync)
    floor_play[0]["tasks"] = [{"name": "An empty step", "ansible.builtin.debug": {"msg": "-"}}]
    floor_text = yaml.safe_dump(floor_play, sort_keys=False)

    def extravars(target: str) -> dict[str, Any]:
        mapping = work / f"identity-map-{target.split('@')[0]}.json"
        mapping.write_text(json.dumps({"identities": [
            {"old_account": SOURCE_USER.account, "old_mail": SOURCE_USER.mail, "upn": target}
        ]}))  # fmt: skip
        return {**base, "identity_map_file": str(mapping), "mailboxes": [mailbox],
                "mail_work_dir": str(work / "moves")}  # fmt: skip

    def raw(user: str) -> float:
        params = {
            "source": {**source_vars, "master_user": None},
            "target": {"config": config},
        }
        move = {"source": SOURCE_USER.account, "target": user,
                "source_login": SOURCE_USER.account}  # fmt: skip
        password = Path(source_vars["password_dir"]) / f"{SOURCE_USER.account}.password"
        include = work / "raw-move.conf"
        write_secret(include, mailmove.move_config(params, move, password.read_text()))
        argv = ["doveadm", "-c", str(include), "backup", "-R", "-u", user]
        argv += ["-x", "shared", "-x", "shared/*", "imapc:"]
        try:
            seconds, _ = timed(
                lambda: subprocess.run(argv, capture_output=True, timeout=600, check=True)
            )
        finally:
            include.unlink()
        if _messages(config, user) != MESSAGES:
            raise SystemExit(f"raw doveadm backup did not copy {MESSAGES} messages to {user}")
        return seconds

    figures: dict[str, list[float]] = {
        k: [] for k in ("raw", "play", "task", "other_tasks", "run", "again", "again_task", "floor")
    }
    last = ""
    for n in range(ROUNDS):
        raw_user = _target_user(wave, f"bench.raw{n}", lab["mail_domain"])
        step_user = _target_user(wave, f"bench.step{n}", lab["mail_domain"])

        def step(n: int = n, user: str = step_user) -> None:
            run = run_in_phase(state, f"mail-presync-{n}", presync, extravars(user), inventory)
            if run.counts.get("messages") != MESSAGES or _messages(config, user) != MESSAGES:
                raise SystemExit(f"the step did not move {MESSAGES} messages: {run.counts}")
            task = next(s for t, s in run.by_task.items() if MOVE_TASK in t)
            figures["play"].append(run.step)
            figures["task"].append(task)
            figures["run"].append(run.run)
            # The role's other tasks: argument spec, asserts, the skipped Exchange Online ones.
            figures["other_tasks"].append(
                sum(s for t, s in run.by_task.items() if MOVE_TASK not in t)
            )
            again = run_in_phase(state, f"mail-again-{n}", presync, extravars(user), inventory)
            if again.counts.get("messages", 0) != 0:
                raise SystemExit(f"the second step moved messages: {again.counts}")
            figures["again"].append(again.step)
            figures["again_task"].append(
                next(s for t, s in again.by_task.items() if MOVE_TASK in t)
            )

        def raw_once(user: str = raw_user) -> None:
            figures["raw"].append(raw(user))

        for action in (raw_once, step) if n % 2 == 0 else (step, raw_once):
            action()
        floor = run_in_phase(state, f"mail-floor-{n}", floor_text, extravars(step_user), inventory)
        figures["floor"].append(floor.step)
        shown = ", ".join(f"{k}={v[-1]:.3f}" for k, v in figures.items())
        print(f"mail step round {n + 1}: {shown}", flush=True)
        last = step_user
    cutover = run_in_phase(
        state, "mail-cutover", playbook_play("cutover", "mail_cutover"), extravars(last), inventory
    )
    figures["cutover"] = [cutover.step]
    figures["cutover_tasks"] = [cutover.tasks]
    return figures


def step_report(figures: dict[str, list[float]]) -> None:
    raw = figures["raw"]
    print(f"mail step, mailbox of {MESSAGES} messages, {ROUNDS} rounds (medians; every round"
          " in brackets; ratio: median of each round's ratio to its raw)")  # fmt: skip
    for name in ("raw", "play", "task", "other_tasks", "run", "again", "again_task", "floor"):
        values = figures[name]
        rounds = ", ".join(f"{v:.3f}" for v in values)
        ratio = statistics.median(v / r for v, r in zip(values, raw, strict=True))
        print(f"  {name:10} {statistics.median(values):7.3f} s  {ratio:4.2f}x raw  [{rounds}]")
    above = statistics.median(
        (p - f) / r for p, f, r in zip(figures["play"], figures["floor"], raw, strict=True)
    )
    print(f"  play above the floor: {above:4.2f}x raw")
    print(f"  mail_cutover step (delta, nothing new, and verification): {figures['cutover'][0]:.3f} s"
          f" (its tasks {figures['cutover_tasks'][0]:.3f} s)")  # fmt: skip


def main() -> None:
    part = os.environ.get("BENCH_MAIL", "")
    if part in ("", "module"):
        module_bench()
    if part in ("", "step"):
        with bench_lab(MINI_AD) as state, wave_vars(state, MINI_AD, MUNICIPALITY) as wave:
            step_report(step_bench(state, wave))


if __name__ == "__main__":
    main()
