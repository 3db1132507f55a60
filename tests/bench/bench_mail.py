"""Mail: one mailbox of 1,000 messages moved by the mail role's module vs raw doveadm.

python -m tests.bench.bench_mail          (BENCH_MESSAGES sets the count, BENCH_ROUNDS the rounds)

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


def main() -> None:
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


if __name__ == "__main__":
    main()
