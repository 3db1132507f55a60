"""Run the program under Pulumi's mocks: no CLI, no cloud, every resource recorded.

The Pulumi engine is replaced by `pulumi.runtime.set_mocks`; a recording monitor keeps each
registered resource (type, name, parent, inputs) so tests, the security rules and
`eendracht preview` can look at the whole graph. Secret inputs are recorded as "[secret]".
"""

from __future__ import annotations

import asyncio
import gc
import threading
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pulumi
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime.rpc import is_rpc_secret, unwrap_rpc_secret
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _sync_await

from consolidated.settings import StackSettings
from eendracht.programme import models as m

SUBSCRIPTION = "00000000-0000-0000-0000-000000000000"
TENANT = "11111111-1111-1111-1111-111111111111"
SECRET = "[secret]"
# Resources whose name input does not follow the `<type>Name` convention.
NAME_INPUTS = {"StorageAccount": "accountName", "FileShare": "shareName"}


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


def _redact(value: Any) -> Any:
    if is_rpc_secret(value):
        return SECRET
    if isinstance(value, Mapping):
        return {k: _redact(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_redact(v) for v in value]
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
    def __init__(self) -> None:
        self.recorded: list[Recorded] = []
        self.names_by_urn: dict[str, str] = {}
        self.local = threading.local()
        self.lock = threading.Lock()

    def new_resource(
        self, args: pulumi_mocks.MockResourceArgs
    ) -> tuple[str | None, dict[Any, Any]]:
        plain = {k: unwrap_rpc_secret(v) for k, v in args.inputs.items()}
        name = _mock_name(args.typ, args.name, plain)
        resource_id = _mock_id(args.typ, name, plain)
        parent_urn: str = getattr(self.local, "parent", "") or ""
        with self.lock:
            parent = self.names_by_urn.get(parent_urn)
            self.recorded.append(
                Recorded(
                    args.typ,
                    args.name,
                    parent,
                    _redact(dict(args.inputs)),
                    bool(args.custom),
                    resource_id,
                )
            )
        state = dict(args.inputs)
        state.setdefault("name", name)
        if args.typ.startswith("azuread:"):
            state.setdefault("objectId", resource_id)
        return resource_id, state

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
        return {}, []


class RecordingMonitor(pulumi_mocks.MockMonitor):
    """Tells the mocks which parent a resource is registered under (the mocks API does not)."""

    mocks: RecordingMocks

    def RegisterResource(self, request: Any) -> Any:
        self.mocks.local.parent = request.parent
        response = super().RegisterResource(request)  # type: ignore[no-untyped-call]
        if request.type != "pulumi:pulumi:Stack":  # top-level resources have no parent
            with self.mocks.lock:
                self.mocks.names_by_urn[response.urn] = request.name
        return response


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
def fewer_collections() -> Iterator[None]:
    """Pulumi allocates many small objects per resource; with the provider modules' tens of
    thousands of long-lived objects on the heap, the default GC thresholds made collections
    the biggest cost of a run. Freeze what exists and collect less often while running."""
    old = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(200_000, 50, 100)
    try:
        yield
    finally:
        gc.set_threshold(*old)
        gc.unfreeze()


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

    with fewer_collections():
        _sync_await(run_pulumi_func(body))
    run.resources = list(mocks.recorded)
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
        return build(programme, settings, Platform(tenant_id=TENANT), secrets)

    return run_mocked(program, stack=stack)
