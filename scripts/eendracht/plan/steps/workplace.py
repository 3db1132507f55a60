"""Workstations: the Intune/Autopilot device list, as data.

The Graph call cannot be made from here; the operator imports the file. (Mailboxes move in
their own steps: steps/mail.py.)
"""

from __future__ import annotations

from eendracht.plan.context import Context
from eendracht.plan.models import Rollback, Step, Touches
from eendracht.plan.steps.base import make_step
from eendracht.programme.models import PhaseName

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
    return out
