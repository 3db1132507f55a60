"""`eendracht rehearse PROGRAMME --municipality NAME`: a whole migration weekend on the lab."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from eendracht.commands.common import (
    EXIT_INVALID,
    VaultPasswordFile,
    console,
    err_console,
    load_or_exit,
    municipality_or_exit,
    report_problems,
)
from eendracht.display_text import shown
from eendracht.lab import SCALES
from eendracht.problems import ProblemsFound
from eendracht.state import StateRootError, usable_state_root
from eendracht.wave.display import LiveProgress, human_bytes
from eendracht.wave.paths import lab_dir
from eendracht.wave.rehearse import Rehearsal
from eendracht.wave.rehearse import rehearse as run_rehearsal


def time_table(result: Rehearsal) -> Table:
    """Where the rehearsal's time went: lab up, each phase's work and overhead, verification,
    lab down; so a regression shows where it is."""
    table = Table(title="where the time went", title_justify="left")
    for column in ("part", "steps", "seconds", "work", "overhead"):
        table.add_column(column, justify="left" if column == "part" else "right")
    table.add_row("lab up", "", f"{result.seconds.get('lab_up', 0):.1f}", "", "")
    for p in result.phases:
        share = f" ({p.overhead / p.seconds:.0%})" if p.seconds else ""
        table.add_row(
            p.phase, str(p.steps), f"{p.seconds:.1f}", f"{p.work:.1f}", f"{p.overhead:.1f}{share}"
        )
    if result.phases:
        work = sum(p.work for p in result.phases)
        wall = sum(p.seconds for p in result.phases)
        table.add_row(
            "all phases",
            str(sum(p.steps for p in result.phases)),
            f"{wall:.1f}",
            f"{work:.1f}",
            f"{wall - work:.1f} ({(wall - work) / work:.0%} of the work)" if work else "",
        )
    for key, label in (("verification", "verification"), ("lab_down", "lab down")):
        if key in result.seconds:
            table.add_row(label, "", f"{result.seconds[key]:.1f}", "", "")
    table.add_row("total", "", f"{result.seconds.get('total', 0):.1f}", "", "")
    return table


SUMMARY = (
    ("bytes_transferred", "bytes copied"),
    ("files_transferred", "files copied"),
    ("files_verified", "files verified"),
    ("shares_frozen", "shares frozen"),
    ("accounts_created", "accounts created"),
    ("accounts_enabled", "enabled"),
    ("source_disabled", "source accounts disabled"),
    ("accounts_verified", "accounts verified"),
    ("records_updated", "DNS record updates"),
    ("records_verified", "records verified"),
    ("databases_restored", "databases moved"),
    ("rows_compared", "rows compared"),
)


def rehearse(
    programme: Annotated[Path, typer.Argument(help="programme folder, e.g. inventory/altena")],
    municipality: Annotated[str, typer.Option("--municipality", "-m", help="the municipality")],
    yes: Annotated[
        bool, typer.Option("--yes", help="approve the go/no-go gate automatically")
    ] = False,
    scale: Annotated[str, typer.Option(help="lab scale: small or full")] = "small",
    state: Annotated[Path | None, typer.Option(help="state root")] = None,
    vault_password_file: VaultPasswordFile = None,
) -> None:
    """Lab up, the whole wave, independent verification, a summary, lab down."""
    # Refused before anything is written or started: one line, exit 2.
    if scale not in SCALES:
        err_console.print(
            f"--scale: must be one of {', '.join(SCALES)} (got {scale!r})", markup=False
        )
        raise typer.Exit(EXIT_INVALID)
    try:
        usable_state_root(state)
    except StateRootError as exc:
        err_console.print(exc.line, markup=False)
        raise typer.Exit(EXIT_INVALID) from None
    prog = load_or_exit(programme, vault_password_file)
    municipality_or_exit(prog, municipality)

    approver = prog.settings.go_no_go.approvers[0]

    def approve() -> str | None:
        if console.is_terminal and typer.confirm(f"verified: approve the gate as {approver}?"):
            return approver
        return None

    try:
        with LiveProgress(console) as live:
            result = run_rehearsal(
                programme, municipality, yes=yes, approve=approve, state=state, scale=scale,
                listener=live, say=console.print, vault_password_file=vault_password_file,
            )  # fmt: skip
    except ProblemsFound as exc:  # the lab's environment does not serve this wave
        report_problems(exc, lab_dir(state) / "environment")
        raise typer.Exit(EXIT_INVALID) from None
    if result.outcome is not None:
        console.print(
            Text(f"wave: {result.outcome.status}: {shown(result.outcome.message)}"),
            soft_wrap=True,
            highlight=False,
        )
    counts: dict[str, int] = {}
    for phase_counts in result.status.get("counts", {}).values():
        for key, value in phase_counts.items():
            counts[key] = counts.get(key, 0) + value
    moved = ", ".join(
        f"{label} {human_bytes(counts[k]) if k.startswith('bytes') else counts[k]}"
        for k, label in SUMMARY
        if k in counts
    )
    console.print(f"moved and verified: {moved}", soft_wrap=True)
    if result.report is not None:
        table = Table("area", "passed", "failed checks", title="independent verification")
        failed: dict[str, list[str]] = {}
        for check in result.report.checks:
            if not check.ok:
                failed.setdefault(check.area, []).append(f"{check.name}: {check.detail}")
        for area, (passed, total) in result.report.summary().items():
            table.add_row(area, f"{passed}/{total}", "; ".join(failed.get(area, []))[:200])
        console.print(table)
    console.print(time_table(result))
    console.print(f"journal and report: {result.saved}")
    verdict = "[green]rehearsal passed[/]" if result.exit_code == 0 else "[red]rehearsal failed[/]"
    console.print(verdict)
    raise typer.Exit(result.exit_code)
