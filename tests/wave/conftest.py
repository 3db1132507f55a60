"""Shared fixtures for the wave tests: a state root and an environment for the mini programme."""

from __future__ import annotations

from pathlib import Path

import pytest
from wave_support import fake_environment


@pytest.fixture
def state(tmp_path: Path) -> Path:
    root = tmp_path / "state"
    root.mkdir()
    return root


@pytest.fixture
def environment(tmp_path: Path) -> Path:
    return fake_environment(tmp_path / "environment")
