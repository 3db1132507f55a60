"""`eendracht preview STACK [--json]` (the mocked run itself is shared with the other tests).

The command lives in `consolidated.preview_command` and reaches the CLI through the
`eendracht.commands` entry point; the tests patch `consolidated.mocked.run_stack_mocked`, which
the command looks up when it runs.
"""

from __future__ import annotations

import json
import sys
import tomllib
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

import pytest
import typer.main
from typer.testing import CliRunner

sys.path.insert(0, str(Path(__file__).parent))
from stack_graph import example, session_host_capacity

import consolidated.mocked
from eendracht.cli import COMMANDS_GROUP, app

STACK = "altena-prod"
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def shared_run(monkeypatch: pytest.MonkeyPatch) -> Any:
    run = example(STACK)[2]
    monkeypatch.setattr(consolidated.mocked, "run_stack_mocked", lambda *a, **k: run)
    return run


def test_the_stacks_register_preview_through_the_entry_point() -> None:
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    declared = pyproject["project"]["entry-points"][COMMANDS_GROUP]
    assert declared == {"preview": "consolidated.preview_command:preview"}
    installed = {point.name: point.value for point in entry_points(group=COMMANDS_GROUP)}
    assert installed == declared, "installed metadata is stale: run `.tools/bin/uv sync --frozen`"
    group = typer.main.get_command(app)
    assert isinstance(group, typer.main.TyperGroup)
    # The same place in `eendracht --help` as when the package registered it itself.
    names = list(group.commands)
    assert names.index("preview") == names.index("plan") + 1


def test_unknown_stack_exits_2_naming_the_known_ones() -> None:
    result = CliRunner().invoke(app, ["preview", "nope"])
    assert result.exit_code == 2
    [line] = result.output.splitlines()  # one line, nothing else
    assert line.startswith("stacks/Pulumi.nope.yaml: unknown stack 'nope' (known: ")
    assert "altena-prod" in line


def test_json_lists_every_resource(shared_run: Any) -> None:
    result = CliRunner().invoke(app, ["preview", STACK, "--json"])
    assert result.exit_code == 0, result.output
    resources = json.loads(result.output)
    assert len(resources) == len(shared_run.resources)
    assert all(set(r) == {"type", "name", "parent", "inputs"} for r in resources)
    assert {
        "type": "eendracht:index:LandingZone",
        "name": "landing-zone",
        "parent": None,
        "inputs": {},
    } in resources


def test_tree_counts_and_sizing_decisions(shared_run: Any) -> None:
    result = CliRunner().invoke(app, ["preview", STACK], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert f"{len(shared_run.resources)} resources" in result.output
    assert "landing-zone (eendracht:index:LandingZone)" in result.output
    assert "Resources by type" in result.output
    assert "office session hosts" in result.output and "FSLogix quota GiB" in result.output
    assert "recovery_vault_name" in result.output


def test_real_preview_falls_back_to_mocks_without_cli(
    shared_run: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    result = CliRunner().invoke(app, ["preview", STACK, "--real", "--json"])
    assert result.exit_code == 0
    assert "showing the mocked preview" in result.output


def test_preview_shows_the_fallback_drill(shared_run: Any) -> None:
    result = CliRunner().invoke(app, ["preview", STACK], env={"COLUMNS": "250"})
    assert result.exit_code == 0, result.output
    assert "Fallback drill in Azure" in result.output
    assert "recovery plan applicatieservers, boot group 1" in result.output
    assert "isolated: no peering, no gateway" in result.output
    assert "TTL 30 s" in result.output and "probe every 30 s, 3 failures tolerated" in result.output
    office = session_host_capacity(shared_run, "pool-office")
    assert f"capacity 0 -> {office}" in result.output
    assert "customer-managed account failover" in result.output
