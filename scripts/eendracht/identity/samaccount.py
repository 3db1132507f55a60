"""The pre-Windows 2000 logon name (sAMAccountName) of every new account: AD allows 20 characters.

Handed out in service order, like the usernames, so adding people to a later wave never
changes a logon name of an earlier one (those accounts exist by then). A username of at most
20 characters is its own logon name; a longer one is cut to 20. Where that name is taken
(AD compares logon names without case) it is numbered within the 20:
`j.vanderschuerenberg` for `j.vanderschuerenbergkamp`, then `j.vanderschuerenber2`. A cut
never ends on a dot (AD refuses a trailing dot). The groups the migration creates have no dot
in their names, so they never meet a person's logon name.
"""

from __future__ import annotations

from collections.abc import Sequence

from eendracht.identity.models import Change, ChangeKind, Identity

MAX_SAM = 20


def _cut(username: str, suffix: str = "") -> str:
    return username[: MAX_SAM - len(suffix)].rstrip(".") + suffix


def with_logon_names(identities: Sequence[Identity]) -> list[Identity]:
    """The identities (in service order) with `sam_account_name` set, and a change noted for
    each one that is not the username."""
    taken: dict[str, str] = {}  # folded logon name -> key of its holder
    out: list[Identity] = []
    for identity in identities:
        wanted = _cut(identity.username)
        name, number, holder = wanted, 1, taken.get(wanted.casefold())
        while taken.get(name.casefold()) is not None:
            number += 1
            name = _cut(identity.username, str(number))
        taken[name.casefold()] = identity.key
        if name == identity.username:
            out.append(identity.model_copy(update={"sam_account_name": name}))
            continue
        detail = f"logon name (sAMAccountName) {name}"
        if wanted != identity.username:
            detail += f": cut to {MAX_SAM} characters, AD's limit"
        if holder is not None:
            detail += f"; {wanted} is the logon name of {holder}"
        change = Change(kind=ChangeKind.LOGON_NAME, detail=detail)
        out.append(
            identity.model_copy(
                update={"sam_account_name": name, "changes": [*identity.changes, change]}
            )
        )
    return out
