"""`eendracht preview STACK`: the stack's resources, counts and sizing, offline under mocks.

The program runs under Pulumi's mocks (no CLI, no Azure, no Graph): every resource it would
register is recorded with its type, name, parent and inputs (secrets shown as "[secret]").
With `--real`, and only where a Pulumi CLI and Azure credentials exist, it runs the real
`pulumi preview` instead.

The command lives with the stacks because it runs them: it is registered under the
`eendracht.commands` entry point (pyproject.toml), which `eendracht.cli` discovers, so the
package never names `consolidated` (imports go `consolidated` -> `eendracht` only).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections import Counter
from typing import Annotated

import typer
from rich.table import Table
from rich.tree import Tree

from consolidated.sizing import size
from eendracht.commands.common import EXIT_INVALID, console, err_console, load_or_exit
from eendracht.problems import ProblemsFound
from eendracht.stackconfig import REPO, read_stack

CREDENTIAL_HINTS = ("ARM_CLIENT_ID", "AZURE_CLIENT_ID", "ARM_USE_MSI", "ARM_USE_OIDC")


def real_preview_possible() -> bool:
    return shutil.which("pulumi") is not None and any(os.environ.get(k) for k in CREDENTIAL_HINTS)


def preview(
    stack: Annotated[
        str, typer.Argument(help="stack name, e.g. altena-prod (stacks/Pulumi.<stack>.yaml)")
    ],
    as_json: Annotated[
        bool,
        typer.Option("--json", help="print every resource as JSON: type, name, parent, inputs"),
    ] = False,
    real: Annotated[
        bool,
        typer.Option(
            "--real", help="run the real `pulumi preview` when the CLI and credentials exist"
        ),
    ] = False,
) -> None:
    """Preview a stack offline: resource tree, counts by type and the sizing decisions."""
    try:
        config = read_stack(stack)
    except ProblemsFound as exc:
        for problem in exc.problems:
            err_console.print(str(problem), markup=False)
        raise typer.Exit(EXIT_INVALID) from None
    programme = load_or_exit(config.programme_path)

    if real:
        if real_preview_possible():
            result = subprocess.run(
                ["pulumi", "preview", "--stack", stack, "--cwd", str(REPO), "--non-interactive"],
                check=False,
            )
            raise typer.Exit(result.returncode)
        err_console.print(
            "--real: no Pulumi CLI or Azure credentials here; showing the mocked preview",
            markup=False,
        )

    # Here, not at the top: the mocked run imports Pulumi (about a second), and this module is
    # imported at every start of the CLI to register the command.
    from consolidated.mocked import run_stack_mocked

    run = run_stack_mocked(programme, config.settings, stack=stack)
    if as_json:
        print(
            json.dumps(
                [r.as_json() for r in run.resources], indent=1, ensure_ascii=False, default=str
            )
        )
        return

    console.print(
        f"[bold]{stack}[/]: programme {programme.name} ({config.programme_path.relative_to(REPO)}), "
        f"{len(run.resources)} resources, mocked (no Azure contacted)"
    )
    tree = Tree(f"[bold]{stack}[/]")
    components = [r for r in run.resources if not r.custom]
    nodes = {c.name: c for c in components}
    branches: dict[str, Tree] = {}
    for component in components:
        holder = branches.get(component.parent or "", tree) if component.parent in nodes else tree
        branches[component.name] = holder.add(f"[bold]{component.name}[/] ({component.type})")
    for name, branch in branches.items():
        kinds = Counter(r.type for r in run.children(name) if r.custom)
        for kind, n in sorted(kinds.items()):
            branch.add(f"{kind} x {n}")
    console.print(tree)

    counts = Table(title="Resources by type", title_justify="left")
    counts.add_column("type")
    counts.add_column("count", justify="right")
    for kind, n in run.counts().items():
        counts.add_row(kind, str(n))
    console.print(counts)

    decisions = Table(title="Sizing decisions", title_justify="left")
    for column in ("topic", "value", "rule"):
        decisions.add_column(column, justify="right" if column == "value" else "left")
    for decision in size(programme, config.settings).decisions:
        decisions.add_row(decision.topic, str(decision.value), decision.rule)
    console.print(decisions)

    outputs = Table(title="Stack outputs", title_justify="left")
    outputs.add_column("name")
    outputs.add_column("value", overflow="fold")
    for key, value in run.outputs.items():
        outputs.add_row(
            key, json.dumps(value, ensure_ascii=False) if not isinstance(value, str) else value
        )
    console.print(outputs)
