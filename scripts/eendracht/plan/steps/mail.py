"""Mail: every mailbox moved over IMAP ahead, the delta moved and verified before the MX
records switch, compared per folder afterwards.

The environment says where the mailboxes go: a Dovecot (moved with `doveadm backup` over
imapc, the protocol Exchange Online's IMAP migration batches use too) or Exchange Online, for
which the same steps write the migration batches (CSV and `New-MigrationBatch`) to import.
The source mailboxes are only read: undoing the move is switching MX back (dns rollback).
"""

from __future__ import annotations

from eendracht.plan.context import Context, plural
from eendracht.plan.models import Rollback, Step, Touches
from eendracht.plan.steps.base import make_step
from eendracht.programme.models import PhaseName, RecordType

CONCERN = "mail"
ONLY_READ = Rollback(
    description="nothing to undo at the source: its mailboxes are only read; the MX records "
    "are restored by the dns rollback"
)
EXCHANGE_ONLINE = (
    "for an Exchange Online target: the migration batches (CSV and the New-MigrationBatch "
    "call) are written to import instead; they cannot be executed from here"
)


def _touches(ctx: Context) -> Touches:
    boxes = ctx.municipality.mailboxes
    return Touches(
        mailboxes=len(boxes),
        accounts=ctx.accounts,
        bytes=round(sum(b.size_gb for b in boxes) * 1e9),
    )


def _gigabytes(ctx: Context) -> str:
    return f"{sum(b.size_gb for b in ctx.municipality.mailboxes):.1f} GB"


def _mx_follows(ctx: Context) -> list[str]:
    mu = ctx.municipality
    if any(r.cuts_over and r.type is RecordType.MX for z in mu.dns.zones for r in z.records):
        return ["the MX records switch only after this step passed (cutover.dns.mx)"]
    return []


def preflight(ctx: Context) -> list[Step]:
    count = len(ctx.municipality.mailboxes)
    if not count:
        return []
    return [
        make_step(
            PhaseName.PREFLIGHT,
            CONCERN,
            "Both mail servers answer for every mailbox",
            actions=[
                f"log on to the source IMAP server for each of the {count} mailboxes",
                "the target mail server answers over TLS (its users exist only after the "
                "identity step; every move looks its user up first)",
            ],
            touches=_touches(ctx),
            check=f"{count} of {count} mailboxes answer at the source; the target answers",
        )
    ]


def presync(ctx: Context) -> list[Step]:
    count = len(ctx.municipality.mailboxes)
    if not count:
        return []
    return [
        make_step(
            PhaseName.PRESYNC,
            CONCERN,
            "Move every mailbox once, quota checked first",
            actions=[
                f"move {plural(count, 'mailbox', 'mailboxes')} ({_gigabytes(ctx)}) with "
                "doveadm backup over imapc, every folder, message flags and dates",
                "a mailbox larger than its target quota is refused before anything is copied",
                EXCHANGE_ONLINE,
            ],
            touches=_touches(ctx),
            check=f"{count} mailboxes moved; a re-run copies nothing twice",
            rollback=ONLY_READ,
        )
    ]


def cutover(ctx: Context) -> list[Step]:
    count = len(ctx.municipality.mailboxes)
    if not count:
        return []
    return [
        make_step(
            PhaseName.CUTOVER,
            CONCERN,
            "Move the delta and verify every mailbox, before MX",
            actions=[
                "move what arrived since presync (the same move: only the difference is copied)",
                "compare every mailbox per folder: message counts, Message-IDs and sizes",
                *_mx_follows(ctx),
                EXCHANGE_ONLINE,
            ],
            touches=_touches(ctx),
            check=f"{count} of {count} mailboxes perfect or good: nothing missing, nothing twice",
            rollback=ONLY_READ,
        )
    ]


def verify(ctx: Context) -> list[Step]:
    count = len(ctx.municipality.mailboxes)
    if not count:
        return []
    return [
        make_step(
            PhaseName.VERIFY,
            CONCERN,
            "Every mailbox compared per folder",
            actions=["compare counts, Message-IDs and sizes of every folder at both sides"],
            touches=_touches(ctx),
            check=f"{count} of {count} mailboxes perfect or good (the target may hold newer mail)",
        )
    ]
