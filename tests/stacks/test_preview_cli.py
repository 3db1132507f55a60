"""`eendracht preview STACK [--json]` (the mocked run itself is shared with the other tests)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

sys.path.insert(0, str(Path(__file__).parent))
from stack_graph import example

import consolidated.mocked
from eendracht.cli import app

STACK = "altena-prod"


@pytest.fixture
def shared_run(monkeypatch: pytest.MonkeyPatch) -> Any:
    run = example(STACK)[2]
    monkeypatch.setattr(consolidated.mocked, "run_stack_mocked", lambda *a, **k: run)
    return run


def test_unknown_stack_exits_2_naming_the_known_ones() -> None:
    result = CliRunner().invoke(app, ["preview", "nope"])
    assert result.exit_code == 2
    assert "unknown stack 'nope'" in result.output
    assert "altena-prod" in result.output


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
