"""The Intune component under Pulumi's mocks: children, parents, inputs and the secret.

Dynamic resources register with a `pulumi-python:dynamic...` type token; these subclasses pass
a module and name, so they appear as `pulumi-python:dynamic/intune:<Class>`. A subclass
without them registers as `pulumi-python:dynamic:Resource` (checked below).
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, ParamSpec, cast

import pulumi
import pytest
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime import rpc

from consolidated.intune import GraphObjectProvider, Intune, IntuneArgs, RetryPolicy

sys.path.insert(0, str(Path(__file__).parent))
from graph_contract_server import GraphContractServer

TENANT = "0c6a8d41-5a3b-4e0f-9f55-3c1d2b7a9e10"
CLIENT = "7d2f4c1e-8a9b-4c3d-b2e1-5f6a7b8c9d0e"
SECRET = "Zq8~component-test-secret.9a8b7c6d"
STAFF = "11111111-2222-4333-8444-555555555555"
DEVICES = "66666666-7777-4888-9999-000000000000"
AUTOPILOT_DEVICES = "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee"
COMPONENT = "eendracht:index:Intune"
TYPES = {
    "compliance_policy": "pulumi-python:dynamic/intune:CompliancePolicy",
    "configuration_profile": "pulumi-python:dynamic/intune:ConfigurationProfile",
    "autopilot_profile": "pulumi-python:dynamic/intune:AutopilotProfile",
}


P = ParamSpec("P")


def mocked_test(fn: Callable[P, Any]) -> Callable[P, None]:
    """pulumi.runtime.test (which waits for the returned Output), typed."""
    return cast(Callable[P, None], pulumi.runtime.test(fn))  # type: ignore[no-untyped-call]


class Recording(pulumi_mocks.Mocks):
    def __init__(self) -> None:
        self.resources: list[pulumi_mocks.MockResourceArgs] = []
        self.lock = threading.Lock()

    def new_resource(self, args: pulumi_mocks.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        with self.lock:
            self.resources.append(args)
        return f"{args.name}-id", dict(args.inputs)

    def call(self, args: pulumi_mocks.MockCallArgs) -> tuple[dict[str, Any], None]:
        return {}, None

    def by_type(self, typ: str) -> pulumi_mocks.MockResourceArgs:
        (found,) = [r for r in self.resources if r.typ == typ]
        return found


@pytest.fixture(autouse=True)
def event_loop_of_its_own() -> Iterator[asyncio.AbstractEventLoop]:
    """Pulumi's Outputs and mocks run on the thread's current event loop. Each test gets a new
    one, so no test depends on what an earlier one (here or in another file) left behind."""
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    yield loop
    loop.close()
    asyncio.set_event_loop(None)


@pytest.fixture
def mocks() -> Iterator[Recording]:
    recording = Recording()
    pulumi.runtime.set_mocks(recording, project="eendracht", stack="test", preview=False)
    yield recording


def intune_args(**overrides: Any) -> IntuneArgs:
    values: dict[str, Any] = {
        "programme": "Altena",
        "tenant_id": TENANT,
        "client_id": CLIENT,
        "group_ids": [STAFF, DEVICES],
        "autopilot_group_ids": [AUTOPILOT_DEVICES],
        "device_name_template": "ALT-%SERIAL%",
        "minimum_os_version": "10.0.22631",
    }
    values.update(overrides)
    if "client_secret" not in values:
        values["client_secret"] = pulumi.Output.secret(SECRET)
    return IntuneArgs(**values)


@mocked_test
def test_children_are_the_three_intune_objects_parented_to_the_component(
    mocks: Recording,
) -> pulumi.Output[Any]:
    intune = Intune("werkplek", intune_args())
    children = [intune.compliance_policy, intune.configuration_profile, intune.autopilot_profile]

    def check(urns: list[str]) -> None:
        assert sorted(r.typ for r in mocks.resources) == sorted([COMPONENT, *TYPES.values()])
        for urn, typ, suffix in zip(
            urns, TYPES.values(), ("compliance", "configuration", "autopilot"), strict=True
        ):
            # The URN's type chain names the parent: ...$eendracht:index:Intune$<child type>::name
            assert urn.endswith(f"{COMPONENT}${typ}::werkplek-{suffix}"), urn
        assert all(mocks.by_type(t).custom for t in TYPES.values())
        assert not mocks.by_type(COMPONENT).custom

    return pulumi.Output.all(*[child.urn for child in children]).apply(check)


@mocked_test
def test_compliance_policy_requires_bitlocker_defender_and_the_minimum_os(
    mocks: Recording,
) -> pulumi.Output[Any]:
    intune = Intune("werkplek", intune_args())

    def check(_: Any) -> None:
        inputs = mocks.by_type(TYPES["compliance_policy"]).inputs
        assert inputs["odata_type"] == "#microsoft.graph.windows10CompliancePolicy"
        properties = inputs["properties"]
        assert properties["bitLockerEnabled"] is True
        assert properties["defenderEnabled"] is True
        assert properties["rtpEnabled"] is True
        assert properties["osMinimumVersion"] == "10.0.22631"
        assert properties["displayName"] == "Altena - Windows compliance"
        assert inputs["assignment_group_ids"] == [STAFF, DEVICES]
        assert inputs["graph_url"] == "https://graph.microsoft.com"
        assert inputs["token_url"] == (
            f"https://login.microsoftonline.com/{TENANT}/oauth2/v2.0/token"
        )

    return intune.compliance_policy_id.apply(check)


@mocked_test
def test_autopilot_profile_and_configuration_profile_inputs(
    mocks: Recording,
) -> pulumi.Output[Any]:
    intune = Intune("werkplek", intune_args())

    def check(ids: list[str]) -> None:
        autopilot = mocks.by_type(TYPES["autopilot_profile"]).inputs
        assert (
            autopilot["odata_type"] == "#microsoft.graph.azureADWindowsAutopilotDeploymentProfile"
        )
        assert autopilot["properties"]["deviceNameTemplate"] == "ALT-%SERIAL%"
        assert autopilot["properties"]["locale"] == "nl-NL"
        assert autopilot["properties"]["outOfBoxExperienceSetting"]["userType"] == "standard"
        assert autopilot["assignment_group_ids"] == [AUTOPILOT_DEVICES]
        configuration = mocks.by_type(TYPES["configuration_profile"]).inputs
        assert configuration["odata_type"] == "#microsoft.graph.windows10GeneralConfiguration"
        assert configuration["properties"]["defenderRequireRealTimeMonitoring"] is True
        assert configuration["assignment_group_ids"] == [STAFF, DEVICES]
        assert ids == [
            "werkplek-compliance-id",
            "werkplek-configuration-id",
            "werkplek-autopilot-id",
        ]

    return pulumi.Output.all(
        intune.compliance_policy_id, intune.configuration_profile_id, intune.autopilot_profile_id
    ).apply(check)


@pytest.mark.parametrize("secret", [SECRET, "given-as-plain-text"])
def test_the_client_secret_is_always_a_secret_input(mocks: Recording, secret: str) -> None:
    @mocked_test
    def program() -> pulumi.Output[Any]:
        intune = Intune("werkplek", intune_args(client_secret=secret))

        def check(_: Any) -> None:
            for typ in TYPES.values():
                inputs = mocks.by_type(typ).inputs
                assert rpc.is_rpc_secret(inputs["client_secret"])
                assert rpc.unwrap_rpc_secret(inputs["client_secret"]) == secret
                # The pickled provider is a secret too, and holds no credentials.
                assert rpc.is_rpc_secret(inputs["__provider"])
                visible = {k: v for k, v in inputs.items() if not rpc.is_rpc_secret(v)}
                assert secret not in repr(visible)

        # After all three resources registered: one id alone left a race with the others.
        return pulumi.Output.all(
            intune.compliance_policy_id,
            intune.configuration_profile_id,
            intune.autopilot_profile_id,
        ).apply(check)

    program()


@mocked_test
def test_endpoint_overrides_reach_every_resource(mocks: Recording) -> pulumi.Output[Any]:
    intune = Intune(
        "werkplek",
        intune_args(graph_url="http://127.0.0.1:9", token_url="http://127.0.0.1:9/t/token"),
    )

    def check(_: Any) -> None:
        for typ in TYPES.values():
            inputs = mocks.by_type(typ).inputs
            assert (inputs["graph_url"], inputs["token_url"]) == (
                "http://127.0.0.1:9",
                "http://127.0.0.1:9/t/token",
            )

    return pulumi.Output.all(
        intune.compliance_policy_id, intune.configuration_profile_id, intune.autopilot_profile_id
    ).apply(check)


@mocked_test
def test_a_bare_dynamic_resource_registers_as_the_generic_type(
    mocks: Recording,
) -> pulumi.Output[Any]:
    class Bare(pulumi.dynamic.Resource):  # a subclass without module/name
        pass

    bare = Bare(GraphObjectProvider("compliance_policy"), "bare", {"x": 1})

    def check(urn: str) -> None:
        assert urn.split("::")[-2].split("$")[-1] == "pulumi-python:dynamic:Resource"
        assert mocks.resources[-1].typ == "pulumi-python:dynamic:Resource"

    return bare.urn.apply(check)


def test_the_component_inputs_pass_check_and_the_graph_contract(mocks: Recording) -> None:
    """What the component sends is valid for the provider and accepted by the contract server."""
    with GraphContractServer(TENANT, CLIENT, SECRET) as graph:

        @mocked_test
        def program() -> pulumi.Output[Any]:
            intune = Intune(
                "werkplek",
                intune_args(graph_url=graph.graph_url, token_url=graph.token_url),
            )
            return intune.autopilot_profile_id

        program()
        fast = RetryPolicy(max_attempts=2, max_wait_seconds=0.01)
        for kind, typ in TYPES.items():
            inputs = mocks.by_type(typ).inputs
            provider = GraphObjectProvider(kind, retry=fast)
            assert provider.check({}, inputs).failures == [], kind
            created = provider.create(inputs)
            assert created.id
        assert len(graph.objects["deviceCompliancePolicies"]) == 1
        assert len(graph.objects["deviceConfigurations"]) == 1
        assert len(graph.objects["windowsAutopilotDeploymentProfiles"]) == 1


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"device_name_template": "ALTENA-WERKPLEK-%SERIAL%"}, "more than 15 characters"),
        ({"minimum_os_version": "Windows 11"}, "Windows version like 10.0.19045"),
        ({"programme": " "}, "programme's name"),
    ],
)
def test_intune_args_are_checked_up_front(override: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        # A plain secret here: an Output made for an argument that is refused is never awaited.
        intune_args(client_secret=SECRET, **override)


def test_the_intune_tests_pass_in_the_order_the_docs_give_and_each_alone() -> None:
    """Provider tests first used to leave no event loop for these (asyncio.run), so the
    command docs/intune.md gives failed. Run it, and each file alone, in fresh processes
    (without this test, which would run itself again)."""
    runs = [
        ["test_intune_provider.py", "test_intune_component.py"],
        ["test_intune_component.py"],
        ["test_intune_provider.py"],
    ]
    for files in runs:
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "pytest",
                "-q",
                "-p",
                "no:cacheprovider",
                "-k",
                "not test_the_intune_tests_pass_in_the_order",
                *files,
            ],
            cwd=Path(__file__).parent,
            capture_output=True,
            text=True,
            check=False,
            timeout=120,
        )
        assert result.returncode == 0, f"{files}:\n{result.stdout[-3000:]}"
        assert "passed" in result.stdout.splitlines()[-1], result.stdout[-500:]
