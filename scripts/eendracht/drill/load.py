"""The drill's write load: small, bounded, and acknowledged, so RPO is measured, not assumed.

Two writers run against the primary site until it goes away (or their bound is reached):
- rows: one transaction per row into `eendracht_drill.writes`, each through psql; psql's exit
  0 is the commit's acknowledgement (with synchronous replication: after the standby has it);
- files: one ssh session to the primary file server writes one file per request and answers
  with its SHA-256 once it is written.

Every acknowledgement is appended to `acks.log` at once (a line per write, flushed), so a
drill killed during the outage still knows what was committed before it.
"""

from __future__ import annotations

import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from eendracht.drill.sites import DRILL_DATABASE, SiteError, Sites, drill_files_dir

ROW_INTERVAL = 0.05  # seconds between two row writes: at most 20 a second
FILE_INTERVAL = 0.1  # at most 10 files a second
MAX_ROWS = 3000
MAX_FILES = 600
FILE_BYTES = 2048


@dataclass
class Acks:
    rows: set[int] = field(default_factory=set)
    files: dict[str, str] = field(default_factory=dict)  # name -> sha256

    @classmethod
    def read(cls, path: Path) -> Acks:
        acks = cls()
        if not path.exists():
            return acks
        for line in path.read_text(encoding="utf-8").splitlines():
            words = line.split()
            if len(words) == 2 and words[0] == "row":
                acks.rows.add(int(words[1]))
            elif len(words) == 3 and words[0] == "file":
                acks.files[words[1]] = words[2]
        return acks


def prepare(sites: Sites) -> None:
    """The drill's database and table on the primary (created once; they replicate)."""
    exists = sites.psql("primary", f"SELECT 1 FROM pg_database WHERE datname = '{DRILL_DATABASE}'")
    if not exists.strip():
        sites.psql("primary", f"CREATE DATABASE {DRILL_DATABASE}")
    sites.psql(
        "primary",
        "CREATE TABLE IF NOT EXISTS writes (run integer NOT NULL, n integer NOT NULL, "
        "written_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (run, n))",
        db=DRILL_DATABASE,
    )


class WriteLoad:
    def __init__(self, sites: Sites, run: int, acks_file: Path) -> None:
        self.sites = sites
        self.run = run
        self.acks_file = acks_file
        self.stop = threading.Event()
        self._lock = threading.Lock()
        self._threads = [
            threading.Thread(target=self._rows, name="drill-rows", daemon=True),
            threading.Thread(target=self._files, name="drill-files", daemon=True),
        ]
        self.errors: list[str] = []  # why each writer ended (the outage, normally)

    def _ack(self, line: str) -> None:
        with self._lock, open(self.acks_file, "a", encoding="utf-8") as fh:
            fh.write(line + "\n")
            fh.flush()

    def __enter__(self) -> WriteLoad:
        self.acks_file.parent.mkdir(parents=True, exist_ok=True)
        for t in self._threads:
            t.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        for t in self._threads:
            t.join(timeout=30)

    def wait_for_first(self, timeout: float = 15.0) -> Acks:
        """Until each writer has at least one acknowledged write (or `timeout`)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            acks = Acks.read(self.acks_file)
            if acks.rows and acks.files:
                return acks
            if len(self.errors) == len(self._threads):
                break
            time.sleep(0.05)
        return Acks.read(self.acks_file)

    def _rows(self) -> None:
        n = max(Acks.read(self.acks_file).rows, default=0)
        while not self.stop.is_set() and n < MAX_ROWS:
            n += 1
            try:
                self.sites.psql(
                    "primary",
                    f"INSERT INTO writes (run, n) VALUES ({self.run}, {n}) ON CONFLICT DO NOTHING",
                    db=DRILL_DATABASE,
                    timeout=5.0,
                )
            except (SiteError, subprocess.TimeoutExpired) as exc:
                self.errors.append(f"rows: {exc}")
                return
            self._ack(f"row {n}")
            self.stop.wait(ROW_INTERVAL)
        self.errors.append("rows: stopped")

    def _files(self) -> None:
        folder = drill_files_dir(self.sites, "primary", self.run)
        script = (
            f"mkdir -p '{folder}' && cd '{folder}' && while read -r n; do "
            f'head -c {FILE_BYTES} /dev/urandom > "$n" && '
            'echo "$n $(sha256sum "$n" | cut -c1-64)" || exit 1; done'
        )
        try:
            proc = subprocess.Popen(
                [*self.sites.ssh_argv("primary"), script],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                text=True,
                bufsize=1,
            )
        except OSError as exc:
            self.errors.append(f"files: {exc}")
            return
        assert proc.stdin is not None and proc.stdout is not None
        n = len(Acks.read(self.acks_file).files)
        try:
            while not self.stop.is_set() and n < MAX_FILES:
                n += 1
                name = f"file-{n:05d}"
                try:
                    proc.stdin.write(name + "\n")
                    proc.stdin.flush()
                except (BrokenPipeError, OSError):
                    break
                line = proc.stdout.readline().split()
                if len(line) != 2 or line[0] != name:
                    break  # the file server went away before it acknowledged
                self._ack(f"file {name} {line[1]}")
                self.stop.wait(FILE_INTERVAL)
        finally:
            self.errors.append("files: stopped")
            proc.kill()
            proc.wait(timeout=10)
