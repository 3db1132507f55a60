"""The fallback drill on the lab: real streaming replication, a real outage (the primary site's
processes killed), promotion, Traffic Manager's DNS switched, fail-back by pg_rewind.

One lab (mini, with its fallback site) and one wave that moved noordwaard's applications;
then drills: refused while a wave runs and while the standby is not in sync, killed during
the failover and during the fail-back and resumed (synchronous: no committed transaction
lost), then asynchronous with the file mirror stopped: refused, and forced.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from tests.cmdline_watch import CommandLineWatch
from wave_cli import CLI
from wave_support import MINI, lab_session

from eendracht.drill.sites import Sites
from eendracht.environment.load import load_drill_environment
from eendracht.environment.secrets import secret_values_of
from eendracht.lab import lab_up
from eendracht.lab.paths import LabPaths
from eendracht.lab.site_control import control
from eendracht.problems import ProblemsFound
from eendracht.programme.loader import load_programme
from eendracht.wave.lock import WaveLock
from eendracht.wave.paths import drill_dir, lab_environment, wave_dir

pytestmark = [pytest.mark.lab, pytest.mark.slow]

MUNI = "noordwaard"
DRILL_TIMEOUT = 300


@pytest.fixture(scope="module")
def lab() -> Iterator[Path]:
    with lab_session(MINI, prefix="eendracht-drill-", fallback="synchronous") as state:
        done = subprocess.run(
            [*CLI, "wave", "run", str(MINI), "-m", MUNI, "--lab", "--yes"],
            capture_output=True, text=True, env=_env(state), timeout=DRILL_TIMEOUT,
        )  # fmt: skip
        assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
        yield state


def _env(state: Path) -> dict[str, str]:
    return {**os.environ, "EENDRACHT_STATE": str(state), "COLUMNS": "200"}


def _drill(
    state: Path, *args: str, environment: Path | None = None
) -> subprocess.CompletedProcess[str]:
    where = ["--environment", str(environment), "--confirm"] if environment else ["--lab"]
    return subprocess.run(
        [*CLI, "drill", str(MINI), *where, *args],
        capture_output=True, text=True, env=_env(state), timeout=DRILL_TIMEOUT,
    )  # fmt: skip


def _sites(state: Path) -> Sites:
    return Sites.of(load_drill_environment(lab_environment(state), load_programme(MINI)))


def _folder(state: Path) -> Path:
    sites = _sites(state)
    return drill_dir(sites.env, "waardstad", state)


def _kill_when(state: Path, step: str, *args: str) -> str:
    """Starts a drill, SIGKILLs it with its Ansible once `step` runs; returns its output."""
    log = state / f"drill-killed-in-{step}.log"
    with log.open("ab") as out:
        proc = subprocess.Popen(
            [*CLI, "drill", str(MINI), "--lab", *args], stdout=out, stderr=subprocess.STDOUT,
            env=_env(state), start_new_session=True,
        )  # fmt: skip
    journal = _folder(state) / "journal.sqlite"
    deadline = time.monotonic() + DRILL_TIMEOUT
    while time.monotonic() < deadline and proc.poll() is None:
        if journal.exists():
            db = sqlite3.connect(f"file:{journal}?mode=ro", uri=True)
            try:
                row = db.execute("SELECT 1 FROM steps WHERE step_id = ?", (step,)).fetchone()
            except sqlite3.OperationalError:
                row = None
            finally:
                db.close()
            if row is not None:
                time.sleep(0.3)
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=60)
                return log.read_text()
        time.sleep(0.05)
    proc.kill()
    raise AssertionError(f"the drill did not reach {step}: {log.read_text()[-2000:]}")


def _report(state: Path) -> dict:
    reports = sorted((_folder(state) / "reports").glob("drill-*/drill.json"), key=os.path.getmtime)
    return json.loads(reports[-1].read_text())


def _assert_back_to_normal(state: Path, mode: str) -> None:
    sites = _sites(state)
    assert sites.psql("primary", "SELECT pg_is_in_recovery()").strip() == "f"
    assert sites.psql("fallback", "SELECT pg_is_in_recovery()").strip() == "t"
    row = sites.psql(
        "primary",
        "SELECT state, sync_state FROM pg_stat_replication WHERE application_name = 'fallback'",
    ).strip()
    assert row == f"streaming|{'sync' if mode == 'synchronous' else 'async'}"


def _no_secret_in(state: Path) -> None:
    sites = _sites(state)
    secrets = secret_values_of(sites.passfile.read_text())
    secrets |= secret_values_of(
        sites.env.path(sites.fallback.traffic_manager.tsig_key.file).read_text()
    )
    assert secrets
    for path in _folder(state).rglob("*"):
        if path.is_file() and path.suffix in (".json", ".md", ".log", ".sqlite", ".yml", ""):
            data = path.read_bytes()
            leaked = [s for s in secrets if s.encode() in data]
            assert not leaked, f"a secret in {path}"


def test_refused_while_a_wave_runs_and_while_the_standby_is_behind(lab: Path) -> None:
    sites = _sites(lab)
    programme = load_programme(MINI)
    with WaveLock(wave_dir(sites.env, programme.name, "zuidwaard", lab) / "wave.lock", "zuidwaard"):
        done = _drill(lab)
    assert done.returncode == 3, done.stdout + done.stderr
    assert "the wave of zuidwaard runs" in done.stderr
    assert not (_folder(lab) / "journal.sqlite").exists()  # refused: nothing written

    control(LabPaths(lab), "stop", "fallback", "database")
    try:
        done = _drill(lab)
    finally:
        control(LabPaths(lab), "start", "fallback", "database")
    assert done.returncode == 2, done.stdout + done.stderr
    assert "not in sync" in done.stderr and "--force" in done.stderr
    assert not (_folder(lab) / "journal.sqlite").exists()


def test_environment_without_a_fallback_site_is_one_line(lab: Path, tmp_path: Path) -> None:
    copy = tmp_path / "environment"
    copy.mkdir()
    for name in ("hosts.yml", "outputs.json"):
        (copy / name).write_bytes((lab_environment(lab) / name).read_bytes())
    spec = yaml.safe_load((lab_environment(lab) / "environment.yml").read_text())
    same = dict(spec)
    same["fallback"] = {**spec["fallback"], "fallback": spec["fallback"]["primary"]}
    unknown = json.loads(json.dumps(spec))
    unknown["fallback"]["fallback"]["database"]["host"] = "nowhere-db"
    open_key = json.loads(json.dumps(spec))
    key = tmp_path / "tm.key"
    key.write_text('key x { algorithm hmac-sha256; secret "c2VjcmV0"; };\n')
    key.chmod(0o644)
    open_key["fallback"]["traffic_manager"]["tsig_key"] = {"file": str(key)}
    spec.pop("fallback")
    cases = (
        (spec, "fallback: required for a drill"),
        (same, "two servers"),
        (unknown, "fallback.fallback.database.host: no host 'nowhere-db'"),
        (open_key, "fallback.traffic_manager.tsig_key.file"),
    )
    programme = load_programme(MINI)
    for n, (body, wanted) in enumerate(cases):
        (copy / "environment.yml").write_text(yaml.safe_dump(body))
        if n == 0:  # the command: one line, exit 2, no traceback
            done = _drill(lab, environment=copy)
            assert done.returncode == 2, done.stdout + done.stderr
            assert "Traceback" not in done.stderr
            lines = done.stderr.strip().splitlines()
        else:  # the same check, in process
            with pytest.raises(ProblemsFound) as found:
                load_drill_environment(copy, programme)
            lines = [str(p) for p in found.value.problems]
        assert any("environment.yml" in line and wanted in line for line in lines), lines
    assert not (tmp_path / "environment" / "drills").exists()


def test_drills(lab: Path) -> None:
    """Synchronous (killed during failover and during fail-back, resumed), then asynchronous;
    no secret of the drill on any process's command line meanwhile."""
    sites = _sites(lab)
    secrets = secret_values_of(sites.passfile.read_text())
    secrets |= secret_values_of(
        sites.env.path(sites.fallback.traffic_manager.tsig_key.file).read_text()
    )
    watch = CommandLineWatch(*(s.encode() for s in secrets))
    watch.start()
    try:
        _drills(lab)
    finally:
        watch.stop()
    assert watch.scans > 100 and not watch.hits, watch.hits


def _drills(lab: Path) -> None:
    output = _kill_when(lab, "failover.switch")
    assert "complete" not in output
    refused = _drill(lab)
    assert refused.returncode == 2 and "--resume" in refused.stderr
    output = _kill_when(lab, "failback.switchback", "--resume")
    assert "complete" not in output
    done = _drill(lab, "--resume")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    report = _report(lab)
    assert report["replication"] == "synchronous"
    assert all(s["status"] == "ok" for s in report["steps"]), report["steps"]
    assert report["rto_seconds"] and report["rto_seconds"] > 0
    assert report["rpo"]["rows_acknowledged"] > 0 and report["rpo"]["files_acknowledged"] > 0
    assert report["rpo"]["rows_missing"] == 0  # synchronous: no committed transaction lost
    criteria = {c["criterion"]: c["result"] for c in report["go_no_go"]}
    assert criteria["committed transactions lost"] == "0 (met: 0 required)"
    assert (
        report["checked"]["fallback"]["chains"] > 0 and report["checked"]["fallback"]["health"] > 1
    )
    assert len([r for r in report["runs"] if r["resumed"]]) == 2
    _assert_back_to_normal(lab, "synchronous")
    _no_secret_in(lab)

    # Asynchronous, and the file mirror stopped: refused; --force fails over anyway and measures.
    lab_up(MINI, scale="small", state=lab, fallback="asynchronous")
    control(LabPaths(lab), "stop", "fallback", "replication")
    time.sleep(3 * 2 + 6)  # three rounds of 2 s and the margin: the mirror is now behind
    refused = _drill(lab)
    assert refused.returncode == 2 and "file mirror" in refused.stderr, refused.stderr
    done = _drill(lab, "--force")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    report = _report(lab)
    rpo = report["rpo"]
    assert report["replication"] == "asynchronous" and report["rto_seconds"] > 0
    # With the mirror stopped, no file written during the drill can be at the fallback.
    assert rpo["files_acknowledged"] > 0 and rpo["files_missing"] == rpo["files_acknowledged"]
    # Asynchronous: a loss is allowed, and reported as measured.
    assert rpo["rows_acknowledged"] > 0 and 0 <= rpo["rows_missing"] <= rpo["rows_acknowledged"]
    criteria = {c["criterion"]: c["result"] for c in report["go_no_go"]}
    assert (
        criteria["committed transactions lost"] == f"{rpo['rows_missing']} (asynchronous: reported)"
    )
    _assert_back_to_normal(lab, "asynchronous")
    _no_secret_in(lab)
