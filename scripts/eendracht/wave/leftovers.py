"""Ansible processes a killed run left behind: found by the wave folder in their command line
(ansible-runner gives ansible-playbook the wave's inventory and extra-vars file), so one is
found even when the journal never learned its pid."""

from __future__ import annotations

import contextlib
import os
import signal
import time
from pathlib import Path


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def leftover_processes(wave_dir: Path) -> list[int]:
    """Ansible processes (ansible-playbook and its forked workers) working for this wave."""
    marker = str(wave_dir.resolve()).encode() + b"/"
    me = os.getpid()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == me:
            continue
        cmdline = _cmdline(int(entry.name))
        if b"ansible" in cmdline and marker in cmdline:
            found.append(int(entry.name))
    return sorted(found)


def stop_leftovers(wave_dir: Path, timeout: float = 10.0) -> tuple[list[int], list[int]]:
    """SIGTERM, then SIGKILL; returns (stopped, still running)."""
    pids = leftover_processes(wave_dir)
    if not pids:
        return [], []
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pid in leftover_processes(wave_dir):
            # ansible-runner makes ansible-playbook a session leader: its group holds the
            # workers and the ssh clients too.
            with contextlib.suppress(ProcessLookupError, PermissionError):
                group = os.getpgid(pid)
                if group == pid:
                    os.killpg(group, sig)
                else:
                    os.kill(pid, sig)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and leftover_processes(wave_dir):
            time.sleep(0.1)
        if not leftover_processes(wave_dir):
            break
    remaining = leftover_processes(wave_dir)
    return [p for p in pids if p not in remaining], remaining
