"""A verify with nothing to verify fails: it never passes because it found nothing.

The identity module's case runs against a real directory: tests/lab/test_lab_people_source.py."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from wave_support import REPO

ANSIBLE = str(Path(sys.executable).parent / "ansible")


def _module(role: str, name: str, args: dict[str, Any]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [ANSIBLE, "localhost", "-c", "local", "-M", str(REPO / "playbooks" / "roles" / role / "library"),
         "-m", name, "-a", json.dumps(args)],
        capture_output=True, text=True, timeout=120,
        env={**os.environ, "ANSIBLE_CONFIG": str(REPO / "ansible.cfg")},
    )  # fmt: skip


def test_dns_verify_of_zones_where_nothing_cuts_over_fails(tmp_path: Path) -> None:
    done = _module(
        "dns",
        "eendracht_dns_batch",
        {
            "state": "verify",
            "server": "127.0.0.1",
            "port": 9,
            "key_file": str(tmp_path / "k"),
            "zones": [
                {
                    "name": "x.nl",
                    "cutover_ttl": 300,
                    "records": [{"name": "www", "type": "A", "value": "192.0.2.1", "ttl": 3600}],
                }
            ],
            "outputs": {},
            "state_file": str(tmp_path / "state.json"),
        },
    )
    assert done.returncode != 0 and "nothing to verify" in done.stdout, done.stdout
