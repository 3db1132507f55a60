"""Run the program under Pulumi's mocks: no CLI, no cloud, every resource recorded.

The Pulumi engine is replaced by `pulumi.runtime.set_mocks`; a recording monitor keeps each
registered resource (type, name, parent, inputs) so tests, the security rules and
`eendracht preview` can look at the whole graph. Secret inputs are recorded as "[secret]".
"""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pulumi
from google.protobuf import struct_pb2  # type: ignore[import-untyped]
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime import resource as runtime_resource
from pulumi.runtime.proto import resource_pb2, source_pb2
from pulumi.runtime.rpc import unwrap_rpc_secret
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _sync_await

from eendracht.module_utils import fewer_collections
from eendracht.programme import models as m
from eendracht.stacksettings import StackSettings

SUBSCRIPTION = "00000000-0000-0000-0000-000000000000"
TENANT = "11111111-1111-1111-1111-111111111111"
INITIAL_DOMAIN = "mockedtenant.onmicrosoft.com"
SECRET = "[secret]"
# Resources whose name input does not follow the `<type>Name` convention.
NAME_INPUTS = {
    "StorageAccount": "accountName",
    "FileShare": "shareName",
    "VirtualMachine": "vmName",
    "VirtualMachineScaleSet": "vmScaleSetName",
}
# Pulumi's wire signatures for special values inside a protobuf Struct.
SIG_KEY = "4dabf18193072939515e22adb298388d"
SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270"
RESOURCE_SIG = "5cf8f73096256a8f31e491e813e4eb8e"


@dataclass(frozen=True)
class Recorded:
    type: str
    name: str
    parent: str | None
    inputs: dict[str, Any]
    custom: bool
    id: str = ""  # the mocked resource id

    def as_json(self) -> dict[str, Any]:
        return {"type": self.type, "name": self.name, "parent": self.parent, "inputs": self.inputs}


@dataclass
class MockedRun:
    resources: list[Recorded] = field(default_factory=list)
    outputs: dict[str, Any] = field(default_factory=dict)

    def of_type(self, type_: str) -> list[Recorded]:
        return [r for r in self.resources if r.type == type_]

    def count(self, type_: str) -> int:
        return len(self.of_type(type_))

    def named(self, name: str) -> Recorded:
        return next(r for r in self.resources if r.name == name)

    def children(self, parent: str) -> list[Recorded]:
        return [r for r in self.resources if r.parent == parent]

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for r in self.resources:
            out[r.type] = out.get(r.type, 0) + 1
        return dict(sorted(out.items()))


def _recorded(value: Any) -> Any:
    """A property as the engine sent it (protobuf), as plain data with each secret replaced by
    "[secret]" where it is. (Pulumi's own deserialisation lifts a nested secret to the whole
    top-level property, which would hide e.g. a scale set's entire VM model from the rules.)"""
    if isinstance(value, struct_pb2.Struct):
        signature = value[SIG_KEY] if SIG_KEY in value else None  # noqa: SIM401 (no .get)
        if signature == SECRET_SIG:
            return SECRET
        if signature == RESOURCE_SIG:
            return {"urn": value["urn"], "id": value["id"] if "id" in value else None}  # noqa: SIM401
        out = {}
        for key, item in value.items():
            plain = _recorded(item)
            if plain is not None:  # as Pulumi: a null property is an absent one
                out[key] = plain
        return out
    if isinstance(value, struct_pb2.ListValue):
        return [_recorded(item) for item in value]
    return value


def _camel(name: str) -> str:
    return name[:1].lower() + name[1:]


def _mock_name(type_: str, name: str, inputs: Mapping[str, Any]) -> str:
    short = type_.rsplit(":", 1)[-1]
    wanted = NAME_INPUTS.get(short, f"{_camel(short)}Name").lower()
    for key, value in inputs.items():
        if key.lower() == wanted and isinstance(value, str):
            return value
    plain = inputs.get("name")
    return plain if isinstance(plain, str) else name


def _mock_id(type_: str, name: str, inputs: Mapping[str, Any]) -> str:
    package, module, short = [*type_.split(":"), "", ""][:3]
    if package == "azuread":
        return str(uuid.uuid5(uuid.NAMESPACE_URL, f"{type_}/{name}"))
    group = inputs.get("resourceGroupName", "rg-mock")
    namespace = "Microsoft." + module[:1].upper() + module[1:]
    if short == "ResourceGroup":
        return f"/subscriptions/{SUBSCRIPTION}/resourceGroups/{name}"
    return (
        f"/subscriptions/{SUBSCRIPTION}/resourceGroups/{group}/providers/"
        f"{namespace}/{_camel(short)}s/{name}"
    )


class RecordingMocks(pulumi_mocks.Mocks):
    """Ids and state of mocked resources (outputs = inputs plus a name) and the one call the
    program makes; RecordingMonitor does the recording."""

    def new_resource(
        self, args: pulumi_mocks.MockResourceArgs
    ) -> tuple[str | None, dict[Any, Any]]:
        plain = {k: unwrap_rpc_secret(v) for k, v in args.inputs.items()}
        name = _mock_name(args.typ, args.name, plain)
        resource_id = _mock_id(args.typ, name, plain)
        return resource_id, _state(dict(args.inputs), args.typ, name, resource_id)

    def call(
        self, args: pulumi_mocks.MockCallArgs
    ) -> tuple[dict[Any, Any], list[tuple[str, str]] | None]:
        if args.token == "azure-native:authorization:getClientConfig":
            return {
                "clientId": TENANT,
                "objectId": TENANT,
                "subscriptionId": SUBSCRIPTION,
                "tenantId": TENANT,
            }, []
        if args.token == "azuread:index/getDomains:getDomains":
            return {"domains": [{"domainName": INITIAL_DOMAIN, "initial": True}]}, []
        return {}, []


def _state(state: Any, type_: str, name: str, resource_id: str) -> Any:
    """A mocked resource's outputs: its inputs, its name, an object id for Entra objects and a
    stand-in result for a random password (the program must keep it secret)."""
    if "name" not in state:
        state["name"] = name
    if type_.startswith("azuread:") and "objectId" not in state:
        state["objectId"] = resource_id
    if type_ == "random:index/randomPassword:RandomPassword":
        state["result"] = f"mocked-random-password-{name}"
    return state


class RecordingMonitor(pulumi_mocks.MockMonitor):
    """Registers resources like Pulumi's MockMonitor and records each one (type, name, parent,
    inputs). The outputs it returns are the inputs the engine sent, as they came: the stock
    monitor deserialises and re-serialises every input of every resource for that."""

    def __init__(self, mocks: RecordingMocks) -> None:
        super().__init__(mocks)
        self.recorded: list[Recorded] = []
        self.names_by_urn: dict[str, str] = {}
        self.lock = threading.Lock()

    def RegisterResource(self, request: Any) -> Any:
        urn = self.make_urn(request.parent, request.type, request.name)
        if request.type == "pulumi:pulumi:Stack":  # top-level resources have no parent
            return resource_pb2.RegisterResourceResponse(urn=urn)
        inputs = _recorded(request.object)
        name = _mock_name(request.type, request.name, inputs)
        resource_id = _mock_id(request.type, name, inputs)
        state = struct_pb2.Struct()
        state.CopyFrom(request.object)
        _state(state, request.type, name, resource_id)
        with self.lock:
            self.names_by_urn[urn] = request.name
            parent = self.names_by_urn.get(request.parent)
            self.recorded.append(
                Recorded(
                    request.type,
                    request.name,
                    parent,
                    inputs,
                    bool(request.custom),
                    resource_id,
                )
            )
            self.resources[urn] = pulumi_mocks.MockMonitor.ResourceRegistration(
                urn, resource_id, inputs
            )
        return resource_pb2.RegisterResourceResponse(urn=urn, id=resource_id, object=state)


def _fresh_event_loop() -> None:
    """Pulumi runs on the thread's event loop; code that ran `asyncio.run` before (tests,
    other tools) leaves none, or a closed one."""
    try:
        loop = asyncio.get_event_loop()
    except RuntimeError:
        loop = None
    if loop is None or loop.is_closed():
        asyncio.set_event_loop(asyncio.new_event_loop())


@contextmanager
def without_source_positions() -> Iterator[None]:
    """At every resource registration Pulumi walks the Python stack to tell the engine where
    in the program the resource was declared (for its messages). The mock monitor ignores it,
    and the walk was an eighth of a mocked run; a real preview or up still sends it."""
    original = getattr(runtime_resource, "_get_stack_trace", None)
    if original is None:  # another SDK version: nothing to spare
        yield
        return
    runtime_resource._get_stack_trace = source_pb2.StackTrace  # an empty trace
    try:
        yield
    finally:
        runtime_resource._get_stack_trace = original


def run_mocked(
    program: Callable[[], Mapping[str, Any]],
    *,
    project: str = "eendracht",
    stack: str = "mock",
    config: Mapping[str, str] | None = None,
) -> MockedRun:
    """Run `program` (which returns its outputs) under mocks; return what it registered."""
    _fresh_event_loop()
    mocks = RecordingMocks()
    monitor = RecordingMonitor(mocks)
    pulumi.runtime.set_all_config(dict(config or {}))
    pulumi.runtime.set_mocks(mocks, project=project, stack=stack, preview=False, monitor=monitor)
    settings = pulumi.runtime.settings.SETTINGS
    settings.rpc_manager.clear()
    settings.outputs.clear()
    run = MockedRun()

    def body() -> None:
        outputs = program()
        resolved = _sync_await(pulumi.Output.from_input(dict(outputs)).future())
        run.outputs = dict(resolved or {})

    with fewer_collections(), without_source_positions():
        _sync_await(run_pulumi_func(body))
    run.resources = list(monitor.recorded)
    return run


def run_stack_mocked(
    programme: m.Programme, settings: StackSettings, stack: str = "mock"
) -> MockedRun:
    """The whole program of one stack under mocks, with stand-ins for its secrets."""
    from consolidated.program import Platform, Secrets, build

    def program() -> dict[str, Any]:
        secrets = Secrets(  # created inside the run: Outputs belong to its event loop
            admin_password=pulumi.Output.secret("mocked-admin-password"),
            vpn_shared_key=pulumi.Output.secret("mocked-vpn-shared-key"),
            graph_client_id="00000000-0000-0000-0000-00000000c1d0",
            graph_client_secret=pulumi.Output.secret("mocked-graph-client-secret"),
        )
        platform = Platform(tenant_id=TENANT, initial_domain=INITIAL_DOMAIN)
        return build(programme, settings, platform, secrets)

    return run_mocked(program, stack=stack)
