"""`build_runbook`: the wave of one municipality as phases -> steps, dated and ordered."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Callable

from eendracht.identity import IdentityMapping, map_identities
from eendracht.plan.context import GB, Context, human_bytes, playbook
from eendracht.plan.models import (
    ROLLBACK_PLAYBOOK,
    SOURCE_CHECK_TAG,
    Gate,
    GateCriterion,
    IdentitySummary,
    PhasePlan,
    RollbackEntry,
    Runbook,
    Step,
    Totals,
    Touches,
)
from eendracht.plan.order import application_order
from eendracht.plan.schedule import phase_start, when
from eendracht.plan.steps import applications, dns, files, identity, mail, preflight, workplace
from eendracht.plan.timeouts import ROLLBACK, step_timeout
from eendracht.programme.models import PHASE_ORDER, Phase, PhaseName, Programme

StepBuilder = Callable[[Context], list[Step]]

# Within a phase, steps run in this order. At cutover the names (DNS) switch once the
# applications behind them answer; devices and mailboxes follow the accounts they belong to;
# the MX records switch last, after the mail step: mailboxes are moved before MX changes.
PHASE_STEPS: dict[PhaseName, tuple[StepBuilder, ...]] = {
    PhaseName.PREFLIGHT: (preflight.steps, mail.preflight),
    PhaseName.PRESYNC: (files.presync, dns.presync, identity.presync, mail.presync),
    PhaseName.FREEZE: (files.freeze, applications.freeze),
    PhaseName.FINAL_SYNC: (files.final_sync,),
    PhaseName.CUTOVER: (
        identity.cutover,
        applications.cutover,
        dns.cutover,
        workplace.cutover,
        mail.cutover,
        dns.cutover_mail,
    ),
    PhaseName.VERIFY: (files.verify, identity.verify, dns.verify, mail.verify, applications.verify),
}


def build_runbook(
    programme: Programme, municipality: str, mapping: IdentityMapping | None = None
) -> Runbook:
    """The runbook of `municipality`'s wave. Raises KeyError naming the known municipalities."""
    mu = programme.municipality(municipality)
    mapping = mapping if mapping is not None else map_identities(programme)
    identities = mapping.for_municipality(municipality)
    from_directory = municipality in mapping.report.from_directory
    accounts = mu.info.head_count if from_directory else len(identities)
    enabled = accounts if from_directory else sum(i.enabled for i in identities)
    mine = [c for c in mapping.collisions_of(municipality)]
    ctx = Context(
        programme=programme,
        municipality=mu,
        accounts=accounts,
        enabled_accounts=enabled,
        collisions=len(mine),
        order=application_order(mu),
        phases=frozenset(p.name for p in programme.settings.phases),
    )
    wave = programme.wave(municipality)
    configured = {p.name: p for p in programme.settings.phases}
    notes: list[str] = []
    phases = _phases(ctx, configured, wave.weekend, notes)
    notes.extend(_notes(ctx, phases))
    steps = [s for p in phases for s in p.steps]
    renamed = [i for i in identities if i.username != i.base_username]
    return Runbook(
        programme=programme.name,
        organisation=programme.settings.organisation.name,
        municipality=municipality,
        display_name=mu.info.display_name,
        wave=[w.municipality for w in programme.settings.waves].index(municipality) + 1,
        weekend=wave.weekend,
        phases=phases,
        application_order=ctx.order,
        gate=_gate(ctx),
        rollback=[
            RollbackEntry(
                step=s.id,
                description=s.rollback.description,
                playbook=s.rollback.playbook,
                tags=s.rollback.tags,
                extra_vars=s.rollback.extra_vars,
                timeout=s.rollback.timeout,
            )
            for s in reversed(steps)
            if s.rollback.playbook == ROLLBACK_PLAYBOOK
        ],
        source_check_timeout=_source_check_timeout(ctx),
        identity=IdentitySummary(
            accounts=accounts,
            enabled=enabled,
            aliases=sum(len(i.aliases) for i in identities),
            renamed=len(renamed),
            collisions=len(mine),
            accents_folded=sum(any(c.kind == "accents" for c in i.changes) for i in identities),
            tussenvoegsels_joined=sum(bool(i.prefix) for i in identities),
            from_directory=from_directory,
        ),
        totals=Totals(
            hosts=len(mu.hosts),
            shares=len(mu.shares),
            file_bytes=ctx.total_share_bytes,
            files=ctx.total_files,
            database_bytes=round(
                sum(d.size_gb for a in ctx.moved_applications for d in a.databases) * GB
            ),
            accounts=accounts,
            records=ctx.cutover_records,
            applications_moved=len(ctx.order.sequence),
            koppelingen=sum(len(a.koppelingen) for a in ctx.moved_applications),
            devices=len(mu.devices),
            mailboxes=len(mu.mailboxes),
        ),
        notes=notes,
    )


def _phases(
    ctx: Context, configured: dict[PhaseName, Phase], weekend: dt.date, notes: list[str]
) -> list[PhasePlan]:
    """Each configured phase with its steps; a left-out phase's steps run in the next one."""
    plans: list[PhasePlan] = []
    carried: list[Step] = []
    for name in PHASE_ORDER:
        built = [s for builder in PHASE_STEPS[name] for s in builder(ctx)]
        phase = configured.get(name)
        if phase is None:
            carried.extend(built)
            continue
        if carried:
            notes.append(
                f"the programme leaves out {', '.join(sorted({s.phase.value for s in carried}))}: "
                f"{len(carried)} of its steps run at the start of {name.value} "
                "(from their own playbooks)"
            )
        moved = [s.model_copy(update={"phase": name, "moved_from": s.phase}) for s in carried]
        carried = []
        starts = phase_start(name, phase.days_before, weekend)
        plans.append(
            PhasePlan(
                name=name,
                date=starts.date(),
                starts=starts,
                days_before=phase.days_before,
                description=phase.description,
                playbook=playbook(name),
                steps=[*moved, *built],
            )
        )
    return plans


def _source_check_timeout(ctx: Context) -> int:
    """The rollback's last play checks every concern of the source side (`SOURCE_CHECK_TAG`)."""
    mu = ctx.municipality
    touches = Touches(
        hosts=sorted({z.server for z in mu.dns.zones}),
        shares=[s.name for s in ctx.shares],
        bytes=ctx.total_share_bytes,
        files=ctx.total_files,
        accounts=ctx.accounts,
        records=ctx.cutover_records,
        applications=[a.name for a in ctx.moved_applications],
        databases=sorted(d.name for a in ctx.moved_applications for d in a.databases),
    )
    return step_timeout(ROLLBACK, SOURCE_CHECK_TAG, touches)


def _gate(ctx: Context) -> Gate:
    gng = ctx.programme.settings.go_no_go
    criteria = []
    if ctx.municipality.shares:
        criteria.append(
            GateCriterion(
                id="gate.files",
                criterion="files verified by checksum manifest",
                threshold=f"ratio ≥ {gng.min_verified_file_ratio:g} "
                f"({ctx.total_files} files, {human_bytes(ctx.total_share_bytes)})",
            )
        )
    criteria.append(
        GateCriterion(
            id="gate.identity",
            criterion="target accounts enabled / source accounts disabled",
            threshold=f"{ctx.enabled_accounts} / {ctx.accounts}",
        )
    )
    if ctx.cutover_records:
        criteria.append(
            GateCriterion(
                id="gate.dns",
                criterion="cut-over records answering their new value",
                threshold=f"{ctx.cutover_records} of {ctx.cutover_records}",
            )
        )
    # Only what verify tests (applications that land in the landing zone) is a criterion.
    landed = [a for a in ctx.moved_applications if a.disposition in applications.LANDED]
    if any(a.health for a in landed):
        criteria.append(
            GateCriterion(
                id="gate.health",
                criterion="failed application health checks",
                threshold=f"≤ {gng.max_failed_health_checks}",
            )
        )
    if any(a.koppelingen for a in landed):
        criteria.append(
            GateCriterion(
                id="gate.chain",
                criterion="failed koppeling chain tests",
                threshold=f"≤ {gng.max_failed_chain_tests}",
            )
        )
    approvers = list(gng.approvers)
    return Gate(
        criteria=criteria,
        approvers=approvers,
        decision=f"go when every criterion holds and one of {', '.join(approvers)} approves "
        "(`eendracht wave approve --by NAME`); otherwise no-go: `eendracht wave rollback` "
        "restores the source side",
    )


def _notes(ctx: Context, phases: list[PhasePlan]) -> list[str]:
    notes = []
    mu = ctx.municipality
    if mu.people_source is not None and not mu.people:
        notes.append(
            f"people are read from {mu.people_source.uri} at migration time; "
            f"account counts use the head count ({mu.info.head_count})"
        )
    for earlier, later in itertools.pairwise(phases):
        if later.starts < earlier.starts:
            notes.append(
                f"{later.name.value} starts {when(later.starts)}, before {earlier.name.value} "
                f"({when(earlier.starts)}): check the phases' days_before"
            )
    at = {s.id: p for p in phases for s in p.steps}
    cut = at.get("cutover.dns") or at.get("cutover.dns.mx")
    lowered = at.get("presync.dns")
    if cut is not None and lowered is not None:
        window = round((cut.starts - lowered.starts).total_seconds())
        for zone in mu.dns.zones:
            for r in zone.records:
                if r.cuts_over and r.ttl > window:
                    notes.append(
                        f"{r.name}.{zone.name}: TTL {r.ttl}s is longer than the {window}s between "
                        "lowering and cutover; resolvers may keep the old value after cutover"
                    )
    for cycle in ctx.order.cycles:
        notes.append(f"koppeling cycle {' -> '.join(cycle)}: moved together in one step")
    unchecked = [a.name for a in ctx.moved_applications if not a.health]
    if unchecked:
        notes.append(
            f"no health endpoint, so the owner confirms it works after cutover: "
            f"{', '.join(unchecked)}"
        )
    for share in ctx.shares:
        if ctx.host_os(share.server) == "windows" or share.path[1:2] == ":":
            notes.append(f"share {share.name} is on Windows: copied with the robocopy variant")
    return notes
