"""Who may look: loopback by default; shared only over TLS with the weekend's token.

The token is read from a file of its own (mode 0600, one line), compared in constant time
(`hmac.compare_digest`), and accepted as `Authorization: Bearer TOKEN`, as the cookie it sets,
or once as `?token=TOKEN` (the link handed out on the weekend's channel): that first visit
sets an HttpOnly, Secure, SameSite=Strict cookie and is redirected to the same page without
the token in its address."""

from __future__ import annotations

import hmac
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import parse_qsl, urlencode

from starlette.types import ASGIApp, Receive, Scope, Send

from eendracht.loopback import is_loopback
from eendracht.secret_file import secret_file_problem

COOKIE = "eendracht_live"
MAX_TOKEN_FILE = 4096
MIN_TOKEN_LENGTH = 16


class AccessError(Exception):
    """The command's options do not allow serving: the message is one line."""


def read_token(path: Path) -> str:
    """The weekend's token from `path`: a regular file, mode 0600 (no one else may read it),
    one line of at least 16 characters."""
    if why := secret_file_problem(path, MAX_TOKEN_FILE):
        raise AccessError(f"--token-file: {why}")
    token = path.read_text(encoding="utf-8").strip()
    if len(token) < MIN_TOKEN_LENGTH or any(c.isspace() for c in token):
        raise AccessError(
            f"--token-file {path}: one token of at least {MIN_TOKEN_LENGTH} characters, "
            "without spaces"
        )
    return token


def check_options(host: str, tls_cert: Path | None, tls_key: Path | None, token: bool) -> None:
    """A page beyond loopback needs TLS and a token; TLS needs both its files."""
    if (tls_cert is None) != (tls_key is None):
        raise AccessError("--tls-cert and --tls-key: give both or neither")
    for opt, path in (("--tls-cert", tls_cert), ("--tls-key", tls_key)):
        if path is not None and not path.is_file():
            raise AccessError(f"{opt} {path}: no such file")
    if not is_loopback(host) and (tls_cert is None or not token):
        raise AccessError(
            f"--host {host}: beyond loopback the page is served only over TLS with a token "
            "(--tls-cert, --tls-key and --token-file)"
        )


def _equal(given: str, token: str) -> bool:
    return hmac.compare_digest(given.encode("utf-8"), token.encode("utf-8"))


class TokenGate:
    """ASGI middleware: every request shows the token, or gets 401 and nothing else."""

    def __init__(self, app: ASGIApp, token: str, secure: bool) -> None:
        self.app = app
        self.token = token
        self.secure = secure

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        auth = headers.get("authorization", "")
        if auth.startswith("Bearer ") and _equal(auth[7:].strip(), self.token):
            await self.app(scope, receive, send)
            return
        cookie = SimpleCookie()
        try:
            cookie.load(headers.get("cookie", ""))
        except Exception:
            cookie = SimpleCookie()
        if COOKIE in cookie and _equal(cookie[COOKIE].value, self.token):
            await self.app(scope, receive, send)
            return
        query = parse_qsl(scope.get("query_string", b"").decode("latin-1"))
        given = [v for k, v in query if k == "token"]
        if given and _equal(given[-1], self.token):
            rest = urlencode([(k, v) for k, v in query if k != "token"])
            where = scope.get("path", "/") + (f"?{rest}" if rest else "")
            flags = "HttpOnly; SameSite=Strict; Path=/" + ("; Secure" if self.secure else "")
            await send(
                {
                    "type": "http.response.start",
                    "status": 303,
                    "headers": [
                        (b"location", where.encode("latin-1")),
                        (b"set-cookie", f"{COOKIE}={self.token}; {flags}".encode("latin-1")),
                        (b"cache-control", b"no-store"),
                        (b"referrer-policy", b"no-referrer"),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": b""})
            return
        await send(
            {
                "type": "http.response.start",
                "status": 401,
                "headers": [
                    (b"content-type", b"text/plain; charset=utf-8"),
                    (b"www-authenticate", b'Bearer realm="eendracht"'),
                ],
            }
        )
        await send(
            {
                "type": "http.response.body",
                "body": b"toegang met het weekendtoken / the weekend's token is needed\n",
            }
        )
