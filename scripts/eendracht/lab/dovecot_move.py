"""Moving one mailbox from a source IMAP server to the target: dsync over imapc.

Run on the target's side, as the migration does on the weekend (against Exchange's IMAP too):

    doveadm -c <target>/moves/<user>.<id>.conf backup -R -u <target user> -x 'shared/*' imapc:

`backup -R` makes the target mailbox an exact copy of the source one (imapc: is the remote
side), so a run cut off halfway is simply run again: what arrived stays, what is missing
comes, nothing doubles. The per-move config (0600, root-only, removed afterwards) holds the
imapc settings including the source password, and `!include`s the target's own config: the
password is never an argument and so never in the process list. doveadm reads that file
through doveconf, which hands the settings to doveadm in its environment (root-only
/proc/<pid>/environ, like the file).

dsync ignores the quota plugin by design (quota.c: "ignore quota for dsync"), so a target
mailbox over its quota would silently end over it; `move_mailbox` compares the source's
size with the target's quota first and refuses, naming the mailbox.
"""

from __future__ import annotations

import contextlib
import secrets
import subprocess
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from eendracht.lab.dovecot import MailServer, login
from eendracht.lab.dovecot_conf import quoted
from eendracht.lab.dovecot_imap import inventory
from eendracht.lab.errors import LabError
from eendracht.lab.paths import write_secret
from eendracht.lab.procs import run

# The source's shared namespace (someone else's mailbox this user may read) is not theirs
# to move: the owner's own move carries it.
EXCLUDE = ("shared", "shared/*")
MOVE_TIMEOUT = 3600.0


@dataclass(frozen=True)
class MoveResult:
    account: str
    target_account: str
    seconds: float


def move_config(source: MailServer, target: MailServer, account: str, password: str) -> str:
    return f"""\
# eendracht: move of {account} from {source.name}; removed when the move ends
!include {target.files.config}
imapc_host = {source.address}
imapc_port = {source.imaps_port}
imapc_ssl = imaps
imapc_ssl_verify = yes
ssl_client_ca_file = {source.files.cert}
imapc_user = {quoted(account)}
imapc_password = {quoted(password, expanded=False)}
imapc_features = rfc822.size fetch-headers
mail_prefetch_count = 20
mail_fsync = never
"""


def move_argv(config: Path, target_account: str, exclude: Sequence[str] = EXCLUDE) -> list[str]:
    argv = ["doveadm", "-c", str(config), "backup", "-R", "-u", target_account]
    for mask in exclude:
        argv += ["-x", mask]
    return [*argv, "imapc:"]


@contextlib.contextmanager
def prepared_move(
    source: MailServer,
    target: MailServer,
    account: str,
    target_account: str | None = None,
    exclude: Sequence[str] = EXCLUDE,
) -> Iterator[list[str]]:
    """The doveadm command of one move, valid while inside; its config is removed after."""
    password = source.password_file(account).read_text(encoding="utf-8")
    config = target.files.moves / f"{account}.{secrets.token_hex(4)}.conf"
    write_secret(config, move_config(source, target, account, password))
    try:
        yield move_argv(config, target_account or account, exclude)
    finally:
        config.unlink(missing_ok=True)


def explain(stderr: str, account: str, target: MailServer, target_account: str) -> str:
    """One line naming the mailbox and what doveadm said (its errors, not its chatter)."""
    errors = [line.strip() for line in stderr.splitlines() if "Error" in line or "Fatal" in line]
    detail = " | ".join(errors[-3:]) or " | ".join(stderr.strip().splitlines()[-3:])
    if "quota" in detail.lower():
        return (
            f"moving mailbox {account} failed: the target mailbox {target_account} on "
            f"{target.name} is over its quota ({detail})"
        )
    return f"moving mailbox {account} to {target_account} on {target.name} failed: {detail}"


def source_size(source: MailServer, account: str) -> int:
    """Bytes in the user's own folders on the source (sum of RFC822.SIZE, as IMAP counts)."""
    client = login(source, account)
    try:
        return sum(state.size for state in inventory(client).values())
    finally:
        client.logout()


def quota_limit_kib(target: MailServer, account: str) -> int | None:
    """The target mailbox's storage limit in KiB (doveadm quota get), None if unlimited."""
    listing = run(
        ["doveadm", "-f", "tab", "-c", str(target.files.config), "quota", "get", "-u", account],
        f"reading the quota of {account} on {target.name}",
        timeout=30,
    )
    for line in listing.splitlines()[1:]:
        fields = line.split("\t")
        if len(fields) >= 4 and fields[1] == "STORAGE" and fields[3].isdigit():
            return int(fields[3])
    return None


def check_quota(source: MailServer, target: MailServer, account: str, dest: str) -> None:
    """dsync ignores quota on purpose (the target ends over it without an error), so the
    move checks first: a mailbox that does not fit is refused before anything is copied."""
    limit = quota_limit_kib(target, dest)
    if limit is None or limit == 0:
        return
    size = source_size(source, account)
    if size > limit * 1024:
        raise LabError(
            f"moving mailbox {account} failed: the target mailbox {dest} on {target.name} "
            f"is over its quota: the source holds {size // 1024} KiB, the quota is {limit} KiB"
        )


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
    check_quota(source, target, account, dest)
    password = source.password_file(account).read_text(encoding="utf-8")
    started = time.monotonic()
    with prepared_move(source, target, account, dest, exclude) as argv:
        try:
            done = subprocess.run(
                argv, capture_output=True, text=True, timeout=timeout, check=False
            )
        except subprocess.TimeoutExpired as exc:
            said = exc.stderr.decode(errors="replace") if isinstance(exc.stderr, bytes) else ""
            tail = " | ".join(said.strip().splitlines()[-2:]).replace(password, "***")
            raise LabError(
                f"moving mailbox {account}: no end within {timeout:.0f} s (last said: {tail})"
            ) from None
    if done.returncode != 0:
        # doveadm never prints imapc_password; redacted anyway in case a future one does.
        message = explain(done.stderr, account, target, dest).replace(password, "***")
        raise LabError(message)
    return MoveResult(account, dest, time.monotonic() - started)
