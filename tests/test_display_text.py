"""Control characters and terminal escapes in programme values are shown escaped, never
interpreted: `eendracht plan` (text and markdown) and `eendracht check`."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from eendracht.cli import app
from eendracht.display_text import shown
from tests.programmes import copy_programme, edit_yaml

runner = CliRunner()

HOSTILE = "Open \x1b]8;;https://evil.example\x07Zaak\x1b[2J\x9b31m\u202e\nrollback: none"


def _raw_controls(text: str) -> list[str]:
    return [hex(ord(c)) for c in text if (ord(c) < 0x20 and c != "\n") or 0x7F <= ord(c) <= 0x9F]


def test_shown_escapes_c0_c1_del_and_bidi_and_keeps_the_rest() -> None:
    assert shown("a\x1b[31mb") == "a\\x1b[31mb"
    assert shown("\x9b2J\x7f\x00") == "\\x9b2J\\x7f\\x00"
    assert shown("x\ny\tz\r") == "x\\ny\\tz\\r"
    assert shown("abc\u202edef") == "abc\\u202edef"
    assert shown("Daniëlle Özil — D:\\Shares\\x") == "Daniëlle Özil — D:\\Shares\\x"


@pytest.fixture
def hostile(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    root = copy_programme("mini", tmp_path / "mini")

    def app_name(data: dict) -> None:  # type: ignore[type-arg]
        data["applications"][0]["display_name"] = HOSTILE
        data["applications"][0]["koppelingen"][0]["description"] = HOSTILE

    def municipality(data: dict) -> None:  # type: ignore[type-arg]
        data["municipality"]["display_name"] = "Gemeente \x1b[31mRood\x1b[0m"

    edit_yaml(root / "group_vars/noordwaard/applications.yml", app_name)
    edit_yaml(root / "group_vars/noordwaard/municipality.yml", municipality)
    return root


@pytest.mark.parametrize("fmt", ["text", "markdown"])
def test_plan_shows_control_characters_escaped(hostile: Path, fmt: str) -> None:
    result = runner.invoke(app, ["plan", str(hostile), "-m", "noordwaard", "-f", fmt])
    assert result.exit_code == 0, result.output
    assert _raw_controls(result.output) == []
    assert "\\x1b]8;;https://evil.example\\x07Zaak" in result.output
    assert "Gemeente \\x1b[31mRood\\x1b[0m" in result.output
    # the newline inside the value does not start a line of its own
    assert not any(line.startswith("rollback: none") for line in result.output.splitlines())


def test_check_shows_a_bad_value_escaped(hostile: Path) -> None:
    edit_yaml(
        hostile / "group_vars/noordwaard/municipality.yml",
        lambda d: d["municipality"].update(head_count="\x1b]0;pwned\x07\x1b[2J"),
    )
    result = runner.invoke(app, ["check", str(hostile)])
    assert result.exit_code == 2
    assert _raw_controls(result.output) == []
    assert "\\x1b]0;pwned\\x07" in result.output


def test_check_summary_of_a_valid_hostile_programme_has_no_raw_controls(hostile: Path) -> None:
    result = runner.invoke(app, ["check", str(hostile)])
    assert result.exit_code == 0, result.output
    assert _raw_controls(result.output) == []
