"""Every Graph request the Intune provider makes, held against Microsoft's published metadata.

The vendored CSDL subset (tests/stacks/graph_schema/, cut from microsoftgraph/msgraph-metadata
by scripts/graph_csdl_subset.py) says per API version which properties each type has, of
which EDM type, enum or complex type, what is read-only or deprecated, what a create needs,
and what the bound `assign` action takes. These tests take the Intune objects exactly as both
example stacks declare them, drive the provider through create, read, update and delete, and
validate every body it sent against that schema, independently of the contract server (which
enforces the same schema on the wire).
"""

from __future__ import annotations

import copy
import dataclasses
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from graph_contract_server import GraphContractServer, RecordedRequest
from graph_csdl import SCHEMA_DIR, GraphSchema
from stack_graph import EXAMPLE_STACKS, REPO, example

from consolidated.intune import component, kinds, provider, validation
from consolidated.intune.graph_client import GraphError, RetryPolicy
from consolidated.intune.provider import GraphObjectProvider

KIND_OF_TYPE = {
    "pulumi-python:dynamic/intune:CompliancePolicy": "compliance_policy",
    "pulumi-python:dynamic/intune:ConfigurationProfile": "configuration_profile",
    "pulumi-python:dynamic/intune:AutopilotProfile": "autopilot_profile",
}
CLIENT = "00000000-0000-0000-0000-00000000c1d0"
SECRET = "graph-schema-test-secret"
FAST = RetryPolicy(max_attempts=2, max_wait_seconds=0.01)
OTHER_GROUP = "0e9d8c7b-6a5f-4e3d-8c2b-1a0f9e8d7c6b"
# What the provider sent before this issue: properties v1.0 does not define, and Autopilot
# properties the beta metadata marks read-only and deprecated.
BETA_ONLY_COMPLIANCE = (
    "tpmRequired",
    "defenderEnabled",
    "rtpEnabled",
    "signatureOutOfDate",
    "antivirusRequired",
    "antiSpywareRequired",
    "activeFirewallRequired",
)
DEPRECATED_AUTOPILOT = {
    "language": "nl-NL",
    "extractHardwareHash": True,
    "outOfBoxExperienceSettings": {"hideEULA": True, "userType": "standard"},
    "enableWhiteGlove": False,
}


def intune_inputs(stack: str) -> dict[str, dict[str, Any]]:
    """The Intune resources' inputs of one example stack's mocked run, by kind."""
    _, _, run = example(stack)
    found = {KIND_OF_TYPE[r.type]: dict(r.inputs) for r in run.resources if r.type in KIND_OF_TYPE}
    assert sorted(found) == sorted(KIND_OF_TYPE.values()), f"{stack} declares {sorted(found)}"
    return found


def aimed_at(graph: GraphContractServer, inputs: dict[str, Any]) -> dict[str, Any]:
    """The stack's inputs with the connection pointed at the local contract server."""
    values = {k: v for k, v in inputs.items() if k != "__provider"}
    values.update(
        graph_url=graph.graph_url,
        token_url=graph.token_url,
        tenant_id=graph.tenant.tenant_id,
        client_id=CLIENT,
        client_secret=SECRET,
    )
    return values


@pytest.fixture
def graph() -> Iterator[GraphContractServer]:
    with GraphContractServer("11111111-1111-1111-1111-111111111111", CLIENT, SECRET) as server:
        yield server


def schema_problems(request: RecordedRequest, objects: dict[str, str]) -> list[str]:
    """Validate one recorded request body against the CSDL of the version in its path.
    `objects` maps object ids to their concrete type (from the create responses)."""
    parts = request.path.strip("/").split("/")
    version, collection_path = parts[0], "/".join(parts[:3])
    schema = GraphSchema.load(version)
    entity = schema.collection(f"/{collection_path}")
    assert entity is not None, f"{request.path}: no such collection in Graph {version}"
    rest = parts[3:]
    if request.method == "POST" and not rest:
        return schema.problems_entity(request.body, entity, create=True)
    concrete = objects[rest[0]]
    if request.method == "PATCH" and len(rest) == 1:
        return schema.problems_entity(request.body, entity, create=False)
    if request.method == "POST" and rest[1:] == ["assign"]:
        return schema.problems_action(concrete, "assign", request.body)
    if request.method == "POST" and rest[1:] == ["assignments"]:
        navigation = schema.navigation(concrete, "assignments")
        assert navigation is not None, f"{concrete} has no assignments in Graph {version}"
        return schema.problems_entity(request.body, navigation.type, create=True)
    raise AssertionError(f"unexpected body on {request.method} {request.path}")


def lifecycle(graph: GraphContractServer, kind: str, inputs: dict[str, Any]) -> None:
    """create, read (no drift), update a property and the groups, read, delete."""
    p = GraphObjectProvider(kind, retry=FAST)
    props = aimed_at(graph, inputs)
    assert p.check({}, props).failures == []
    created = p.create(props)
    assert created.outs is not None
    read = p.read(created.id, created.outs)
    assert read.outs is not None
    assert p.diff(created.id, read.outs, props).changes is False, f"{kind} drifts unchanged"
    news = copy.deepcopy(props)
    news["properties"]["description"] = "Bijgewerkt door de schematest."
    news["assignment_group_ids"] = [*props["assignment_group_ids"], OTHER_GROUP]
    updated = p.update(created.id, read.outs, news)
    assert updated.outs is not None
    again = p.read(created.id, updated.outs)
    assert again.outs is not None
    assert p.diff(created.id, again.outs, news).changes is False, f"{kind} drifts after update"
    p.delete(created.id, again.outs)


def bodies(graph: GraphContractServer) -> list[RecordedRequest]:
    return [r for r in graph.graph_requests() if r.body is not None]


@pytest.mark.parametrize("stack", EXAMPLE_STACKS)
def test_every_graph_body_of_the_example_stack_holds_against_the_csdl(
    graph: GraphContractServer, stack: str
) -> None:
    for kind, inputs in intune_inputs(stack).items():
        lifecycle(graph, kind, inputs)

    sent = bodies(graph)
    routes = {re.sub(r"/[0-9a-f-]{36}", "/{id}", f"{r.method} {r.path}") for r in sent}
    assert routes == {
        "POST /beta/deviceManagement/deviceCompliancePolicies",
        "POST /beta/deviceManagement/deviceCompliancePolicies/{id}/assign",
        "PATCH /beta/deviceManagement/deviceCompliancePolicies/{id}",
        "POST /v1.0/deviceManagement/deviceConfigurations",
        "POST /v1.0/deviceManagement/deviceConfigurations/{id}/assign",
        "PATCH /v1.0/deviceManagement/deviceConfigurations/{id}",
        "POST /beta/deviceManagement/windowsAutopilotDeploymentProfiles",
        "POST /beta/deviceManagement/windowsAutopilotDeploymentProfiles/{id}/assignments",
        "PATCH /beta/deviceManagement/windowsAutopilotDeploymentProfiles/{id}",
    }
    problems = {f"{r.method} {r.path}": schema_problems(r, graph.created) for r in sent}
    assert {k: v for k, v in problems.items() if v} == {}
    assert len(sent) == 12  # per kind: create, its assignment, a PATCH, a new assignment


@pytest.mark.parametrize("name", BETA_ONLY_COMPLIANCE)
def test_a_beta_only_compliance_rule_sent_to_v1_is_refused(
    graph: GraphContractServer, name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Put the compliance policy back on v1.0 (as before): the schema and Graph refuse it."""
    v1 = dataclasses.replace(kinds.COMPLIANCE_POLICY, api_version="v1.0")
    monkeypatch.setattr(provider, "KINDS", {**provider.KINDS, "compliance_policy": v1})
    inputs = intune_inputs(EXAMPLE_STACKS[0])["compliance_policy"]
    assert name in inputs["properties"]
    with pytest.raises(GraphError, match=f"'{name}' does not exist on type"):
        GraphObjectProvider("compliance_policy", retry=FAST).create(aimed_at(graph, inputs))
    (post,) = graph.graph_requests("POST")
    problems = schema_problems(post, {})
    assert f"{name}: property '{name}' does not exist on type" in "\n".join(problems)
    assert len(problems) == len(BETA_ONLY_COMPLIANCE)


@pytest.mark.parametrize(("name", "value"), DEPRECATED_AUTOPILOT.items())
def test_a_deprecated_autopilot_property_is_refused(
    graph: GraphContractServer, name: str, value: Any
) -> None:
    """The names the Autopilot profile used before: read-only and deprecated in beta."""
    inputs = copy.deepcopy(intune_inputs(EXAMPLE_STACKS[-1])["autopilot_profile"])
    inputs["properties"][name] = value
    p = GraphObjectProvider("autopilot_profile", retry=FAST)
    failures = p.check({}, aimed_at(graph, inputs)).failures
    assert [f.property for f in failures] == [f"properties.{name}"]
    # Past the provider's own preview check (create does not repeat it), Graph refuses it too.
    with pytest.raises(GraphError, match=rf"{name}: is (deprecated|read-only)"):
        p.create(aimed_at(graph, inputs))
    assert graph.objects["windowsAutopilotDeploymentProfiles"] == {}


def test_role_scope_tags_exist_in_beta_only() -> None:
    body = {"@odata.type": "#microsoft.graph.windows10GeneralConfiguration", "displayName": "x"}
    tagged = {**body, "roleScopeTagIds": ["0"]}
    v1, beta = GraphSchema.load("v1.0"), GraphSchema.load("beta")
    assert v1.problems_entity(body, "deviceConfiguration", create=True) == []
    assert v1.problems_entity(tagged, "deviceConfiguration", create=True) == [
        "roleScopeTagIds: property 'roleScopeTagIds' does not exist on type "
        "'microsoft.graph.windows10GeneralConfiguration' (Graph v1.0)"
    ]
    policy = {
        "@odata.type": "#microsoft.graph.windows10CompliancePolicy",
        "displayName": "x",
        "roleScopeTagIds": ["0"],
        **dict(kinds.COMPLIANCE_POLICY.create_defaults),
    }
    assert beta.problems_entity(policy, "deviceCompliancePolicy", create=True) == []


COMPLIANCE = "#microsoft.graph.windows10CompliancePolicy"
BLOCK = dict(kinds.COMPLIANCE_POLICY.create_defaults)


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"bitLockerEnabled": "yes"}, "must be a JSON boolean (Edm.Boolean), got 'yes'"),
        ({"passwordMinimumLength": "12"}, "must be a JSON integer (Edm.Int32)"),
        ({"passwordMinimumLength": 2**31}, "is outside Edm.Int32"),
        ({"passwordMinimumLength": True}, "must be a JSON integer (Edm.Int32), got True"),
        ({"passwordRequiredType": "strong"}, "'strong' is not a member of"),
        ({"deviceThreatProtectionRequiredSecurityLevel": None}, "must not be null"),
        ({"displayName": 7}, "must be a JSON string (Edm.String), got 7"),
        ({"osMinimumVersion": ["10.0"]}, "must be a JSON string"),
        ({"validOperatingSystemBuildRanges": {"lowestVersion": "1"}}, "must be a JSON array"),
        ({"id": "mine"}, "is the key of"),
        ({"createdDateTime": "yesterday"}, "'yesterday' is not a valid Edm.DateTimeOffset"),
        ({"scheduledActionsForRule": [{"ruleName": 3}]}, "ruleName: must be a JSON string"),
        ({"assignments": "all"}, "must be a JSON array"),
    ],
)
def test_the_schema_checks_types_enums_and_shapes(body: dict[str, Any], fragment: str) -> None:
    full = {"@odata.type": COMPLIANCE, "displayName": "x", **BLOCK, **body}
    problems = GraphSchema.load("beta").problems_entity(full, "deviceCompliancePolicy", create=True)
    assert any(fragment in p for p in problems), problems


def test_the_schema_checks_complex_types_and_their_derived_types() -> None:
    v1 = GraphSchema.load("v1.0")
    custom = "#microsoft.graph.windows10CustomConfiguration"

    def problems(setting: dict[str, Any]) -> list[str]:
        body = {"@odata.type": custom, "displayName": "x", "omaSettings": [setting]}
        return v1.problems_entity(body, "deviceConfiguration", create=True)

    good = {
        "@odata.type": "#microsoft.graph.omaSettingInteger",
        "displayName": "d",
        "omaUri": "./Device/Vendor/MSFT/Policy/Config/X",
        "value": 0,
    }
    assert problems(good) == []
    assert "is abstract" in problems({k: v for k, v in good.items() if k != "@odata.type"})[0]
    assert (
        "does not exist on type 'microsoft.graph.omaSettingInteger'"
        in problems({**good, "isEncrypted": "no", "secret": 1})[-1]
    )
    assert "JSON integer (Edm.Int32)" in problems({**good, "value": "0"})[0]
    assert (
        "is not a microsoft.graph.omaSetting"
        in problems({**good, "@odata.type": "#microsoft.graph.groupAssignmentTarget"})[0]
    )


def test_the_schema_knows_what_a_create_needs_and_a_patch_cannot_carry() -> None:
    beta = GraphSchema.load("beta")
    bare = {"@odata.type": COMPLIANCE, "displayName": "x"}
    (missing,) = beta.problems_entity(bare, "deviceCompliancePolicy", create=True)
    assert missing.startswith("scheduledActionsForRule: required when creating")
    patch = {"@odata.type": COMPLIANCE, **BLOCK}
    (refused,) = beta.problems_entity(patch, "deviceCompliancePolicy", create=False)
    assert "a PATCH cannot carry it" in refused
    abstract = {"@odata.type": "#microsoft.graph.deviceCompliancePolicy", "displayName": "x"}
    assert "is abstract" in beta.problems_entity(abstract, "deviceCompliancePolicy", create=True)[0]


def test_the_schema_knows_the_shape_of_the_assign_action() -> None:
    v1 = GraphSchema.load("v1.0")
    target = {
        "@odata.type": "#microsoft.graph.groupAssignmentTarget",
        "groupId": "11111111-2222-4333-8444-555555555555",
    }
    assignment = {"@odata.type": "#microsoft.graph.deviceConfigurationAssignment", "target": target}
    assert v1.problems_action("windows10GeneralConfiguration", "assign", {"assignments": []}) == []
    assert (
        v1.problems_action("windows10GeneralConfiguration", "assign", {"assignments": [assignment]})
        == []
    )
    wrong = v1.problems_action(
        "windows10GeneralConfiguration",
        "assign",
        {"assignments": [{**assignment, "target": {**target, "groupIds": ["x"]}}], "all": True},
    )
    assert any("'all' is not a parameter of assign" in p for p in wrong), wrong
    assert any("'groupIds' does not exist on type" in p for p in wrong), wrong
    compliance = v1.problems_action(
        "windows10CompliancePolicy", "assign", {"assignments": [assignment]}
    )
    assert any("is not a microsoft.graph.deviceCompliancePolicyAssignment" in p for p in compliance)


def test_the_provider_checks_agree_with_the_metadata() -> None:
    """The provider's own preview checks name what the metadata names (no guessed lists)."""
    beta, v1 = GraphSchema.load("beta"), GraphSchema.load("v1.0")

    def enum(schema: GraphSchema, name: str) -> set[str]:
        return set(schema.enums[name][0])

    compliance = beta.members("windows10CompliancePolicy")
    assert {compliance[n][1].type for n in validation._COMPLIANCE_BOOLS} == {"Edm.Boolean"}
    assert {compliance[n][1].type for n in validation._COMPLIANCE_INTS} == {"Edm.Int32"}
    assert {compliance[n][1].type for n in validation._COMPLIANCE_VERSIONS} == {"Edm.String"}
    assert enum(beta, "requiredPasswordType") >= validation._PASSWORD_TYPES
    assert enum(beta, "windowsUserType") >= validation._OOBE_USER_TYPES
    assert enum(beta, "windowsDeviceUsageType") >= validation._OOBE_USAGE_TYPES
    assert enum(beta, "windowsAutopilotDeviceType") >= validation._AUTOPILOT_DEVICE_TYPES
    oma = {
        f"#microsoft.graph.{t}" for t in v1.types if v1.is_a(t, "omaSetting") and t != "omaSetting"
    }
    assert oma == validation._OMA_TYPES
    autopilot = beta.members("azureADWindowsAutopilotDeploymentProfile")
    for old, new in validation.DEPRECATED_AUTOPILOT.items():
        declaring = autopilot[old][0]
        note = beta.note(declaring, old)
        assert note.deprecated or note.read_only, old
        assert new in autopilot and not beta.note(autopilot[new][0], new).deprecated, new
    general = v1.members("windows10GeneralConfiguration")
    settings = component.configuration_properties(_args())
    assert {general[n][1].type for n in settings if n.startswith("defender")} == {"Edm.Boolean"}


def _args() -> component.IntuneArgs:
    return component.IntuneArgs(
        programme="Test",
        tenant_id="t",
        client_id="c",
        client_secret="s",
        group_ids=[],
        device_name_template="TST-%SERIAL%",
    )


@pytest.mark.parametrize("version", ["v1.0", "beta"])
def test_the_vendored_csdl_names_its_source_and_regenerates_unchanged(
    version: str, tmp_path: Path
) -> None:
    """The subset names repository, file and commit; cutting it again with the script and the
    spec gives the same file, so it holds everything the spec needs and nothing by hand."""
    vendored = SCHEMA_DIR / f"{version}.xml"
    text = vendored.read_text("utf-8")
    source = re.search(r"file (schemas/\S+\.csdl), commit ([0-9a-f]{40})\.", text)
    assert source, "the header names the source file and its commit"
    assert "https://github.com/microsoftgraph/msgraph-metadata" in text
    result = subprocess.run(
        [
            sys.executable,
            str(REPO / "scripts/graph_csdl_subset.py"),
            str(vendored),
            "--spec",
            "tests/stacks/graph_schema/subset.json",
            "--version",
            version,
            "--commit",
            source.group(2),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == text
