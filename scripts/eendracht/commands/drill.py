"""`eendracht drill PROGRAMME (--lab | --environment DIR)`: fail over to the fallback site
and back, with RTO and RPO measured (docs/drill.md)."""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from rich.table import Table

from eendracht.commands.common import (
    EXIT_INVALID,
    console,
    err_console,
    load_or_exit,
    report_problems,
)
from eendracht.commands.wave import (
    ConfirmOpt,
    EnvironmentOpt,
    LabOpt,
    ProgrammeArg,
    StateOpt,
    _environment_or_exit,
)
from eendracht.drill.orchestrator import Drill, DrillOutcome
from eendracht.problems import ProblemsFound
from eendracht.wave.display import LiveProgress


def _table(drill: Drill, outcome: DrillOutcome) -> Table:
    figures = drill.figures(outcome.drill)
    table = Table(title=f"drill {outcome.drill}", title_justify="left")
    for col in ("step", "status", "seconds"):
        table.add_column(col)
    for s in figures["steps"]:
        table.add_row(f"{s['id']}: {s['title']}", s["status"], str(s["seconds"] or ""))
    return table


def drill(
    programme: ProgrammeArg,
    environment: EnvironmentOpt = None,
    lab: LabOpt = False,
    resume: Annotated[
        bool, typer.Option("--resume", help="continue an interrupted drill where it stopped")
    ] = False,
    force: Annotated[
        bool,
        typer.Option("--force", help="fail over although the standby is not in sync"),
    ] = False,
    confirm: ConfirmOpt = False,
    state: StateOpt = None,
) -> None:
    """Fail the target site over to the fallback site and back; RTO and RPO measured."""
    directory = _environment_or_exit(environment, lab, state)
    prog = load_or_exit(programme)
    try:
        run = Drill(programme, environment=directory, lab=lab, state=state, programme=prog)
    except ProblemsFound as exc:
        report_problems(exc, directory)
        raise typer.Exit(EXIT_INVALID) from None
    if not lab and not confirm:
        if not sys.stdin.isatty():
            err_console.print(
                f"a drill takes environment {run.env.name}'s primary site down: without a "
                "terminal, pass --confirm",
                markup=False,
            )
            raise typer.Exit(EXIT_INVALID)
        if not typer.confirm(f"take {run.env.name}'s primary site down for a drill?"):
            err_console.print("not confirmed: nothing was done", markup=False)
            raise typer.Exit(EXIT_INVALID)
    with LiveProgress(console) as live:
        run.listener = live
        outcome = run.run(resume=resume, force=force)
    if outcome.drill:
        console.print(_table(run, outcome))
        run.close()
    if outcome.report is not None:
        console.print(f"report: {outcome.report}", markup=False, highlight=False)
    (console if outcome.exit_code == 0 else err_console).print(outcome.message, markup=False)
    raise typer.Exit(outcome.exit_code)
