"""The files role's copy steps as plays of one phase run (one `ansible-playbook`, a play a
step), on a real lab: sshd, rsync and the source directory on loopback.

What a step no longer pays for is still done right: the owner translation is read once a run
(by the first play, in Ansible's worker on the controller) and reused as it is by the others; the copy keeps hard
links, ACLs and xattrs (the share trees have them); the final sync proves itself (the source's
digest unchanged since before the copy) and ends the SSH connection it opened early; check
mode copies and proves nothing.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from wave_support import MINI, REPO, lab_session

from eendracht.environment import load_environment
from eendracht.environment.secrets import SecretFiles
from eendracht.programme import load_programme
from eendracht.wave.context import build_context, mapping_for

pytestmark = [pytest.mark.lab, pytest.mark.slow]

MUNI = "noordwaard"
BIN = Path(sys.executable).parent
SHARES = ("burgerzaken", "sociaal-domein")
OWNERS_TASK = "Old and new owner numbers"
COPY_TASKS = ("Bulk copy each share", "Delta copy of each share")


def _play(phase: str, share: str) -> str:
    return f"""\
- name: files {phase} {share}
  hosts: "{{{{ municipality }}}}"
  gather_facts: false
  vars:
    wave_shares: [{share}]
  tasks:
    - name: The files role
      ansible.builtin.import_role:
        name: files
        tasks_from: {phase}
"""


class Run:
    def __init__(self, state: Path, inventory: Path, extravars: Path) -> None:
        self.state, self.inventory, self.extravars = state, inventory, extravars

    def playbook(
        self, plays: list[tuple[str, str]], *extra: str
    ) -> tuple[int, list[dict[str, Any]]]:
        """One ansible-playbook run of the plays: (rc, each task's result of the one host)."""
        book = self.state / "phase.yml"
        book.write_text("".join(_play(phase, share) for phase, share in plays))
        done = subprocess.run(
            [str(BIN / "ansible-playbook"), "-i", str(self.inventory), "-e", f"@{self.extravars}",
             *extra, str(book)],
            capture_output=True, text=True, timeout=600,
            env={**os.environ, "ANSIBLE_CONFIG": str(REPO / "ansible.cfg"),
                 "ANSIBLE_STDOUT_CALLBACK": "ansible.posix.json", "ANSIBLE_NOCOLOR": "1"},
        )  # fmt: skip
        out = json.loads(done.stdout[done.stdout.index("{") :])
        results = [
            {
                "task": task["task"]["name"],
                "play": play["play"]["name"],
                **next(iter(task["hosts"].values())),
            }
            for play in out["plays"]
            for task in play["tasks"]
            if task["hosts"]
        ]
        return done.returncode, results


@pytest.fixture(scope="module")
def run() -> Iterator[Run]:
    with lab_session(prefix="eendracht-files-phase-") as state:
        programme = load_programme(MINI)
        env = load_environment(state / "lab" / "environment", programme, MUNI)
        with SecretFiles(env, MUNI) as secrets:
            mapping = mapping_for(programme, MUNI, env, secrets)
            context = build_context(programme, MUNI, env, secrets, state / "wave", mapping)
            yield Run(state, context.inventory, context.extravars_file)


def _copying(task: str) -> bool:
    return any(name in task for name in COPY_TASKS)


def _masters() -> set[str]:
    """The copy's early SSH connections (folders, and processes using one) on this machine."""
    folders = {str(p) for p in Path("/tmp").glob("eendracht-rsync-*")}
    for proc in Path("/proc").iterdir():
        try:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if "eendracht-rsync-" in cmdline and " -M " in cmdline:
            folders.add(cmdline)
    return folders


def test_one_run_reads_the_owners_once_copies_and_proves_every_share(run: Run) -> None:
    before = _masters()
    plays = [("presync", s) for s in SHARES] + [("final_sync", s) for s in SHARES]
    plays.append(("verify", SHARES[0]))
    rc, results = run.playbook(plays)
    assert rc == 0, [r.get("msg") for r in results if r.get("failed")]
    owners = [r for r in results if OWNERS_TASK in r["task"]]
    assert len(owners) == 5
    assert "reused" not in owners[0] and owners[0]["eendracht_counts"]["accounts_mapped"] > 0
    # Read in Ansible's worker by the action plugin: no module ran (a module reports its
    # invocation); the build of a manifest, on a file server, still runs the module.
    assert not any("invocation" in r for r in owners)
    # One module run per server builds the manifests of all its shares.
    builds = [r for r in results if "Checksum manifest of each" in r["task"]]
    assert len(builds) == 2 and all("invocation" in r for r in builds)
    assert all(len(r["manifests"]) == 1 and r["eendracht_counts"]["files"] > 0 for r in builds)
    (compared,) = [r for r in results if "Compare source and target manifests" in r["task"]]
    assert compared["eendracht_counts"]["files_verified"] > 0 and not compared.get("failed")
    assert all(
        r["reused"] and r["eendracht_owners"] == owners[0]["eendracht_owners"] for r in owners[1:]
    )
    translation = owners[0]["eendracht_owners"]
    copies = [r for r in results if _copying(r["task"])]
    assert len(copies) == 4
    for copy in copies:
        (item,) = copy["results"]
        # The lab's trees have hard links, ACLs and xattrs: the copy kept all three.
        assert item["cmd"][1] == "-aHAX" and "--numeric-ids" not in item["cmd"], item["cmd"]
        assert item["owners_translated"]["users"] > 0
        # Run by the action plugin with the server's Python: no module payload (a module
        # reports its invocation).
        assert "invocation" not in item
    for copy in copies[:2]:
        assert copy["results"][0]["eendracht_counts"]["files_transferred"] > 0
    for copy in copies[2:]:  # the final sync: nothing changed since the presync, proved
        (item,) = copy["results"]
        assert item["eendracht_counts"]["entries_changed"] == 0
        assert item["eendracht_proof"]["method"] == "source unchanged", item["eendracht_proof"]
        assert item["eendracht_proof"]["entries_compared"] > 10
    target = run.state / "lab" / "files" / "target-files" / "srv" / "shares" / MUNI
    uids = {
        os.lstat(os.path.join(d, n)).st_uid
        for s in SHARES
        for d, _, ns in os.walk(target / s)
        for n in ns
    }
    assert uids and uids <= {0, *translation["users"].values()}
    assert _masters() == before  # every early connection ended, its folder removed


def test_a_change_is_copied_and_check_mode_copies_and_proves_nothing(run: Run) -> None:
    lab = json.loads((run.state / "lab" / "lab.json").read_text())
    changed = Path(lab["share_paths"][MUNI][SHARES[0]]) / "eendracht-phase-run.txt"
    changed.write_text("new after the presync\n")
    rc, results = run.playbook([("final_sync", SHARES[0])], "--check")
    assert rc == 0
    (copy,) = [r for r in results if _copying(r["task"])]
    (item,) = copy["results"]
    assert "--dry-run" in item["cmd"] and "eendracht_proof" not in item
    assert item["eendracht_counts"]["files_transferred"] == 1
    rc, results = run.playbook([("final_sync", SHARES[0])])
    assert rc == 0
    (copy,) = [r for r in results if _copying(r["task"])]
    (item,) = copy["results"]
    assert item["eendracht_counts"]["files_transferred"] == 1
    assert item["eendracht_proof"]["entries_changed"] == 0
