"""`eendracht check PROGRAMME`: validate everything, report every problem, write nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from eendracht.commands.common import (
    VaultPasswordFile,
    console,
    load_or_exit,
)
from eendracht.identity import map_identities
from eendracht.module_utils import fewer_collections
from eendracht.programme import models as m
from eendracht.programme.summary import figures


def check(
    programme: Annotated[Path, typer.Argument(help="programme folder, e.g. inventory/altena")],
    vault_password_file: VaultPasswordFile = None,
) -> None:
    """Validate a programme: schema, references, order, regions, names and addresses."""
    with fewer_collections():
        _check(programme, vault_password_file)


def _check(programme: Path, vault_password_file: Path | None) -> None:
    prog = load_or_exit(programme, vault_password_file)
    settings = prog.settings
    org = settings.organisation
    console.print(
        f"[bold]{settings.name}[/]: {org.name} <{org.mail_domain}> — "
        f"Azure {settings.azure.primary_region}, fallback {settings.azure.fallback_region}"
    )
    table = Table(
        title=f"{len(prog.municipalities)} municipalities in wave order", title_justify="left"
    )
    table.add_column("municipality", no_wrap=True)
    table.add_column("weekend", no_wrap=True)
    for col in ("staff", "CAD", "shares GB", "DNS cut", "apps", "koppelingen"):
        table.add_column(col, justify="right")
    rows = figures(prog)
    for f in rows:
        table.add_row(
            f.name,
            f.weekend,
            str(f.head_count),
            str(f.cad_users),
            f"{f.share_gb:,.1f}",
            f"{f.records_cut_over}/{f.records}",
            str(f.applications),
            f"{f.koppelingen} ({f.national_koppelingen})",
        )
    console.print(table)
    dispositions = ", ".join(
        f"{d.value} {sum(f.dispositions.get(d.value, 0) for f in rows)}" for d in m.Disposition
    )
    console.print(f"applications: {dispositions}; koppelingen (to national services)")
    report = map_identities(prog).report
    console.print(
        f"identity: {report.accounts} accounts, {report.collisions} name collisions resolved "
        f"({report.renamed} people renamed), {report.aliases} old addresses kept as aliases"
    )
    phases = " -> ".join(p.name.value for p in settings.phases)
    console.print(f"phases: {phases} -> go/no-go")
    console.print("[green]programme is valid[/]")
