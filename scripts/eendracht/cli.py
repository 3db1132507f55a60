"""The `eendracht` command line: one typer app, one module per command family.

Commands that live outside the package register themselves under the `eendracht.commands`
entry point (`[project.entry-points."eendracht.commands"]` in pyproject.toml): the entry
point's name is the command's, its object a typer command function. `eendracht preview` comes
that way from the stacks, which run under it, so the package never imports the stacks.
"""

from __future__ import annotations

from importlib.metadata import entry_points

import typer

from eendracht.commands.audit import audit_app
from eendracht.commands.check import check
from eendracht.commands.drill import drill
from eendracht.commands.export import export_app
from eendracht.commands.lab import lab_app
from eendracht.commands.plan import plan
from eendracht.commands.rehearse import rehearse
from eendracht.commands.report import report
from eendracht.commands.wave import app as wave_app

COMMANDS_GROUP = "eendracht.commands"


def add_registered_commands(app: typer.Typer, group: str = COMMANDS_GROUP) -> None:
    """Add every command registered under the entry point `group`, in the order of their names."""
    for point in sorted(entry_points(group=group), key=lambda p: p.name):
        command = point.load()
        if not callable(command):
            raise TypeError(f"{group}: {point.name} = {point.value} is not a command function")
        app.command(name=point.name)(command)


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
add_registered_commands(app)  # preview, from the stacks (see the module docstring)
app.add_typer(audit_app, name="audit")
app.add_typer(export_app, name="export")
app.add_typer(lab_app, name="lab")
app.add_typer(wave_app, name="wave")
app.command()(rehearse)
app.command()(report)
app.command()(drill)
