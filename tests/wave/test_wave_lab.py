"""A wave on the lab, killed in every phase and resumed, verified, refused twice, rolled back.

One lab for the module. The wave runs as the real CLI in a subprocess, through the production
entry point: the lab's environment is given with `--environment DIR --confirm`, as any
environment would be. Kill points are picked from the journal (a step of the phase is running
and ansible-playbook has started).
"""

from __future__ import annotations

import os
import re
import signal
import sqlite3
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.awx.awx_job import exported_calls, job_templates, run_job
from wave_cli import CLI, STEP_TIMEOUT, WaveCli
from wave_support import MINI, lab_session

from eendracht.environment import load_environment
from eendracht.environment.secrets import SecretFiles
from eendracht.lab import lab_up
from eendracht.lab.procs import recorded
from eendracht.programme.loader import load_programme
from eendracht.wave.identity_map import build_mapping
from eendracht.wave.lab_check import verify_lab_source, verify_lab_wave
from eendracht.wave.paths import lab_dir

pytestmark = [pytest.mark.lab, pytest.mark.slow]

MUNI = "noordwaard"
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
    with lab_session() as state:
        yield state


def _wave(state: Path) -> WaveCli:
    return WaveCli(MINI, MUNI, state)


def test_awx_jobs_run_preflight_steps_as_the_wave_does(lab_state: Path, tmp_path: Path) -> None:
    """What AWX would run, on the lab: the prepared wave, the exported workflow's first job
    (its artifacts become the next jobs' extra vars) and preflight steps' job templates."""
    prepared = subprocess.run(
        _wave(lab_state).argv("prepare"), capture_output=True, text=True, env=_wave(lab_state).env(),
        timeout=STEP_TIMEOUT,
    )  # fmt: skip
    assert prepared.returncode == 0, prepared.stdout + prepared.stderr
    wave_dir = _wave(lab_state).wave_dir()
    exported = subprocess.run(
        [*CLI, "export", "awx", str(MINI), "-m", MUNI, "-o", str(tmp_path / "awx")],
        capture_output=True, text=True, timeout=STEP_TIMEOUT,
    )  # fmt: skip
    assert exported.returncode == 0, exported.stdout + exported.stderr
    (path,) = (tmp_path / "awx").iterdir()
    templates = job_templates(path)
    workflow = next(a for m, a in exported_calls(path) if m == "awx.awx.workflow_job_template")
    launch = {**workflow["extra_vars"], "wave_dir": str(wave_dir), "eendracht_change": "CHG-1"}
    inventory = wave_dir / "inventory"
    context = run_job(templates["waardstad noordwaard context"], launch, inventory, tmp_path / "j")
    assert context.status == "successful", context.stdout[-3000:]
    for step in ("preflight.reachability", "preflight.identity"):
        job = run_job(
            templates[f"waardstad noordwaard {step}"], {**launch, **context.artifacts}, inventory,
            tmp_path / step,
        )  # fmt: skip
        assert job.status == "successful", (step, job.stdout[-3000:])
        # Hosts of the environment's inventory ran tasks (a play that matched none passes too).
        assert re.search(r"ok=[1-9]", job.stdout) and "failed=0" in job.stdout, job.stdout[-2000:]


def test_check_mode_runs_every_step_to_cutover_and_changes_nothing(lab_state: Path) -> None:
    programme = load_programme(MINI)
    mu = programme.municipality(MUNI)
    done = subprocess.run(
        _wave(lab_state).argv("run", "--confirm", "--check"),
        capture_output=True, text=True, env=_wave(lab_state).env(), timeout=STEP_TIMEOUT * 3,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert "checked" in done.stdout and "nothing was changed" in done.stdout
    journal = sqlite3.connect(_wave(lab_state).journal())
    try:
        kinds = {r[0] for r in journal.execute("SELECT kind FROM runs")}
        phases = {r[0] for r in journal.execute("SELECT DISTINCT phase FROM steps")}
    finally:
        journal.close()
    assert kinds == {"check"}
    assert {"preflight", "presync", "freeze", "final_sync", "cutover"} <= phases
    # Nothing changed: the source side is exactly in service, the target holds nothing.
    source = verify_lab_source(mu, lab_dir(lab_state), build_mapping(programme, {}))
    assert [c for c in source.checks if not c.ok] == []
    env = load_environment(_wave(lab_state).environment(), programme, MUNI)
    target_root = Path(env.outputs["file_target_root"]) / MUNI
    assert not target_root.exists() or not any(target_root.rglob("*"))


def test_killed_in_every_phase_resumed_verified_then_rolled_back(
    lab_state: Path, tmp_path: Path
) -> None:
    log = tmp_path / "wave.log"
    programme = load_programme(MINI)
    mu = programme.municipality(MUNI)
    killed: list[str] = []
    proc = _wave(lab_state).start(log=log)
    # While the first run holds the lock, a second run is refused with a clear message.
    while _wave(lab_state).running_step("preflight") is None:
        assert proc.poll() is None, log.read_text()
        time.sleep(0.1)
    second = subprocess.run(
        _wave(lab_state).argv("run", "--confirm"),
        capture_output=True,
        text=True,
        env=_wave(lab_state).env(),
        timeout=120,
    )
    assert second.returncode == 3, second.stdout + second.stderr
    assert f"wave for {MUNI} is running (" in second.stderr
    assert f"pid {proc.pid}" in second.stderr
    for phase, what in KILLS:
        killed.append(f"{_wave(lab_state).kill_in(proc, phase, what)} ({what})")
        proc = _wave(lab_state).start("--resume", log=log)
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

    # The DNS server is down during the rollback: every other undo step still runs, the
    # rollback says what failed and exits 1; the people are back on their source accounts.
    named = next(r for r in recorded(lab_dir(lab_state) / "pids") if r.name == "named")
    os.kill(named.pid, signal.SIGKILL)
    rollback = subprocess.run(
        _wave(lab_state).argv("rollback", "--confirm"),
        capture_output=True, text=True, env=_wave(lab_state).env(), timeout=STEP_TIMEOUT * 2,
    )  # fmt: skip
    output += rollback.stdout + rollback.stderr + second.stdout + second.stderr
    assert rollback.returncode == 1, rollback.stdout[-3000:] + rollback.stderr[-2000:]
    said = " ".join(rollback.stdout.split())
    assert "rollback incomplete" in said and "step rollback.cutover.dns" in said, said[-3000:]
    partial = verify_lab_source(mu, lab_dir(lab_state), mapping)
    back = [c for c in partial.checks if c.area in ("files", "accounts")]
    assert back and all(c.ok for c in back), back
    # With the DNS server back, running rollback again completes what the first could not.
    lab_up(MINI, scale="small", state=lab_state)
    rollback = subprocess.run(
        _wave(lab_state).argv("rollback", "--confirm"),
        capture_output=True, text=True, env=_wave(lab_state).env(), timeout=STEP_TIMEOUT * 2,
    )  # fmt: skip
    output += rollback.stdout + rollback.stderr
    assert rollback.returncode == 0, rollback.stdout[-3000:] + rollback.stderr[-2000:]
    source = verify_lab_source(mu, lab_dir(lab_state), mapping)
    failed = [c for c in source.checks if not c.ok]
    assert not failed, failed
    assert {c.area for c in source.checks} >= {"files", "accounts", "dns", "databases"}

    # No secret of the lab in anything the wave wrote or printed.
    env = load_environment(_wave(lab_state).environment(), programme, MUNI)
    with SecretFiles(env, MUNI) as files:
        secrets = files.values()
    assert len(secrets) >= 3  # directory binds, database, TSIG
    written = _wave(lab_state).wave_dir()
    leaks = []
    for path in [p for p in written.rglob("*") if p.is_file()]:
        raw = path.read_bytes()
        leaks += [f"{path}" for s in secrets if s.encode() in raw]
    leaks += ["terminal output" for s in secrets if s in output]
    for pdf in written.rglob("report.pdf"):  # the reports' text, not their compressed bytes
        text = subprocess.run(
            ["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True
        ).stdout
        leaks += [f"{pdf} (text)" for s in secrets if s in text]
    assert not leaks, leaks

    # Each run that ended wrote its weekend report in its folder (a failed rollback too).
    journal = sqlite3.connect(_wave(lab_state).journal())
    try:
        ran = journal.execute("SELECT id, kind FROM runs ORDER BY id").fetchall()
    finally:
        journal.close()
    rollbacks = [run for run, kind in ran if kind == "rollback"]
    assert len(rollbacks) == 2
    for run in (max(run for run, kind in ran if kind == "wave"), *rollbacks):
        folder = written / "reports" / f"run-{run}"
        assert (folder / "report.html").is_file() and (folder / "report.pdf").is_file(), folder
    last = (written / "reports" / f"run-{rollbacks[-1]}" / "report.html").read_text()
    assert f"Run {rollbacks[-1]} (rollback)" in last and "rollback.cutover.dns" in last
