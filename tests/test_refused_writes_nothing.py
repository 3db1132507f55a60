"""Refused input writes nothing: a bad --state, scale or programme is one line, exit 2, and the
state folder is the same before and after (`rehearse`, `lab up`)."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from eendracht.cli import app
from eendracht.lab import LabError
from eendracht.wave.rehearse import rehearse
from tests.programmes import FIXTURES, copy_programme, edit_yaml

runner = CliRunner()
MINI = FIXTURES / "mini"


def snapshot(root: Path) -> dict[str, tuple[bool, int]]:
    return {str(p): (p.is_dir(), p.stat().st_size) for p in [root, *root.rglob("*")]}


@pytest.fixture
def state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A state root that already exists, with something in it, and nothing set in the env."""
    monkeypatch.delenv("EENDRACHT_STATE", raising=False)
    root = tmp_path / "state"
    (root / "waves").mkdir(parents=True)
    (root / "waves" / "kept.txt").write_text("kept\n")
    return root


def _run(args: list[str], env: dict[str, str] | None = None) -> tuple[int, list[str]]:
    result = runner.invoke(app, args, env=env)
    return result.exit_code, [line for line in result.output.splitlines() if line.strip()]


def test_rehearse_with_state_pointing_at_a_file(tmp_path: Path, state: Path) -> None:
    a_file = tmp_path / "state-file"
    a_file.write_text("not a folder\n")
    before = snapshot(tmp_path)
    code, lines = _run(["rehearse", str(MINI), "-m", "noordwaard", "--state", str(a_file)])
    assert code == 2
    assert lines == [f"--state: {a_file} cannot be the state folder: {a_file} is a file"]
    assert snapshot(tmp_path) == before


def test_rehearse_with_a_bad_scale(state: Path) -> None:
    before = snapshot(state)
    args = ["rehearse", str(MINI), "-m", "noordwaard", "--state", str(state), "--scale", "huge"]
    code, lines = _run(args)
    assert code == 2
    assert lines == ["--scale: must be one of small, full (got 'huge')"]
    assert snapshot(state) == before


def test_rehearse_library_refuses_a_bad_scale_before_writing(state: Path) -> None:
    before = snapshot(state)
    with pytest.raises(LabError, match="scale must be one of"):
        rehearse(MINI, "noordwaard", yes=True, state=state, scale="huge", say=lambda _: None)
    assert snapshot(state) == before


def test_lab_up_with_a_bad_scale(state: Path) -> None:
    fresh = state.parent / "fresh"
    code, lines = _run(["lab", "up", str(MINI), "--scale", "huge"], {"EENDRACHT_STATE": str(fresh)})
    assert code == 2
    assert lines == ["--scale: must be one of small, full (got 'huge')"]
    assert not fresh.exists()


def test_lab_up_with_a_bad_programme(tmp_path: Path, state: Path) -> None:
    bad = copy_programme("mini", tmp_path / "bad")
    edit_yaml(bad / "group_vars/all/programme.yml", lambda d: d["programme"].pop("azure"))
    fresh = state.parent / "fresh"
    before = snapshot(state)
    for root in (fresh, state):
        code, lines = _run(["lab", "up", str(bad)], {"EENDRACHT_STATE": str(root)})
        assert code == 2
        assert any("programme.azure: required key is missing" in line for line in lines), lines
    assert not fresh.exists()
    assert snapshot(state) == before


def test_lab_up_with_the_state_root_a_file(tmp_path: Path, state: Path) -> None:
    a_file = tmp_path / "state-file"
    a_file.write_text("not a folder\n")
    before = snapshot(tmp_path)
    code, lines = _run(["lab", "up", str(MINI)], {"EENDRACHT_STATE": str(a_file / "lab")})
    assert code == 2
    assert lines == [f"state root: {a_file / 'lab'} cannot be the state folder: {a_file} is a file"]
    assert snapshot(tmp_path) == before
