"""The POSIX numbers of the new accounts and department groups: deterministic, collision-free.

Every former municipality numbered its own accounts from the same start, so their numbers
cannot be kept on the shared target: a file of one municipality's uid 10001 would belong to
another's. The new numbers are assigned here, once, and travel in the identity map to both
places that use them: the identity role (uidNumber/gidNumber in the target directory) and the
files role (rsync --usermap/--groupmap, and the owners the manifest comparison expects).

Each municipality has its own block of UID_BLOCK numbers, in wave order, so nothing done to
one municipality's people moves another's numbers. Within its block a person gets the slot a
hash of the old account points at, or the next free one when an earlier person (service
order) holds it: adding or removing one person leaves everybody else's number in place,
unless their slots clashed. Department groups are organisation-wide (one `afdeling-...` group
for every municipality's Burgerzaken): numbered alike, by folded department name.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence

from eendracht.identity.fold import fold

FIRST_UID = 1_000_000  # above what the municipalities' own directories hand out
UID_BLOCK = 100_000  # numbers per municipality
FIRST_GID = 1_000_000
GID_BLOCK = 100_000  # department groups of the whole organisation


class NumberingError(ValueError):
    """More names than numbers in a block."""


def _slots(keys: Iterable[str], size: int, what: str) -> dict[str, int]:
    """key -> slot in [0, size): the hash's slot, or the next free one; first come keeps it.

    A taken slot points past itself (`onwards`), and a look-up shortens the pointers it
    followed, so a nearly full block does not walk its long runs of taken slots again.
    """
    onwards: dict[int, int] = {}  # taken slot -> a later slot; the slots between are taken
    out: dict[str, int] = {}
    for key in keys:
        if key in out:
            continue
        if len(out) >= size:
            raise NumberingError(f"more than {size} {what}: the block of numbers is full")
        slot = int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big") % size
        followed = []
        while slot in onwards:
            followed.append(slot)
            slot = onwards[slot]
        for passed in followed:
            onwards[passed] = slot
        onwards[slot] = (slot + 1) % size
        out[key] = slot
    return out


def department_key(department: str) -> str:
    """Departments spelled alike are one target group: `Sociaal Domein` = `sociaal-domein`."""
    return fold(department) or department


def posix_numbers(
    municipalities: Sequence[str], people: Sequence[tuple[str, str, str]]
) -> dict[tuple[str, str], tuple[int, int]]:
    """(municipality, old account) -> (uid, gid) of the new account.

    `municipalities`: every municipality in wave order (each owns the block of its position,
    whether or not its people are known yet). `people`: (municipality, old account,
    department) in service order. The gid is the department group's.
    """
    blocks = {name: i for i, name in enumerate(municipalities)}
    departments = _slots((department_key(d) for _, _, d in people), GID_BLOCK, "department groups")
    by_municipality: dict[str, list[str]] = {}
    for municipality, account, _ in people:
        by_municipality.setdefault(municipality, []).append(account)
    slots = {
        (municipality, account): slot
        for municipality, accounts in by_municipality.items()
        for account, slot in _slots(accounts, UID_BLOCK, f"accounts in {municipality}").items()
    }
    return {
        (municipality, account): (
            FIRST_UID + blocks[municipality] * UID_BLOCK + slots[(municipality, account)],
            FIRST_GID + departments[department_key(department)],
        )
        for municipality, account, department in people
    }
