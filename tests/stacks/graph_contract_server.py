"""A local stand-in for Microsoft Graph `deviceManagement` and the identity platform token
endpoint, following their documented request and response shapes (pages cited in
stacks/consolidated/intune/kinds.py and graph_client.py).

The real services are not reachable from this environment; this server is what the Intune
provider's tests run against. It is deliberately strict where Graph is strict:
- token: form-encoded client-credentials grant, scope https://graph.microsoft.com/.default,
  wrong tenant/client/secret -> the identity platform's {"error", "error_description"} shape;
- every Graph call needs `Authorization: Bearer <issued token>` (401 InvalidAuthenticationToken);
- POST/PATCH need `Content-Type: application/json`, a JSON object body with "@odata.type"
  of a type the collection holds, and only properties that type defines (OData's
  "does not exist on type" error otherwise); displayName is required on create;
- compliance policies need a scheduled block action on create (Intune rejects them otherwise);
- Autopilot deployment profiles exist in beta only (v1.0 -> "Resource not found for the segment"),
  and an assigned profile cannot be deleted;
- errors use Graph's {"error": {"code", "message", "innerError": {"request-id", "date"}}};
- faults can be injected: 429 with Retry-After, 404, any status, for matching requests.
It binds 127.0.0.1 on an ephemeral port and runs in a daemon thread; always stop() it.
"""

from __future__ import annotations

import json
import re
import threading
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

GRAPH_SCOPE = "https://graph.microsoft.com/.default"
GUID = re.compile(r"^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")

_BASE = {"displayName", "description", "version", "roleScopeTagIds"}
_COMPLIANCE = _BASE | {
    "passwordRequired",
    "passwordBlockSimple",
    "passwordRequiredToUnlockFromIdle",
    "passwordMinutesOfInactivityBeforeLock",
    "passwordExpirationDays",
    "passwordMinimumLength",
    "passwordMinimumCharacterSetCount",
    "passwordRequiredType",
    "passwordPreviousPasswordBlockCount",
    "requireHealthyDeviceReport",
    "osMinimumVersion",
    "osMaximumVersion",
    "mobileOsMinimumVersion",
    "mobileOsMaximumVersion",
    "earlyLaunchAntiMalwareDriverEnabled",
    "bitLockerEnabled",
    "secureBootEnabled",
    "codeIntegrityEnabled",
    "storageRequireEncryption",
    "activeFirewallRequired",
    "defenderEnabled",
    "defenderVersion",
    "signatureOutOfDate",
    "rtpEnabled",
    "antivirusRequired",
    "antiSpywareRequired",
    "validOperatingSystemBuildRanges",
    "deviceThreatProtectionEnabled",
    "deviceThreatProtectionRequiredSecurityLevel",
    "configurationManagerComplianceRequired",
    "tpmRequired",
}
_GENERAL_CONFIGURATION = _BASE | {
    "defenderRequireRealTimeMonitoring",
    "defenderRequireBehaviorMonitoring",
    "defenderRequireCloudProtection",
    "defenderRequireNetworkInspectionSystem",
    "defenderScanArchiveFiles",
    "defenderScanDownloads",
    "defenderScanNetworkFiles",
    "defenderScanIncomingMail",
    "defenderCloudBlockLevel",
    "smartScreenBlockPromptOverride",
    "smartScreenBlockPromptOverrideForFiles",
    "edgeRequireSmartScreen",
    "edgeBlockPopups",
    "passwordRequired",
    "passwordRequiredType",
    "passwordMinimumLength",
    "passwordMinutesOfInactivityBeforeScreenTimeout",
    "passwordBlockSimple",
    "screenCaptureBlocked",
    "storageBlockRemovableStorage",
    "usbBlocked",
}
_CUSTOM_CONFIGURATION = _BASE | {"omaSettings"}
_AUTOPILOT = {
    "displayName",
    "description",
    "language",
    "outOfBoxExperienceSettings",
    "enrollmentStatusScreenSettings",
    "extractHardwareHash",
    "deviceNameTemplate",
    "deviceType",
    "enableWhiteGlove",
    "roleScopeTagIds",
    "managementServiceAppId",
}

# collection -> (versions it exists in, {odata type -> defined properties}, assignment type)
COLLECTIONS: dict[str, tuple[frozenset[str], dict[str, set[str]], str]] = {
    "deviceCompliancePolicies": (
        frozenset({"v1.0", "beta"}),
        {"#microsoft.graph.windows10CompliancePolicy": _COMPLIANCE},
        "#microsoft.graph.deviceCompliancePolicyAssignment",
    ),
    "deviceConfigurations": (
        frozenset({"v1.0", "beta"}),
        {
            "#microsoft.graph.windows10GeneralConfiguration": _GENERAL_CONFIGURATION,
            "#microsoft.graph.windows10CustomConfiguration": _CUSTOM_CONFIGURATION,
        },
        "#microsoft.graph.deviceConfigurationAssignment",
    ),
    "windowsAutopilotDeploymentProfiles": (
        frozenset({"beta"}),
        {
            "#microsoft.graph.azureADWindowsAutopilotDeploymentProfile": _AUTOPILOT,
            "#microsoft.graph.activeDirectoryWindowsAutopilotDeploymentProfile": _AUTOPILOT
            | {"hybridAzureADJoinSkipConnectivityCheck"},
        },
        "#microsoft.graph.windowsAutopilotDeploymentProfileAssignment",
    ),
}
_BOOLEAN_SUFFIXES = ("Enabled", "Required", "Blocked", "OutOfDate")


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
        if len(parts) < 3 or parts[1] != "deviceManagement":
            raise GraphFault(
                400, "BadRequest", f"Resource not found for the segment '{parts[-1]}'."
            )
        version, _, collection, *rest = parts
        if collection not in COLLECTIONS or version not in COLLECTIONS[collection][0]:
            raise GraphFault(
                400, "BadRequest", f"Resource not found for the segment '{collection}'."
            )
        with self._lock:
            if not rest:
                if method == "POST":
                    return 201, self._create(version, collection, body)
                if method == "GET":
                    items = list(self.objects[collection].values())
                    return 200, self._page(version, collection, items, path, skip)
            elif len(rest) == 1:
                return self._item(method, version, collection, rest[0], body)
            elif rest[1] == "assign" and len(rest) == 2 and method == "POST":
                return 200, self._assign(version, collection, rest[0], body)
            elif rest[1] == "assignments":
                return self._assignments(
                    method, version, collection, rest[0], rest[2:], body, path, skip
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

    def _check_properties(self, collection: str, odata_type: Any, body: dict[str, Any]) -> None:
        types = COLLECTIONS[collection][1]
        if not odata_type:
            raise GraphFault(
                400,
                "BadRequest",
                "A type named '@odata.type' is required: the collection holds derived types.",
            )
        if odata_type not in types:
            raise GraphFault(
                400,
                "BadRequest",
                f"The type '{odata_type}' is not valid for '{collection}'.",
            )
        defined = types[odata_type]
        for name, value in body.items():
            if name in {"@odata.type", "scheduledActionsForRule"}:
                continue
            if name not in defined:
                raise GraphFault(
                    400,
                    "BadRequest",
                    f"The property '{name}' does not exist on type '{odata_type.lstrip('#')}'. "
                    "Make sure to only use property names that are defined by the type.",
                )
            if name.endswith(_BOOLEAN_SUFFIXES) and not isinstance(value, bool):
                raise GraphFault(
                    400, "BadRequest", f"Cannot convert the literal '{value}' to Edm.Boolean."
                )

    def _create(self, version: str, collection: str, body: dict[str, Any]) -> dict[str, Any]:
        odata_type = body.get("@odata.type")
        self._check_properties(collection, odata_type, body)
        if not body.get("displayName"):
            raise GraphFault(400, "BadRequest", "displayName is required.")
        if collection == "deviceCompliancePolicies" and not _has_block_action(body):
            raise GraphFault(
                400,
                "BadRequest",
                "A compliance policy must contain a scheduled action of type 'block'.",
            )
        now = _now()
        created = {k: v for k, v in body.items() if k != "scheduledActionsForRule"}
        created.update(id=str(uuid.uuid4()), createdDateTime=now, lastModifiedDateTime=now)
        if collection != "windowsAutopilotDeploymentProfiles":
            created["version"] = 1
        if "outOfBoxExperienceSettings" in created:
            created["outOfBoxExperienceSettings"] = {
                "@odata.type": "microsoft.graph.outOfBoxExperienceSettings",
                **created["outOfBoxExperienceSettings"],
            }
        self.objects[collection][created["id"]] = created
        self.assignments[f"{collection}/{created['id']}"] = []
        return {
            "@odata.context": self._context(version, f"deviceManagement/{collection}/$entity"),
            **created,
        }

    def _existing(self, collection: str, object_id: str) -> dict[str, Any]:
        found = self.objects[collection].get(object_id)
        if found is None:
            raise GraphFault(
                404, "ResourceNotFound", f"No {collection} object with id '{object_id}' exists."
            )
        return found

    def _item(
        self, method: str, version: str, collection: str, object_id: str, body: Any
    ) -> tuple[int, Any]:
        current = self._existing(collection, object_id)
        if method == "GET":
            return 200, {
                "@odata.context": self._context(version, f"deviceManagement/{collection}/$entity"),
                **current,
            }
        if method == "PATCH":
            odata_type = body.get("@odata.type")
            self._check_properties(collection, odata_type, body)
            if odata_type != current["@odata.type"]:
                raise GraphFault(400, "BadRequest", "The @odata.type of an object cannot change.")
            for name, value in body.items():
                if name == "outOfBoxExperienceSettings":
                    value = {"@odata.type": "microsoft.graph.outOfBoxExperienceSettings", **value}
                current[name] = value
            current["lastModifiedDateTime"] = _now()
            if "version" in current:
                current["version"] += 1
            return 200, dict(current)
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

    def _target(self, assignment: Any, expected_type: str) -> dict[str, Any]:
        if not isinstance(assignment, dict):
            raise GraphFault(400, "BadRequest", "An assignment must be an object.")
        if assignment.get("@odata.type", expected_type) != expected_type:
            raise GraphFault(400, "BadRequest", f"An assignment here is of type {expected_type}.")
        target = assignment.get("target")
        if not isinstance(target, dict):
            raise GraphFault(400, "BadRequest", "An assignment needs a target.")
        if (
            str(target.get("@odata.type", "")).lstrip("#")
            != "microsoft.graph.groupAssignmentTarget"
        ):
            raise GraphFault(400, "BadRequest", "Only group assignment targets are supported here.")
        group_id = target.get("groupId")
        if not isinstance(group_id, str) or not GUID.match(group_id):
            raise GraphFault(400, "BadRequest", f"Invalid groupId {group_id!r}.")
        return {"@odata.type": "#microsoft.graph.groupAssignmentTarget", "groupId": group_id}

    def _assign(self, version: str, collection: str, object_id: str, body: Any) -> dict[str, Any]:
        self._existing(collection, object_id)
        if collection == "windowsAutopilotDeploymentProfiles":
            raise GraphFault(
                400, "BadRequest", "Autopilot profiles are assigned through /assignments."
            )
        if not isinstance(body, dict) or not isinstance(body.get("assignments"), list):
            raise GraphFault(400, "BadRequest", 'The body must be {"assignments": [...]}.')
        expected = COLLECTIONS[collection][2]
        assigned = [
            {"@odata.type": expected, "id": str(uuid.uuid4()), "target": self._target(a, expected)}
            for a in body["assignments"]
        ]
        self.assignments[f"{collection}/{object_id}"] = assigned
        return {"value": assigned}

    def _assignments(
        self,
        method: str,
        version: str,
        collection: str,
        object_id: str,
        rest: list[str],
        body: Any,
        path: str,
        skip: int,
    ) -> tuple[int, Any]:
        self._existing(collection, object_id)
        key = f"{collection}/{object_id}"
        expected = COLLECTIONS[collection][2]
        if not rest and method == "GET":
            items = list(self.assignments[key])
            return 200, self._page(version, f"{key}/assignments", items, path, skip)
        if not rest and method == "POST":
            assignment = {
                "@odata.type": expected,
                "id": str(uuid.uuid4()),
                "target": self._target(body, expected),
            }
            self.assignments[key].append(assignment)
            return 201, assignment
        if len(rest) == 1 and method == "DELETE":
            before = len(self.assignments[key])
            self.assignments[key] = [a for a in self.assignments[key] if a["id"] != rest[0]]
            if len(self.assignments[key]) == before:
                raise GraphFault(404, "ResourceNotFound", f"No assignment '{rest[0]}'.")
            return 204, None
        raise GraphFault(405, "BadRequest", f"{method} is not supported on assignments.")


def _has_block_action(body: dict[str, Any]) -> bool:
    for rule in body.get("scheduledActionsForRule") or []:
        for action in rule.get("scheduledActionConfigurations") or []:
            if action.get("actionType") == "block":
                return True
    return False


def _now() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")
