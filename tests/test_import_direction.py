"""Imports that must go one way only (docs/architecture.md), read from the source, every level."""

from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / "scripts" / "eendracht"
STACKS = REPO / "stacks" / "consolidated"
# Runs the stack under Pulumi's mocks: the one place the package reaches into the stacks.
PREVIEW = PACKAGE / "commands" / "preview.py"


def imported(path: Path) -> set[str]:
    """Every module a file imports, at the top or inside a function."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def _top(name: str) -> str:
    return name.split(".", 1)[0]


def test_the_stacks_import_the_package_and_not_the_reverse() -> None:
    package_to_stacks = {
        path.relative_to(REPO).as_posix()
        for path in PACKAGE.rglob("*.py")
        if path != PREVIEW and any(_top(n) == "consolidated" for n in imported(path))
    }
    assert package_to_stacks == set()
    stacks_use_package = [p for p in STACKS.rglob("*.py") if "eendracht.programme" in imported(p)]
    assert stacks_use_package  # the direction that remains
    assert "eendracht.stacksettings" in imported(STACKS / "program.py")


def test_the_programme_loader_imports_the_rules_and_not_the_reverse() -> None:
    programme = PACKAGE / "programme"
    assert "eendracht.programme.rules" in imported(programme / "loader.py")
    assert "eendracht.programme.loader" not in imported(programme / "rules.py")
