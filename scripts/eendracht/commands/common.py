"""What every command shares: loading a programme or exiting 2 with every problem."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

from eendracht.problems import ProblemsFound, display_path
from eendracht.programme import Programme, load_programme

EXIT_INVALID = 2

console = Console()
err_console = Console(stderr=True, highlight=False, soft_wrap=True)


def load_or_exit(path: Path) -> Programme:
    try:
        return load_programme(path)
    except ProblemsFound as exc:
        report_problems(exc, path)
        raise typer.Exit(EXIT_INVALID) from None


def report_problems(exc: ProblemsFound, path: Path) -> None:
    for problem in exc.problems:
        err_console.print(str(problem), markup=False)
    n = len(exc.problems)
    err_console.print(f"{n} problem{'s' if n != 1 else ''} in {display_path(path)}", markup=False)


def municipality_or_exit(programme: Programme, name: str) -> None:
    if name not in programme.municipalities:
        known = ", ".join(programme.municipalities)
        err_console.print(
            f"{programme.root}: --municipality: unknown municipality {name!r} (known: {known})",
            markup=False,
        )
        raise typer.Exit(EXIT_INVALID)
