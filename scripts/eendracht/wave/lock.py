"""One wave per municipality at a time: an OS file lock (flock) with the holder written in it.

flock is released by the kernel when its holder dies, so a `kill -9` never leaves the wave
locked; the pid in the file then names a dead process and is reported as stale.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import json
import os
from pathlib import Path
from types import TracebackType

LOCKED_EXIT = 3


class WaveLocked(Exception):
    def __init__(self, municipality: str, pid: int | None, since: str | None) -> None:
        self.pid, self.since = pid, since
        who = f"pid {pid} since {since}" if pid else "another process"
        super().__init__(f"wave for {municipality} is running ({who})")


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class WaveLock:
    def __init__(self, path: Path, municipality: str) -> None:
        self.path = path
        self.municipality = municipality
        self._fd: int | None = None
        self.stale_holder: int | None = None  # pid of a dead previous holder, if any

    def holder(self) -> tuple[int | None, str | None]:
        try:
            data = json.loads(self.path.read_text())
        except (OSError, ValueError):
            return None, None
        return int(data.get("pid", 0)) or None, data.get("since")

    def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            pid, since = self.holder()
            raise WaveLocked(self.municipality, pid, since) from None
        old_pid, _ = self.holder()
        if old_pid and old_pid != os.getpid() and not pid_alive(old_pid):
            self.stale_holder = old_pid
        since = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps({"pid": os.getpid(), "since": since}).encode(), 0)
        self._fd = fd

    def release(self) -> None:
        if self._fd is None:
            return
        os.ftruncate(self._fd, 0)
        fcntl.flock(self._fd, fcntl.LOCK_UN)
        os.close(self._fd)
        self._fd = None

    def __enter__(self) -> WaveLock:
        self.acquire()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()
