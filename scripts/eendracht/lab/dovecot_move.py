"""Moving one mailbox between lab mail servers, by the migration's own recipe.

The recipe (doveadm backup -R over imapc, the source password only in a per-move 0600
include, the quota checked first because dsync ignores quota, a target that changed since
the last move refused) is migration logic: it lives in `playbooks/module_utils/
eendracht_mailmove.py`, which the mail role's module `eendracht_mailbox` runs on the target
mail server. This module only describes two lab servers in the terms that file takes, so the
lab rehearses exactly what the migration runs.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from eendracht.lab.dovecot import MailServer
from eendracht.lab.errors import LabError
from eendracht.module_utils import load_module_utils

# The source's shared namespace (someone else's mailbox this user may read) is not theirs
# to move: the owner's own move carries it.
EXCLUDE = ("shared", "shared/*")
MOVE_TIMEOUT = 3600.0

_recipe = load_module_utils("eendracht_mailmove")


@dataclass(frozen=True)
class MoveResult:
    account: str
    target_account: str
    seconds: float


def _server(server: MailServer) -> dict[str, Any]:
    return {
        "host": server.address,
        "port": server.imaps_port,
        "tls": "imaps",
        "ca_file": str(server.files.cert),
        "password_dir": str(server.files.secrets),
        "master_user": None,
        "password_file": None,
        "login": "name",
    }


def move_params(
    source: MailServer,
    target: MailServer,
    account: str,
    target_account: str,
    timeout: float = MOVE_TIMEOUT,
    exclude: Sequence[str] = EXCLUDE,
) -> dict[str, Any]:
    """The module's parameters for one move between two lab servers."""
    return {
        "state": "moved",
        "mailboxes": [{"source": account, "target": target_account}],
        "mapping_file": None,
        "target_user_field": "username",
        "source": _server(source),
        "target": {**_server(target), "config": str(target.files.config)},
        "work_dir": str(target.files.moves),
        "exclude": list(exclude),
        "parallel": 1,
        "timeout": int(timeout),
        "lock_timeout": 60,
        # A move killed mid-way leaves Dovecot's maildir lock behind; a read waits until
        # Dovecot calls it stale (2 minutes by its mtime), which the role's 120 s allows too.
        "command_timeout": 150,
        "imap_timeout": 30,
        "investigate_ratio": 0.01,
    }


@contextlib.contextmanager
def prepared_move(
    source: MailServer,
    target: MailServer,
    account: str,
    target_account: str | None = None,
    exclude: Sequence[str] = EXCLUDE,
) -> Iterator[list[str]]:
    """The doveadm command of one move, valid while inside; its include is removed after."""
    params = move_params(source, target, account, target_account or account, exclude=exclude)
    try:
        (move,) = _recipe.resolve(params)
        creds = _recipe.Secrets()
        with _recipe.prepared_move(params, move, creds) as argv:
            yield [str(a) for a in argv]
    except _recipe.MailMoveError as exc:
        raise LabError(str(exc)) from None


def move_mailbox(
    source: MailServer,
    target: MailServer,
    account: str,
    target_account: str | None = None,
    timeout: float = MOVE_TIMEOUT,
    exclude: Sequence[str] = EXCLUDE,
) -> MoveResult:
    """Make the target mailbox a copy of the source one; LabError naming it if that fails."""
    dest = target_account or account
    params = move_params(source, target, account, dest, timeout, exclude)
    started = time.monotonic()
    try:
        _recipe.run(params)
    except _recipe.MailMoveError as exc:
        raise LabError(str(exc)) from None
    return MoveResult(account, dest, time.monotonic() - started)
