"""Accounts: pre-created disabled, switched at cutover (target on, source off), verified."""

from __future__ import annotations

from eendracht.plan.context import Context
from eendracht.plan.models import Rollback, Step, Touches
from eendracht.plan.steps.base import make_step, undo
from eendracht.programme.models import PhaseName, ServerRole

CONCERN = "identity"


def _touches(ctx: Context) -> Touches:
    return Touches(
        hosts=ctx.hosts_with(ServerRole.DIRECTORY),
        targets=["directory_base_dn", "directory_uri"],
        accounts=ctx.accounts,
    )


def presync(ctx: Context) -> list[Step]:
    return [
        make_step(
            PhaseName.PRESYNC,
            CONCERN,
            "Pre-create the target accounts, disabled",
            actions=[
                f"create {ctx.accounts} accounts in the target directory in bulk, disabled, "
                "with username, UPN, mail, aliases and display name from the identity mapping",
                "create groups per department and per former municipality, with memberships",
            ],
            touches=_touches(ctx),
            check=f"{ctx.accounts} target accounts exist, disabled, with the mapped attributes; "
            "none exists twice",
            rollback=Rollback(
                description="nothing to restore at the source; the target accounts stay disabled "
                "(remove them only if the wave is abandoned)"
            ),
        )
    ]


def cutover(ctx: Context) -> list[Step]:
    return [
        make_step(
            PhaseName.CUTOVER,
            CONCERN,
            "Switch accounts: target enabled, source disabled",
            actions=[
                f"enable {ctx.enabled_accounts} target accounts (people disabled at the source "
                "stay disabled)",
                f"disable the {ctx.accounts} source accounts",
            ],
            touches=_touches(ctx),
            check=f"{ctx.enabled_accounts} target accounts enabled; "
            f"{ctx.accounts} source accounts disabled",
            rollback=undo("re-enable the source accounts and disable the target accounts", CONCERN),
        )
    ]


def verify(ctx: Context) -> list[Step]:
    return [
        make_step(
            PhaseName.VERIFY,
            CONCERN,
            "Accounts counted and sampled",
            actions=[
                f"count the municipality's accounts in the target directory ({ctx.accounts})",
                "compare a sample of accounts attribute by attribute with the mapping "
                "(UPN, mail, aliases, display name, department, enabled)",
                "confirm the source accounts are disabled",
            ],
            touches=_touches(ctx),
            check=f"{ctx.accounts} accounts found; every sampled attribute matches; "
            "no source account enabled",
        )
    ]
