"""`eendracht rehearse`, the README's main job, end to end on the lab (mini programme);
watched while it runs in a real browser on the live page (`eendracht wave serve`)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest
from click.testing import Result
from typer.testing import CliRunner

from eendracht import audit
from eendracht.cli import app
from eendracht.wave.steps import WAVE_PHASES

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # tests/wave is no package
from tests.live.live_support import (
    chromium_page,
    look,
    mark_loaded,
    not_reloaded,
    phases_moving,
    serving,
)

pytestmark = [pytest.mark.lab, pytest.mark.slow]

MINI = Path(__file__).resolve().parents[1] / "fixtures" / "programmes" / "mini"


@pytest.fixture
def lab_state() -> Iterator[Path]:
    # PostgreSQL runs as `postgres`: the state must be traversable by it (pytest's tmp is 0700).
    folder = Path(tempfile.mkdtemp(prefix="eendracht-rehearse-test-", dir="/tmp"))
    folder.chmod(0o755)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def processes_mentioning(text: str) -> list[int]:
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) == os.getpid():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if text in cmdline:
            found.append(int(proc.name))
    return found


def watch_the_live_page(
    state: Path, rehearsal: threading.Thread, shot: Path
) -> tuple[list[str], list[str]]:
    """Starts `rehearsal` and watches its lab wave on the live page in chromium, from its
    journal's appearance until the page shows all phases done and the gate approved (never
    reloaded). Returns the phases seen moving and the problems the browser reported.

    The server and the browser are started first: the rehearsal's CliRunner swaps
    sys.stdout and sys.stderr while it runs, and uvicorn's log handlers must not keep those."""
    problems: list[str] = []
    seen: list[str] = []
    done = " ".join(f"{p}=ok" for p in WAVE_PHASES)
    # The browser and the server are gone before the rehearsal keeps its journal and takes
    # the lab down (the verification after the wave takes seconds; the kept journal is
    # copied through SQLite all the same).
    with serving(state, poll=0.1, rescan=0.2) as (base, served), chromium_page(problems) as page:
        rehearsal.start()
        deadline = time.monotonic() + 120
        while "lab/zuidwaard" not in served.hub.feeds:
            assert rehearsal.is_alive(), "the rehearsal ended before its wave began"
            assert time.monotonic() < deadline, "the lab wave's journal never appeared"
            time.sleep(0.05)
        page.goto(base + "/wave/lab/zuidwaard", wait_until="load")
        mark_loaded(page)
        deadline = time.monotonic() + 120
        while look(page, seen) != done or "rehearsal (--yes)" not in page.inner_text("#decision"):
            assert rehearsal.is_alive(), f"the rehearsal ended before the page showed it: {seen}"
            assert time.monotonic() < deadline, f"the page never showed the wave done: {seen}"
            time.sleep(0.05)
        assert not_reloaded(page), "the page was reloaded"
        decision = page.inner_text("#decision")
        assert decision.startswith("✓ goedgekeurd door / approved by rehearsal (--yes)"), decision
        assert "automatisch (generale repetitie) / automatic (rehearsal)" in decision, decision
        # the wave's last commit (the run complete) follows its last step's within a moment
        page.wait_for_function(
            "() => document.querySelector('#run-status').textContent.includes('gelukt / ok')",
            timeout=10_000,
        )
        page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000
    # Seen moving: phases seen running or turning done, in the runbook's order.
    moved = phases_moving(seen, ("running", "ok"))
    assert moved == [p for p in WAVE_PHASES if p in moved] and len(moved) >= 3, seen
    return moved, problems


def test_rehearsal_moves_verifies_and_leaves_nothing_running(
    lab_state: Path, tmp_path: Path
) -> None:
    out: list[Result] = []
    rehearsal = threading.Thread(
        target=lambda: out.append(
            CliRunner().invoke(
                app,
                [
                    "rehearse",
                    str(MINI),
                    "--municipality",
                    "zuidwaard",
                    "--yes",
                    "--state",
                    str(lab_state),
                ],
            )
        ),
        daemon=True,
    )
    shot = tmp_path / "live-rehearsal.png"
    try:
        moved, problems = watch_the_live_page(lab_state, rehearsal, shot)
    finally:
        if rehearsal.ident is not None:
            rehearsal.join(300)  # the lab goes down whatever the page showed
    assert out, "the rehearsal did not end"
    # printed only now: while the rehearsal ran, its CliRunner had sys.stdout
    print(f"\nlive page of the rehearsal's lab wave: phases seen moving {' '.join(moved)}")
    print(f"screenshot of the live page of the rehearsal's lab wave: {shot}")
    [result] = out
    assert result.exit_code == 0, result.output
    assert not problems, problems
    assert "rehearsal passed" in result.output

    [saved] = list((lab_state / "rehearsals").iterdir())
    report = json.loads((saved / "report.json").read_text(encoding="utf-8"))
    assert report["exit_code"] == 0
    assert report["outcome"]["status"] == "complete"
    areas = {check["area"] for check in report["checks"]}
    assert {"files", "accounts", "dns", "applications"} <= areas
    failed = [check for check in report["checks"] if not check["ok"]]
    assert failed == []
    assert (saved / "journal.sqlite").stat().st_size > 0

    # Where the time went: every phase of the wave with its work and overhead, in the report
    # and on the terminal, besides lab up, verification and lab down.
    phases = report["phases"]
    assert [p["phase"] for p in phases] == list(WAVE_PHASES)
    for phase in phases:
        assert 0 < phase["work"] <= phase["seconds"] and phase["steps"] > 0
        assert phase["overhead"] == pytest.approx(phase["seconds"] - phase["work"], abs=0.02)
    assert set(report["seconds"]) >= {"lab_up", "wave", "verification", "lab_down", "total"}
    table = result.output[result.output.index("where the time went") :]
    for label in ("lab up", *WAVE_PHASES, "all phases", "verification", "lab down", "total"):
        assert f"│ {label} " in table, label

    # The weekend report, beside the journal: the charts in the HTML, the figures in the PDF,
    # written in a small part of the rehearsal's time.
    html = (saved / "report.html").read_text(encoding="utf-8")
    assert html.count("data:image/svg+xml;base64,") >= 3  # phases, steps, throughput
    assert "rehearsal (--yes)" in html and "zuidwaard" in html
    pdf = subprocess.run(
        ["pdftotext", str(saved / "report.pdf"), "-"], capture_output=True, text=True, check=True
    ).stdout
    assert "Weekendrapport" in pdf and "rehearsal (--yes)" in pdf
    assert "report.html" in "".join(result.output.split())  # said (rich may wrap the path)
    assert 0 < report["seconds"]["report"] < 0.1 * report["seconds"]["total"]

    assert not (lab_state / "lab").exists()
    assert processes_mentioning(str(lab_state)) == []
    # Lab up and down are in the state's audit log; the rehearsal's wave in its journal's.
    with closing(audit.open_read_only(lab_state / "audit.sqlite")) as db:
        assert [(r.action, r.result) for r in audit.records(db)] == [
            ("lab up", "ok"),
            ("lab down", "ok"),
        ]
        assert audit.verify(db).intact
    with closing(audit.open_read_only(saved / "journal.sqlite")) as db:
        actions = [(r.action, r.result) for r in audit.records(db)]
        assert actions[0] == ("run", "started") and ("approve", "automatic") in actions
        assert audit.verify(db).intact
