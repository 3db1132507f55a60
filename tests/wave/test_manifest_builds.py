"""Verify's manifests: one module run builds those of every share of a server."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
ANSIBLE = str(Path(sys.executable).parent / "ansible")


def _build(args: dict[str, Any]) -> dict[str, Any]:
    done = subprocess.run(
        [ANSIBLE, "localhost", "-c", "local", "-M", str(REPO / "playbooks" / "roles" / "files" / "library"),
         "-m", "eendracht_manifest", "-a", json.dumps({"mode": "build", **args})],
        capture_output=True, text=True, timeout=120,
        env={**os.environ, "ANSIBLE_CONFIG": str(REPO / "ansible.cfg"), "ANSIBLE_CALLBACK_RESULT_FORMAT": "json"},
    )  # fmt: skip
    head, body = done.stdout.split(" => ", 1)
    return {**json.loads(body), "failed": "FAILED" in head}


def test_one_run_builds_the_manifest_of_every_share(tmp_path: Path) -> None:
    builds = []
    for name, files in (("burgerzaken", 3), ("financien", 2)):
        share = tmp_path / "srv" / name
        share.mkdir(parents=True)
        for i in range(files):
            (share / f"stuk {i}.pdf").write_bytes(b"x" * (i + 1))
        builds.append({"path": str(share), "dest": str(tmp_path / "m" / f"{name}.source.jsonl")})
    result = _build({"builds": builds})
    assert not result["failed"] and result["manifests"] == [b["dest"] for b in builds]
    assert result["eendracht_counts"] == {"entries": 5, "files": 5, "bytes": 1 + 2 + 3 + 1 + 2}
    lines = Path(builds[0]["dest"]).read_text().splitlines()
    assert sorted(json.loads(line)["path"] for line in lines) == [f"stuk {i}.pdf" for i in range(3)]


def test_a_missing_share_or_both_forms_fail_naming_it(tmp_path: Path) -> None:
    missing = str(tmp_path / "nowhere")
    result = _build({"builds": [{"path": missing, "dest": str(tmp_path / "x.jsonl")}]})
    assert result["failed"] and result["msg"] == f"no such folder: {missing}"
    assert not (tmp_path / "x.jsonl").exists()
    both = _build({"builds": [], "path": str(tmp_path), "dest": str(tmp_path / "y.jsonl")})
    assert both["failed"] and both["msg"] == "give builds or path and dest, not both"
    half = _build({"builds": [{"path": str(tmp_path)}]})
    assert half["failed"] and half["msg"].startswith("every build needs path and dest")
