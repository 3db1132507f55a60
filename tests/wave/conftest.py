"""Shared fixtures for the wave tests: a state root and the mini programme."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from eendracht.outputs import STACK_OUTPUTS


@pytest.fixture
def state(tmp_path: Path) -> Path:
    root = tmp_path / "state"
    root.mkdir()
    return root


@pytest.fixture
def outputs_file(tmp_path: Path) -> Path:
    path = tmp_path / "outputs.json"
    path.write_text(json.dumps({name: f"fake-{name}" for name in STACK_OUTPUTS}))
    return path
