"""Workstations and mail: the Intune/Autopilot device list and Exchange Online batches, as data.

The Graph and Exchange Online calls cannot be made from here; the operator imports the files.
"""

from __future__ import annotations

import math

from eendracht.plan.context import Context, plural
from eendracht.plan.models import Rollback, Step, Touches
from eendracht.plan.steps.base import make_step
from eendracht.programme.models import PhaseName, RecordType

MAILBOX_BATCH = 50  # mailboxes per Exchange Online migration batch
DATA_ONLY = Rollback(description="nothing to undo: this step only writes files for import")


def cutover(ctx: Context) -> list[Step]:
    mu = ctx.municipality
    out = []
    if mu.devices:
        out.append(
            make_step(
                PhaseName.CUTOVER,
                "workstations",
                "Intune/Autopilot device list for import",
                actions=[
                    f"write the Autopilot device list ({len(mu.devices)} devices: serial, "
                    "manufacturer, model, group tag, new UPN of the assigned user) as CSV",
                    "the operator imports it in Intune; the Graph call cannot be exercised here",
                ],
                touches=Touches(devices=len(mu.devices), accounts=ctx.accounts),
                check=f"the list holds {len(mu.devices)} devices; every assigned user has a "
                "new UPN",
                rollback=DATA_ONLY,
            )
        )
    if mu.mailboxes:
        batches = math.ceil(len(mu.mailboxes) / MAILBOX_BATCH)
        mx = any(r.cuts_over and r.type is RecordType.MX for z in mu.dns.zones for r in z.records)
        after = (
            ["mailboxes are moved before the MX records change: the MX switch "
             "(cutover.dns.mx) comes after this step"]
            if mx
            else []
        )  # fmt: skip
        out.append(
            make_step(
                PhaseName.CUTOVER,
                "mail",
                "Exchange Online migration batches for import",
                actions=[
                    f"write {plural(batches, 'migration batch', 'migration batches')} of at most "
                    f"{MAILBOX_BATCH} mailboxes "
                    f"({len(mu.mailboxes)} mailboxes) as CSV, user mailboxes with their new "
                    "address",
                    "the operator starts the batches; the Exchange Online calls cannot be "
                    "exercised here",
                    *after,
                ],
                touches=Touches(mailboxes=len(mu.mailboxes), accounts=ctx.accounts),
                check=f"{len(mu.mailboxes)} mailboxes in {plural(batches, 'batch', 'batches')}; "
                "every user mailbox "
                "has a mapped owner",
                rollback=DATA_ONLY,
            )
        )
    return out
