"""One path: nothing under playbooks/ knows the lab, and every variable a role reads is in its
argument spec (so the only way in is what the spec documents: the environment's variables)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from jinja2 import Environment, meta

REPO = Path(__file__).resolve().parents[1]
PLAYBOOKS = REPO / "playbooks"
ROLES = sorted(p for p in (PLAYBOOKS / "roles").iterdir() if (p / "meta").is_dir())
LAB_WORD = re.compile(r"\blab(?:\b|_)", re.IGNORECASE)
# Ansible's magic variables and Jinja's globals: not role inputs.
MAGIC = {
    "hostvars", "inventory_hostname", "ansible_play_hosts", "groups", "omit", "play_hosts",
    "ansible_check_mode", "ansible_loop", "lookup", "query", "q", "range", "dict", "lipsum",
    "cycler", "joiner", "namespace", "now", "undef", "item", "true", "false", "none",
}  # fmt: skip
CONDITIONAL_KEYS = {"when", "that", "until", "changed_when", "failed_when", "loop"}


class _AnyName(dict[str, Any]):
    """Every filter and test name exists: Ansible's own are not loaded for parsing."""

    def __contains__(self, key: object) -> bool:
        return True

    def __missing__(self, key: str) -> Any:
        return lambda *args, **kwargs: None

    def get(self, key: str, default: Any = None) -> Any:
        return self[key]


JINJA = Environment()
JINJA.filters = _AnyName(JINJA.filters)  # type: ignore[assignment]
JINJA.tests = _AnyName(JINJA.tests)  # type: ignore[assignment]


def test_no_file_under_playbooks_mentions_the_lab() -> None:
    offenders = []
    for path in PLAYBOOKS.rglob("*"):
        if path.is_file() and path.suffix in {".yml", ".yaml", ".py", ".j2", ".cfg", ".md"}:
            for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                if LAB_WORD.search(line):
                    offenders.append(f"{path.relative_to(REPO)}:{n}: {line.strip()}")
    assert offenders == [], "\n".join(offenders)


def _expressions(node: Any, key: str = "") -> Iterator[str]:
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _expressions(v, str(k))
    elif isinstance(node, list):
        for v in node:
            yield from _expressions(v, key)
    elif isinstance(node, str):
        if key in CONDITIONAL_KEYS and "{{" not in node:
            yield "{{ " + node + " }}"
        elif "{{" in node or "{%" in node:
            yield node


def _declared(node: Any) -> set[str]:
    """Names a task file defines itself: registered results, set_fact keys, task vars, loop vars."""
    out: set[str] = set()
    if isinstance(node, dict):
        if isinstance(node.get("register"), str):
            out.add(node["register"])
        for key in ("vars", "ansible.builtin.set_fact", "set_fact"):
            if isinstance(node.get(key), dict):
                out |= set(node[key])
        control = node.get("loop_control")
        if isinstance(control, dict):
            out |= {str(control[k]) for k in ("loop_var", "index_var") if k in control}
        for value in node.values():
            out |= _declared(value)
    elif isinstance(node, list):
        for value in node:
            out |= _declared(value)
    return out


def _read(role: Path) -> tuple[set[str], set[str]]:
    used: set[str] = set()
    declared: set[str] = set()
    files = [*sorted((role / "tasks").glob("*.yml")), role / "defaults" / "main.yml"]
    for path in files:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        declared |= _declared(data)
        for text in _expressions(data):
            used |= meta.find_undeclared_variables(JINJA.parse(text))
    for template in sorted((role / "templates").glob("*.j2")):
        used |= meta.find_undeclared_variables(JINJA.parse(template.read_text(encoding="utf-8")))
    return used - declared - MAGIC, declared


@pytest.mark.parametrize("role", ROLES, ids=[r.name for r in ROLES])
def test_every_variable_a_role_reads_is_in_its_argument_spec(role: Path) -> None:
    specs = yaml.safe_load((role / "meta" / "argument_specs.yml").read_text(encoding="utf-8"))
    used, _ = _read(role)
    for entry, body in specs["argument_specs"].items():
        missing = sorted(used - set(body.get("options") or {}))
        assert missing == [], f"{role.name} entry point {entry} does not document {missing}"
    defaults = yaml.safe_load((role / "defaults" / "main.yml").read_text(encoding="utf-8")) or {}
    documented = set(specs["argument_specs"]["main"]["options"])
    assert set(defaults) <= documented, f"{role.name}: defaults not in the spec"
