"""`eendracht export awx PROGRAMME --municipality NAME --output DIR`: a wave for another engine.

Writes one playbook of awx.awx module calls (configuration as code) that creates the wave's job
templates, its workflow with the go/no-go approval node and who may approve it. Every call is
checked against the installed awx.awx modules' own argument specs before anything is written.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Annotated

import typer
import yaml

from eendracht.awx.config import Names, config_calls, config_playbook
from eendracht.awx.specs import SpecError, call_problems, load_options
from eendracht.awx.workflow import build_workflow
from eendracht.commands.common import (
    EXIT_INVALID,
    VaultPasswordFile,
    console,
    err_console,
    load_or_exit,
    municipality_or_exit,
)
from eendracht.display_text import shown
from eendracht.identity import map_identities
from eendracht.module_utils import fewer_collections
from eendracht.plan import build_runbook

export_app = typer.Typer(
    help="Hand a wave to the engine operators already run: AWX / Ansible Automation Platform.",
    no_args_is_help=True,
)

MAX_NAME = 512  # AWX's limit on the name of every object referred to


def _name_or_exit(option: str, value: str) -> str:
    if not value.strip() or len(value) > MAX_NAME or not value.isprintable():
        err_console.print(
            f"{option}: {shown(value)!r} is not a name AWX takes "
            f"(1 to {MAX_NAME} printable characters)",
            markup=False,
        )
        raise typer.Exit(EXIT_INVALID)
    return value


def _output_or_exit(output: Path) -> Path:
    if output.exists() and not output.is_dir():
        err_console.print(f"--output: {output} exists and is not a directory", markup=False)
        raise typer.Exit(EXIT_INVALID)
    return output


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)


@export_app.command()
def awx(
    programme: Annotated[Path, typer.Argument(help="programme folder, e.g. inventory/altena")],
    municipality: Annotated[
        str, typer.Option("--municipality", "-m", help="the municipality whose wave to export")
    ],
    output: Annotated[Path, typer.Option("--output", "-o", help="folder to write into")],
    from_step: Annotated[
        str | None,
        typer.Option("--from", help="start the workflow at this step (a wave AWX stopped)"),
    ] = None,
    organization: Annotated[str, typer.Option(help="the AWX organization")] = "eendracht",
    project: Annotated[
        str, typer.Option(help="the AWX project that syncs this repository")
    ] = "eendracht",
    inventory: Annotated[
        str | None,
        typer.Option(help="the AWX inventory of the environment (default: eendracht PROGRAMME)"),
    ] = None,
    execution_environment: Annotated[
        str, typer.Option(help="the execution environment built from execution-environment.yml")
    ] = "eendracht",
    credential: Annotated[
        list[str] | None,
        typer.Option(help="a credential every job uses, by name (repeat for more)"),
    ] = None,
    vault_password_file: VaultPasswordFile = None,
) -> None:
    """Write the wave as awx.awx configuration as code: job templates, workflow, approvers."""
    with fewer_collections():
        prog = load_or_exit(programme, vault_password_file)
        municipality_or_exit(prog, municipality)
        names = Names(
            organization=_name_or_exit("--organization", organization),
            project=_name_or_exit("--project", project),
            inventory=_name_or_exit("--inventory", inventory or f"eendracht {prog.name}"),
            execution_environment=_name_or_exit("--execution-environment", execution_environment),
            credentials=tuple(
                _name_or_exit("--credential", c) for c in (credential or ["eendracht machine"])
            ),
        )
        folder = _output_or_exit(output)
        runbook = build_runbook(prog, municipality, map_identities(prog))
        try:
            workflow = build_workflow(runbook, from_step)
        except KeyError:
            err_console.print(
                f"--from: {shown(from_step or '')!r} is not a step of the wave of {municipality} "
                f"(`eendracht plan {programme} -m {municipality}` lists them)",
                markup=False,
            )
            raise typer.Exit(EXIT_INVALID) from None
    calls = config_calls(workflow, names, from_step=from_step is not None)
    try:
        options = load_options(c.module for c in calls)
    except SpecError as exc:
        err_console.print(f"awx.awx: {exc}", markup=False)
        raise typer.Exit(1) from None
    problems = [f"{c.name}: {p}" for c in calls for p in call_problems(options[c.module], c.args)]
    if problems:
        for line in problems:
            err_console.print(f"awx.awx argument spec: {line}", markup=False)
        raise typer.Exit(1)
    suffix = f"-from-{from_step}" if from_step else ""
    path = folder / f"{prog.name}-{municipality}{suffix}.awx.yml"
    header = (
        f"# The wave of {municipality} ({prog.name}) for AWX / Ansible Automation Platform,\n"
        f"# written by `eendracht export awx`; docs/pipelines.md says how to apply and run it:\n"
        f"#   CONTROLLER_HOST=https://awx.example CONTROLLER_OAUTH_TOKEN=... "
        f"ansible-playbook {path.name}\n"
    )
    body = yaml.safe_dump(
        config_playbook(calls), sort_keys=False, allow_unicode=True, width=100, indent=2
    )
    _write(path, header + body)
    step_ids = {s.id for s in runbook.steps()}
    steps = sum(1 for n in workflow.nodes if n.identifier in step_ids)
    console.print(
        f"wrote {path}: {len(workflow.templates)} job templates, a workflow of "
        f"{len(workflow.nodes)} nodes ({steps} steps from {workflow.first_step}, the go/no-go "
        f"approval, {len(workflow.nodes) - steps - 2} rollback nodes)",
        markup=False,
        highlight=False,
        soft_wrap=True,
    )
