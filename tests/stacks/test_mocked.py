"""The mocked runner itself: what it records, what it hands back as outputs, and that it
leaves Pulumi's runtime as it found it."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pulumi
import pulumi_azure_native.compute as compute
import pulumi_azure_native.resources as resources
from google.protobuf import struct_pb2  # type: ignore[import-untyped]
from pulumi.runtime import resource as runtime_resource
from pulumi.runtime.sync_await import _sync_await

sys.path.insert(0, str(Path(__file__).parent))
import stack_graph  # noqa: F401  (puts stacks/ and policy/ on the path like the other tests)

from consolidated import mocked


def _struct(value: dict[str, Any]) -> struct_pb2.Struct:
    out = struct_pb2.Struct()
    out.update(value)
    return out


def test_a_nested_secret_is_redacted_where_it_is() -> None:
    secret = {mocked.SIG_KEY: mocked.SECRET_SIG, "value": "hunter2"}
    recorded = mocked._recorded(
        _struct(
            {
                "osProfile": {"adminUsername": "admin", "adminPassword": secret},
                "list": [1, secret, None],
                "gone": None,
            }
        )
    )
    assert recorded == {
        "osProfile": {"adminUsername": "admin", "adminPassword": "[secret]"},
        "list": [1.0, "[secret]", None],
    }


def test_outputs_are_the_inputs_and_stay_secret() -> None:
    seen: dict[str, Any] = {}

    def program() -> dict[str, Any]:
        group = resources.ResourceGroup(
            "rg", resource_group_name="rg-x", location="westeurope", tags={"a": "b"}
        )
        scale_set = compute.VirtualMachineScaleSet(
            "vmss",
            vm_scale_set_name="vmss-x",
            resource_group_name=group.name,
            virtual_machine_profile=compute.VirtualMachineScaleSetVMProfileArgs(
                os_profile=compute.VirtualMachineScaleSetOSProfileArgs(
                    admin_username="admin", admin_password=pulumi.Output.secret("hunter2")
                )
            ),
        )
        seen["profile"] = scale_set.virtual_machine_profile
        return {"name": group.name, "tags": group.tags, "vmss": scale_set.name}

    run = mocked.run_mocked(program)
    assert run.outputs == {"name": "rg-x", "tags": {"a": "b"}, "vmss": "vmss-x"}
    recorded = run.named("vmss")
    assert recorded.id.endswith("/virtualMachineScaleSets/vmss-x")
    assert recorded.inputs["virtualMachineProfile"]["osProfile"] == {
        "adminUsername": "admin",
        "adminPassword": "[secret]",
    }
    assert "hunter2" not in str([r.as_json() for r in run.resources])
    # Pulumi lifts the nested secret to the whole output property, as with a real engine
    assert _sync_await(seen["profile"].is_secret()) is True
    assert _sync_await(seen["profile"].future())["os_profile"]["admin_username"] == "admin"


def test_source_positions_are_skipped_only_while_running() -> None:
    original = runtime_resource._get_stack_trace
    with mocked.without_source_positions():
        assert runtime_resource._get_stack_trace is not original
        assert list(runtime_resource._get_stack_trace().frames) == []
    assert runtime_resource._get_stack_trace is original
