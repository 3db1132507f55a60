"""The lab's memory with four Samba AD DCs: `lab up` of the ple1n example programme (three AD
municipalities and the target domain), RSS and PSS of every process of each DC, then `lab down`.

A DC's processes: the session of the pid the lab recorded for it (`<state>/lab/pids/
samba-<name>.json`; `procs.spawn` starts each daemon in a session of its own) and any process
whose command line names the DC's folder. RSS and PSS come from /proc/<pid>/smaps_rollup; RSS
summed counts a page shared by several processes once per process, PSS splits it between them
(the memory the DC really costs). Measured twice: idle, right after `lab up`, and after every
DC has served clients (a paged read of its whole directory over LDAPS, bound as
Administrator, twice), when Samba's caches are filled. The whole lab (every process it recorded, with
their sessions) is shown for comparison.

python -m tests.bench.bench_lab_memory     (BENCH_PROGRAMME: another programme with AD domains)
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import Any, NamedTuple

from tests.bench.lab_bench import lab_json

from eendracht.lab import lab_down, lab_up, procs, samba_run
from eendracht.wave.paths import REPO_ROOT

PROGRAMME = Path(os.environ.get("BENCH_PROGRAMME", str(REPO_ROOT / "inventory" / "ple1n")))
LIMIT = 900  # seconds for the whole benchmark, lab up and down included
MIB = 1024.0


class Memory(NamedTuple):
    processes: int
    rss_kib: int
    pss_kib: int


def _rollup(pid: int) -> tuple[int, int]:
    """(Rss, Pss) of a process in KiB, from smaps_rollup; (0, 0) if it is gone."""
    rss = pss = 0
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Rss:"):
                rss = int(line.split()[1])
            elif line.startswith("Pss:"):
                pss = int(line.split()[1])
    return rss, pss


def memory(pids: Iterable[int]) -> Memory:
    found = [_rollup(p) for p in sorted(set(pids))]
    return Memory(len(found), sum(r for r, _ in found), sum(p for _, p in found))


def lab_processes(state: Path) -> dict[str, list[int]]:
    """Every process the lab recorded (by name), with the session it started and its children."""
    sessions = samba_run.sessions()
    out = {}
    for rec in procs.recorded(state / "lab" / "pids"):
        if procs.is_running(rec):
            pids = {rec.pid, *sessions.get(rec.pid, [])}
            pids.update(c.pid for c in procs.descendants([rec.pid]))
            out[rec.name] = sorted(pids)
    return out


def dc_processes(state: Path, lab: dict[str, Any]) -> dict[str, list[int]]:
    by_name = lab_processes(state)
    out = {}
    for name, dc in lab["domain_controllers"].items():
        pids = set(by_name.get(f"samba-{name}", []))
        pids.update(procs.processes_referencing(dc["directory"]))
        if not pids:
            raise RuntimeError(f"no process of the DC {name} is running")
        out[name] = sorted(pids)
    return out


def serve_clients(dc: dict[str, Any]) -> int:
    """A paged read of the DC's whole directory over LDAPS as Administrator; entries read."""
    done = subprocess.run(
        ["ldapsearch", "-x", "-LLL", "-H", dc["ldaps_uri"], "-o", "nettimeout=10",
         "-D", dc["admin_principal"], "-y", dc["admin_password_file"],
         "-E", "pr=500/noprompt", "-b", dc["base_dn"], "(objectClass=*)"],
        env={**os.environ, "LDAPTLS_CACERT": dc["ca_file"], "LDAPTLS_REQCERT": "demand"},
        capture_output=True, text=True, check=False, timeout=120,
    )  # fmt: skip
    if done.returncode != 0:
        raise RuntimeError(f"ldapsearch on {dc['ldaps_uri']} failed: {done.stderr.strip()[-300:]}")
    return sum(line.startswith("dn:") for line in done.stdout.splitlines())


def show_memory(when: str, per_dc: dict[str, Memory], lab: Memory) -> None:
    print(f"-- {when}", flush=True)
    for name, m in per_dc.items():
        print(
            f"  DC {name}: {m.processes} processes, RSS {m.rss_kib / MIB:.1f} MiB, "
            f"PSS {m.pss_kib / MIB:.1f} MiB"
        )
    total = Memory(*(sum(col) for col in zip(*per_dc.values(), strict=True)))
    print(
        f"  all {len(per_dc)} DCs: {total.processes} processes, RSS {total.rss_kib / MIB:.1f} MiB,"
        f" PSS {total.pss_kib / MIB:.1f} MiB"
    )
    print(
        f"  the whole lab (every recorded process): {lab.processes} processes, "
        f"RSS {lab.rss_kib / MIB:.1f} MiB, PSS {lab.pss_kib / MIB:.1f} MiB",
        flush=True,
    )


def _program(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return "?"


def measure(state: Path, lab: dict[str, Any], when: str) -> None:
    per_dc = {name: memory(pids) for name, pids in dc_processes(state, lab).items()}
    services = lab_processes(state)
    everything = memory(p for pids in services.values() for p in pids)
    show_memory(when, per_dc, everything)
    kinds: dict[str, list[int]] = {}
    for rec in procs.recorded(state / "lab" / "pids"):  # by the program the lab started
        kinds.setdefault(_program(rec.pid), []).extend(services.get(rec.name, []))
    by_kind = sorted(((k, memory(p)) for k, p in kinds.items()), key=lambda km: -km[1].pss_kib)
    shown = ", ".join(f"{k} {m.pss_kib / MIB:.0f} ({m.processes})" for k, m in by_kind)
    print(f"  the lab's PSS by program, MiB (processes): {shown}", flush=True)


class OutOfTime(Exception):
    pass


@contextmanager
def bounded(seconds: int) -> Iterator[None]:
    def expire(signum: int, frame: FrameType | None) -> None:
        raise OutOfTime(f"the benchmark took more than {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def main() -> None:
    print(f"load average at the start: {os.getloadavg()[0]:.2f}", flush=True)
    state = Path(tempfile.mkdtemp(prefix="eendracht-bench-mem-", dir="/tmp"))
    state.chmod(0o755)  # PostgreSQL runs as `postgres` and must traverse the state
    try:
        with bounded(LIMIT):
            began = time.monotonic()
            lab_up(PROGRAMME, scale="small", state=state)
            print(f"lab up of {PROGRAMME.name}: {time.monotonic() - began:.1f} s", flush=True)
            lab = lab_json(state)
            time.sleep(2)  # the DCs' start-up work (e.g. their first DNS and KDC) settles
            measure(state, lab, "idle, right after lab up")
            for _ in range(2):
                read = {n: serve_clients(dc) for n, dc in lab["domain_controllers"].items()}
            shown = ", ".join(f"{n} {k}" for n, k in read.items())
            measure(state, lab, f"after clients (entries read per DC: {shown})")
    finally:
        began = time.monotonic()
        lab_down(state)
        print(f"lab down: {time.monotonic() - began:.1f} s")
        shutil.rmtree(state, ignore_errors=True)


if __name__ == "__main__":
    main()
