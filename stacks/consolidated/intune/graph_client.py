"""A small Microsoft Graph client over urllib: client-credentials token, JSON calls, throttling.

The real Microsoft Graph (https://graph.microsoft.com) and the Microsoft identity platform
(https://login.microsoftonline.com) are NOT reachable from this development environment.
The tests run this client against tests/stacks/graph_contract_server.py, a local server that
follows the documented request and response shapes of both services. Both base URLs are
arguments with the real services as defaults, so pipelines with network access use the real ones.

Documented shapes this client relies on:
- token: https://learn.microsoft.com/entra/identity-platform/v2-oauth2-client-creds-grant-flow
  (POST form client_id, scope=https://graph.microsoft.com/.default, client_secret,
  grant_type=client_credentials -> {"token_type": "Bearer", "expires_in": N, "access_token": ...};
  errors -> {"error": "invalid_client", "error_description": "AADSTS...", ...})
- errors: https://learn.microsoft.com/graph/errors ({"error": {"code", "message", "innerError"}})
- throttling: https://learn.microsoft.com/graph/throttling (429 with Retry-After in seconds;
  503/504 may carry Retry-After too)
- paging: https://learn.microsoft.com/graph/paging (@odata.nextLink)

The client secret is only ever put in the token request body; it is never logged and is
scrubbed from every exception text this module raises.
"""

from __future__ import annotations

import json
import logging
import re
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

GRAPH_URL = "https://graph.microsoft.com"
LOGIN_URL = "https://login.microsoftonline.com"
GRAPH_SCOPE = "https://graph.microsoft.com/.default"
RETRYABLE_STATUSES = frozenset({429, 503, 504})
MAX_PAGES = 50

log = logging.getLogger(__name__)

JsonObject = dict[str, Any]


def token_url_for(tenant_id: str, login_url: str = LOGIN_URL) -> str:
    """The v2.0 token endpoint of a tenant (tenant id or verified domain)."""
    return f"{login_url.rstrip('/')}/{tenant_id}/oauth2/v2.0/token"


@dataclass(frozen=True)
class Credentials:
    """An app registration's client credentials. repr never shows the secret."""

    token_url: str
    client_id: str
    client_secret: str = field(repr=False)


@dataclass(frozen=True)
class RetryPolicy:
    """Bounded retries for throttled or briefly unavailable requests."""

    max_attempts: int = 5
    max_wait_seconds: float = 30.0
    default_wait_seconds: float = 2.0


class GraphError(Exception):
    """A Microsoft Graph request failed; carries Graph's error code and message."""

    def __init__(
        self,
        *,
        method: str,
        path: str,
        status: int,
        code: str,
        message: str,
        request_id: str = "",
    ) -> None:
        self.method = method
        self.path = path
        self.status = status
        self.code = code
        self.message = message
        self.request_id = request_id
        text = f"Microsoft Graph {method} {path} failed: HTTP {status} {code}: {message}"
        if request_id:
            text += f" (request-id {request_id})"
        super().__init__(text)


class GraphNotFound(GraphError):
    """404: the object does not exist (any more)."""


class GraphThrottled(GraphError):
    """Still throttled (429/503/504) after the bounded number of attempts."""


class GraphAuthError(Exception):
    """The identity platform refused the client-credentials token request."""


class GraphClient:
    """JSON calls against one Graph base URL with one set of client credentials."""

    def __init__(
        self,
        graph_url: str,
        credentials: Credentials,
        *,
        retry: RetryPolicy | None = None,
        timeout: float = 30.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.graph_url = graph_url.rstrip("/")
        self._credentials = credentials
        self._retry = retry or RetryPolicy()
        self._timeout = timeout
        self._sleep = sleep
        self._token = ""
        self._token_expires = 0.0
        # Proxies from the environment apply to the real services but never to loopback.
        self._opener = urllib.request.build_opener(urllib.request.ProxyHandler())

    def __repr__(self) -> str:
        return f"GraphClient({self.graph_url!r}, client_id={self._credentials.client_id!r})"

    # -- public calls ---------------------------------------------------------------------

    def get(self, path: str) -> JsonObject:
        return self._json_or_empty(self.request("GET", path))

    def get_collection(self, path: str) -> list[JsonObject]:
        """All items of a collection, following @odata.nextLink on the same Graph host."""
        items: list[JsonObject] = []
        next_path: str | None = path
        for _ in range(MAX_PAGES):
            if next_path is None:
                return items
            page = self.get(next_path)
            items.extend(page.get("value", []))
            next_path = self._same_host_path(page.get("@odata.nextLink"))
        raise GraphError(
            method="GET",
            path=path,
            status=0,
            code="TooManyPages",
            message=f"more than {MAX_PAGES} pages",
        )

    def post(self, path: str, body: JsonObject) -> JsonObject:
        return self._json_or_empty(self.request("POST", path, body))

    def patch(self, path: str, body: JsonObject) -> JsonObject:
        return self._json_or_empty(self.request("PATCH", path, body))

    def delete(self, path: str) -> None:
        self.request("DELETE", path)

    def request(self, method: str, path: str, body: JsonObject | None = None) -> Any:
        """One Graph call with bounded retries on throttling and one token refresh on 401."""
        refreshed = False
        attempt = 0
        while True:
            attempt += 1
            status, headers, payload = self._send(method, path, body)
            log.debug("graph %s %s -> %s", method, path, status)
            if status < 400:
                return payload
            if status == 401 and not refreshed:
                # An expired or revoked token: fetch a fresh one once, then give up.
                refreshed = True
                self._token = ""
                continue
            if status in RETRYABLE_STATUSES and attempt < self._retry.max_attempts:
                wait = self._wait_seconds(headers.get("Retry-After"), attempt)
                log.info(
                    "graph %s %s throttled (%s); retrying in %.1fs", method, path, status, wait
                )
                self._sleep(wait)
                continue
            raise self._error(method, path, status, headers, payload)

    # -- internals ------------------------------------------------------------------------

    def _send(
        self, method: str, path: str, body: JsonObject | None
    ) -> tuple[int, dict[str, str], Any]:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.graph_url + path, data=data, method=method)
        request.add_header("Authorization", f"Bearer {self._access_token()}")
        request.add_header("Accept", "application/json")
        if data is not None:
            request.add_header("Content-Type", "application/json")
        return self._exchange(request, method, path)

    def _exchange(
        self, request: urllib.request.Request, method: str, path: str
    ) -> tuple[int, dict[str, str], Any]:
        try:
            with self._opener.open(request, timeout=self._timeout) as response:
                return response.status, dict(response.headers), _parse(response.read())
        except urllib.error.HTTPError as failure:
            with failure:
                return failure.code, dict(failure.headers), _parse(failure.read())
        except (urllib.error.URLError, TimeoutError, ConnectionError) as failure:
            reason = getattr(failure, "reason", failure)
            raise GraphError(
                method=method,
                path=path,
                status=0,
                code="ConnectionFailed",
                message=self._scrub(str(reason)),
            ) from None

    def _access_token(self) -> str:
        if self._token and time.monotonic() < self._token_expires:
            return self._token
        creds = self._credentials
        form = urllib.parse.urlencode(
            {
                "client_id": creds.client_id,
                "scope": GRAPH_SCOPE,
                "client_secret": creds.client_secret,
                "grant_type": "client_credentials",
            }
        ).encode()
        request = urllib.request.Request(creds.token_url, data=form, method="POST")
        request.add_header("Content-Type", "application/x-www-form-urlencoded")
        try:
            status, _, payload = self._exchange(request, "POST", creds.token_url)
        except GraphError as failure:
            message = f"token request to {creds.token_url} failed: {failure.message}"
            raise GraphAuthError(message) from None
        if status != 200 or not isinstance(payload, dict) or "access_token" not in payload:
            error = payload.get("error", "") if isinstance(payload, dict) else ""
            description = payload.get("error_description", "") if isinstance(payload, dict) else ""
            raise GraphAuthError(
                self._scrub(
                    f"token request to {creds.token_url} for client {creds.client_id} failed: "
                    f"HTTP {status} {error}: {description}".rstrip(": ")
                )
            )
        self._token = str(payload["access_token"])
        lifetime = float(payload.get("expires_in", 3599))
        # Renew a minute early so a long deployment never sends an expiring token.
        self._token_expires = time.monotonic() + max(lifetime - 60.0, 0.0)
        return self._token

    def _wait_seconds(self, retry_after: str | None, attempt: int) -> float:
        policy = self._retry
        wait = policy.default_wait_seconds * 2 ** (attempt - 1)
        # An HTTP-date Retry-After (or none) falls back to exponential backoff.
        if retry_after is not None and re.fullmatch(r"\d+(\.\d+)?", retry_after.strip()):
            wait = float(retry_after)
        return float(max(0.0, min(wait, policy.max_wait_seconds)))

    def _error(
        self, method: str, path: str, status: int, headers: dict[str, str], payload: Any
    ) -> GraphError:
        code, message, request_id = f"HTTP{status}", "", headers.get("request-id", "")
        if isinstance(payload, dict) and isinstance(payload.get("error"), dict):
            error = payload["error"]
            code = str(error.get("code") or code)
            message = str(error.get("message") or "")
            inner = error.get("innerError") or error.get("innererror") or {}
            if isinstance(inner, dict):
                request_id = str(inner.get("request-id") or request_id)
        elif isinstance(payload, str):
            message = payload[:300]
        kind: type[GraphError] = GraphError
        if status == 404:
            kind = GraphNotFound
        elif status in RETRYABLE_STATUSES:
            kind = GraphThrottled
            message = f"{message} (gave up after {self._retry.max_attempts} attempts)".strip()
        return kind(
            method=method,
            path=path,
            status=status,
            code=code,
            message=self._scrub(message),
            request_id=request_id,
        )

    def _scrub(self, text: str) -> str:
        for secret, label in (
            (self._credentials.client_secret, "[secret]"),
            (self._token, "[token]"),
        ):
            if secret:
                text = text.replace(secret, label)
        return text

    def _same_host_path(self, link: Any) -> str | None:
        if not isinstance(link, str) or not link:
            return None
        if not link.startswith(self.graph_url + "/"):
            # Never send the bearer token to another host.
            raise GraphError(
                method="GET",
                path=link,
                status=0,
                code="ForeignNextLink",
                message=f"@odata.nextLink leaves {self.graph_url}",
            )
        return link[len(self.graph_url) :]

    @staticmethod
    def _json_or_empty(payload: Any) -> JsonObject:
        return payload if isinstance(payload, dict) else {}


def _parse(raw: bytes) -> Any:
    if not raw:
        return None
    text = raw.decode("utf-8", errors="replace")
    try:
        return json.loads(text)
    except ValueError:
        return text
