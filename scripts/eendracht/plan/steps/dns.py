"""DNS: TTLs lowered ahead, one batched signed update at cutover, answers verified.

The MX records switch in their own step, after the mail step: mail is delivered to the new
mailboxes only once the mailboxes are moved. Both steps run the play `dns_cutover`, narrowed
by `wave_record_types`.
"""

from __future__ import annotations

from eendracht.plan.context import EXTRA_RECORD_TYPES, Context
from eendracht.plan.models import Step, Touches
from eendracht.plan.steps.base import make_step, undo
from eendracht.programme.models import PhaseName, Record, RecordType, Zone

CONCERN = "dns"
MAIL_RECORD = RecordType.MX
RESTORE = "restore the original records and TTLs in one batched update"


def _new_value(record: Record) -> str:
    return record.cutover_to or f"<stack output {record.cutover_output}>"


def _moving(ctx: Context, mail: bool | None = None) -> list[tuple[Zone, Record]]:
    """Records that cut over: all, only the MX records (mail=True) or all but them (False)."""
    return [
        (zone, r)
        for zone in ctx.municipality.dns.zones
        for r in zone.records
        if r.cuts_over and (mail is None or (r.type is MAIL_RECORD) == mail)
    ]


def _touches(ctx: Context, mail: bool | None = None) -> Touches:
    moving = _moving(ctx, mail)
    outputs = {r.cutover_output for _, r in moving if r.cutover_output}
    return Touches(
        hosts=sorted(
            {z.server for z, _ in moving} or {z.server for z in ctx.municipality.dns.zones}
        ),
        targets=sorted({"dns_server", *outputs}),
        records=len(moving),
    )


def _changes(moving: list[tuple[Zone, Record]]) -> list[str]:
    return [f"{r.name}.{z.name} {r.type}: {r.value} -> {_new_value(r)}" for z, r in moving]


def presync(ctx: Context) -> list[Step]:
    if not ctx.cutover_records:
        return []
    actions = []
    for zone in ctx.municipality.dns.zones:
        moving = [r for r in zone.records if r.cuts_over]
        if moving:
            longest = max(r.ttl for r in moving)
            actions.append(
                f"{zone.name}: TTL of {len(moving)} records to {zone.cutover_ttl}s "
                f"(now up to {longest}s)"
            )
    return [
        make_step(
            PhaseName.PRESYNC,
            CONCERN,
            "Lower the TTL of the records to cut over",
            actions=[*actions, "keep the original records and TTLs for rollback"],
            touches=_touches(ctx),
            check="every record to cut over answers with its zone's cutover TTL",
            rollback=undo("restore the original TTLs", CONCERN),
        )
    ]


def cutover(ctx: Context) -> list[Step]:
    moving = _moving(ctx, mail=False)
    if not moving:
        return []
    actions = ["one RFC 2136 update with TSIG per zone, all records at once:", *_changes(moving)]
    narrowed: dict[str, list[str]] = {}
    if _moving(ctx, mail=True):
        narrowed = {EXTRA_RECORD_TYPES: sorted({r.type.value for _, r in moving})}
        actions.append(
            "the MX records are left as they are: they switch after the mailboxes are moved "
            "(cutover.dns.mx)"
        )
    return [
        make_step(
            PhaseName.CUTOVER,
            CONCERN,
            "Cut the records over in one signed batch",
            extra_vars=narrowed,
            actions=actions,
            touches=_touches(ctx, mail=False),
            check="every cut-over record answers its new value from its zone's server",
            rollback=undo(RESTORE, CONCERN, touches=_touches(ctx)),
        )
    ]


def cutover_mail(ctx: Context) -> list[Step]:
    """The MX records, after the mail step: mailboxes are moved before MX changes."""
    moving = _moving(ctx, mail=True)
    if not moving:
        return []
    mailboxes = len(ctx.municipality.mailboxes)
    return [
        make_step(
            PhaseName.CUTOVER,
            CONCERN,
            "Switch the MX records, after the mailboxes are moved",
            item="mx",
            extra_vars={EXTRA_RECORD_TYPES: [MAIL_RECORD.value]},
            actions=[
                f"first: the {mailboxes} mailboxes of {ctx.name} are moved and verified "
                "(cutover.mail passed); mailboxes are moved before the MX records change",
                "one RFC 2136 update with TSIG per zone, the MX records only:",
                *_changes(moving),
            ],
            touches=_touches(ctx, mail=True),
            check="every MX record answers its new value from its zone's server; mail reaches "
            "the moved mailboxes",
            rollback=undo(RESTORE, CONCERN, touches=_touches(ctx)),
        )
    ]


def verify(ctx: Context) -> list[Step]:
    if not ctx.cutover_records:
        return []
    return [
        make_step(
            PhaseName.VERIFY,
            CONCERN,
            "DNS answers the new values",
            actions=[f"query every cut-over record ({ctx.cutover_records}) at its zone's server"],
            touches=_touches(ctx),
            check=f"{ctx.cutover_records} of {ctx.cutover_records} records answer their new value",
        )
    ]
