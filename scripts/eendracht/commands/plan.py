"""`eendracht plan PROGRAMME --municipality NAME`: the wave runbook, for operators, a CAB or machines."""

from __future__ import annotations

import json
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.markdown import Markdown

from eendracht.commands.common import (
    VaultPasswordFile,
    console,
    load_or_exit,
    municipality_or_exit,
)
from eendracht.identity import map_identities
from eendracht.module_utils import fewer_collections
from eendracht.plan import build_runbook
from eendracht.plan.document import render_json
from eendracht.plan.drill import drill_document, runbook_lines
from eendracht.plan.markdown import render_markdown
from eendracht.plan.text import print_runbook


class Format(StrEnum):
    TEXT = "text"
    MARKDOWN = "markdown"
    JSON = "json"


def plan(
    programme: Annotated[Path, typer.Argument(help="programme folder, e.g. inventory/altena")],
    municipality: Annotated[
        str, typer.Option("--municipality", "-m", help="the municipality whose wave to plan")
    ],
    output_format: Annotated[
        Format,
        typer.Option("--format", "-f", help="text for operators, markdown for a CAB, json"),
    ] = Format.TEXT,
    vault_password_file: VaultPasswordFile = None,
) -> None:
    """Print the wave runbook of one municipality: phases, steps, checks, rollback, identities."""
    with fewer_collections():
        prog = load_or_exit(programme, vault_password_file)
        municipality_or_exit(prog, municipality)
        mapping = map_identities(prog)
        runbook = build_runbook(prog, municipality, mapping)
        if output_format is Format.JSON:
            document = json.loads(render_json(runbook, mapping))
            document["drill"] = drill_document(prog)
            sys.stdout.write(json.dumps(document, indent=2, ensure_ascii=False) + "\n")
        elif output_format is Format.MARKDOWN:
            sys.stdout.write(render_markdown(runbook, mapping))
            sys.stdout.write("\n" + "\n".join(runbook_lines(prog)) + "\n")
        else:
            print_runbook(console, runbook, mapping)
            console.print(Markdown("\n".join(runbook_lines(prog))))
