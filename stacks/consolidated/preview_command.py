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
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table
from rich.tree import Tree

from consolidated.sizing import size

if TYPE_CHECKING:
    from consolidated.mocked import MockedRun
from eendracht.commands.common import EXIT_INVALID, console, err_console, load_or_exit
from eendracht.problems import ProblemsFound
from eendracht.stackconfig import REPO, read_stack

CREDENTIAL_HINTS = ("ARM_CLIENT_ID", "AZURE_CLIENT_ID", "ARM_USE_MSI", "ARM_USE_OIDC")


def real_preview_possible() -> bool:
    return shutil.which("pulumi") is not None and any(os.environ.get(k) for k in CREDENTIAL_HINTS)


def drill_steps(run: MockedRun) -> list[tuple[str, str, str]]:
    """The fallback drill as the stack declares it, in order: (step, what, how). Read from the
    mocked resources, so it shows what a `pulumi up` would create, not what a document says."""
    steps: list[tuple[str, str, str]] = []
    for plan in run.of_type("azure-native:recoveryservices:ReplicationRecoveryPlan"):
        groups = plan.inputs["properties"]["groups"]
        names = {r.id: r.name.removeprefix("asr-item-") for r in run.resources}
        for n, group in enumerate(groups, start=1):
            servers = [names.get(i["id"], i["id"]) for i in group["replicationProtectedItems"]]
            steps.append(
                (
                    f"recovery plan {plan.inputs['recoveryPlanName']}, boot group {n}",
                    ", ".join(servers),
                    "Site Recovery (azure-native:recoveryservices:ReplicationRecoveryPlan)",
                )
            )
            for action in group.get("endGroupActions") or []:
                steps.append(
                    (
                        f"  after boot group {n}",
                        action["customDetails"]["description"],
                        "manual action",
                    )
                )
    for drill in run.of_type("azure-native:network:VirtualNetwork"):
        if drill.inputs.get("tags", {}).get("purpose") == "test-failover":
            steps.append(
                (
                    "test failover network",
                    f"{drill.inputs['virtualNetworkName']} {drill.inputs['addressSpace']['addressPrefixes'][0]}",
                    "isolated: no peering, no gateway",
                )
            )
    profiles = run.of_type("azure-native:trafficmanager:Profile")
    if profiles:
        first = profiles[0].inputs
        probe = first["monitorConfig"]
        steps.append(
            (
                "DNS switch",
                f"{len(profiles)} Traffic Manager profile(s), priority primary=1 fallback=2, "
                f"TTL {int(first['dnsConfig']['ttl'])} s",
                f"{probe['protocol']} probe every {int(probe['intervalInSeconds'])} s, "
                f"{int(probe['toleratedNumberOfFailures'])} failures tolerated",
            )
        )
    for scale_set in run.of_type("azure-native:compute:VirtualMachineScaleSet"):
        target = scale_set.inputs.get("tags", {}).get("failover-capacity")
        if target is not None:
            steps.append(
                (
                    "standby desktops",
                    f"{scale_set.inputs['vmScaleSetName']}: capacity "
                    f"{int(scale_set.inputs['sku']['capacity'])} -> {target}",
                    "operator: renew the registration token, raise the capacity",
                )
            )
    for account in run.of_type("azure-native:storage:StorageAccount"):
        if str(account.inputs.get("sku", {}).get("name", "")).endswith(("GRS", "GZRS")):
            steps.append(
                (
                    "geo-redundant storage",
                    f"{account.inputs['accountName']} ({account.inputs['sku']['name']})",
                    "operator, real failover only: customer-managed account failover",
                )
            )
    return steps


def drill_table(run: MockedRun) -> Table:
    table = Table(title="Fallback drill in Azure", title_justify="left")
    for column in ("step", "what", "how"):
        table.add_column(column, overflow="fold")
    for step in drill_steps(run):
        table.add_row(*step)
    return table


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

    console.print(drill_table(run))

    outputs = Table(title="Stack outputs", title_justify="left")
    outputs.add_column("name")
    outputs.add_column("value", overflow="fold")
    for key, value in run.outputs.items():
        outputs.add_row(
            key, json.dumps(value, ensure_ascii=False) if not isinstance(value, str) else value
        )
    console.print(outputs)
