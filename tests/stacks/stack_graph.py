"""Shared by the stack tests: one mocked run per stack per test session, and the adapter that
turns a mocked run into the resources the security rules (policy/eendracht_rules.py) check."""

from __future__ import annotations

import functools
import importlib
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "policy"))

import eendracht_rules as rules  # noqa: E402

from consolidated.mocked import (  # noqa: E402
    SUBSCRIPTION,
    MockedRun,
    Recorded,
    _mock_id,
    run_stack_mocked,
)
from eendracht.programme import Programme, load_programme  # noqa: E402
from eendracht.stackconfig import read_stack, stack_names  # noqa: E402
from eendracht.stacksettings import StackSettings  # noqa: E402

__all__ = [
    "ALERT_EMAIL",
    "EXAMPLE_STACKS",
    "MINI",
    "REPO",
    "SSH_KEY",
    "as_res",
    "example",
    "mini",
    "mini_settings",
    "policy_module",
    "rules",
    "session_host_capacity",
    "session_host_model",
    "violations",
]

EXAMPLE_STACKS = tuple(stack_names())
MINI = REPO / "tests/fixtures/programmes/mini"
ALERT_EMAIL = "informatiebeveiliging@mini.example"
SSH_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKO6sXWD4OMaBV7U67hHJ4I2rrufDbpZ8YausTyGI6/5 test"


@functools.cache
def example(stack: str) -> tuple[Programme, StackSettings, MockedRun]:
    config = read_stack(stack)
    programme = load_programme(config.programme_path)
    return programme, config.settings, run_stack_mocked(programme, config.settings, stack=stack)


def policy_module(name: str) -> ModuleType:
    """A module of the policy pack (policy/ is on sys.path, see above)."""
    return importlib.import_module(name)


def mini_settings(**overrides: Any) -> StackSettings:
    return StackSettings(
        programme=str(MINI.relative_to(REPO)),
        admin_ssh_public_key=SSH_KEY,
        **{"security_alert_email": ALERT_EMAIL, **overrides},
    )


@functools.cache
def mini() -> tuple[Programme, StackSettings, MockedRun]:
    programme = load_programme(MINI)
    settings = mini_settings()
    return programme, settings, run_stack_mocked(programme, settings, stack="mini")


def session_host_model(run: MockedRun, pool: str) -> Recorded:
    """The one scale set that holds the session hosts of a pool component (`pool-office`)."""
    (scale_set,) = [r for r in run.of_type(rules.T_VMSS) if r.parent == pool]
    return scale_set


def session_host_capacity(run: MockedRun, pool: str) -> int:
    """How many session hosts a pool has: its scale set's capacity."""
    capacity = session_host_model(run, pool).inputs["sku"]["capacity"]
    assert capacity == int(capacity)
    return int(capacity)


def _ids(value: Any) -> frozenset[str]:
    """Every ARM id anywhere in a property (a mocked id is what an Output resolved to)."""
    if isinstance(value, str):
        return frozenset({value}) if value.startswith("/subscriptions/") else frozenset()
    if isinstance(value, dict):
        return frozenset().union(*(_ids(v) for v in value.values()))
    if isinstance(value, list):
        return frozenset().union(*(_ids(v) for v in value))
    return frozenset()


# Properties whose ARM ids are the references CrossGuard gives as property dependencies.
ID_PROPERTIES = (
    "applicationGroupReferences",
    "scope",
    "properties",
    "destinations",
    "localNetworkGateway2",
)


def _refs_by_name(inputs: dict[str, Any]) -> dict[str, frozenset[str]]:
    """References by name: a resource group, a Log Analytics workspace (Sentinel), which
    CrossGuard sees as dependencies on those resources."""
    refs: dict[str, frozenset[str]] = {}
    group = inputs.get("resourceGroupName")
    if isinstance(group, str):
        refs["resourceGroupName"] = frozenset(
            {f"/subscriptions/{SUBSCRIPTION}/resourceGroups/{group}"}
        )
    workspace = inputs.get("workspaceName")
    if isinstance(workspace, str) and isinstance(group, str):
        refs["workspaceName"] = frozenset(
            {_mock_id("azure-native:operationalinsights:Workspace", workspace, inputs)}
        )
    return refs


def _refs(inputs: dict[str, Any]) -> dict[str, frozenset[str]]:
    refs: dict[str, frozenset[str]] = _refs_by_name(inputs)
    for prop in ID_PROPERTIES:
        found = _ids(inputs.get(prop))
        if found:
            refs[prop] = found
    uri = inputs.get("resourceUri")
    if isinstance(uri, str):
        refs["resourceUri"] = frozenset({uri})
    targets = {
        c.get("privateLinkServiceId")
        for c in inputs.get("privateLinkServiceConnections") or []
        if isinstance(c, dict)
    }
    if targets:
        refs["privateLinkServiceConnections"] = frozenset(t for t in targets if isinstance(t, str))
    # A Conditional Access policy refers to the users it excludes by their object ids (the
    # mocked ids); CrossGuard sees the same as the property dependencies of `conditions`.
    excluded = (inputs.get("conditions") or {}).get("users", {}).get("excludedUsers")
    if isinstance(excluded, list):
        refs["conditions"] = frozenset(u for u in excluded if isinstance(u, str))
    return refs


def as_res(run: MockedRun) -> list[rules.Res]:
    """Mocked resources for the stack rules: the mocked id is the key; a diagnostic setting
    or private endpoint refers to its target by that id, as in Azure."""
    return [
        rules.Res(type=r.type, name=r.name, props=r.inputs, key=r.id, refs=_refs(r.inputs))
        for r in run.resources
        if r.custom
    ]


def violations(run: MockedRun) -> list[str]:
    out = [
        f"{name}: {r.type} {r.name}: {message}"
        for r in run.resources
        if r.custom
        for name, rule in rules.RESOURCE_RULES.items()
        for message in rule(r.type, r.inputs)
    ]
    graph = as_res(run)
    out += [
        f"{name}: {message}" for name, rule in rules.STACK_RULES.items() for message in rule(graph)
    ]
    return out
