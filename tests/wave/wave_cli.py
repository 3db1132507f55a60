"""The wave as the real CLI in a subprocess against a lab's environment, and its journal read
from outside: for the tests that kill a wave mid-step and resume it."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from eendracht.environment import load_environment
from eendracht.programme.loader import load_programme
from eendracht.wave.paths import lab_environment, wave_dir

CLI = [str(Path(sys.executable).parent / "eendracht")]
STEP_TIMEOUT = 300


@dataclass(frozen=True)
class WaveCli:
    programme: Path
    municipality: str
    state: Path

    def env(self) -> dict[str, str]:
        return {**os.environ, "EENDRACHT_STATE": str(self.state), "COLUMNS": "200"}

    def environment(self) -> Path:
        return lab_environment(self.state)

    def wave_dir(self) -> Path:
        loaded = load_programme(self.programme)
        env = load_environment(self.environment(), loaded, self.municipality)
        return wave_dir(env, loaded.name, self.municipality, self.state)

    def journal(self) -> Path:
        return self.wave_dir() / "journal.sqlite"

    def argv(self, command: str, *args: str) -> list[str]:
        return [*CLI, "wave", command, str(self.programme), "--municipality", self.municipality,
                "--environment", str(self.environment()), *args]  # fmt: skip

    def run(self, command: str, *args: str, timeout: float) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            self.argv(command, "--confirm", *args),
            capture_output=True, text=True, env=self.env(), timeout=timeout,
        )  # fmt: skip

    def start(self, *args: str, log: Path) -> subprocess.Popen[bytes]:
        handle = log.open("ab")
        return subprocess.Popen(
            self.argv("run", "--confirm", *args),
            stdout=handle,
            stderr=subprocess.STDOUT,
            env=self.env(),
        )

    def running_step(self, phase: str, step: str = "") -> tuple[str, int] | None:
        """The running step of `phase` (or exactly `step`) whose ansible-playbook started."""
        path = self.journal()
        if not path.exists():
            return None
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)
        try:
            row = db.execute(
                "SELECT step_id, ansible_pid FROM steps WHERE phase=? AND status='running'"
                " AND ansible_pid IS NOT NULL AND (?='' OR step_id=?)"
                " ORDER BY started_at DESC LIMIT 1",
                (phase, step, step),
            ).fetchone()
        except sqlite3.OperationalError:
            return None
        finally:
            db.close()
        return (str(row[0]), int(row[1])) if row else None

    def kill_in(
        self,
        proc: subprocess.Popen[bytes],
        phase: str,
        what: str,
        step: str = "",
        settle: float = 0.5,
    ) -> str:
        """SIGKILL the orchestrator or ansible-playbook once a step of `phase` (or `step`)
        runs, `settle` seconds into it; returns the step it was killed in."""
        deadline = time.monotonic() + STEP_TIMEOUT
        while time.monotonic() < deadline:
            found = self.running_step(phase, step)
            if found is not None:
                killed, ansible_pid = found
                time.sleep(settle)
                os.kill(proc.pid if what == "orchestrator" else ansible_pid, signal.SIGKILL)
                proc.wait(timeout=60)
                return killed
            if proc.poll() is not None:
                raise AssertionError(
                    f"the wave ended (rc {proc.returncode}) before {step or phase} ran"
                )
            time.sleep(0.02 if step else 0.1)
        raise AssertionError(f"{step or phase} did not start within {STEP_TIMEOUT}s")
