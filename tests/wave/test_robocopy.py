"""The Windows variant's robocopy: its command line and its exit code (the role's filter plugin).

The variant itself is lint-checked only (no Windows hosts here); what it decides is tested here.
"""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from wave_support import REPO, role_file

ROLE = REPO / "playbooks" / "roles" / "files"


robocopy = role_file("files", "filter_plugins", "eendracht_robocopy")
SHARE = {"name": "data", "server": "fs01", "path": "D:\\Data", "department": "Burgerzaken"}


def flags(share: dict[str, Any], list_only: bool = False) -> list[str]:
    return str(robocopy.robocopy_flags(share, list_only=list_only)).split(" ")


# --- the command line -------------------------------------------------------------------


def test_every_level_is_copied_with_security_owner_and_timestamps() -> None:
    argv = flags(SHARE)
    assert "/E" in argv  # without it only the top level is copied
    assert "/COPY:DATSOU" in argv  # data, attributes, timestamps, ACL, owner, auditing
    assert "/DCOPY:DAT" in argv
    assert "/XJ" in argv and "/NP" in argv
    assert {"/R:2", "/W:5"} <= set(argv)  # not a million retries 30 s apart
    assert "/L" not in argv and "/MIR" not in argv and "/PURGE" not in argv
    assert all(f.startswith("/") for f in argv)  # win_robocopy splits on spaces: no paths here
    assert len(argv) == len(set(argv))


@pytest.mark.parametrize(
    ("mirror", "mirrored"),
    [(True, True), (False, False), (None, False), ("true", False), (1, False)],
)
def test_mir_only_when_the_share_says_mirror(mirror: object, mirrored: bool) -> None:
    share = {**SHARE, "mirror": mirror}
    assert ("/MIR" in flags(share)) is mirrored
    assert ("/MIR" in flags(share, list_only=True)) is mirrored
    assert "/E" in flags(share)  # /MIR is /E plus /PURGE; /E stays explicit either way
    assert "/MIR" not in flags(SHARE)  # no key at all: never mirrored


@pytest.mark.parametrize("mirror", [True, False])
def test_the_check_lists_the_same_selection_and_changes_nothing(mirror: bool) -> None:
    share = {**SHARE, "mirror": mirror}
    listed = flags(share, list_only=True)
    assert listed[0] == "/L"
    assert listed[1:] == flags(share)  # the very copy, listed only


# --- the exit code ------------------------------------------------------------------------
# Bits: 1 copied, 2 extras, 4 mismatches, 8 failures, 16 fatal.

DOCUMENTED = {
    # rc: (failed, in sync if not mirrored, in sync if mirrored)
    0: (False, True, True),  # nothing to do: in sync
    1: (False, False, False),  # files copied: in /L mode, files left to copy
    2: (False, True, False),  # extras: fine unless the share is a mirror
    3: (False, False, False),
    4: (False, False, False),  # mismatches: a file here is a folder there
    5: (False, False, False),
    6: (False, False, False),
    7: (False, False, False),
    8: (True, False, False),  # some files could not be copied
    9: (True, False, False),
    10: (True, False, False),
    11: (True, False, False),
    12: (True, False, False),
    13: (True, False, False),
    14: (True, False, False),
    15: (True, False, False),
    16: (True, False, False),  # fatal: nothing copied
}


@pytest.mark.parametrize(("rc", "expected"), sorted(DOCUMENTED.items()))
def test_documented_exit_codes(rc: int, expected: tuple[bool, bool, bool]) -> None:
    failed, in_sync, in_sync_mirrored = expected
    assert robocopy.robocopy_failed(rc) is failed
    assert robocopy.robocopy_in_sync(rc, mirror=False) is in_sync
    assert robocopy.robocopy_in_sync(rc, mirror=True) is in_sync_mirrored


def test_files_copied_is_not_nothing_left_to_copy() -> None:
    """The old check passed return code 1 (`> 1` failed): 1 means files were (to be) copied."""
    assert not robocopy.robocopy_in_sync(1)
    assert not robocopy.robocopy_failed(1)  # for the copy itself, 1 is success


@pytest.mark.parametrize("rc", range(32))
def test_every_bit_combination(rc: int) -> None:
    copied, extras, mismatches = rc & 1, rc & 2, rc & 4
    failures = rc & (8 | 16)
    assert robocopy.robocopy_failed(rc) is bool(failures)
    assert robocopy.robocopy_in_sync(rc) is (not (copied or mismatches or failures))
    assert robocopy.robocopy_in_sync(rc, mirror=True) is (rc == 0)
    assert robocopy.robocopy_changed(rc) is bool(copied)
    assert robocopy.robocopy_changed(rc, mirror=True) is bool(copied or extras)  # purged


@pytest.mark.parametrize("rc", [None, -1, 32, 64, 1.0, "0", True, False])
def test_no_exit_code_robocopy_could_return_is_a_failure(rc: object) -> None:
    """Missing (the module failed before running robocopy), crashed, or not a number."""
    assert robocopy.robocopy_failed(rc)
    assert not robocopy.robocopy_in_sync(rc) and not robocopy.robocopy_in_sync(rc, mirror=True)
    assert not robocopy.robocopy_changed(rc)
    assert robocopy.robocopy_meaning(rc).startswith("no robocopy exit code")


def test_meaning_names_each_bit() -> None:
    assert robocopy.robocopy_meaning(0).startswith("nothing to copy")
    assert robocopy.robocopy_meaning(3) == "files copied, extra files or folders in the destination"
    assert robocopy.robocopy_meaning(24) == (
        "files or folders that could not be copied, serious error, nothing copied"
    )


# --- the tasks use them -------------------------------------------------------------------


def test_windows_tasks_use_the_filters() -> None:
    tasks = yaml.safe_load((ROLE / "tasks" / "windows.yml").read_text(encoding="utf-8"))
    copies = [t for t in tasks if "community.windows.win_robocopy" in t]
    assert len(copies) == 2
    copy, check = copies
    for task in copies:
        args = task["community.windows.win_robocopy"]
        assert not {"recurse", "purge"} & set(args)  # ignored by the module once flags are set
        assert "eendracht_robocopy_flags" in args["flags"]
        assert "eendracht_robocopy_failed" in task["failed_when"]
    assert "list_only=true" in check["community.windows.win_robocopy"]["flags"]
    assert "list_only" not in copy["community.windows.win_robocopy"]["flags"]
    assert "eendracht_robocopy_changed" in copy["changed_when"]
    (verdict,) = [
        t for t in tasks if "eendracht_robocopy_in_sync" in str(t.get("ansible.builtin.assert"))
    ]
    assert verdict["loop"] == "{{ files_robocopy_check.results }}"
    names = set(robocopy.FilterModule().filters())
    used = {n for n in names if n in (ROLE / "tasks" / "windows.yml").read_text(encoding="utf-8")}
    assert used == names
