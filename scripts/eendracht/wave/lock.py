"""One wave per municipality at a time: an OS file lock (flock) with the holder written in it.

flock is released by the kernel when its holder dies, so a `kill -9` never leaves the wave
locked; the pid in the file then names a dead process and is reported as stale. The file
names the holder — operating-system user, host, pid and since when — so a refused run says
whom to ask.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import json
import os
import pwd
import socket
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

LOCKED_EXIT = 3


def os_user() -> str:
    """The name of the effective user of this process (its uid when it has no name)."""
    uid = os.geteuid()
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)


def host_name() -> str:
    return socket.gethostname()


@dataclass(frozen=True)
class Holder:
    pid: int | None = None
    since: str | None = None
    user: str | None = None
    host: str | None = None

    def describe(self) -> str:
        if not self.pid:
            return "another process"
        parts = []
        if self.user:
            parts.append(f"user {self.user}" + (f" on host {self.host}" if self.host else ""))
        elif self.host:
            parts.append(f"on host {self.host}")
        parts.append(f"pid {self.pid}")
        if self.since:
            parts.append(f"since {self.since}")
        return ", ".join(parts)


class WaveLocked(Exception):
    def __init__(self, municipality: str, holder: Holder) -> None:
        self.holder = holder
        self.pid, self.since = holder.pid, holder.since
        self.user, self.host = holder.user, holder.host
        super().__init__(f"wave for {municipality} is running ({holder.describe()})")


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

    def holder(self) -> Holder:
        try:
            data = json.loads(self.path.read_text())
        except (OSError, ValueError):
            return Holder()
        if not isinstance(data, dict):
            return Holder()

        def text(key: str) -> str | None:
            value = data.get(key)
            return str(value) if value else None

        try:
            pid = int(data.get("pid") or 0) or None
        except (TypeError, ValueError):
            pid = None
        return Holder(pid=pid, since=text("since"), user=text("user"), host=text("host"))

    def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise WaveLocked(self.municipality, self.holder()) from None
        old_pid = self.holder().pid
        if old_pid and old_pid != os.getpid() and not pid_alive(old_pid):
            self.stale_holder = old_pid
        since = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        me = {"pid": os.getpid(), "user": os_user(), "host": host_name(), "since": since}
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(me).encode(), 0)
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
