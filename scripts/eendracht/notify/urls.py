"""A webhook URL is a secret: read from where the environment says, checked, and known in every
form the run's redaction must hide (its path and query carry the credential)."""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

from eendracht.loopback import is_loopback
from eendracht.secret_file import secret_file_problem

MAX_URL_FILE = 8192
MIN_FORM = 8  # the shortest path or query redacted
MIN_PART = 16  # a shorter path segment or query value is a name (`services`), not a credential


def url_problem(url: str) -> str:
    """Why `url` cannot be a webhook, without quoting it; '' when it can."""
    if not url:
        return "is empty"
    if len(url) > 4000 or not url.isprintable() or any(c.isspace() for c in url):
        return "is not one URL (too long, or spaces or control characters in it)"
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        _ = parts.port
    except ValueError:
        return "is not a URL"
    if parts.scheme not in ("https", "http") or not host:
        return "is not an http(s) URL with a host"
    if parts.scheme == "http" and not is_loopback(host):
        return "must be https: over http its secret path would cross the network in the clear"
    if parts.username or parts.password:
        return "must not carry a user or password before the host"
    return ""


def read_url_file(path: Path) -> tuple[str, str]:
    """(the URL on the file's first line, '') or ('', why it cannot be read)."""
    if why := secret_file_problem(path, MAX_URL_FILE):
        return "", why
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return "", f"cannot read {path}: {type(exc).__name__}"
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return (lines[0], "") if lines else ("", f"{path} is empty")


def read_url_env(name: str) -> tuple[str, str]:
    value = os.environ.get(name, "").strip()
    return (value, "") if value else ("", f"the environment variable {name} is not set")


def secret_forms(url: str) -> set[str]:
    """The parts of a webhook URL to redact wherever they appear: the whole, its path and query
    (together and apart), and every long path segment and query value (a token, a signature)."""
    forms = {url}
    try:
        parts = urlsplit(url)
    except ValueError:
        return forms
    rest = parts.path + (f"?{parts.query}" if parts.query else "")
    forms |= {rest, parts.path, parts.query}
    forms |= {seg for seg in parts.path.split("/") if len(seg) >= MIN_PART}
    forms |= {value for _, value in parse_qsl(parts.query) if len(value) >= MIN_PART}
    return {f for f in forms if len(f) >= MIN_FORM and f.strip("/")}
