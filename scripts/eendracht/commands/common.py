"""What every command shares: loading a programme or exiting 2 with every problem."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from eendracht.environment.vault import PASSWORD_FILE_ENV, VaultError, VaultKey
from eendracht.problems import Problem, ProblemsFound, display_path
from eendracht.programme import Programme, load_programme

EXIT_INVALID = 2

console = Console()
err_console = Console(stderr=True, highlight=False, soft_wrap=True)

# `--vault-password-file FILE` (or $ANSIBLE_VAULT_PASSWORD_FILE, as Ansible reads it): the
# password of a programme's encrypted files and `!vault` values, decrypted in memory only.
VaultPasswordFile = Annotated[
    Path | None,
    typer.Option(
        "--vault-password-file",
        envvar=PASSWORD_FILE_ENV,
        help="the Ansible Vault password of the programme (a file, or a script that prints it)",
        show_envvar=True,
    ),
]


def vault_or_exit(password_file: Path | None) -> VaultKey | None:
    """The vault key of `--vault-password-file`, None without one; exit 2 when unusable."""
    if password_file is None:
        return None
    try:
        return VaultKey.from_file(password_file)
    except VaultError as exc:
        err_console.print(
            str(Problem(display_path(password_file), "--vault-password-file", str(exc))),
            markup=False,
        )
        raise typer.Exit(EXIT_INVALID) from None


def load_or_exit(path: Path, vault_password_file: Path | None = None) -> Programme:
    vault = vault_or_exit(vault_password_file)
    try:
        return load_programme(path, vault)
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
