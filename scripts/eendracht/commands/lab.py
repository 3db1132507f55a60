"""`eendracht lab up|status|down`: the rehearsal lab of real daemons on loopback addresses."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from eendracht.audit import audited, state_log
from eendracht.commands.common import (
    EXIT_INVALID,
    VaultPasswordFile,
    console,
    err_console,
    report_problems,
    vault_or_exit,
)
from eendracht.lab import DEFAULT_SEED, SCALES, LabError, LabInfo, lab_down, lab_status, lab_up
from eendracht.lab.plan import REPLICATION_MODES
from eendracht.problems import ProblemsFound
from eendracht.state import StateRootError

lab_app = typer.Typer(
    name="lab",
    help="The rehearsal lab: sshd, slapd, named, PostgreSQL and HTTP services on loopback.",
    no_args_is_help=True,
)
EXIT_LAB = 1


def _table(info: LabInfo) -> Table:
    table = Table(title=info.message, title_justify="left")
    for col in ("service", "listens on", "pid", "answers", "credentials (file)"):
        table.add_column(col, overflow="fold")
    for s in info.services:
        answers = "[green]yes[/]" if s.running and s.answers else "[red]no[/]"
        if s.on_demand and not s.running:
            answers = "capacity 0 (started by a failover)"
        if s.detail:
            answers += f" ({s.detail})"
        credentials = s.credentials_file.removeprefix(f"{info.lab}/")
        table.add_row(s.name, f"{s.address}:{s.port}", str(s.pid or "-"), answers, credentials)
    return table


def _audited_up(programme: Path, up: Callable[[], LabInfo]) -> LabInfo:
    info: LabInfo = audited(
        state_log(), "lab up", str(programme), up, unrecorded=(ProblemsFound, StateRootError)
    )
    return info


@lab_app.command("up")
def up(
    programme: Annotated[Path, typer.Argument(help="programme folder, e.g. inventory/altena")],
    scale: Annotated[
        str, typer.Option(help="small (seconds, tests) or full (real numbers)")
    ] = "small",
    seed: Annotated[int, typer.Option(help="seed of the synthetic data")] = DEFAULT_SEED,
    as_json: Annotated[bool, typer.Option("--json", help="print every service as JSON")] = False,
    vault_password_file: VaultPasswordFile = None,
    fallback: Annotated[
        str,
        typer.Option(
            help="add the fallback site, its database replicated synchronously or "
            "asynchronously (on a lab that has one: switch the mode)"
        ),
    ] = "",
) -> None:
    """Start and seed the lab for PROGRAMME; a second `up` with the same input changes nothing."""
    if scale not in SCALES:
        err_console.print(f"--scale: must be one of {', '.join(SCALES)} (got {scale!r})")
        raise typer.Exit(EXIT_INVALID)
    if fallback and fallback not in REPLICATION_MODES:
        err_console.print(
            f"--fallback: must be one of {', '.join(REPLICATION_MODES)} (got {fallback!r})"
        )
        raise typer.Exit(EXIT_INVALID)
    vault = vault_or_exit(vault_password_file)
    try:
        if as_json:
            info = _audited_up(
                programme,
                lambda: lab_up(programme, scale=scale, seed=seed, vault=vault, fallback=fallback),
            )
        else:
            with console.status("lab up") as status:
                info = _audited_up(
                    programme,
                    lambda: lab_up(
                        programme,
                        scale=scale,
                        seed=seed,
                        progress=lambda s: status.update(f"lab up: {s}"),
                        vault=vault,
                        fallback=fallback,
                    ),
                )
    except StateRootError as exc:
        err_console.print(exc.line, markup=False)
        raise typer.Exit(EXIT_INVALID) from None
    except ProblemsFound as exc:
        report_problems(exc, programme)
        raise typer.Exit(EXIT_INVALID) from None
    except LabError as exc:
        err_console.print(f"lab: {exc}", markup=False)
        raise typer.Exit(EXIT_LAB) from None
    if as_json:
        print(json.dumps(info.to_json(), indent=2, ensure_ascii=False))
        return
    console.print(_table(info))
    console.print(f"environment: {info.environment}")


@lab_app.command("status")
def status(
    as_json: Annotated[bool, typer.Option("--json", help="print every service as JSON")] = False,
) -> None:
    """What runs and answers; exit status 1 when the lab is not fully up."""
    info = lab_status()
    if as_json:
        print(json.dumps(info.to_json(), indent=2, ensure_ascii=False))
    elif info.services:
        console.print(_table(info))
    else:
        console.print(info.message)
    if not info.all_answer:
        raise typer.Exit(EXIT_LAB)


@lab_app.command("down")
def down() -> None:
    """Stop every process the lab started (by its recorded pid) and remove its state."""
    try:
        stopped = audited(state_log(), "lab down", "lab", lab_down)
    except LabError as exc:
        err_console.print(f"lab: {exc}", markup=False)
        raise typer.Exit(EXIT_LAB) from None
    console.print(f"lab down: stopped {len(stopped)} processes, state removed")
