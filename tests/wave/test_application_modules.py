"""The applications role's batch modules, run by Ansible as a task runs them: health and chain
checks of many endpoints in one run (real HTTP on loopback), maintenance switched for many
configurations at once, the SaaS hand-over notes."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
ANSIBLE = str(Path(sys.executable).parent / "ansible")


def _module(name: str, args: dict[str, Any], *extra: str) -> dict[str, Any]:
    done = subprocess.run(
        [ANSIBLE, "localhost", "-c", "local", "-M",
         str(REPO / "playbooks" / "roles" / "applications" / "library"), "-m", name,
         "-a", json.dumps(args), *extra],
        capture_output=True, text=True, timeout=120,
        env={**os.environ, "ANSIBLE_CONFIG": str(REPO / "ansible.cfg"),
             "ANSIBLE_CALLBACK_RESULT_FORMAT": "json"},
    )  # fmt: skip
    # "localhost | SUCCESS => {...}" (or FAILED!): the module's result as JSON.
    head, body = done.stdout.split(" => ", 1)
    return {**json.loads(body), "failed": "FAILED" in head}


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        code = 200 if self.path.startswith("/ok") else 503
        self.send_response(code)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_http_checks_report_every_status_in_one_run(server: str) -> None:
    refused = f"http://127.0.0.1:{_closed_port()}/ok"
    checks = [
        {"name": "zaken", "url": f"{server}/ok/health"},
        {"name": "burgerzaken", "url": f"{server}/down"},
        {"name": "gone", "url": refused},
    ]
    result = _module("eendracht_http_checks", {"checks": checks, "timeout": 5})
    assert not result.get("failed") and result["changed"] is False
    assert [(r["name"], r["status"]) for r in result["results"]] == [
        ("zaken", 200), ("burgerzaken", 503), ("gone", -1)
    ]  # fmt: skip
    assert "refused" in result["results"][2]["msg"].lower()
    assert result["eendracht_counts"] == {"checks_passed": 1, "checks_failed": 2}


def test_http_checks_that_require_ok_fail_naming_each_failing_check(server: str) -> None:
    checks = [
        {"name": "zaken", "url": f"{server}/ok"},
        {"name": "burgerzaken", "url": f"{server}/down"},
    ]
    result = _module("eendracht_http_checks", {"checks": checks, "require_ok": True})
    assert result["failed"] is True
    assert result["msg"].startswith("1 of 2 did not answer 200: burgerzaken (")
    assert "zaken (" not in result["msg"].replace("burgerzaken (", "")
    ok = _module("eendracht_http_checks", {"checks": checks[:1], "require_ok": True})
    assert not ok.get("failed")


def test_maintenance_is_switched_for_many_configurations_in_one_run(tmp_path: Path) -> None:
    configs = []
    for name in ("zaken", "belastingen"):
        path = tmp_path / f"{name}.json"
        path.write_text(json.dumps({"maintenance": False, "database": {"dsn": name}}))
        configs.append({"path": str(path), "pid_file": None})
    args = {"configs": configs, "settings": {"maintenance": True}}
    first = _module("eendracht_app_config", args)
    assert first["changed"] is True and first["eendracht_counts"] == {"configs_changed": 2}
    for config in configs:
        body = json.loads(Path(config["path"]).read_text())
        assert body == {"maintenance": True, "database": {"dsn": Path(config["path"]).stem}}
    again = _module("eendracht_app_config", args)
    assert again["changed"] is False and again["eendracht_counts"] == {"configs_changed": 0}
    both = _module("eendracht_app_config", {**args, "path": configs[0]["path"]})
    assert both["failed"] is True and "mutually exclusive" in both["msg"]


def test_handover_notes_are_written_once_and_check_mode_writes_none(tmp_path: Path) -> None:
    folder = tmp_path / "handover"
    apps = [
        {"name": "ibabs", "supplier": "iBabs", "disposition": "saas"},
        {"name": "corsa", "supplier": "Decos", "disposition": "replace",
         "saas_replacement": "open-zaak"},
    ]  # fmt: skip
    args = {"folder": str(folder), "municipality": "woudrichem", "applications": apps}
    checked = _module("eendracht_handover", args, "--check")
    assert checked["changed"] is True and not folder.exists()
    first = _module("eendracht_handover", args)
    assert first["eendracht_counts"] == {"handovers_marked": 2}
    assert folder.stat().st_mode & 0o777 == 0o700
    note = json.loads((folder / "corsa.json").read_text())
    assert note == {
        "application": "corsa", "supplier": "Decos", "disposition": "replace",
        "municipality": "woudrichem", "replacement": "open-zaak",
        "handover": "the supplier switches the tenant to the new organisation",
    }  # fmt: skip
    assert (folder / "corsa.json").stat().st_mode & 0o777 == 0o600
    again = _module("eendracht_handover", args)
    assert again["changed"] is False and again["eendracht_counts"] == {"handovers_marked": 0}
    bad = _module("eendracht_handover", {**args, "applications": [{"name": "../x"}]})
    assert bad["failed"] is True and not (tmp_path / "x.json").exists()
