"""Preflight: checks only. Reachability, capacity, directories, DNS, identity, applications."""

from __future__ import annotations

from eendracht.plan.context import Context, human_bytes
from eendracht.plan.models import Step, Touches
from eendracht.plan.steps.base import make_step
from eendracht.programme.models import PhaseName, ServerRole

PHASE = PhaseName.PREFLIGHT
HEADROOM = 1.10  # target space for the shares plus growth until the final sync


def steps(ctx: Context) -> list[Step]:
    mu = ctx.municipality
    out = [
        make_step(
            PHASE,
            "reachability",
            "Source servers and target endpoints answer",
            actions=[
                "connect to every source server of the municipality (SSH or WinRM) and gather facts",
                "connect to the target endpoints named by the stack outputs",
            ],
            touches=Touches(
                hosts=sorted(h.name for h in mu.hosts),
                targets=["database_server_fqdn", "directory_uri", "dns_server", "file_target_host"],
            ),
            check="every source server and every target endpoint answers",
        )
    ]
    if mu.shares:
        need = round(ctx.total_share_bytes * HEADROOM)
        out.append(
            make_step(
                PHASE,
                "capacity",
                "Target file capacity covers the shares",
                actions=[
                    f"measure free space under file_target_root on file_target_host "
                    f"for {len(mu.shares)} shares",
                ],
                touches=Touches(
                    targets=["file_target_host", "file_target_root"],
                    shares=[s.name for s in ctx.shares],
                    bytes=ctx.total_share_bytes,
                    files=ctx.total_files,
                ),
                check=f"free space ≥ {human_bytes(need)} "
                f"(shares {human_bytes(ctx.total_share_bytes)} + 10% headroom)",
            )
        )
    source = (
        f"the source directory {mu.people_source.uri}"
        if mu.people_source
        else "the source directory on " + (", ".join(ctx.hosts_with(ServerRole.DIRECTORY)) or "-")
    )
    out.append(
        make_step(
            PHASE,
            "directory",
            "Source and target directories accept a bind",
            actions=[f"bind to {source}", "bind to the target directory (directory_uri)"],
            touches=Touches(
                hosts=ctx.hosts_with(ServerRole.DIRECTORY),
                targets=["directory_base_dn", "directory_uri"],
                accounts=ctx.accounts,
            ),
            check=f"both binds succeed; the source directory holds the {ctx.accounts} accounts "
            "the programme expects",
        )
    )
    if mu.dns.zones:
        out.append(
            make_step(
                PHASE,
                "dns",
                "DNS servers answer and accept signed updates",
                actions=[
                    *(f"query the SOA of {z.name} on {z.server}" for z in mu.dns.zones),
                    "send a TSIG-signed no-op update to dns_server",
                ],
                touches=Touches(
                    hosts=sorted({z.server for z in mu.dns.zones}),
                    targets=["dns_server"],
                    records=ctx.cutover_records,
                ),
                check="every zone's SOA answers from its server; the TSIG key is accepted",
            )
        )
    out.append(
        make_step(
            PHASE,
            "identity",
            "Identity mapping complete and collision-free",
            actions=[
                "map every person to one new account (identity mapping)",
                "confirm no new username or address is used twice",
            ],
            touches=Touches(accounts=ctx.accounts),
            check=f"{ctx.accounts} accounts mapped, usernames unique, "
            f"{ctx.collisions} collisions resolved, none open",
        )
    )
    apps = ctx.moved_applications
    if apps:
        with_health = [a.name for a in apps if a.health]
        out.append(
            make_step(
                PHASE,
                "applications",
                "Applications to move are healthy at the source",
                actions=[
                    f"call the health endpoint of {len(with_health)} applications",
                    "connect to every database to move",
                ],
                touches=Touches(
                    hosts=sorted({a.server for a in apps if a.server}),
                    applications=[a.name for a in apps],
                    databases=sorted(d.name for a in apps for d in a.databases),
                ),
                check="every health endpoint answers 200; every database to move accepts a "
                "connection",
            )
        )
    return out
