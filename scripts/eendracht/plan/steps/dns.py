"""DNS: TTLs lowered ahead, one batched signed update at cutover, answers verified."""

from __future__ import annotations

from eendracht.plan.context import Context
from eendracht.plan.models import Step, Touches
from eendracht.plan.steps.base import make_step, undo
from eendracht.programme.models import PhaseName, Record

TAG = "dns"


def _new_value(record: Record) -> str:
    return record.cutover_to or f"<stack output {record.cutover_output}>"


def _touches(ctx: Context) -> Touches:
    zones = ctx.municipality.dns.zones
    outputs = {r.cutover_output for z in zones for r in z.records if r.cutover_output}
    return Touches(
        hosts=sorted({z.server for z in zones}),
        targets=sorted({"dns_server", *outputs}),
        records=ctx.cutover_records,
    )


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
            TAG,
            "Lower the TTL of the records to cut over",
            actions=[*actions, "keep the original records and TTLs for rollback"],
            touches=_touches(ctx),
            check="every record to cut over answers with its zone's cutover TTL",
            rollback=undo("restore the original TTLs", TAG),
        )
    ]


def cutover(ctx: Context) -> list[Step]:
    if not ctx.cutover_records:
        return []
    actions = []
    for zone in ctx.municipality.dns.zones:
        for r in zone.records:
            if r.cuts_over:
                actions.append(f"{r.name}.{zone.name} {r.type}: {r.value} -> {_new_value(r)}")
    return [
        make_step(
            PhaseName.CUTOVER,
            TAG,
            "Cut the records over in one signed batch",
            actions=["one RFC 2136 update with TSIG per zone, all records at once:", *actions],
            touches=_touches(ctx),
            check="every cut-over record answers its new value from its zone's server",
            rollback=undo("restore the original records and TTLs in one batched update", TAG),
        )
    ]


def verify(ctx: Context) -> list[Step]:
    if not ctx.cutover_records:
        return []
    return [
        make_step(
            PhaseName.VERIFY,
            TAG,
            "DNS answers the new values",
            actions=[f"query every cut-over record ({ctx.cutover_records}) at its zone's server"],
            touches=_touches(ctx),
            check=f"{ctx.cutover_records} of {ctx.cutover_records} records answer their new value",
        )
    ]
