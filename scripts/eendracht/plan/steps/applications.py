"""Applications and koppelingen: writes stopped at freeze, moved in dependency order, tested."""

from __future__ import annotations

from eendracht.plan.context import EXTRA_APPLICATIONS, GB, Context
from eendracht.plan.models import CutoverGroup, Step, Touches
from eendracht.plan.steps.base import make_step, undo
from eendracht.programme.models import Application, DatabaseEngine, Disposition, PhaseName

CONCERN = "applications"
# Moved into the landing zone (not handed over to a SaaS supplier): tested after cutover.
LANDED = (Disposition.REHOST, Disposition.REMOTEAPP)


def freeze(ctx: Context) -> list[Step]:
    apps = ctx.moved_applications
    if not apps:
        return []
    names = [a.name for a in apps]
    return [
        make_step(
            PhaseName.FREEZE,
            CONCERN,
            "Stop application writes",
            extra_vars={EXTRA_APPLICATIONS: names},
            actions=[f"put {', '.join(names)} in maintenance: reads only"],
            touches=Touches(hosts=sorted({a.server for a in apps if a.server}), applications=names),
            check="every application refuses writes",
            rollback=undo("take the applications out of maintenance at the source", CONCERN),
        )
    ]


def _move(app: Application) -> list[str]:
    actions = []
    for db in app.databases:
        size = f"{db.size_gb:g} GB"
        if app.disposition in (Disposition.REHOST, Disposition.REMOTEAPP):
            if db.engine is DatabaseEngine.POSTGRESQL:
                actions.append(
                    f"move database {db.name} ({size}) to database_server_fqdn: dump, restore, "
                    "compare row counts"
                )
            else:
                actions.append(
                    f"move database {db.name} ({db.engine}, {size}): backup and restore by "
                    f"{app.supplier}, row counts compared"
                )
        else:
            actions.append(f"hand over an export of {db.name} ({size}) to {app.supplier}")
    match app.disposition:
        case Disposition.REHOST:
            actions.append(f"start {app.display_name} in the application landing zone")
        case Disposition.REMOTEAPP:
            actions.append(f"publish {app.display_name} as RemoteApp on Azure Virtual Desktop")
        case Disposition.SAAS:
            actions.append(
                f"SaaS handover: {app.supplier} switches the tenant to the new organisation"
            )
        case Disposition.REPLACE:
            actions.append(f"replaced by {app.saas_replacement}: its data moves there")
        case Disposition.RETIRE:  # pragma: no cover - retired applications are not moved
            pass
    return actions


def _group_actions(ctx: Context, group: CutoverGroup) -> list[str]:
    actions = []
    for name in group.applications:
        app = ctx.application(name)
        assert app is not None  # the order only names the municipality's applications
        prefix = f"{name}: " if len(group.applications) > 1 else ""
        actions.append(f"{prefix}confirm writes are stopped (maintenance since the freeze)")
        actions.extend(f"{prefix}{a}" for a in _move(app))
        actions.append(
            f"{prefix}repoint its configuration at the new endpoints (directory, database, names)"
        )
        actions.extend(
            f"{prefix}repoint koppeling -> {k.target} ({k.protocol}) through the integration hub"
            for k in app.koppelingen
        )
        actions.extend(
            f"{prefix}repoint incoming koppeling {caller.name} -> {name} ({k.protocol}) "
            "at its new endpoint"
            for caller, k in ctx.callers(name)
            if caller.name not in group.applications
        )
    for name in group.applications:
        app = ctx.application(name)
        assert app is not None
        if app.health:
            actions.append(f"health check {name}: {app.health} answers 200")
        actions.extend(
            f"chain test {name} -> {k.target} ({k.protocol}, {k.criticality})"
            for k in app.koppelingen
        )
    return actions


def _targets(apps: list[Application]) -> list[str]:
    targets = set()
    for app in apps:
        if app.disposition is Disposition.REHOST:
            targets.add("application_gateway_ip")
        if app.disposition is Disposition.REMOTEAPP:
            targets.add("host_pool_names")
        if app.databases and app.disposition in (Disposition.REHOST, Disposition.REMOTEAPP):
            targets.add("database_server_fqdn")
        if app.koppelingen:
            targets.add("integration_hub_endpoint")
    return sorted(targets)


def _check(apps: list[Application]) -> str:
    health = [a.name for a in apps if a.health]
    missing = [a.name for a in apps if not a.health]
    chain = sum(len(a.koppelingen) for a in apps)
    parts = []
    if health:
        parts.append(f"health of {', '.join(health)} answers 200")
    if missing:
        parts.append(f"no health endpoint for {', '.join(missing)}: the owner confirms it works")
    parts.append(f"all chain tests pass ({chain})" if chain else "no koppelingen to test")
    return "; ".join(parts)


def cutover(ctx: Context) -> list[Step]:
    out = []
    for group in ctx.order.groups:
        apps = [ctx.application(n) for n in group.applications]
        present = [a for a in apps if a is not None]
        title = (
            f"Move {present[0].display_name} ({present[0].name})"
            if len(present) == 1
            else f"Move the koppeling cycle {' + '.join(group.applications)} together"
        )
        out.append(
            make_step(
                PhaseName.CUTOVER,
                CONCERN,
                title,
                kind="app",
                item="+".join(group.applications),
                extra_vars={EXTRA_APPLICATIONS: group.applications},
                actions=_group_actions(ctx, group),
                touches=Touches(
                    hosts=sorted({a.server for a in present if a.server}),
                    targets=_targets(present),
                    bytes=round(sum(d.size_gb for a in present for d in a.databases) * GB),
                    users=sum(a.users for a in present),
                    applications=group.applications,
                    databases=sorted(d.name for a in present for d in a.databases),
                    koppelingen=sum(len(a.koppelingen) for a in present),
                ),
                check=_check(present),
                rollback=undo(
                    "point configuration and koppelingen back at the source and take it out of "
                    "maintenance there; the target copy is left for the next attempt",
                    CONCERN,
                    {EXTRA_APPLICATIONS: group.applications},
                ),
            )
        )
    return out


def verify(ctx: Context) -> list[Step]:
    """What the applications role tests after cutover: the applications that land in the
    landing zone (SaaS ones are handed over to their supplier). No tests, no step: a verify
    with nothing to verify would fail."""
    apps = [a for a in ctx.moved_applications if a.disposition in LANDED]
    gng = ctx.programme.settings.go_no_go
    health = sum(bool(a.health) for a in apps)
    chain = sum(len(a.koppelingen) for a in apps)
    if not health + chain:
        return []
    return [
        make_step(
            PhaseName.VERIFY,
            CONCERN,
            "Health and chain tests of every application moved into the landing zone",
            extra_vars={EXTRA_APPLICATIONS: ctx.order.sequence},
            actions=[
                f"call {health} health endpoints on the target",
                f"run {chain} chain tests, one per koppeling",
            ],
            touches=Touches(
                targets=_targets(apps),
                applications=ctx.order.sequence,
                koppelingen=chain,
            ),
            check=f"failed health checks ≤ {gng.max_failed_health_checks}; "
            f"failed chain tests ≤ {gng.max_failed_chain_tests}",
        )
    ]
