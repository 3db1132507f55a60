"""The `eendracht` command line: one typer app, one module per command family."""

from __future__ import annotations

import typer

from eendracht.commands.check import check
from eendracht.commands.lab import lab_app
from eendracht.commands.plan import plan
from eendracht.commands.preview import preview
from eendracht.commands.rehearse import rehearse
from eendracht.commands.wave import app as wave_app

app = typer.Typer(
    name="eendracht",
    help="Merge municipalities into one consolidated environment, one migration weekend at a time.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.command()(check)
app.command()(plan)
# Command families register below, one line each.
app.command()(preview)
app.add_typer(lab_app, name="lab")
app.add_typer(wave_app, name="wave")
app.command()(rehearse)
