"""How long a step may run before the wave stops it: one function, `step_timeout`.

The wave hands the timeout to ansible-runner, which ends the playbook run when it passes; the
step then fails and `--resume` runs it again. A timeout is not an estimate of the run: it is
the estimate (what the step touches at conservative rates) times a margin, plus a fixed part
for starting ansible-playbook and connecting, rounded up to whole minutes.
"""

from __future__ import annotations

import math

from eendracht.plan.models import Touches

BASE_SECONDS = 300  # ansible-playbook starts, SSH connections, the role's input checks
MARGIN = 2.0  # the rates below are conservative; twice their estimate is still a fault

COPY_BYTES_PER_S = 25_000_000  # 200 Mbit/s: a municipality's link to the datacentre
HASH_BYTES_PER_S = 100_000_000  # sha256 of a share read from disk, source and target at once
FILES_PER_S = 1_000  # rsync, chattr or a manifest walking a tree, per entry
CHANGED_FRACTION = 0.2  # what a final sync copies at most: a week of changes
DUMP_BYTES_PER_S = 10_000_000  # pg_dump to a file, then pg_restore of it
ACCOUNT_SECONDS = 0.05  # one LDIF entry read, compared and written
RECORD_SECONDS = 2.0  # one record read and updated in a signed batch
ZONE_SECONDS = 120.0  # one zone transfer and one nsupdate message per zone server
HOST_SECONDS = 30.0  # one server reached and measured
APPLICATION_SECONDS = 120.0  # stop or start, repoint and reload one application
CHAIN_TEST_SECONDS = 30.0  # one health check or koppeling chain test
IMPORT_ROW_SECONDS = 0.01  # one device written to an import file
IMAP_BYTES_PER_S = 5_000_000  # a mailbox read over IMAP (Exchange throttles harder than disks)
MAILBOX_SECONDS = 10.0  # one mailbox: a login, its folders listed, a lock, a quota lookup

ROLLBACK = "rollback"


def _files(phase: str, t: Touches) -> float:
    walk = t.files / FILES_PER_S
    match phase:
        case "presync":
            return t.bytes / COPY_BYTES_PER_S + walk
        case "final_sync":  # a walk, the delta, a walk proving the source held still
            return t.bytes * CHANGED_FRACTION / COPY_BYTES_PER_S + 2 * walk
        case "verify":  # a manifest of the source and of the target
            return 2 * t.bytes / HASH_BYTES_PER_S + 2 * walk
        case _:  # freeze, rollback, source check: every entry flagged or unflagged, a write test
            return 2 * walk + len(t.shares) * HOST_SECONDS


def _applications(phase: str, t: Touches) -> float:
    tests = (len(t.applications) + t.koppelingen) * CHAIN_TEST_SECONDS
    databases = len(t.databases) * CHAIN_TEST_SECONDS  # a connection, a setting, a count
    match phase:
        case "cutover":  # dump and restore, repoint, reload, then health and chain tests
            return t.bytes / DUMP_BYTES_PER_S + len(t.applications) * APPLICATION_SECONDS + tests
        case "freeze" | "rollback":  # maintenance on or off, databases read-only or writable
            return len(t.applications) * APPLICATION_SECONDS + databases
        case _:  # preflight, verify, source check: health and chain tests only
            return tests + databases


def _mail(phase: str, t: Touches) -> float:
    each = t.mailboxes * MAILBOX_SECONDS
    match phase:
        case "presync":  # every message once
            return t.bytes / IMAP_BYTES_PER_S + each
        case "cutover":  # a week of new mail, then both sides read for the comparison
            return (
                t.bytes * CHANGED_FRACTION / IMAP_BYTES_PER_S
                + 2 * each
                + 2 * t.bytes / (IMAP_BYTES_PER_S * 10)
            )
        case "verify":  # both sides listed per folder (headers only, not the bodies)
            return 2 * t.bytes / (IMAP_BYTES_PER_S * 10) + 2 * each
        case _:  # preflight: a login at both sides per mailbox
            return 2 * each


def _work(phase: str, concern: str, t: Touches) -> float:
    """Seconds the step's work takes at the rates above (before the margin)."""
    zones = max(1, len(t.hosts)) * ZONE_SECONDS
    match concern:
        case "files":
            return _files(phase, t)
        case "dns":
            return zones + t.records * RECORD_SECONDS
        case "identity" | "directory":
            return t.accounts * ACCOUNT_SECONDS
        case "applications":
            return _applications(phase, t)
        case "workstations":
            return t.devices * IMPORT_ROW_SECONDS
        case "mail":
            return _mail(phase, t)
        case "reachability" | "capacity":
            return (len(t.hosts) + len(t.targets)) * HOST_SECONDS
        case "source_check":  # every concern's check of the source side, one after the other
            return sum(_work(ROLLBACK, c, t) for c in ("files", "identity", "dns", "applications"))
        case _:
            raise ValueError(f"no timeout rule for steps of {concern!r}")


def step_timeout(phase: str, concern: str, touches: Touches) -> int:
    """Seconds a step of `concern` in `phase` (or "rollback") may run: a whole number of minutes.

    `concern` is the first part of the step's tag (`files` of `files_presync`); `touches` is
    what the step reads or changes.
    """
    seconds = BASE_SECONDS + MARGIN * _work(str(phase), concern, touches)
    return math.ceil(seconds / 60) * 60


def human_duration(seconds: int) -> str:
    """`3900` -> `1 h 5 min`; `300` -> `5 min`."""
    hours, rest = divmod(seconds, 3600)
    minutes = math.ceil(rest / 60)
    if hours and minutes:
        return f"{hours} h {minutes} min"
    return f"{hours} h" if hours else f"{minutes} min"
