"""Processes the lab starts: each recorded by pid (and start time) under `<state>/lab/pids/`.

The lab stops exactly the processes it recorded, after checking that the pid still is the
same process (same start time), so a recycled pid is never signalled.
"""

from __future__ import annotations

import contextlib
import json
import os
import pwd
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from eendracht.lab.errors import LabError


def run_bounded(
    argv: Sequence[str],
    env: Mapping[str, str],
    what: str,
    timeout: float,
    *,
    stdin: str | None = None,
    cwd: Path | None = None,
) -> subprocess.CompletedProcess[str]:
    """`argv` run to its end, its output captured; LabError naming `what` when it gives no
    answer within `timeout` seconds. A non-zero exit is the caller's to read."""
    try:
        return subprocess.run(
            list(argv),
            input=stdin,
            stdin=None if stdin is not None else subprocess.DEVNULL,
            env=dict(env),
            capture_output=True,
            text=True,
            check=False,
            timeout=timeout,
            cwd=cwd,
        )
    except subprocess.TimeoutExpired as exc:
        raise LabError(f"{what}: no answer within {timeout:.0f} s") from exc


@dataclass(frozen=True)
class Recorded:
    name: str
    pid: int
    start_time: int  # field 22 of /proc/<pid>/stat: clock ticks since boot
    argv: list[str]
    log: str


def _stat(pid: int) -> list[str] | None:
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (field 2) may contain spaces; fields after its ')' are plain.
    return [raw[: raw.index("(")].strip(), "comm", *raw[raw.rindex(")") + 2 :].split()]


def start_time(pid: int) -> int | None:
    fields = _stat(pid)
    return int(fields[21]) if fields else None


def _state(pid: int) -> str | None:
    fields = _stat(pid)
    return fields[2] if fields else None


def is_running(rec: Recorded) -> bool:
    """True while the recorded process exists, is the same process and is not a zombie."""
    state = _state(rec.pid)
    if state is None or state in ("Z", "X"):
        return False
    return start_time(rec.pid) == rec.start_time


def spawn(
    name: str,
    argv: Sequence[str],
    pids: Path,
    log: Path,
    *,
    env: Mapping[str, str] | None = None,
    user: str | None = None,
    cwd: Path | None = None,
) -> Recorded:
    """Start a foreground daemon in its own session, output to its log, and record it.

    The child records itself (pid and start time) before it executes the daemon, so even if
    this process is killed right after the fork, `down` finds the daemon by its pid.
    """
    pids.mkdir(parents=True, exist_ok=True)
    log.parent.mkdir(parents=True, exist_ok=True)
    ids = pwd.getpwnam(user) if user else None

    def record_then_drop_privileges() -> None:  # runs in the child, between fork and exec
        pid = os.getpid()
        rec = Recorded(name, pid, start_time(pid) or 0, list(argv), str(log))
        (pids / f"{name}.json").write_text(json.dumps(asdict(rec)) + "\n")
        (pids / f"{name}.pid").write_text(f"{pid}\n")  # for `kill -HUP $(cat ...)`
        if ids is not None:
            os.setgroups([])
            os.setgid(ids.pw_gid)
            os.setuid(ids.pw_uid)

    with open(log, "ab") as out:
        proc = subprocess.Popen(
            list(argv),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            close_fds=True,
            env=dict(env) if env is not None else None,
            cwd=cwd,
            preexec_fn=record_then_drop_privileges,
        )
    # The Popen object is dropped on purpose: the daemon outlives this process. Python's
    # subprocess module reaps it if it dies while we still run.
    rec = next((r for r in recorded(pids) if r.name == name and r.pid == proc.pid), None)
    if rec is None or not is_running(rec):
        raise LabError(f"{name} exited at once; see {log}")
    return rec


def recorded(pids: Path) -> list[Recorded]:
    if not pids.is_dir():
        return []
    out = []
    for path in sorted(pids.glob("*.json")):
        with contextlib.suppress(ValueError, TypeError, KeyError, OSError):
            out.append(Recorded(**json.loads(path.read_text())))
    return out


def _reap(pid: int) -> None:
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)


def _children_map() -> dict[int, list[int]]:
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            fields = _stat(int(entry.name))
            if fields and fields[2] not in ("Z", "X"):
                parents.setdefault(int(fields[3]), []).append(int(entry.name))
    return parents


def descendants(pids: list[int]) -> list[Recorded]:
    """Live children (and theirs) of these processes, e.g. sshd's per-connection processes."""
    parents = _children_map()
    out: list[Recorded] = []
    todo = [c for pid in pids for c in parents.get(pid, [])]
    while todo:
        child = todo.pop()
        started = start_time(child)
        if started is not None:
            out.append(Recorded(f"child-{child}", child, started, [], ""))
            todo.extend(parents.get(child, []))
    return out


def _signal_and_wait(targets: list[Recorded], sig: int, timeout: float) -> None:
    for rec in targets:
        if is_running(rec):
            with contextlib.suppress(ProcessLookupError):
                os.kill(rec.pid, sig)
    deadline = time.monotonic() + timeout
    while any(is_running(r) for r in targets) and time.monotonic() < deadline:
        for rec in targets:
            _reap(rec.pid)
        time.sleep(0.05)


def stop_all(
    records: list[Recorded], pids: Path, sig: int = signal.SIGTERM, timeout: float = 10.0
) -> list[str]:
    """Signal the recorded processes (and the children they forked) together, wait until
    they are gone, SIGKILL whatever lingers. Returns the names of those that were running."""
    running = [r for r in records if is_running(r)]
    children = descendants([r.pid for r in running])
    _signal_and_wait(running, sig, timeout)
    _signal_and_wait([c for c in children if is_running(c)], signal.SIGTERM, 2.0)
    _signal_and_wait([r for r in [*running, *children] if is_running(r)], signal.SIGKILL, 5.0)
    for rec in records:
        _reap(rec.pid)
        (pids / f"{rec.name}.json").unlink(missing_ok=True)
        (pids / f"{rec.name}.pid").unlink(missing_ok=True)
    return [r.name for r in running]


def processes_referencing(text: str) -> list[int]:
    """Pids of live processes whose command line mentions `text` (used to prove `down`)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if text in cmdline and _state(int(entry.name)) not in (None, "Z", "X"):
            found.append(int(entry.name))
    return found


def run(argv: Sequence[str], what: str, **kwargs: object) -> str:
    """Run a set-up command; on failure a LabError that says what failed and its output."""
    try:
        done = subprocess.run(
            list(argv),
            check=True,
            capture_output=True,
            text=True,
            **kwargs,  # type: ignore[call-overload]
        )
    except FileNotFoundError as exc:
        raise LabError(f"{what}: {exc.filename} is not installed (run `make setup`)") from None
    except subprocess.CalledProcessError as exc:
        detail = (exc.stderr or exc.stdout or "").strip().splitlines()[-5:]
        raise LabError(f"{what} failed: " + " | ".join(detail)) from None
    return str(done.stdout)
