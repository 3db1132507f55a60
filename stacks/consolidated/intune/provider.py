"""Pulumi dynamic provider for Intune objects through Microsoft Graph `deviceManagement`.

Intune has no Pulumi provider, so this one speaks the documented Graph endpoints itself
(paths and versions per object kind in kinds.py: beta for compliance policies, whose TPM,
Defender and firewall rules v1.0 lacks, and for Autopilot deployment profiles, which v1.0
lacks altogether; v1.0 for configuration profiles).

NOTE: Microsoft Graph is not reachable from this development environment. The tests drive
this provider against tests/stacks/graph_contract_server.py, a local server that accepts what
Microsoft's published Graph metadata (a vendored CSDL subset) says Graph accepts; real
deployments use the default URLs.

Resource inputs (and outputs, which repeat them so diffs compare like with like):
  graph_url, token_url, tenant_id, client_id, client_secret (always a Pulumi secret),
  odata_type, properties (Graph property names -> values), assignment_group_ids.
Outputs add created_date_time and last_modified_date_time. The client secret appears in the
outputs only wrapped as a Pulumi secret (and the engine also marks it secret because the input
of the same name is secret): delete and refresh receive nothing but the old outputs, so the
credentials must live there, encrypted.

Behaviour per operation:
  check   validates every input with clear messages (validation.py), no Graph call.
  diff    odata_type, graph_url or tenant_id changed -> replace; properties, assignment
          groups or credentials changed -> update. Group ids compare as a set.
  create  POST the object (201 with id), then its assignments; if assigning fails the new
          object is deleted again, so a failed create leaves nothing behind.
  read    GET the object and its assignments; 404 -> the resource is gone (empty id).
          Drift is reported on the managed properties that Graph returns for the type; a
          property it does not return (write-only, or not of this version) cannot drift.
  update  PATCH with @odata.type and only the changed properties; assignments only when
          the group set changed. Properties removed from the inputs are left as they are
          in Intune (no longer managed) rather than nulled.
  delete  DELETE (Autopilot: its assignments first, Intune refuses to delete an assigned
          profile); 404 counts as already deleted.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pulumi.dynamic import (
    CheckFailure,
    CheckResult,
    CreateResult,
    DiffResult,
    ReadResult,
    ResourceProvider,
    UpdateResult,
)
from pulumi.runtime import rpc

from .graph_client import Credentials, GraphClient, GraphError, GraphNotFound, RetryPolicy
from .kinds import GROUP_TARGET, KINDS, AssignmentStyle, GraphKind
from .validation import is_unknown, validate

log = logging.getLogger(__name__)

REPLACE_KEYS = ("odata_type", "graph_url", "tenant_id")
CREDENTIAL_KEYS = ("token_url", "client_id", "client_secret")


def plain(value: Any) -> Any:
    """The value with every Pulumi RPC secret wrapper removed (recursively), and whole numbers
    back as int: Pulumi's wire format turns every number into a float, Graph's Int32 fields
    want integers."""
    if rpc.is_rpc_secret(value):
        return plain(rpc.unwrap_rpc_secret(value))
    if isinstance(value, Mapping):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [plain(item) for item in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def matches(desired: Any, actual: Any) -> bool:
    """Whether Graph's value satisfies the desired one. Objects compare on the desired keys
    only, since Graph adds its own (e.g. "@odata.type" inside complex values)."""
    if is_unknown(desired):
        return False
    if isinstance(desired, Mapping):
        return isinstance(actual, Mapping) and all(
            key in actual and matches(value, actual[key]) for key, value in desired.items()
        )
    if isinstance(desired, list):
        return (
            isinstance(actual, list)
            and len(desired) == len(actual)
            and all(matches(d, a) for d, a in zip(desired, actual, strict=True))
        )
    if isinstance(desired, bool) or isinstance(actual, bool):
        return desired is actual
    return bool(desired == actual)


def changed_properties(old: Mapping[str, Any], new: Mapping[str, Any]) -> dict[str, Any]:
    """The properties of `new` whose value differs from `old` (the PATCH body, sans type)."""
    return {
        key: value for key, value in new.items() if key not in old or not matches(value, old[key])
    }


def changed_keys(olds: Mapping[str, Any], news: Mapping[str, Any]) -> tuple[list[str], list[str]]:
    """(keys forcing a replacement, keys needing an update) between old outputs and new
    inputs; changed Graph properties are named one by one as "properties.<name>"."""
    old, new = plain(olds), plain(news)
    replaces = [key for key in REPLACE_KEYS if _differs(old.get(key), new.get(key))]
    updates = [key for key in CREDENTIAL_KEYS if _differs(old.get(key), new.get(key))]
    new_properties = new.get("properties")
    if is_unknown(new_properties):
        updates.append("properties")
    else:
        changed = changed_properties(old.get("properties") or {}, new_properties or {})
        updates.extend(f"properties.{name}" for name in sorted(changed))
    old_groups = _group_set(old.get("assignment_group_ids"))
    new_groups = _group_set(new.get("assignment_group_ids"))
    if new_groups is None or old_groups != new_groups:
        updates.append("assignment_group_ids")
    return replaces, updates


def _group_set(value: Any) -> frozenset[str] | None:
    """Group ids as a case-insensitive set; None when any id is still unknown."""
    if is_unknown(value):
        return None
    ids = list(value or [])
    if any(is_unknown(group_id) for group_id in ids):
        return None
    return frozenset(str(group_id).lower() for group_id in ids)


@dataclass(frozen=True)
class _State:
    graph_url: str
    token_url: str
    tenant_id: str
    client_id: str
    client_secret: str
    odata_type: str
    properties: dict[str, Any]
    group_ids: list[str]

    @classmethod
    def of(cls, props: Mapping[str, Any]) -> _State:
        values = plain(props)
        return cls(
            graph_url=str(values["graph_url"]),
            token_url=str(values["token_url"]),
            tenant_id=str(values["tenant_id"]),
            client_id=str(values["client_id"]),
            client_secret=str(values["client_secret"]),
            odata_type=str(values["odata_type"]),
            properties=dict(values.get("properties") or {}),
            group_ids=sorted({str(g) for g in values.get("assignment_group_ids") or []}),
        )

    def client(self, retry: RetryPolicy | None) -> GraphClient:
        credentials = Credentials(self.token_url, self.client_id, self.client_secret)
        return GraphClient(self.graph_url, credentials, retry=retry)

    def outputs(
        self,
        remote: Mapping[str, Any],
        *,
        properties: dict[str, Any] | None = None,
        group_ids: list[str] | None = None,
    ) -> dict[str, Any]:
        return {
            "graph_url": self.graph_url,
            "token_url": self.token_url,
            "tenant_id": self.tenant_id,
            "client_id": self.client_id,
            "client_secret": rpc.wrap_rpc_secret(self.client_secret),
            "odata_type": str(remote.get("@odata.type") or self.odata_type),
            "properties": self.properties if properties is None else properties,
            "assignment_group_ids": self.group_ids if group_ids is None else sorted(group_ids),
            "created_date_time": remote.get("createdDateTime"),
            "last_modified_date_time": remote.get("lastModifiedDateTime"),
        }


class GraphObjectProvider(ResourceProvider):
    """CRUD for one Intune object kind (see kinds.KINDS). Holds no credentials itself: the
    provider object is pickled into the state, the secret travels only as a secret input."""

    def __init__(self, kind_key: str, retry: RetryPolicy | None = None) -> None:
        super().__init__()
        if kind_key not in KINDS:
            raise ValueError(f"unknown Intune object kind {kind_key!r}; one of {sorted(KINDS)}")
        self.kind_key = kind_key
        self.retry = retry

    @property
    def kind(self) -> GraphKind:
        return KINDS[self.kind_key]

    # -- check / diff ---------------------------------------------------------------------

    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        failures = [CheckFailure(prop, reason) for prop, reason in validate(self.kind, plain(news))]
        return CheckResult(news, failures)

    def diff(self, _id: str, _olds: dict[str, Any], _news: dict[str, Any]) -> DiffResult:
        replaces, updates = changed_keys(_olds, _news)
        if replaces or updates:
            log.debug("%s %s: replace %s, update %s", self.kind.label, _id, replaces, updates)
        return DiffResult(
            changes=bool(replaces or updates),
            replaces=replaces,
            delete_before_replace=False,
        )

    # -- create / read / update / delete --------------------------------------------------

    def create(self, props: dict[str, Any]) -> CreateResult:
        state = _State.of(props)
        client = state.client(self.retry)
        body = {
            "@odata.type": state.odata_type,
            **dict(self.kind.create_defaults),
            **state.properties,
        }
        created = client.post(self.kind.collection_path(), body)
        object_id = str(created.get("id") or "")
        if not object_id:
            raise GraphError(
                method="POST",
                path=self.kind.collection_path(),
                status=201,
                code="MissingId",
                message=f"Graph created a {self.kind.label} but returned no id",
            )
        try:
            self._assign(client, object_id, state.group_ids)
        except GraphError:
            self._delete_quietly(client, object_id)
            raise
        log.info("created %s %s", self.kind.label, object_id)
        return CreateResult(object_id, state.outputs(created))

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        state = _State.of(props)
        client = state.client(self.retry)
        try:
            remote = client.get(self.kind.item_path(id_))
            assigned = self._assigned_groups(client, id_)
        except GraphNotFound:
            log.info("%s %s no longer exists", self.kind.label, id_)
            return ReadResult("", {})
        properties = {
            key: value if key not in remote or matches(value, remote[key]) else remote[key]
            for key, value in state.properties.items()
        }
        return ReadResult(
            id_, state.outputs(remote, properties=properties, group_ids=sorted(assigned))
        )

    def update(self, _id: str, _olds: dict[str, Any], _news: dict[str, Any]) -> UpdateResult:
        old, new = _State.of(_olds), _State.of(_news)
        client = new.client(self.retry)
        remote: Mapping[str, Any] = {
            "createdDateTime": plain(_olds).get("created_date_time"),
            "lastModifiedDateTime": plain(_olds).get("last_modified_date_time"),
        }
        changes = changed_properties(old.properties, new.properties)
        if changes:
            patched = client.patch(
                self.kind.item_path(_id), {"@odata.type": new.odata_type, **changes}
            )
            remote = {**remote, **patched}
        if _group_set(old.group_ids) != _group_set(new.group_ids):
            self._assign(client, _id, new.group_ids)
        return UpdateResult(new.outputs(remote))

    def delete(self, _id: str, _props: dict[str, Any]) -> None:
        client = _State.of(_props).client(self.retry)
        try:
            if self.kind.assignment_style is AssignmentStyle.COLLECTION:
                self._assign(client, _id, [])
            client.delete(self.kind.item_path(_id))
        except GraphNotFound:
            log.info("%s %s was already gone", self.kind.label, _id)

    # -- assignments ----------------------------------------------------------------------

    def _assign(self, client: GraphClient, object_id: str, group_ids: list[str]) -> None:
        """Make the object's group assignments exactly `group_ids`."""
        item = self.kind.item_path(object_id)
        wanted = sorted(set(group_ids))
        if self.kind.assignment_style is AssignmentStyle.ASSIGN_ACTION:
            # The assign action replaces the whole set in one call.
            client.post(
                f"{item}/assign",
                {"assignments": [self._assignment(group_id) for group_id in wanted]},
            )
            return
        current = {
            group_id.lower(): assignment_id
            for group_id, assignment_id in self._assignments(client, object_id).items()
        }
        for group_id in wanted:
            if group_id.lower() not in current:
                client.post(f"{item}/assignments", self._assignment(group_id))
        keep = {group_id.lower() for group_id in wanted}
        for group_id, assignment_id in sorted(current.items()):
            if group_id not in keep:
                with contextlib.suppress(GraphNotFound):
                    client.delete(f"{item}/assignments/{assignment_id}")

    def _assignment(self, group_id: str) -> dict[str, Any]:
        return {
            "@odata.type": self.kind.assignment_odata_type,
            "target": {"@odata.type": GROUP_TARGET, "groupId": group_id},
        }

    def _assignments(self, client: GraphClient, object_id: str) -> dict[str, str]:
        """groupId -> assignment id for the object's group assignments."""
        found: dict[str, str] = {}
        for assignment in client.get_collection(f"{self.kind.item_path(object_id)}/assignments"):
            target = assignment.get("target") or {}
            if str(target.get("@odata.type", "")).lstrip("#") != GROUP_TARGET.lstrip("#"):
                continue  # exclusion groups, all-devices targets: not managed here
            if target.get("groupId"):
                found[str(target["groupId"])] = str(assignment.get("id", ""))
        return found

    def _assigned_groups(self, client: GraphClient, object_id: str) -> list[str]:
        return sorted(self._assignments(client, object_id))

    def _delete_quietly(self, client: GraphClient, object_id: str) -> None:
        try:
            client.delete(self.kind.item_path(object_id))
        except GraphError as failure:
            log.warning(
                "could not remove half-created %s %s: %s", self.kind.label, object_id, failure
            )


def _differs(old: Any, new: Any) -> bool:
    return is_unknown(new) or old != new
