"""Owners kept and proved on a real lab: the wave's presync and final sync over rsync+SSH, then
the files role's verify, run as the wave runs it (its inventory and extra vars).

The mini programme's two municipalities number their people from the same uid and gid, so the
shared target is where a copy that keeps the numbers would mix their owners up.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from wave_support import MINI, REPO, lab_session

from eendracht.identity.numbering import FIRST_UID
from eendracht.module_utils import parse_ldif
from eendracht.programme.loader import load_programme
from eendracht.wave.lab_check import LabReport, check_files

pytestmark = [pytest.mark.lab, pytest.mark.slow]

MUNI = "noordwaard"
BIN = Path(sys.executable).parent
STEP_PLAYBOOK = """\
- name: One step of the files role, as the wave's playbooks run it
  hosts: "{{ municipality }}"
  gather_facts: false
  tasks:
    - name: The files role
      ansible.builtin.include_role:
        name: files
        tasks_from: "{{ files_step }}"
"""


class Wave:
    def __init__(self, state: Path, playbook: Path) -> None:
        self.state = state
        self.lab = state / "lab"
        self.playbook = playbook
        found = sorted(self.lab.glob(f"waves/**/{MUNI}/extravars.json"))
        assert len(found) == 1, found
        self.dir = found[0].parent
        self.inventory = self.dir / "inventory"

    def step(self, step: str, *extra: str) -> subprocess.CompletedProcess[str]:
        """One files step with the wave's own inventory and extra vars."""
        return subprocess.run(
            [str(BIN / "ansible-playbook"), "-i", str(self.inventory),
             "-e", f"@{self.dir / 'extravars.json'}", "-e", f"files_step={step}", *extra,
             str(self.playbook)],
            capture_output=True, text=True, timeout=600,
            env={**os.environ, "ANSIBLE_CONFIG": str(REPO / "ansible.cfg"), "ANSIBLE_NOCOLOR": "1"},
        )  # fmt: skip

    def details(self) -> dict[str, Any]:
        return dict(json.loads((self.lab / "lab.json").read_text()))

    def target_root(self) -> Path:
        return self.lab / "files" / "target-files" / "srv" / "shares" / MUNI

    def source_roots(self) -> dict[str, Path]:
        return {k: Path(v) for k, v in self.details()["share_paths"][MUNI].items()}


@pytest.fixture(scope="module")
def wave(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Wave]:
    playbook = tmp_path_factory.mktemp("playbook") / "files_step.yml"
    playbook.write_text(STEP_PLAYBOOK)
    with lab_session(prefix="eendracht-files-test-") as state:
        started = time.monotonic()
        done = subprocess.run(
            [str(BIN / "eendracht"), "wave", "run", str(MINI), "--municipality", MUNI, "--lab",
             "--until", "final_sync"],
            capture_output=True, text=True, timeout=900,
            env={**os.environ, "ANSIBLE_CONFIG": str(REPO / "ansible.cfg"), "COLUMNS": "200"},
        )  # fmt: skip
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
        print(f"wave up to final_sync: {time.monotonic() - started:.1f} s")
        yield Wave(state, playbook)


def _ldap(directory: dict[str, str], filt: str) -> list[Any]:
    done = subprocess.run(
        ["ldapsearch", "-LLL", "-x", "-o", "ldif-wrap=no", "-H", directory["uri"],
         "-D", directory["bind_dn"], "-y", directory["password_file"], "-b", directory["base_dn"],
         filt],
        capture_output=True, text=True, check=True, timeout=60,
    )  # fmt: skip
    return list(parse_ldif(done.stdout))


def _tree(root: Path) -> dict[str, os.stat_result]:
    out = {".": os.lstat(root)}
    for folder, dirs, files in os.walk(root):
        for name in dirs + files:
            full = os.path.join(folder, name)
            out[os.path.relpath(full, root)] = os.lstat(full)
    return out


def _acl_numbers(root: Path) -> list[int]:
    done = subprocess.run(
        ["getfacl", "-R", "-n", "-s", "-p", "."],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=60,
    )
    return [int(n) for n in re.findall(r"^(?:default:)?(?:user|group):(\d+):", done.stdout, re.M)]


def _user_xattrs(root: Path) -> dict[str, dict[str, bytes]]:
    out = {}
    for rel in _tree(root):
        full = root / rel
        if not os.path.islink(full):
            names = [n for n in os.listxattr(full) if n.startswith("user.")]
            if names:
                out[rel] = {n: os.getxattr(full, n) for n in names}
    return out


def _link_groups(root: Path) -> list[list[str]]:
    """The paths of each regular file that has more than one name in the tree."""
    by_inode: dict[int, list[str]] = {}
    for rel, st in _tree(root).items():
        if os.path.isfile(root / rel) and not os.path.islink(root / rel) and st.st_nlink > 1:
            by_inode.setdefault(st.st_ino, []).append(rel)
    return sorted(sorted(paths) for paths in by_inode.values() if len(paths) > 1)


def test_after_presync_and_final_sync_the_owners_are_the_new_accounts(wave: Wave) -> None:
    details = wave.details()
    target_accounts = _ldap(details["target_directory"], f"(eendrachtFormerMunicipality={MUNI})")
    new_uids = {int(e["uidNumber"][0]) for e in target_accounts}
    new_gids = {int(e["gidNumber"][0]) for e in target_accounts}
    assert new_uids and min(new_uids) >= FIRST_UID  # the identity role wrote the numbers
    for share, source in wave.source_roots().items():
        target = wave.target_root() / share
        have, want = _tree(target), _tree(source)
        assert set(have) == set(want)
        assert {st.st_uid for st in have.values()} - {0} <= new_uids
        assert {st.st_gid for st in have.values()} - {0} <= new_gids
        assert any(st.st_uid < FIRST_UID and st.st_uid > 0 for st in want.values())
        # ACL entries name the new accounts and groups only, as many as at the source.
        acl_target, acl_source = _acl_numbers(target), _acl_numbers(source)
        assert acl_target and len(acl_target) == len(acl_source)
        assert set(acl_target) <= new_uids | new_gids
        # xattrs and hard links survived.
        assert _user_xattrs(target) == _user_xattrs(source) != {}
        assert _link_groups(target) == _link_groups(source) != []
    # The lab's own check, by other means (both directories, getfacl, its own walk), agrees.
    report = LabReport()
    check_files(report, load_programme(MINI).municipality(MUNI), wave.lab, {
        "file_target_root": str(wave.target_root().parent)
    })  # fmt: skip
    assert report.checks and all(c.ok for c in report.checks), report.checks


def test_verify_passes_then_names_each_planted_difference(wave: Wave) -> None:
    started = time.monotonic()
    done = wave.step("verify")
    print(f"files verify: {time.monotonic() - started:.1f} s")
    assert done.returncode == 0, done.stdout[-3000:]
    target = wave.target_root() / "burgerzaken"
    tree = _tree(target)
    files = sorted(
        p for p, st in tree.items() if os.path.isfile(target / p) and not os.path.islink(target / p)
    )
    owned = next(p for p in files if tree[p].st_nlink == 1 and not _user_xattrs(target / p))
    os.chown(target / owned, tree[owned].st_uid + 1, -1)
    tagged = next(p for p in files if p in _user_xattrs(target))
    os.removexattr(target / tagged, next(iter(_user_xattrs(target)[tagged])))
    linked = next(p for p in files if tree[p].st_nlink > 1)
    st = tree[linked]
    data = (target / linked).read_bytes()
    (target / linked).unlink()
    (target / linked).write_bytes(data)
    os.chown(target / linked, st.st_uid, st.st_gid)
    os.chmod(target / linked, st.st_mode & 0o7777)
    os.utime(target / linked, (st.st_mtime, st.st_mtime))

    done = wave.step("verify")
    assert done.returncode != 0
    message = " ".join(done.stdout.split())
    assert "verified " in message and " < 1)" in message
    for path, what in ((owned, "uid"), (tagged, "xattrs"), (linked, "hardlink")):
        assert f"differs ({what}): {path}" in message, (path, message[-3000:])

    # The final sync repairs all three (owners, xattrs and hard links are what it copies) and
    # says it changed something; verify passes again.
    done = wave.step("final_sync")
    assert done.returncode == 0 and "changed: [" in done.stdout, done.stdout[-3000:]
    assert wave.step("verify").returncode == 0


def test_verify_with_nothing_selected_fails(wave: Wave) -> None:
    done = wave.step("verify", "-e", '{"wave_shares": []}')
    assert done.returncode != 0 and "nothing to verify" in done.stdout
