"""Robocopy for the Windows variant of the files role (tasks/windows.yml): its flags, and what
its exit code says.

community.windows.win_robocopy ignores `recurse` and `purge` as soon as `flags` is given, so the
flags must say everything, /E included; and it only fails on exit codes 8 and up, so "nothing
left to copy" has to be read from the exit code's bits here.

Robocopy's exit code is a bit map (Microsoft: "robocopy", Windows Commands reference, section
"Exit (return) codes", learn.microsoft.com/windows-server/administration/windows-commands/robocopy,
and KB 954404 "Return codes that are used by the Robocopy utility"; the bits are spelled out in
the Resource Kit's Robocopy.doc, "Return codes"):

    0   no errors and nothing copied: source and destination are already in sync
    1   one or more files were copied
    2   extra files or folders: in the destination, not in the source
    4   mismatched files or folders (e.g. a file on one side, a folder on the other)
    8   some files or folders could not be copied (retries exhausted)
    16  serious error: nothing copied (usage error, or no access to source or destination)

Values combine (3 = copied + extras). Microsoft: any value of 8 or more means at least one
failure. With /MIR (= /E plus /PURGE) the extras reported are the ones it deleted.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

COPIED = 1
EXTRAS = 2
MISMATCHES = 4
FAILURES = 8
FATAL = 16
MEANING = {
    COPIED: "files copied",
    EXTRAS: "extra files or folders in the destination",
    MISMATCHES: "mismatched files or folders",
    FAILURES: "files or folders that could not be copied",
    FATAL: "serious error, nothing copied",
}
KNOWN = COPIED | EXTRAS | MISMATCHES | FAILURES | FATAL

# Every level, empty folders too (/E). All of a file: data, attributes, timestamps, NTFS ACL,
# owner, auditing (/COPY:DATSOU, what /COPYALL means); folders with data, attributes and
# timestamps (/DCOPY:DAT). Two retries 5 s apart instead of a million 30 s apart, 16 threads,
# no percentages in the output, junctions not followed (they point outside the share).
COPY_FLAGS = ("/E", "/COPY:DATSOU", "/DCOPY:DAT", "/R:2", "/W:5", "/MT:16", "/NP", "/XJ")


def _mirror(share: Mapping[str, Any]) -> bool:
    return share.get("mirror") is True


def robocopy_flags(share: Mapping[str, Any], list_only: bool = False) -> str:
    """The `flags` of win_robocopy for one share (a programme `shares` entry).

    /MIR only when the share says `mirror`: then what the source no longer has is deleted from
    the target. `list_only` is the check after the copy: the same selection with /L, which lists
    what would be copied (or deleted) and changes nothing."""
    flags = list(COPY_FLAGS)
    if _mirror(share):
        flags.insert(1, "/MIR")
    if list_only:
        flags.insert(0, "/L")
    return " ".join(flags)


def _bits(rc: Any) -> int | None:
    """The exit code, or None when there is none robocopy could have returned."""
    if isinstance(rc, bool) or not isinstance(rc, int) or rc < 0 or rc & ~KNOWN:
        return None
    return int(rc)


def robocopy_failed(rc: Any) -> bool:
    """A copy failed: something could not be copied (8), robocopy gave up (16), or there is no
    exit code robocopy could have returned (it did not run, or crashed)."""
    bits = _bits(rc)
    return bits is None or bool(bits & (FAILURES | FATAL))


def robocopy_changed(rc: Any, mirror: bool = False) -> bool:
    """The copy changed the target: files copied, or (mirror) extras deleted."""
    bits = _bits(rc) or 0
    return bool(bits & COPIED) or (mirror is True and bool(bits & EXTRAS))


def robocopy_in_sync(rc: Any, mirror: bool = False) -> bool:
    """The /L check found nothing left to do: nothing to copy (1), no mismatches (4), no
    failures (8, 16). Extras (2) are fine for a share that is not mirrored (the target may
    keep more); a mirrored share with extras is not a mirror yet."""
    bits = _bits(rc)
    if bits is None:
        return False
    wrong = COPIED | MISMATCHES | FAILURES | FATAL | (EXTRAS if mirror is True else 0)
    return not bits & wrong


def robocopy_meaning(rc: Any) -> str:
    """The exit code in words, for messages."""
    bits = _bits(rc)
    if bits is None:
        return f"no robocopy exit code ({rc!r})"
    if bits == 0:
        return "nothing to copy, no extras, no mismatches, no failures"
    return ", ".join(text for bit, text in MEANING.items() if bits & bit)


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {
            "eendracht_robocopy_flags": robocopy_flags,
            "eendracht_robocopy_failed": robocopy_failed,
            "eendracht_robocopy_changed": robocopy_changed,
            "eendracht_robocopy_in_sync": robocopy_in_sync,
            "eendracht_robocopy_meaning": robocopy_meaning,
        }
