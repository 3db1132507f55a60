"""One lab for the whole lab test module: the mini programme at small scale, in a temp state."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from eendracht.lab import LabInfo, lab_down, lab_up
from tests.programmes import FIXTURES

MINI = FIXTURES / "mini"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # The lab starts sshd, slapd and named as root, PostgreSQL as `postgres`, and adds a
    # loopback alias for named: without root it cannot run at all.
    if os.geteuid() != 0:
        skip = pytest.mark.skip(reason="the lab needs root (daemons, postgres user, lo alias)")
        for item in items:
            if item.get_closest_marker("lab"):
                item.add_marker(skip)


@dataclass
class RunningLab:
    info: LabInfo
    state: Path
    outputs: dict[str, Any]

    lab: dict[str, Any]

    @property
    def environment(self) -> Path:
        return self.state / "lab" / "environment"


def lab_state_dir() -> Path:
    # PostgreSQL runs as `postgres`: the state must be traversable by it (pytest's tmp is 0700).
    state = Path(tempfile.mkdtemp(prefix="eendracht-lab-test-", dir="/tmp"))
    state.chmod(0o755)
    return state


@pytest.fixture(scope="module")
def running_lab() -> Iterator[RunningLab]:
    state = lab_state_dir()
    before = os.environ.get("EENDRACHT_STATE")
    os.environ["EENDRACHT_STATE"] = str(state)
    try:
        info = lab_up(MINI, scale="small")
        outputs = json.loads((state / "lab" / "environment" / "outputs.json").read_text())
        details = json.loads((state / "lab" / "lab.json").read_text())
        yield RunningLab(info, state, outputs, details)
    finally:
        lab_down(state)
        shutil.rmtree(state, ignore_errors=True)
        if before is None:
            os.environ.pop("EENDRACHT_STATE", None)
        else:
            os.environ["EENDRACHT_STATE"] = before
