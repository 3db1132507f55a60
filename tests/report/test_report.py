"""The weekend report of a journaled wave: what it says (HTML and PDF text), the chart on the
PDF's first page (pdftoppm), the HTML in a real browser (Debian's chromium through Playwright),
no secret in either, the journal only read, and `eendracht report` refusing bad input."""

from __future__ import annotations

import io
import re
import shutil
import sqlite3
import subprocess
from pathlib import Path

import pytest
from PIL import Image
from typer.testing import CliRunner

from eendracht.cli import app
from eendracht.report import NotAJournal, open_view, write_report
from eendracht.report.charts import ACTUAL_OK, PLANNED
from eendracht.report.hook import report_after
from eendracht.report.write import run_folder
from tests.report.journal_fixture import APPROVER, FAILURE, build_journal, plan

SECRET = "Kanarie-geheim-7f3a9c"


def need(tool: str) -> str:
    """A tool the set-up installs (scripts/setup/system-packages.sh): its absence is a broken
    set-up, said plainly, never a skipped test."""
    found = shutil.which(tool)
    assert found, f"{tool} is missing: run `make setup` (scripts/setup/system-packages.sh)"
    return found


def pdf_text(pdf: Path) -> str:
    """The PDF's text with every run of white space one space (table cells wrap lines)."""
    out = subprocess.run(
        [need("pdftotext"), str(pdf), "-"], check=True, capture_output=True, text=True
    ).stdout
    return " ".join(out.split())


@pytest.fixture
def wave_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "waves" / "testprog" / "testgemeente"
    build_journal(folder / "journal.sqlite", monkeypatch)
    return folder


@pytest.fixture
def written(wave_dir: Path) -> tuple[Path, Path]:
    paths = write_report(wave_dir / "journal.sqlite", plan=plan())
    assert paths.folder == run_folder(wave_dir, 4) == wave_dir / "reports" / "run-4"
    return paths.html, paths.pdf


def test_the_report_says_what_moved_the_gate_and_what_failed(written: tuple[Path, Path]) -> None:
    html, pdf = written
    page = html.read_text(encoding="utf-8")
    text = pdf_text(pdf)
    for body in (page, text):
        assert "testprog / testgemeente" in body
        assert APPROVER in body and "controle-01" in body  # who decided, from where
        assert FAILURE in body  # run 1's failed step, in the rollback's history ... and shown
        for share in ("burgerzaken", "archief"):
            assert share in body
        # the second attempt's figures, counted once (the first attempt was rolled back)
        assert "1.512" in body  # files verified
        assert "321" in body and "88" in body and "17" in body
        assert "approve" in body and "no audit trail" not in body  # the audit trail
        assert "source side restored and verified" in body  # the rollback run
    # bytes copied of burgerzaken in presync: 480 MB in 240 s = 2.00 MB/s
    assert re.search(r"burgerzaken</th><td>presync</td>.*?<td class=\"n\">2\.00</td>", page)
    assert "gepland: duur in de laatste generale repetitie" in page
    assert "<main>" in page and 'lang="en"' in page and "<figure>" in page


def test_the_pdf_s_first_page_holds_the_chart(written: tuple[Path, Path], tmp_path: Path) -> None:
    _, pdf = written
    subprocess.run(
        [need("pdftoppm"), "-r", "60", "-f", "1", "-l", "1", "-png", str(pdf), str(tmp_path / "p")],
        check=True,
    )
    [png] = tmp_path.glob("p*.png")
    image = Image.open(io.BytesIO(png.read_bytes())).convert("RGB")
    pixels = list(image.get_flattened_data())

    def near(colour: str) -> int:
        want = tuple(int(colour[i : i + 2], 16) for i in (1, 3, 5))
        return sum(1 for p in pixels if all(abs(a - b) <= 12 for a, b in zip(p, want, strict=True)))

    # The actual bars (blue) and the planned ones (grey) are drawn on page 1.
    assert near(ACTUAL_OK) > 500, "no actual bars of the Gantt chart on page 1"
    assert near(PLANNED) > 200, "no planned bars of the Gantt chart on page 1"


def test_a_rollback_s_report_shows_the_failed_attempt(wave_dir: Path, tmp_path: Path) -> None:
    paths = write_report(wave_dir / "journal.sqlite", tmp_path / "r3", run_id=3, plan=plan())
    page = paths.html.read_text(encoding="utf-8")
    assert "no go/no-go decision yet" in page
    assert "Run 3 (rollback)" in page
    assert "cutover.app.zaaksysteem" in page and FAILURE in page
    assert "rollback.source-in-service" in page
    # the failed step's bar is drawn cross-hatched in red on the step chart
    assert "✗" in page


def test_the_html_opens_in_chromium_without_console_errors(written: tuple[Path, Path]) -> None:
    from playwright.sync_api import sync_playwright

    html, _ = written
    chromium = need("chromium")
    problems: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        try:
            page = browser.new_page()
            page.on(
                "console",
                lambda m: (
                    problems.append(f"console {m.type}: {m.text}")
                    if m.type in ("error", "warning")
                    else None
                ),
            )
            page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
            page.on("requestfailed", lambda r: problems.append(f"request failed: {r.url}"))
            page.goto(html.as_uri(), wait_until="load")
            assert "Weekendrapport" in page.title()
            charts = page.locator("figure img")
            assert charts.count() >= 3  # phases, steps, throughput
            for i in range(charts.count()):
                loaded = charts.nth(i).evaluate("img => img.complete && img.naturalWidth")
                assert loaded and loaded > 300, f"chart {i} did not load"
            box = charts.first.bounding_box()
            assert box is not None and box["height"] > 150
            assert (
                page.get_by_role("heading", name="Go/no-go-besluit / Go/no-go decision").count()
                == 1
            )
        finally:
            browser.close()
    assert problems == []


def test_no_secret_reaches_the_report(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "waves" / "testprog" / "testgemeente"
    journal = build_journal(
        folder / "journal.sqlite", monkeypatch, secret=SECRET, plant=f"password={SECRET}"
    )
    paths = write_report(journal, plan=plan())
    page = paths.html.read_text(encoding="utf-8")
    assert "password=" in page  # the planted texts are in the report ...
    assert SECRET not in page  # ... without the secret
    assert SECRET not in pdf_text(paths.pdf)
    assert SECRET.encode() not in paths.pdf.read_bytes()


def test_the_audit_trail_is_shown_as_the_journal_keeps_it(wave_dir: Path) -> None:
    journal = wave_dir / "journal.sqlite"
    with sqlite3.connect(journal) as db:
        rows = db.execute("SELECT action, actor_by, hash FROM audit ORDER BY id").fetchall()
    assert ("approve", APPROVER) in {(r[0], r[1]) for r in rows}
    paths = write_report(journal, plan=plan())
    page = paths.html.read_text(encoding="utf-8")
    text = pdf_text(paths.pdf)
    for _, _, digest in rows:
        assert digest[:12] in page and digest[:12] in text
    assert "actor_os_user" in page
    assert "hash chain intact" in page and "NOT intact" not in page
    assert "hash chain intact" in text


def test_a_tampered_audit_trail_is_reported_as_such(wave_dir: Path) -> None:
    journal = wave_dir / "journal.sqlite"
    with sqlite3.connect(journal) as db:
        db.execute("UPDATE audit SET actor_by='Someone Else' WHERE action='approve'")
    paths = write_report(journal, plan=plan())
    page, text = paths.html.read_text(encoding="utf-8"), pdf_text(paths.pdf)
    for shown in (page, " ".join(text.split())):
        assert "hash chain NOT intact" in shown
        assert "edited (its hash differs)" in shown


def test_a_journal_without_an_audit_trail_says_so(wave_dir: Path) -> None:
    journal = wave_dir / "journal.sqlite"
    with sqlite3.connect(journal) as db:  # a journal written before the audit trail
        db.execute("DROP TABLE audit")
    paths = write_report(journal, plan=plan())
    assert "no audit trail in this journal" in paths.html.read_text(encoding="utf-8")
    assert "no audit trail in this journal" in pdf_text(paths.pdf)
    with sqlite3.connect(journal) as db:  # read, never created
        assert not db.execute("SELECT 1 FROM sqlite_master WHERE name='audit'").fetchone()


def test_the_journal_is_only_read(wave_dir: Path) -> None:
    journal = wave_dir / "journal.sqlite"
    before = journal.read_bytes()
    write_report(journal, plan=plan())
    assert journal.read_bytes() == before
    # A reader of a WAL journal may leave SQLite's shared index beside it, never a write.
    wal = wave_dir / "journal.sqlite-wal"
    assert not wal.exists() or wal.stat().st_size == 0
    with open_view(journal) as view, pytest.raises(sqlite3.OperationalError, match="readonly"):
        view.db.execute("DELETE FROM runs")


def test_eendracht_report_rebuilds_from_a_journal(wave_dir: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(app, ["report", str(wave_dir)])
    assert result.exit_code == 0, result.output
    assert (wave_dir / "reports" / "run-4" / "report.pdf").is_file()
    result = runner.invoke(app, ["report", str(wave_dir / "journal.sqlite"), "--run", "1",
                                 "--out", str(tmp_path / "one")])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "Run 1 (wave)" in (tmp_path / "one" / "report.html").read_text(encoding="utf-8")


def test_eendracht_report_refuses_what_is_not_a_journal(tmp_path: Path) -> None:
    text = tmp_path / "notes.txt"
    text.write_text("not a database\n")
    other = tmp_path / "other.sqlite"
    with sqlite3.connect(other) as db:
        db.execute("CREATE TABLE t (x)")
    empty = tmp_path / "waves" / "p" / "m" / "journal.sqlite"
    empty.parent.mkdir(parents=True)
    with sqlite3.connect(empty) as db:  # a journal without a run
        db.executescript(__import__("eendracht.wave.journal").wave.journal.SCHEMA)
    out = tmp_path / "out"
    before = sorted(p for p in tmp_path.rglob("*"))
    for bad in (tmp_path / "missing.sqlite", text, other, empty, tmp_path / "no-such-dir"):
        result = CliRunner().invoke(app, ["report", str(bad), "--out", str(out)])
        assert result.exit_code == 2, result.output
        lines = result.output.strip().splitlines()
        assert len(lines) == 1 and str(bad) in lines[0], result.output
        assert "Traceback" not in result.output
    assert sorted(p for p in tmp_path.rglob("*")) == before  # nothing written


def test_a_report_that_cannot_be_written_never_fails_the_run(wave_dir: Path) -> None:
    said: list[str] = []

    def broken_plan() -> None:
        raise RuntimeError("the runbook could not be built")

    paths, _ = report_after(
        wave_dir / "journal.sqlite", run_id=None, plan=broken_plan, say=said.append
    )
    assert paths is None
    assert said == [
        "report not written (RuntimeError: the runbook could not be built); the run's result stands"
    ]
    with pytest.raises(NotAJournal):
        open_view(wave_dir / "nothing.sqlite")
