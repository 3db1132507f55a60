"""The drill's and the fallback site's command-line input: one line, exit 2, nothing written."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from eendracht.cli import app

MINI = Path(__file__).resolve().parent / "fixtures" / "programmes" / "mini"


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["lab", "up", str(MINI), "--fallback", "sometimes"], "--fallback: must be one of"),
        (["drill", str(MINI)], "--environment DIR or --lab"),
        (["drill", str(MINI), "--lab"], "the lab is not up"),
    ],
)
def test_bad_input_is_one_line_and_writes_nothing(
    args: list[str], said: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    state = tmp_path / "state"
    monkeypatch.setenv("EENDRACHT_STATE", str(state))
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and said in lines[0], lines
    assert not state.exists() or not any(state.rglob("*"))
