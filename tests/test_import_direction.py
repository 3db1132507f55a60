"""Imports that must go one way only (docs/architecture.md), read from the source, every level."""

from __future__ import annotations

import ast
import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / "scripts" / "eendracht"
STACKS = REPO / "stacks" / "consolidated"
# A string that names a module of the stacks: "consolidated", "consolidated.mocked",
# "consolidated.preview_command:preview" (what importlib.import_module or an entry point takes).
NAMES_STACKS = re.compile(r"consolidated(\.\w+)*(:[\w.]+)?")


def imported(path: Path) -> set[str]:
    """Every module a file imports, at the top or inside a function."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def named(path: Path) -> set[str]:
    """Every string constant that is a module name of the stacks (importlib, __import__, ...)."""
    return {
        node.value
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and NAMES_STACKS.fullmatch(node.value.strip())
    }


def _top(name: str) -> str:
    return name.split(".", 1)[0]


def test_the_stacks_import_the_package_and_not_the_reverse() -> None:
    package_to_stacks = {
        path.relative_to(REPO).as_posix()
        for path in PACKAGE.rglob("*.py")
        if any(_top(n) == "consolidated" for n in imported(path)) or named(path)
    }
    assert package_to_stacks == set()
    stacks_use_package = [p for p in STACKS.rglob("*.py") if "eendracht.programme" in imported(p)]
    assert stacks_use_package  # the direction that remains
    assert "eendracht.stacksettings" in imported(STACKS / "program.py")
    # `eendracht preview` lives with the stacks and uses the package's command helpers.
    assert "eendracht.commands.common" in imported(STACKS / "preview_command.py")


def test_the_check_sees_an_import_by_name(tmp_path: Path) -> None:
    sneaky = tmp_path / "sneaky.py"
    sneaky.write_text(
        "import importlib\n"
        "def f():\n"
        "    return importlib.import_module('consolidated.mocked'), __import__('consolidated')\n",
        encoding="utf-8",
    )
    assert named(sneaky) == {"consolidated.mocked", "consolidated"}
    plain = tmp_path / "plain.py"
    plain.write_text('"""Merge into one consolidated environment."""\n', encoding="utf-8")
    assert named(plain) == set()


def test_the_programme_loader_imports_the_rules_and_not_the_reverse() -> None:
    programme = PACKAGE / "programme"
    assert "eendracht.programme.rules" in imported(programme / "loader.py")
    assert "eendracht.programme.loader" not in imported(programme / "rules.py")
