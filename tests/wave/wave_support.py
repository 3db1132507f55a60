"""Paths the wave tests share."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType
from typing import Any

import yaml

from eendracht.lab import lab_down, lab_up
from eendracht.module_utils import thaw_tree
from eendracht.outputs import STACK_OUTPUTS
from eendracht.programme.loader import load_programme
from eendracht.programme.models import Programme

REPO = Path(__file__).resolve().parents[2]
MINI = REPO / "tests" / "fixtures" / "programmes" / "mini"
FAKE_PLAYBOOKS = Path(__file__).parent / "fake_playbooks"


def write_secret(path: Path, value: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(value)
    return path


def fake_environment(
    root: Path, programme: Path = MINI, name: str = "rehearsal", loaded: Programme | None = None
) -> Path:
    """A complete environment for a programme whose hosts are this machine (fake playbooks)."""
    prog = loaded or load_programme(programme)
    root.mkdir(parents=True, exist_ok=True)
    write_secret(root / "secrets" / "directory.password", "directory-secret-value")
    write_secret(root / "secrets" / "tsig.key", 'key "k" {\n  secret "dHNpZy1zZWNyZXQ=";\n};\n')
    write_secret(root / "secrets" / "pgpass", "*:*:*:eendracht:pg-secret-value\n")
    municipalities: dict[str, Any] = {}
    children: dict[str, Any] = {}
    for muni_name, mu in prog.municipalities.items():
        apps: dict[str, Any] = {}
        for n, app in enumerate(mu.applications):
            url = f"http://127.0.0.1:{9000 + n}"
            apps[app.name] = {
                "source": {"url": url, "config": str(root / f"{app.name}-source.json")},
                "target": {"url": url, "config": str(root / f"{app.name}-target.json")},
            }
        municipalities[muni_name] = {
            "directory": {
                "uri": "ldap://127.0.0.1:1389",
                "base_dn": f"dc={muni_name},dc=nl",
                "bind_dn": f"cn=admin,dc={muni_name},dc=nl",
                "password": {"file": "secrets/directory.password"},
            },
            "dns": {"server": "127.0.0.1", "port": 1053, "tsig_key": {"file": "secrets/tsig.key"}},
            "databases": {"host": "127.0.0.1", "user": "eendracht"},
            "applications": apps,
        }
        children[muni_name] = {
            "hosts": {
                host: {"ansible_connection": "local"} for host in {s.server for s in mu.shares}
            }
            or {f"{muni_name}-srv": {"ansible_connection": "local"}}
        }
    children["target"] = {"hosts": {"target-files": {"ansible_connection": "local"}}}
    spec = {
        "name": name,
        "programme": prog.name,
        "postgres_passfile": {"file": "secrets/pgpass"},
        "target": {
            "directory": {
                "bind_dn": "cn=eendracht,dc=target,dc=nl",
                "password": {"file": "secrets/directory.password"},
            },
            "databases": {"user": "eendracht"},
            "mail": {"kind": "exchange_online"},
        },
        "municipalities": municipalities,
    }
    (root / "environment.yml").write_text(yaml.safe_dump(spec, sort_keys=False))
    (root / "hosts.yml").write_text(yaml.safe_dump({"all": {"children": children}}))
    outputs = {n: f"fake-{n}" for n in STACK_OUTPUTS}
    outputs.update(file_target_host="target-files", directory_uri="ldap://127.0.0.1:1389")
    (root / "outputs.json").write_text(json.dumps(outputs))
    return root


@contextmanager
def lab_session(
    programme: Path = MINI, prefix: str = "eendracht-wave-test-", fallback: str = ""
) -> Iterator[Path]:
    """A lab up in a state root of its own (EENDRACHT_STATE points at it); afterwards frozen
    shares thawed, the lab down and the state removed."""
    # PostgreSQL runs as `postgres`: the state must be traversable by it (pytest's tmp is 0700).
    state = Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))
    state.chmod(0o755)
    before = os.environ.get("EENDRACHT_STATE")
    os.environ["EENDRACHT_STATE"] = str(state)
    try:
        lab_up(programme, scale="small", state=state, fallback=fallback)
        yield state
    finally:
        thaw_tree(state / "lab" / "files")
        lab_down(state)
        if before is None:
            os.environ.pop("EENDRACHT_STATE", None)
        else:
            os.environ["EENDRACHT_STATE"] = before
        shutil.rmtree(state, ignore_errors=True)


def role_file(role: str, kind: str, name: str) -> ModuleType:
    """`playbooks/roles/<role>/<kind>/<name>.py` (a module in `library`, a filter plugin in
    `filter_plugins`) imported as Ansible would run it, for unit tests of its functions."""
    path = REPO / "playbooks" / "roles" / role / kind / f"{name}.py"
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
