"""`eendracht report JOURNAL_OR_WAVE_DIR [--out DIR] [--run N]`: rebuilds a run's weekend
report (HTML and PDF) from a journal, read-only (docs/report.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from eendracht.commands.common import EXIT_INVALID, console, err_console, load_or_exit
from eendracht.report.hook import plan_for
from eendracht.report.planned import Plan
from eendracht.report.view import NotAJournal
from eendracht.report.write import write_report


def report(
    journal: Annotated[
        Path,
        typer.Argument(
            help="a journal.sqlite, or the folder holding one (a wave's or a rehearsal's)"
        ),
    ],
    out: Annotated[
        Path | None,
        typer.Option(help="folder to write into (default: the run's folder beside the journal)"),
    ] = None,
    run: Annotated[int | None, typer.Option(help="the run to report (default: the last)")] = None,
    programme: Annotated[
        Path | None,
        typer.Option(help="the programme folder: plan from its runbook (default: the saved plan)"),
    ] = None,
    municipality: Annotated[
        str | None, typer.Option("--municipality", "-m", help="with --programme")
    ] = None,
    state: Annotated[Path | None, typer.Option(help="state root (for the last rehearsal)")] = None,
) -> None:
    """Rebuild a run's weekend report (HTML and PDF) from its journal."""
    plan: Plan | None = None
    folder = journal if journal.is_dir() else journal.parent
    if programme is not None:
        prog = load_or_exit(programme)
        name = municipality or folder.resolve().name
        if name not in prog.municipalities:
            err_console.print(
                f"--municipality: {name!r} is not a municipality of {programme}", markup=False
            )
            raise typer.Exit(EXIT_INVALID)
        plan = plan_for(prog, name, state)
    # A rehearsal's folder is its run's folder; a wave's run N goes to reports/run-N/.
    if out is None and (folder / "report.json").is_file():
        out = folder
    try:
        paths = write_report(journal, out, run_id=run, plan=plan)
    except NotAJournal as exc:
        err_console.print(str(exc), markup=False)
        raise typer.Exit(EXIT_INVALID) from None
    except OSError as exc:
        err_console.print(
            f"{exc.filename or out}: cannot write the report: {exc.strerror}", markup=False
        )
        raise typer.Exit(EXIT_INVALID) from None
    console.print(f"report of run {paths.run_id}: {paths.html} and {paths.pdf}", markup=False)
