"""A local stand-in for Microsoft Graph `deviceManagement` and the identity platform token
endpoint. What it accepts comes from Microsoft's published Graph metadata (the vendored CSDL
subset read by graph_csdl.py), per API version; the protocol around it follows the documented
request and response shapes (pages cited in stacks/consolidated/intune/kinds.py and
graph_client.py).

The real services are not reachable from this environment; this server is what the Intune
provider's tests run against. It is strict where Graph is strict:
- token: form-encoded client-credentials grant, scope https://graph.microsoft.com/.default,
  wrong tenant/client/secret -> the identity platform's {"error", "error_description"} shape;
- every Graph call needs `Authorization: Bearer <issued token>` (401 InvalidAuthenticationToken);
- POST/PATCH need `Content-Type: application/json` and a JSON object body; from the CSDL of the
  version in the path: the collection exists, "@odata.type" names a concrete type it holds,
  every property exists on that type (inherited ones included) with a value of its EDM type,
  enum member or complex type, nothing read-only, deprecated or a key is written, navigation
  properties only as a create's deep insert, properties the metadata calls required on create
  are there, and action bodies carry exactly the bound action's parameters;
- compliance policies need a scheduled block action on create (Intune's rule, beyond the CSDL);
- a GET returns what Graph returns for the type in that version: its structural properties,
  unset ones as null or their type's default, no navigation properties;
- an assigned Autopilot profile cannot be deleted;
- errors use Graph's {"error": {"code", "message", "innerError": {"request-id", "date"}}};
- faults can be injected: 429 with Retry-After, 404, any status, for matching requests.
It binds 127.0.0.1 on an ephemeral port and runs in a daemon thread; always stop() it.
"""

from __future__ import annotations

import json
import threading
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from graph_csdl import GraphSchema, Member

GRAPH_SCOPE = "https://graph.microsoft.com/.default"

VERSIONS = ("v1.0", "beta")
COLLECTIONS = (
    "deviceCompliancePolicies",
    "deviceConfigurations",
    "windowsAutopilotDeploymentProfiles",
)


class GraphFault(Exception):
    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.headers = headers or {}


@dataclass
class Injected:
    status: int
    remaining: int
    method: str | None
    path_contains: str | None
    retry_after: str | None
    code: str
    message: str


@dataclass
class RecordedRequest:
    method: str
    path: str
    content_type: str
    authorized: bool
    body: Any


@dataclass
class Tenant:
    tenant_id: str
    client_id: str
    client_secret: str
    tokens: set[str] = field(default_factory=set)


class GraphContractServer:
    """Start with `with GraphContractServer(tenant, client, secret) as graph:`."""

    def __init__(self, tenant_id: str, client_id: str, client_secret: str) -> None:
        self.tenant = Tenant(tenant_id, client_id, client_secret)
        self.objects: dict[str, dict[str, dict[str, Any]]] = {name: {} for name in COLLECTIONS}
        self.assignments: dict[str, list[dict[str, Any]]] = {}
        self.created: dict[str, str] = {}  # every object id ever created -> its concrete type
        # Properties a GET leaves out, as Graph does for write-only and secret values.
        self.write_only: set[str] = set()
        self.requests: list[RecordedRequest] = []
        self.page_size = 100
        self._faults: list[Injected] = []
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ------------------------------------------------------------------------

    def start(self) -> GraphContractServer:
        contract = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                contract._handle(self)

            do_POST = do_PATCH = do_DELETE = do_PUT = do_GET

            def log_message(self, format: str, *args: Any) -> None:
                pass  # quiet: tests read contract.requests instead

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        # A short poll interval keeps stop() (and so every test's teardown) quick.
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = self._thread = None

    def __enter__(self) -> GraphContractServer:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        assert self._server is not None, "server not started"
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def graph_url(self) -> str:
        return self.base_url

    @property
    def token_url(self) -> str:
        return f"{self.base_url}/{self.tenant.tenant_id}/oauth2/v2.0/token"

    # -- test controls --------------------------------------------------------------------

    def inject(
        self,
        status: int,
        *,
        count: int = 1,
        method: str | None = None,
        path_contains: str | None = None,
        retry_after: str | None = None,
        code: str = "",
        message: str = "",
    ) -> None:
        """Answer the next `count` matching Graph requests with `status` instead."""
        default_code = {429: "TooManyRequests", 404: "ResourceNotFound", 503: "ServiceUnavailable"}
        with self._lock:
            self._faults.append(
                Injected(
                    status,
                    count,
                    method,
                    path_contains,
                    retry_after,
                    code or default_code.get(status, "BadRequest"),
                    message or f"Injected {status}",
                )
            )

    def forget(self, collection: str, object_id: str) -> None:
        """Delete an object behind the provider's back (as someone in the portal would)."""
        with self._lock:
            self.objects[collection].pop(object_id, None)
            self.assignments.pop(f"{collection}/{object_id}", None)

    def group_ids(self, collection: str, object_id: str) -> list[str]:
        with self._lock:
            return sorted(
                a["target"]["groupId"]
                for a in self.assignments.get(f"{collection}/{object_id}", [])
                if a["target"].get("@odata.type") == "#microsoft.graph.groupAssignmentTarget"
            )

    def graph_requests(self, method: str | None = None) -> list[RecordedRequest]:
        return [
            r
            for r in self.requests
            if "/oauth2/" not in r.path and (method is None or r.method == method)
        ]

    # -- dispatch -------------------------------------------------------------------------

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(length) if length else b""
        url = urlsplit(handler.path)
        path = url.path
        skip = int(parse_qs(url.query).get("$skiptoken", ["0"])[0])
        content_type = handler.headers.get("Content-Type", "")
        try:
            if path.endswith("/oauth2/v2.0/token"):
                self._record(handler, path, content_type, False, self._redacted_form(raw))
                status, body, headers = self._token(handler, path, content_type, raw)
                self._reply(handler, status, body, headers)
                return
            authorized = self._authorized(handler)
            parsed = self._json_body(raw) if raw else None
            self._record(handler, path, content_type, authorized, parsed)
            self._fault(handler.command, path)
            if not authorized:
                raise GraphFault(401, "InvalidAuthenticationToken", "Access token is empty.")
            if handler.command in {"POST", "PATCH"} and raw:
                if not content_type.startswith("application/json"):
                    raise GraphFault(
                        415, "UnsupportedMediaType", f"Content-Type {content_type!r} not supported"
                    )
                if not isinstance(parsed, dict):
                    raise GraphFault(400, "BadRequest", "The request body must be a JSON object.")
            status, body = self._graph(handler.command, path, parsed, skip)
            self._reply(handler, status, body, {})
        except GraphFault as fault:
            self._reply(handler, fault.status, self._error_body(fault), fault.headers)

    def _record(
        self, handler: BaseHTTPRequestHandler, path: str, ctype: str, auth: bool, body: Any
    ) -> None:
        with self._lock:
            self.requests.append(RecordedRequest(handler.command, path, ctype, auth, body))

    def _reply(
        self,
        handler: BaseHTTPRequestHandler,
        status: int,
        body: Any,
        headers: dict[str, str],
    ) -> None:
        data = b"" if body is None else json.dumps(body).encode()
        handler.send_response(status)
        for name, value in headers.items():
            handler.send_header(name, value)
        handler.send_header("request-id", str(uuid.uuid4()))
        if data:
            handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)

    @staticmethod
    def _error_body(fault: GraphFault) -> dict[str, Any]:
        return {
            "error": {
                "code": fault.code,
                "message": fault.message,
                "innerError": {"request-id": str(uuid.uuid4()), "date": _now()},
            }
        }

    @staticmethod
    def _json_body(raw: bytes) -> Any:
        try:
            return json.loads(raw)
        except ValueError:
            raise GraphFault(400, "BadRequest", "Invalid JSON in request body.") from None

    def _fault(self, method: str, path: str) -> None:
        with self._lock:
            for fault in self._faults:
                if fault.remaining <= 0:
                    continue
                if fault.method and fault.method != method:
                    continue
                if fault.path_contains and fault.path_contains not in path:
                    continue
                fault.remaining -= 1
                headers = {"Retry-After": fault.retry_after} if fault.retry_after else {}
                raise GraphFault(fault.status, fault.code, fault.message, headers)

    def _authorized(self, handler: BaseHTTPRequestHandler) -> bool:
        header = handler.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        with self._lock:
            return scheme == "Bearer" and token in self.tenant.tokens

    # -- token endpoint -------------------------------------------------------------------

    @staticmethod
    def _redacted_form(raw: bytes) -> dict[str, str]:
        form = {k: v[0] for k, v in parse_qs(raw.decode()).items()}
        if "client_secret" in form:
            form["client_secret"] = "***"
        return form

    def _token(
        self, handler: BaseHTTPRequestHandler, path: str, content_type: str, raw: bytes
    ) -> tuple[int, dict[str, Any], dict[str, str]]:
        def refuse(
            status: int, error: str, code: int, text: str
        ) -> tuple[int, dict[str, Any], dict[str, str]]:
            return (
                status,
                {
                    "error": error,
                    "error_description": f"AADSTS{code}: {text}",
                    "error_codes": [code],
                    "timestamp": _now(),
                    "trace_id": str(uuid.uuid4()),
                    "correlation_id": str(uuid.uuid4()),
                },
                {},
            )

        if handler.command != "POST":
            return refuse(
                405, "invalid_request", 900561, "The endpoint only accepts POST requests."
            )
        if not content_type.startswith("application/x-www-form-urlencoded"):
            return refuse(400, "invalid_request", 900144, "The request body must be form-encoded.")
        tenant = path.strip("/").split("/")[0]
        form = {k: v[0] for k, v in parse_qs(raw.decode()).items()}
        if tenant != self.tenant.tenant_id:
            return refuse(400, "invalid_request", 90002, f"Tenant '{tenant}' not found.")
        if form.get("grant_type") != "client_credentials":
            return refuse(
                400, "unsupported_grant_type", 70003, "The app requested an unsupported grant type."
            )
        if form.get("scope") != GRAPH_SCOPE:
            return refuse(
                400, "invalid_scope", 1002012, "The provided value for scope is not valid."
            )
        if form.get("client_id") != self.tenant.client_id:
            return refuse(
                400,
                "unauthorized_client",
                700016,
                f"Application with identifier '{form.get('client_id')}' was not found.",
            )
        if form.get("client_secret") != self.tenant.client_secret:
            return refuse(401, "invalid_client", 7000215, "Invalid client secret provided.")
        token = uuid.uuid4().hex
        with self._lock:
            self.tenant.tokens.add(token)
        return (
            200,
            {
                "token_type": "Bearer",
                "expires_in": 3599,
                "ext_expires_in": 3599,
                "access_token": token,
            },
            {},
        )

    def revoke_tokens(self) -> None:
        with self._lock:
            self.tenant.tokens.clear()

    # -- Graph routes ---------------------------------------------------------------------

    def _graph(self, method: str, path: str, body: Any, skip: int = 0) -> tuple[int, Any]:
        parts = path.strip("/").split("/")
        if len(parts) < 3 or parts[0] not in VERSIONS or parts[1] != "deviceManagement":
            raise GraphFault(
                400, "BadRequest", f"Resource not found for the segment '{parts[-1]}'."
            )
        version, _, collection, *rest = parts
        schema = GraphSchema.load(version)
        entity = schema.collection(f"/{version}/deviceManagement/{collection}")
        if entity is None or collection not in COLLECTIONS:
            raise GraphFault(
                400, "BadRequest", f"Resource not found for the segment '{collection}'."
            )
        with self._lock:
            if not rest:
                if method == "POST":
                    return 201, self._create(schema, collection, entity, body)
                if method == "GET":
                    items = [
                        self._representation(schema, o) for o in self.objects[collection].values()
                    ]
                    return 200, self._page(version, collection, items, path, skip)
            elif len(rest) == 1:
                return self._item(method, schema, collection, entity, rest[0], body)
            elif rest[1] == "assign" and len(rest) == 2 and method == "POST":
                return 200, self._assign(schema, collection, rest[0], body)
            elif rest[1] == "assignments":
                return self._assignments(
                    method, schema, collection, rest[0], rest[2:], body, path, skip
                )
        raise GraphFault(405, "BadRequest", f"{method} is not supported on {path}.")

    def _context(self, version: str, what: str) -> str:
        return f"https://graph.microsoft.com/{version}/$metadata#{what}"

    def _page(
        self, version: str, what: str, items: list[dict[str, Any]], path: str, skip: int
    ) -> dict[str, Any]:
        body: dict[str, Any] = {"@odata.context": self._context(version, what)}
        body["value"] = items[skip : skip + self.page_size]
        if len(items) > skip + self.page_size:
            # Graph's nextLink is absolute, on the same host, with an opaque skip token.
            body["@odata.nextLink"] = f"{self.base_url}{path}?$skiptoken={skip + self.page_size}"
        return body

    @staticmethod
    def _refuse(problems: list[str]) -> None:
        if problems:
            raise GraphFault(400, "BadRequest", "; ".join(problems))

    @staticmethod
    def _type_of(body: dict[str, Any]) -> str:
        return str(body.get("@odata.type", "")).lstrip("#").removeprefix("microsoft.graph.")

    def _create(
        self, schema: GraphSchema, collection: str, entity: str, body: dict[str, Any]
    ) -> dict[str, Any]:
        if "@odata.type" not in body:
            raise GraphFault(
                400,
                "BadRequest",
                "A type named '@odata.type' is required: the collection holds derived types.",
            )
        self._refuse(schema.problems_entity(body, entity, create=True))
        if collection == "deviceCompliancePolicies" and not _has_block_action(body):
            raise GraphFault(
                400,
                "BadRequest",
                "A compliance policy must contain a scheduled action of type 'block'.",
            )
        now = _now()
        concrete = self._type_of(body)
        members = schema.members(concrete)
        created = {k: v for k, v in body.items() if k in members and not members[k][1].navigation}
        created.update(
            {"@odata.type": f"#microsoft.graph.{concrete}", "id": str(uuid.uuid4())},
            createdDateTime=now,
            lastModifiedDateTime=now,
        )
        if "version" in members:
            created["version"] = 1
        self.objects[collection][created["id"]] = created
        self.created[created["id"]] = concrete
        self.assignments[f"{collection}/{created['id']}"] = []
        return {
            "@odata.context": self._context(
                schema.version, f"deviceManagement/{collection}/$entity"
            ),
            **self._representation(schema, created),
        }

    def _representation(self, schema: GraphSchema, stored: dict[str, Any]) -> dict[str, Any]:
        """What a GET in this API version returns: every structural property of the type as
        that version defines it, unset ones null (or their non-nullable type's default)."""
        concrete = self._type_of(stored)
        members = schema.members(concrete)
        out: dict[str, Any] = {"@odata.type": stored["@odata.type"]}
        for name in schema.structural(concrete):
            if name not in self.write_only:
                out[name] = stored[name] if name in stored else _default(schema, members[name][1])
        return out

    def _existing(self, collection: str, object_id: str) -> dict[str, Any]:
        found = self.objects[collection].get(object_id)
        if found is None:
            raise GraphFault(
                404, "ResourceNotFound", f"No {collection} object with id '{object_id}' exists."
            )
        return found

    def _item(
        self,
        method: str,
        schema: GraphSchema,
        collection: str,
        entity: str,
        object_id: str,
        body: Any,
    ) -> tuple[int, Any]:
        current = self._existing(collection, object_id)
        context = self._context(schema.version, f"deviceManagement/{collection}/$entity")
        if method == "GET":
            if self._type_of(current) not in schema.types:
                raise GraphFault(
                    400,
                    "BadRequest",
                    f"The type {current['@odata.type']} is not in {schema.version}.",
                )
            return 200, {"@odata.context": context, **self._representation(schema, current)}
        if method == "PATCH":
            if body.get("@odata.type") != current["@odata.type"]:
                raise GraphFault(
                    400,
                    "BadRequest",
                    f"The @odata.type must be the object's own, {current['@odata.type']}.",
                )
            self._refuse(schema.problems_entity(body, entity, create=False))
            for name, value in body.items():
                if not name.startswith("@"):
                    current[name] = value
            current["lastModifiedDateTime"] = _now()
            if "version" in current:
                current["version"] += 1
            return 200, {"@odata.context": context, **self._representation(schema, current)}
        if method == "DELETE":
            key = f"{collection}/{object_id}"
            if collection == "windowsAutopilotDeploymentProfiles" and self.assignments.get(key):
                raise GraphFault(
                    400, "BadRequest", "The profile is assigned to groups; unassign it first."
                )
            del self.objects[collection][object_id]
            self.assignments.pop(key, None)
            return 204, None
        raise GraphFault(405, "BadRequest", f"{method} is not supported on an item.")

    def _assign(
        self, schema: GraphSchema, collection: str, object_id: str, body: Any
    ) -> dict[str, Any]:
        concrete = self._type_of(self._existing(collection, object_id))
        self._refuse(schema.problems_action(concrete, "assign", body))
        assigned = [{**a, "id": str(uuid.uuid4())} for a in body["assignments"]]
        self.assignments[f"{collection}/{object_id}"] = assigned
        return {"value": assigned}

    def _assignments(
        self,
        method: str,
        schema: GraphSchema,
        collection: str,
        object_id: str,
        rest: list[str],
        body: Any,
        path: str,
        skip: int,
    ) -> tuple[int, Any]:
        concrete = self._type_of(self._existing(collection, object_id))
        navigation = schema.navigation(concrete, "assignments")
        if navigation is None:
            raise GraphFault(400, "BadRequest", "Resource not found for the segment 'assignments'.")
        key = f"{collection}/{object_id}"
        if not rest and method == "GET":
            items = list(self.assignments[key])
            return 200, self._page(schema.version, f"{key}/assignments", items, path, skip)
        if not rest and method == "POST":
            self._refuse(schema.problems_entity(body, navigation.type, create=True))
            assignment = {"@odata.type": f"#microsoft.graph.{navigation.type}", **body}
            assignment["id"] = str(uuid.uuid4())
            self.assignments[key].append(assignment)
            return 201, assignment
        if len(rest) == 1 and method == "DELETE":
            before = len(self.assignments[key])
            self.assignments[key] = [a for a in self.assignments[key] if a["id"] != rest[0]]
            if len(self.assignments[key]) == before:
                raise GraphFault(404, "ResourceNotFound", f"No assignment '{rest[0]}'.")
            return 204, None
        raise GraphFault(405, "BadRequest", f"{method} is not supported on assignments.")


def _default(schema: GraphSchema, member: Member) -> Any:
    """What Graph shows for a property nobody set: null, or the default of a non-nullable
    primitive or enum (false, 0, the enum's first member)."""
    if member.collection:
        return []
    if member.nullable:
        return None
    if member.type == "Edm.Boolean":
        return False
    if member.type.startswith("Edm.Int") or member.type in ("Edm.Byte", "Edm.Double"):
        return 0
    if member.type in schema.enums:
        return schema.enums[member.type][0][0]
    return None


def _has_block_action(body: dict[str, Any]) -> bool:
    for rule in body.get("scheduledActionsForRule") or []:
        for action in rule.get("scheduledActionConfigurations") or []:
            if action.get("actionType") == "block":
                return True
    return False


def _now() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")
