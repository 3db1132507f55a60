"""A canary watch: scans every process's command line for secrets while a test runs."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path


class CommandLineWatch(threading.Thread):
    """Scans /proc/*/cmdline every 10 ms until `stop()`; `hits` keeps each command line that
    showed a secret. `secrets` may grow while it runs; `more` (if given) is asked for further
    secrets before every scan (e.g. passwords that only exist once a hand-over file is written)."""

    def __init__(self, *secrets: bytes, more: Callable[[], Iterable[bytes]] | None = None) -> None:
        super().__init__(daemon=True)
        self.secrets: set[bytes] = {s for s in secrets if s}
        self.more = more
        self.hits: list[str] = []
        self.scans = 0
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.is_set():
            if self.more is not None:
                self.secrets.update(s for s in self.more() if s)
            needles = list(self.secrets)
            for entry in Path("/proc").iterdir():
                if not entry.name.isdigit():
                    continue
                with contextlib.suppress(OSError):
                    raw = (entry / "cmdline").read_bytes()
                    if any(n in raw for n in needles):
                        self.hits.append(raw.replace(b"\0", b" ").decode(errors="replace"))
            self.scans += 1
            time.sleep(0.01)

    def stop(self) -> None:
        self.done.set()
        self.join(timeout=5)
