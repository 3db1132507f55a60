"""A wave on the lab, killed in every phase and resumed, verified, refused twice, rolled back.

One lab for the module. The wave runs as the real CLI in a subprocess; kill points are picked
from the journal (a step of the phase is running and ansible-playbook has started).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from wave_support import MINI

from eendracht.lab import lab_down, lab_up
from eendracht.module_utils import thaw_tree
from eendracht.programme.loader import load_programme
from eendracht.wave.context import secret_values
from eendracht.wave.identity_map import build_mapping
from eendracht.wave.lab_check import verify_lab_source, verify_lab_wave
from eendracht.wave.paths import lab_dir, wave_dir

pytestmark = [pytest.mark.lab, pytest.mark.slow]

MUNI = "noordwaard"
CLI = [str(Path(sys.executable).parent / "eendracht")]
STEP_TIMEOUT = 300
# One kill per phase, alternating what is killed.
KILLS = [
    ("preflight", "orchestrator"),
    ("presync", "ansible"),
    ("freeze", "orchestrator"),
    ("final_sync", "ansible"),
    ("cutover", "orchestrator"),
    ("verify", "ansible"),
]


@pytest.fixture(scope="module")
def lab_state() -> Iterator[Path]:
    # PostgreSQL runs as `postgres`: the state must be traversable by it (pytest's tmp is 0700).
    state = Path(tempfile.mkdtemp(prefix="eendracht-wave-test-", dir="/tmp"))
    state.chmod(0o755)
    before = os.environ.get("EENDRACHT_STATE")
    os.environ["EENDRACHT_STATE"] = str(state)
    try:
        lab_up(MINI, scale="small", state=state)
        yield state
    finally:
        thaw_tree(lab_dir(state) / "files")
        lab_down(state)
        if before is None:
            os.environ.pop("EENDRACHT_STATE", None)
        else:
            os.environ["EENDRACHT_STATE"] = before
        shutil.rmtree(state, ignore_errors=True)


def _env(state: Path) -> dict[str, str]:
    return {**os.environ, "EENDRACHT_STATE": str(state), "COLUMNS": "200"}


def _journal(state: Path) -> Path:
    return wave_dir("waardstad", MUNI, state, lab=True) / "journal.sqlite"


def _running_step(state: Path, phase: str) -> tuple[str, int] | None:
    path = _journal(state)
    if not path.exists():
        return None
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)
    try:
        row = db.execute(
            "SELECT step_id, ansible_pid FROM steps WHERE phase=? AND status='running'"
            " AND ansible_pid IS NOT NULL ORDER BY started_at DESC LIMIT 1",
            (phase,),
        ).fetchone()
    except sqlite3.OperationalError:
        return None
    finally:
        db.close()
    return (str(row[0]), int(row[1])) if row else None


def _start(state: Path, *args: str, log: Path) -> subprocess.Popen[bytes]:
    handle = log.open("ab")
    return subprocess.Popen(
        [*CLI, "wave", "run", str(MINI), "--municipality", MUNI, "--lab", *args],
        stdout=handle,
        stderr=subprocess.STDOUT,
        env=_env(state),
    )


def _kill_in(state: Path, proc: subprocess.Popen[bytes], phase: str, what: str) -> str:
    deadline = time.monotonic() + STEP_TIMEOUT
    while time.monotonic() < deadline:
        found = _running_step(state, phase)
        if found is not None:
            step, ansible_pid = found
            time.sleep(0.5)  # inside the step, after its first tasks
            os.kill(proc.pid if what == "orchestrator" else ansible_pid, signal.SIGKILL)
            proc.wait(timeout=60)
            return step
        if proc.poll() is not None:
            raise AssertionError(f"the wave ended (rc {proc.returncode}) before {phase} ran")
        time.sleep(0.1)
    raise AssertionError(f"no step of {phase} started within {STEP_TIMEOUT}s")


def test_killed_in_every_phase_resumed_verified_then_rolled_back(
    lab_state: Path, tmp_path: Path
) -> None:
    log = tmp_path / "wave.log"
    programme = load_programme(MINI)
    mu = programme.municipality(MUNI)
    killed: list[str] = []
    proc = _start(lab_state, log=log)
    # While the first run holds the lock, a second run is refused with a clear message.
    while _running_step(lab_state, "preflight") is None:
        assert proc.poll() is None, log.read_text()
        time.sleep(0.1)
    second = subprocess.run(
        [*CLI, "wave", "run", str(MINI), "--municipality", MUNI, "--lab"],
        capture_output=True,
        text=True,
        env=_env(lab_state),
        timeout=120,
    )
    assert second.returncode == 3, second.stdout + second.stderr
    assert f"wave for {MUNI} is running (pid {proc.pid} since" in second.stderr
    for phase, what in KILLS:
        killed.append(f"{_kill_in(lab_state, proc, phase, what)} ({what})")
        proc = _start(lab_state, "--resume", log=log)
    assert proc.wait(timeout=STEP_TIMEOUT * 3) == 0, log.read_text()[-3000:]
    assert len(killed) == len(KILLS), killed
    output = log.read_text()
    assert "waiting at the go/no-go gate" in output

    # Exactly as if it had never stopped: nothing lost, corrupted or created twice.
    mapping = build_mapping(programme, {})
    report = verify_lab_wave(mu, lab_dir(lab_state), mapping)
    failed = [c for c in report.checks if not c.ok]
    assert not failed, failed
    assert {c.area for c in report.checks} >= {"files", "accounts", "dns", "applications"}

    rollback = subprocess.run(
        [*CLI, "wave", "rollback", str(MINI), "--municipality", MUNI, "--lab"],
        capture_output=True,
        text=True,
        env=_env(lab_state),
        timeout=STEP_TIMEOUT * 2,
    )
    assert rollback.returncode == 0, rollback.stdout[-3000:] + rollback.stderr[-2000:]
    output += rollback.stdout + rollback.stderr + second.stdout + second.stderr
    source = verify_lab_source(mu, lab_dir(lab_state), mapping)
    failed = [c for c in source.checks if not c.ok]
    assert not failed, failed
    assert {c.area for c in source.checks} >= {"files", "accounts", "dns", "databases"}

    # No secret of the lab in anything the wave wrote or printed.
    data = (lab_dir(lab_state) / "outputs.json").read_text()
    secrets = secret_values(json.loads(data)["lab"])
    assert len(secrets) >= 3  # directory binds, database, TSIG
    written = wave_dir("waardstad", MUNI, lab_state, lab=True)
    leaks = []
    for path in [p for p in written.rglob("*") if p.is_file()]:
        raw = path.read_bytes()
        leaks += [f"{path}" for s in secrets if s.encode() in raw]
    leaks += ["terminal output" for s in secrets if s in output]
    assert not leaks, leaks
