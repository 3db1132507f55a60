"""The Intune dynamic provider against a local server that accepts what Microsoft's published
Graph metadata says Graph accepts (Graph itself is not reachable from here)."""

from __future__ import annotations

import asyncio
import base64
import copy
import json
import logging
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pulumi.dynamic.dynamic import serialize_provider
from pulumi.runtime import rpc

from consolidated.intune.graph_client import (
    Credentials,
    GraphAuthError,
    GraphClient,
    GraphError,
    GraphNotFound,
    GraphThrottled,
    RetryPolicy,
)
from consolidated.intune.provider import GraphObjectProvider, changed_keys

sys.path.insert(0, str(Path(__file__).parent))
from graph_contract_server import GraphContractServer

TENANT = "0c6a8d41-5a3b-4e0f-9f55-3c1d2b7a9e10"
CLIENT = "7d2f4c1e-8a9b-4c3d-b2e1-5f6a7b8c9d0e"
SECRET = "Zq8~contract-test-secret.5f0e1d2c3b4a"
GROUP_A = "11111111-2222-4333-8444-555555555555"
GROUP_B = "66666666-7777-4888-9999-000000000000"
GROUP_C = "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee"
FAST = RetryPolicy(max_attempts=3, max_wait_seconds=0.05, default_wait_seconds=0.01)

COMPLIANCE = "#microsoft.graph.windows10CompliancePolicy"
AUTOPILOT = "#microsoft.graph.azureADWindowsAutopilotDeploymentProfile"


@pytest.fixture
def graph() -> Iterator[GraphContractServer]:
    with GraphContractServer(TENANT, CLIENT, SECRET) as server:
        yield server


def compliance_props(graph: GraphContractServer, **overrides: Any) -> dict[str, Any]:
    props: dict[str, Any] = {
        "graph_url": graph.graph_url,
        "token_url": graph.token_url,
        "tenant_id": TENANT,
        "client_id": CLIENT,
        "client_secret": SECRET,
        "odata_type": COMPLIANCE,
        "properties": {
            "displayName": "Eendracht - Windows compliance",
            "bitLockerEnabled": True,
            "defenderEnabled": True,
            "secureBootEnabled": True,
            "osMinimumVersion": "10.0.19045",
        },
        "assignment_group_ids": [GROUP_A, GROUP_B],
    }
    props.update(overrides)
    return props


def autopilot_props(graph: GraphContractServer, groups: list[str]) -> dict[str, Any]:
    return compliance_props(
        graph,
        odata_type=AUTOPILOT,
        properties={
            "displayName": "Eendracht - Autopilot",
            "deviceNameTemplate": "EEN-%RAND:6%",
            "locale": "nl-NL",
            "outOfBoxExperienceSetting": {"eulaHidden": True, "userType": "standard"},
        },
        assignment_group_ids=groups,
    )


def provider(kind: str = "compliance_policy") -> GraphObjectProvider:
    return GraphObjectProvider(kind, retry=FAST)


def over_the_wire(values: dict[str, Any]) -> dict[str, Any]:
    """What the engine hands back later: serialized to protobuf and deserialized again.
    On a loop of its own: asyncio.run would leave the thread without a current event loop,
    and Pulumi's mocks in the next test (in any order) need one."""
    loop = asyncio.new_event_loop()
    try:
        struct = loop.run_until_complete(rpc.serialize_properties(values, {}))
    finally:
        loop.close()
    result: dict[str, Any] = rpc.deserialize_properties(struct)
    return result


def without_secrets(value: Any) -> Any:
    """The value with every Pulumi secret replaced by a marker."""
    if rpc.is_rpc_secret(value):
        return "[pulumi secret]"
    if isinstance(value, dict):
        return {k: without_secrets(v) for k, v in value.items()}
    if isinstance(value, list):
        return [without_secrets(v) for v in value]
    return value


# -- create ---------------------------------------------------------------------------------


def test_create_posts_the_documented_body_to_beta_and_assigns_the_groups(
    graph: GraphContractServer,
) -> None:
    result = provider().create(compliance_props(graph))

    posts = graph.graph_requests("POST")
    assert [r.path for r in posts] == [
        "/beta/deviceManagement/deviceCompliancePolicies",
        f"/beta/deviceManagement/deviceCompliancePolicies/{result.id}/assign",
    ]
    created = posts[0].body
    assert created["@odata.type"] == COMPLIANCE
    assert created["bitLockerEnabled"] is True and created["defenderEnabled"] is True
    assert created["scheduledActionsForRule"][0]["scheduledActionConfigurations"][0] == {
        "actionType": "block",
        "gracePeriodHours": 0,
        "notificationTemplateId": "",
        "notificationMessageCCList": [],
    }
    assert posts[1].body == {
        "assignments": [
            {
                "@odata.type": "#microsoft.graph.deviceCompliancePolicyAssignment",
                "target": {"@odata.type": "#microsoft.graph.groupAssignmentTarget", "groupId": g},
            }
            for g in sorted([GROUP_A, GROUP_B])
        ]
    }
    assert all(r.content_type == "application/json" and r.authorized for r in posts)
    assert result.id in graph.objects["deviceCompliancePolicies"]
    assert graph.group_ids("deviceCompliancePolicies", result.id) == sorted([GROUP_A, GROUP_B])
    assert result.outs is not None
    assert result.outs["properties"]["osMinimumVersion"] == "10.0.19045"
    assert result.outs["created_date_time"]


def test_outputs_carry_the_client_secret_only_as_a_pulumi_secret(
    graph: GraphContractServer,
) -> None:
    outs = provider().create(compliance_props(graph)).outs
    assert outs is not None

    assert rpc.is_rpc_secret(outs["client_secret"])
    assert SECRET not in json.dumps(without_secrets(outs))
    stored = over_the_wire(outs)
    assert rpc.is_rpc_secret(stored["client_secret"])
    assert SECRET not in json.dumps(without_secrets(stored))


def test_the_token_request_follows_the_client_credentials_grant(
    graph: GraphContractServer,
) -> None:
    provider().create(compliance_props(graph))
    token_requests = [r for r in graph.requests if r.path.endswith("/oauth2/v2.0/token")]
    assert len(token_requests) == 1  # one token per operation, reused for every call
    request = token_requests[0]
    assert request.path == f"/{TENANT}/oauth2/v2.0/token"
    assert request.content_type == "application/x-www-form-urlencoded"
    assert request.body == {
        "client_id": CLIENT,
        "scope": "https://graph.microsoft.com/.default",
        "client_secret": "***",  # redacted by the test server's own log
        "grant_type": "client_credentials",
    }


def test_a_failed_assignment_removes_the_new_object_again(graph: GraphContractServer) -> None:
    graph.inject(400, path_contains="/assign", message="Group not found")
    with pytest.raises(GraphError, match="BadRequest: Group not found"):
        provider().create(compliance_props(graph))
    assert graph.objects["deviceCompliancePolicies"] == {}


# -- read -----------------------------------------------------------------------------------


def test_read_reports_drift_on_managed_properties_and_groups(graph: GraphContractServer) -> None:
    p = provider()
    props = compliance_props(graph)
    created = p.create(props)
    assert created.outs is not None
    remote = graph.objects["deviceCompliancePolicies"][created.id]
    remote["bitLockerEnabled"] = False  # someone switched it off in the portal
    graph.assignments[f"deviceCompliancePolicies/{created.id}"].pop()

    read = p.read(created.id, over_the_wire(created.outs))

    assert read.id == created.id and read.outs is not None
    assert read.outs["properties"]["bitLockerEnabled"] is False
    assert read.outs["properties"]["osMinimumVersion"] == "10.0.19045"
    assert read.outs["assignment_group_ids"] == [sorted([GROUP_A, GROUP_B])[0]]
    diff = p.diff(created.id, read.outs, props)
    assert diff.changes is True and diff.replaces == []


def test_read_without_drift_keeps_the_state_stable(graph: GraphContractServer) -> None:
    p = provider("autopilot_profile")
    props = autopilot_props(graph, [GROUP_A])
    created = p.create(props)
    assert created.outs is not None
    # Graph adds "@odata.type" inside complex values and returns every property of the type,
    # the read-only ones too; none of that is drift.
    stored = graph.objects["windowsAutopilotDeploymentProfiles"][created.id]
    stored["outOfBoxExperienceSetting"] = {
        "@odata.type": "#microsoft.graph.outOfBoxExperienceSetting",
        **stored["outOfBoxExperienceSetting"],
    }

    read = p.read(created.id, over_the_wire(created.outs))

    assert read.outs is not None
    assert read.outs["properties"] == props["properties"]
    assert p.diff(created.id, read.outs, props).changes is False


def test_read_compares_only_what_graph_returns(graph: GraphContractServer) -> None:
    """A managed property Graph does not return (write-only, or not of this API version)
    cannot drift; every other property Graph returns (defaults, read-only ones) is no drift."""
    p = provider()
    props = compliance_props(graph)
    created = p.create(props)
    assert created.outs is not None
    graph.write_only.add("osMinimumVersion")

    read = p.read(created.id, over_the_wire(created.outs))

    assert read.outs is not None
    assert read.outs["properties"] == props["properties"]
    assert p.diff(created.id, read.outs, props).changes is False
    body = graph.graph_requests("GET")[0]
    assert body.path.endswith(created.id)


def test_read_of_an_object_deleted_in_intune_reports_it_gone(graph: GraphContractServer) -> None:
    p = provider()
    created = p.create(compliance_props(graph))
    assert created.outs is not None
    graph.forget("deviceCompliancePolicies", created.id)

    read = p.read(created.id, created.outs)

    assert read.id == "" and read.outs == {}


def test_read_follows_paging_of_assignments(graph: GraphContractServer) -> None:
    p = provider()
    created = p.create(compliance_props(graph, assignment_group_ids=[GROUP_A, GROUP_B, GROUP_C]))
    assert created.outs is not None
    graph.page_size = 1

    read = p.read(created.id, created.outs)

    assert read.outs is not None
    assert read.outs["assignment_group_ids"] == sorted([GROUP_A, GROUP_B, GROUP_C])
    gets = [r.path for r in graph.graph_requests("GET") if r.path.endswith("/assignments")]
    assert len(gets) == 3


# -- update ---------------------------------------------------------------------------------


def test_update_patches_only_the_changed_properties_with_the_odata_type(
    graph: GraphContractServer,
) -> None:
    p = provider()
    props = compliance_props(graph)
    created = p.create(props)
    assert created.outs is not None
    news = copy.deepcopy(props)
    news["properties"]["osMinimumVersion"] = "10.0.22631"
    before = len(graph.requests)

    updated = p.update(created.id, over_the_wire(created.outs), news)

    calls = [r for r in graph.requests[before:] if "/oauth2/" not in r.path]
    assert [(r.method, r.path) for r in calls] == [
        ("PATCH", f"/beta/deviceManagement/deviceCompliancePolicies/{created.id}")
    ]
    assert calls[0].body == {"@odata.type": COMPLIANCE, "osMinimumVersion": "10.0.22631"}
    stored = graph.objects["deviceCompliancePolicies"][created.id]
    assert stored["osMinimumVersion"] == "10.0.22631" and stored["version"] == 2
    assert updated.outs is not None and rpc.is_rpc_secret(updated.outs["client_secret"])


def test_update_of_the_groups_only_reassigns(graph: GraphContractServer) -> None:
    p = provider("configuration_profile")
    props = compliance_props(
        graph,
        odata_type="#microsoft.graph.windows10GeneralConfiguration",
        properties={"displayName": "Baseline", "defenderRequireRealTimeMonitoring": True},
        assignment_group_ids=[GROUP_A],
    )
    created = p.create(props)
    assert created.outs is not None
    before = len(graph.requests)

    p.update(created.id, created.outs, {**props, "assignment_group_ids": [GROUP_C, GROUP_A]})

    calls = [r for r in graph.requests[before:] if "/oauth2/" not in r.path]
    assert [(r.method, r.path.rsplit("/", 1)[-1]) for r in calls] == [("POST", "assign")]
    assert graph.group_ids("deviceConfigurations", created.id) == sorted([GROUP_A, GROUP_C])


# -- delete ---------------------------------------------------------------------------------


def test_delete_removes_the_object_and_tolerates_it_being_gone(graph: GraphContractServer) -> None:
    p = provider()
    created = p.create(compliance_props(graph))
    assert created.outs is not None

    p.delete(created.id, created.outs)
    assert graph.objects["deviceCompliancePolicies"] == {}
    p.delete(created.id, created.outs)  # 404 now: already deleted is fine

    deletes = graph.graph_requests("DELETE")
    assert len(deletes) == 2


# -- Autopilot (beta) -----------------------------------------------------------------------


def test_autopilot_profiles_use_beta_and_the_assignments_collection(
    graph: GraphContractServer,
) -> None:
    p = provider("autopilot_profile")
    props = autopilot_props(graph, [GROUP_A, GROUP_B])
    created = p.create(props)
    assert created.outs is not None
    base = f"/beta/deviceManagement/windowsAutopilotDeploymentProfiles/{created.id}"
    posts = graph.graph_requests("POST")
    assert posts[0].path == "/beta/deviceManagement/windowsAutopilotDeploymentProfiles"
    assert posts[0].body["deviceNameTemplate"] == "EEN-%RAND:6%"
    assert [r.path for r in posts[1:]] == [f"{base}/assignments"] * 2
    assert (
        posts[1].body["@odata.type"]
        == "#microsoft.graph.windowsAutopilotDeploymentProfileAssignment"
    )

    p.update(created.id, created.outs, {**props, "assignment_group_ids": [GROUP_B, GROUP_C]})
    assert graph.group_ids("windowsAutopilotDeploymentProfiles", created.id) == sorted(
        [GROUP_B, GROUP_C]
    )

    # Intune refuses to delete an assigned profile: the provider unassigns first.
    p.delete(created.id, created.outs)
    assert graph.objects["windowsAutopilotDeploymentProfiles"] == {}


def test_autopilot_profiles_do_not_exist_in_v1(graph: GraphContractServer) -> None:
    client = GraphClient(graph.graph_url, Credentials(graph.token_url, CLIENT, SECRET), retry=FAST)
    with pytest.raises(GraphError, match="Resource not found for the segment"):
        client.get("/v1.0/deviceManagement/windowsAutopilotDeploymentProfiles")


def test_custom_oma_uri_profile_round_trip(graph: GraphContractServer) -> None:
    p = provider("configuration_profile")
    setting = {
        "@odata.type": "#microsoft.graph.omaSettingInteger",
        "displayName": "Block consumer features",
        "omaUri": "./Device/Vendor/MSFT/Policy/Config/Experience/AllowWindowsConsumerFeatures",
        "value": 0,
    }
    props = compliance_props(
        graph,
        odata_type="#microsoft.graph.windows10CustomConfiguration",
        properties={"displayName": "OMA-URI baseline", "omaSettings": [setting]},
    )
    assert p.check({}, props).failures == []
    created = p.create(props)
    assert created.outs is not None
    assert graph.objects["deviceConfigurations"][created.id]["omaSettings"] == [setting]
    read = p.read(created.id, over_the_wire(created.outs))
    assert read.outs is not None and p.diff(created.id, read.outs, props).changes is False


# -- diff -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "changes", "replaces"),
    [
        ({}, False, []),
        ({"assignment_group_ids": [GROUP_B, GROUP_A.upper()]}, False, []),
        ({"assignment_group_ids": [GROUP_A]}, True, []),
        ({"properties": {"displayName": "Renamed"}}, True, []),
        ({"client_secret": "rotated"}, True, []),
        ({"odata_type": "#microsoft.graph.androidCompliancePolicy"}, True, ["odata_type"]),
        ({"tenant_id": "contoso.onmicrosoft.com"}, True, ["tenant_id"]),
        ({"graph_url": "https://graph.microsoft.us"}, True, ["graph_url"]),
        ({"assignment_group_ids": [rpc.UNKNOWN]}, True, []),
        ({"properties": rpc.UNKNOWN}, True, []),
    ],
)
def test_diff(change: dict[str, Any], changes: bool, replaces: list[str]) -> None:
    olds = {
        "graph_url": "https://graph.microsoft.com",
        "tenant_id": TENANT,
        "client_id": CLIENT,
        "client_secret": rpc.wrap_rpc_secret(SECRET),
        "token_url": f"https://login.microsoftonline.com/{TENANT}/oauth2/v2.0/token",
        "odata_type": COMPLIANCE,
        "properties": {
            "displayName": "Policy",
            "bitLockerEnabled": True,
            "passwordMinimumLength": 12.0,
        },
        "assignment_group_ids": [GROUP_A, GROUP_B],
        "created_date_time": "2026-01-01T00:00:00Z",
    }
    news = {k: v for k, v in olds.items() if k != "created_date_time"}
    news["properties"] = {**olds["properties"], "passwordMinimumLength": 12}
    for key, value in change.items():
        if key == "properties" and isinstance(value, dict):
            news["properties"] = {**news["properties"], **value}
        else:
            news[key] = value

    result = provider().diff("id-1", olds, news)

    assert result.changes is changes
    assert result.replaces == replaces


def test_changed_keys_name_each_changed_property() -> None:
    olds = {
        "odata_type": COMPLIANCE,
        "client_secret": rpc.wrap_rpc_secret(SECRET),
        "properties": {"displayName": "Policy", "bitLockerEnabled": True, "tpmRequired": True},
        "assignment_group_ids": [GROUP_A],
    }
    news = {
        **olds,
        "client_secret": SECRET,  # the same secret, once unwrapped: no change
        "properties": {"displayName": "Policy", "bitLockerEnabled": False, "rtpEnabled": True},
    }
    assert changed_keys(olds, news) == (
        [],
        ["properties.bitLockerEnabled", "properties.rtpEnabled"],
    )


# -- check ----------------------------------------------------------------------------------


def test_check_accepts_valid_inputs(graph: GraphContractServer) -> None:
    assert provider().check({}, compliance_props(graph)).failures == []
    assert provider("autopilot_profile").check({}, autopilot_props(graph, [])).failures == []


def test_check_reports_every_problem_clearly(graph: GraphContractServer) -> None:
    bad = compliance_props(
        graph,
        tenant_id="not a tenant",
        client_id="app",
        client_secret="",
        graph_url="http://graph.example.com",
        odata_type="#microsoft.graph.iosCompliancePolicy",
        properties={
            "displayName": "",
            "bitLockerEnabled": "yes",
            "osMinimumVersion": "Windows 11",
            "os_maximum_version": "10.0.26100",
            "@odata.type": COMPLIANCE,
        },
        assignment_group_ids=[GROUP_A, "all-staff", GROUP_A],
    )

    failures = {f.property: f.reason for f in provider().check({}, bad).failures}

    assert set(failures) == {
        "graph_url",
        "tenant_id",
        "client_id",
        "client_secret",
        "odata_type",
        "properties.displayName",
        "properties.@odata.type",
        "properties.os_maximum_version",
        "assignment_group_ids[1]",
        "assignment_group_ids[2]",
    }
    assert "https://" in failures["graph_url"]
    assert "windows10CompliancePolicy" in failures["odata_type"]
    assert "camelCase" in failures["properties.os_maximum_version"]
    assert "listed twice" in failures["assignment_group_ids[2]"]


def test_check_validates_compliance_values(graph: GraphContractServer) -> None:
    props = compliance_props(graph)
    props["properties"].update(
        bitLockerEnabled="yes", osMinimumVersion="eleven", osMaximumVersion="10.0.1"
    )
    failures = {f.property: f.reason for f in provider().check({}, props).failures}
    assert failures == {
        "properties.bitLockerEnabled": "must be true or false, got 'yes'",
        "properties.osMinimumVersion": "must be a Windows version like 10.0.19045, got 'eleven'",
    }


@pytest.mark.parametrize(
    ("template", "fragment"),
    [
        ("ALTENA-WERKPLEK-%SERIAL%", "more than 15"),
        ("EEN-%RAND:12%", "more than 15"),
        ("EEN %SERIAL%", "letters, digits, hyphens"),
        ("12345", "digits only"),
    ],
)
def test_check_validates_the_autopilot_device_name_template(
    graph: GraphContractServer, template: str, fragment: str
) -> None:
    props = autopilot_props(graph, [])
    props["properties"]["deviceNameTemplate"] = template
    failures = provider("autopilot_profile").check({}, props).failures
    assert [f.property for f in failures] == ["properties.deviceNameTemplate"]
    assert fragment in failures[0].reason


def test_check_skips_values_unknown_during_preview(graph: GraphContractServer) -> None:
    props = compliance_props(graph, assignment_group_ids=[rpc.UNKNOWN], token_url=rpc.UNKNOWN)
    assert provider().check({}, props).failures == []


# -- throttling, errors, secrets ------------------------------------------------------------


def test_throttled_requests_are_retried_after_retry_after(graph: GraphContractServer) -> None:
    graph.inject(429, count=2, method="POST", retry_after="0")
    result = provider().create(compliance_props(graph))
    posts = [r for r in graph.graph_requests("POST") if r.path.endswith("Policies")]
    assert len(posts) == 3  # two throttled, then created
    assert result.id in graph.objects["deviceCompliancePolicies"]


def test_persistent_throttling_gives_up_after_bounded_attempts(
    graph: GraphContractServer,
) -> None:
    graph.inject(429, count=100, method="POST", retry_after="120")
    slept: list[float] = []
    client = GraphClient(
        graph.graph_url,
        Credentials(graph.token_url, CLIENT, SECRET),
        retry=RetryPolicy(max_attempts=4, max_wait_seconds=0.01),
        sleep=slept.append,
    )
    with pytest.raises(GraphThrottled, match=r"TooManyRequests.*gave up after 4 attempts"):
        client.post("/beta/deviceManagement/deviceCompliancePolicies", {"displayName": "x"})
    assert slept == [0.01, 0.01, 0.01]  # Retry-After honoured but capped


def test_graph_errors_are_surfaced_with_code_message_and_path(graph: GraphContractServer) -> None:
    props = compliance_props(graph)
    props["properties"]["bitLockerRequired"] = True  # not a property of the type
    with pytest.raises(GraphError) as raised:
        provider().create(props)
    text = str(raised.value)
    assert (
        "POST /beta/deviceManagement/deviceCompliancePolicies failed: HTTP 400 BadRequest" in text
    )
    assert "'bitLockerRequired' does not exist on type" in text
    assert raised.value.request_id


def test_the_secret_never_appears_in_errors_or_logs(
    graph: GraphContractServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    # A misbehaving service echoing the secret back must not leak it either.
    graph.inject(400, method="POST", message=f"rejected client secret {SECRET}")
    with pytest.raises(GraphError) as raised:
        provider().create(compliance_props(graph))
    assert "[secret]" in str(raised.value)

    with pytest.raises(GraphAuthError) as refused:
        provider().create(compliance_props(graph, client_secret=SECRET + "-wrong"))
    assert "AADSTS7000215" in str(refused.value) and "invalid_client" in str(refused.value)

    graph.inject(429, method="POST", retry_after="0")
    provider().create(compliance_props(graph))

    texts = [str(raised.value), str(refused.value), caplog.text]
    assert caplog.records, "the provider logs its calls"
    assert all(SECRET not in text for text in texts)
    assert repr(Credentials("u", CLIENT, SECRET)).count(SECRET) == 0


def test_an_expired_token_is_renewed_once(graph: GraphContractServer) -> None:
    client = GraphClient(graph.graph_url, Credentials(graph.token_url, CLIENT, SECRET), retry=FAST)
    client.get("/v1.0/deviceManagement/deviceCompliancePolicies")
    graph.revoke_tokens()
    assert client.get("/v1.0/deviceManagement/deviceCompliancePolicies")["value"] == []
    tokens = [r for r in graph.requests if "/oauth2/" in r.path]
    assert len(tokens) == 2


def test_not_found_is_its_own_error(graph: GraphContractServer) -> None:
    client = GraphClient(graph.graph_url, Credentials(graph.token_url, CLIENT, SECRET), retry=FAST)
    with pytest.raises(GraphNotFound, match="ResourceNotFound"):
        client.get("/v1.0/deviceManagement/deviceCompliancePolicies/missing")


def test_the_provider_serializes_without_any_credentials() -> None:
    serialized = serialize_provider(GraphObjectProvider("compliance_policy"))
    assert SECRET.encode() not in base64.b64decode(serialized)
    with pytest.raises(ValueError, match="unknown Intune object kind"):
        GraphObjectProvider("app_protection_policy")
