"""`eendracht audit verify JOURNAL`: is a journal's audit trail intact, and export it.

Exit status 0 when the trail is intact, 1 when a record was edited or deleted (the line
names the first one), 2 when the file is not a journal or audit log. Opens the file read-only:
an auditor's copy is never changed by looking at it.
"""

from __future__ import annotations

import sqlite3
import sys
from contextlib import closing
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from eendracht.audit import export_csv, export_json, open_read_only, records, verify
from eendracht.commands.common import EXIT_INVALID, err_console

EXIT_TAMPERED = 1

audit_app = typer.Typer(
    name="audit",
    help="The hash-chained audit trail of a wave journal: verify it, export it.",
    no_args_is_help=True,
)


class ExportFormat(StrEnum):
    csv = "csv"
    json = "json"


@audit_app.command("verify")
def verify_command(
    journal: Annotated[
        Path, typer.Argument(help="a wave's journal.sqlite, or <state>/audit.sqlite")
    ],
    export: Annotated[
        ExportFormat | None, typer.Option("--export", help="print the trail as csv or json")
    ] = None,
    out: Annotated[
        Path | None, typer.Option("--out", help="write the export to this file, not stdout")
    ] = None,
) -> None:
    """Check every record's hash and the chain between them; optionally export the trail."""
    if not journal.is_file():
        err_console.print(f"{journal}: no such file", markup=False)
        raise typer.Exit(EXIT_INVALID)
    try:
        with closing(open_read_only(journal)) as db:
            trail = records(db)
            verdict = verify(db)
    except sqlite3.DatabaseError as exc:
        reason = "has no audit trail" if "no such table" in str(exc) else "is not a journal"
        err_console.print(f"{journal}: {reason} ({exc})", markup=False)
        raise typer.Exit(EXIT_INVALID) from None
    if export is not None:
        text = export_csv(trail) if export is ExportFormat.csv else export_json(trail, verdict)
        if out is None:
            print(text, end="")
        else:
            out.write_text(text, encoding="utf-8")
    line = (
        f"{journal}: audit trail intact, {verdict.records} records"
        if verdict.intact
        else f"{journal}: audit trail NOT intact: {verdict.reason}"
    )
    # The export owns stdout when it goes there; the verdict then goes to stderr.
    print(line, file=sys.stderr if export is not None and out is None else sys.stdout)
    if not verdict.intact:
        raise typer.Exit(EXIT_TAMPERED)
