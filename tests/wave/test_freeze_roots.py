"""The freeze module touches nothing outside the share roots it is given: not `/`, not a
folder that is outside them or resolves (through a symlink) outside them."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from wave_support import REPO

from eendracht.module_utils import load_module_utils

fsflags = load_module_utils("eendracht_fsflags")


def _share_roots(tmp_path: Path) -> tuple[Path, Path]:
    root = tmp_path / "srv" / "shares"
    (root / "data").mkdir(parents=True)
    outside = tmp_path / "etc"
    outside.mkdir()
    (outside / "passwd").write_text("root:x:0:0\n")
    return root, outside


def test_resolve_inside_accepts_the_roots_and_below(tmp_path: Path) -> None:
    root, _ = _share_roots(tmp_path)
    assert fsflags.resolve_inside(str(root / "data"), [str(root)]) == str(root / "data")
    assert fsflags.resolve_inside(str(root), [str(root)]) == str(root)


@pytest.mark.parametrize(
    ("path", "roots", "message"),
    [
        ("/", ["/"], "is the root folder"),
        ("{root}/../../../../../../..", ["{root}"], "is the root folder"),
        ("{outside}", ["{root}"], "is outside the share roots"),
        ("{root}/../../etc", ["{root}"], "is outside the share roots"),
        ("{root}-other/x", ["{root}"], "is outside the share roots"),
        ("{root}/data", ["/"], "is not a folder below /"),
        ("{root}/data", [], "no share roots given"),
        ("{root}/escape", ["{root}"], "resolves to"),
    ],
)
def test_resolve_inside_refuses(tmp_path: Path, path: str, roots: list[str], message: str) -> None:
    root, outside = _share_roots(tmp_path)
    (root / "escape").symlink_to(outside)
    fill = {"root": root, "outside": outside}
    with pytest.raises(ValueError, match=message):
        fsflags.resolve_inside(path.format(**fill), [r.format(**fill) for r in roots])


def _run_module(args: dict[str, object]) -> dict[str, object]:
    """The module as Ansible runs it (ansible.cfg's module_utils, the role's library)."""
    env = {
        **os.environ,
        "ANSIBLE_CONFIG": str(REPO / "ansible.cfg"),
        "ANSIBLE_LIBRARY": str(REPO / "playbooks" / "roles" / "files" / "library"),
        "ANSIBLE_LOAD_CALLBACK_PLUGINS": "1",
        "ANSIBLE_STDOUT_CALLBACK": "json",
    }
    done = subprocess.run(
        [
            str(REPO / ".venv" / "bin" / "ansible"),
            "localhost",
            "-i",
            "localhost,",
            "-c",
            "local",
            "-e",
            "ansible_python_interpreter=" + str(REPO / ".venv" / "bin" / "python"),
            "-m",
            "eendracht_freeze",
            "-a",
            json.dumps(args),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    body = json.loads(done.stdout)
    return dict(body["plays"][0]["tasks"][0]["hosts"]["localhost"])


def test_the_module_refuses_a_folder_outside_the_roots_even_through_a_symlink(
    tmp_path: Path,
) -> None:
    root, outside = _share_roots(tmp_path)
    (root / "escape").symlink_to(outside)
    for path, message in (
        (outside, "is outside the share roots"),
        (root / "escape", f"resolves to {outside}"),
        (root / ".." / ".." / "etc", "is outside the share roots"),
        (Path("/"), "is the root folder"),
    ):
        result = _run_module({"path": str(path), "roots": [str(root)], "state": "frozen"})
        assert result.get("failed"), result
        assert message in str(result["msg"]), result
    # nothing outside was touched
    (outside / "passwd").write_text("still writable\n")
