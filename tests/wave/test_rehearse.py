"""`eendracht rehearse`, the README's main job, end to end on the lab (mini programme)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest
from typer.testing import CliRunner

from eendracht import audit
from eendracht.cli import app
from eendracht.wave.steps import WAVE_PHASES

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


def test_rehearsal_moves_verifies_and_leaves_nothing_running(lab_state: Path) -> None:
    result = CliRunner().invoke(
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
    assert result.exit_code == 0, result.output
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
