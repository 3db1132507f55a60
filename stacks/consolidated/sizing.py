"""Every sizing rule of the stacks, as pure functions of the programme and the stack settings.

`docs/stacks.md` documents each rule; `eendracht preview` prints the decisions made here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from eendracht.programme import models as m
from eendracht.stacksettings import StackSettings

PREMIUM_SHARE_MIN_GIB = 100  # smallest provisioned Azure Files premium share
STANDARD_SHARE_MAX_GIB = 5120  # standard share without large file shares


@dataclass(frozen=True)
class Decision:
    topic: str
    value: int | str
    rule: str


@dataclass(frozen=True)
class AppServer:
    """An on-premises server that is rebuilt in Azure for rehosted or RemoteApp applications."""

    municipality: str
    host: str
    os: str
    applications: tuple[str, ...]


@dataclass(frozen=True)
class FileShareSize:
    municipality: str
    share: str
    quota_gib: int

    @property
    def name(self) -> str:
        return f"{self.municipality}-{self.share}"[:63]


@dataclass(frozen=True)
class Sizing:
    head_count: int
    office_users: int
    cad_users: int
    office_hosts: int
    cad_hosts: int
    profile_quota_gib: int
    app_servers: tuple[AppServer, ...]
    file_shares: tuple[FileShareSize, ...]
    database_storage_gib: int
    decisions: tuple[Decision, ...] = field(default=())
    # Site Recovery's recovery plan: the application servers in boot order (boot_groups).
    boot_groups: tuple[tuple[AppServer, ...], ...] = field(default=())


def workplace_counts(mu: m.Municipality) -> tuple[int, int]:
    """(office, cad) users of one municipality; without a people list all of staff is office."""
    if not mu.people:
        return mu.info.head_count, 0
    active = [p for p in mu.people if p.enabled]
    cad = sum(1 for p in active if p.workplace is m.Workplace.CAD)
    return len(active) - cad, cad


def session_hosts(users: int, concurrency: float, density: int, minimum: int) -> int:
    """ceil(ceil(users * concurrency) / density), at least `minimum` when anyone uses the pool."""
    if users == 0:
        return 0
    concurrent = math.ceil(users * concurrency)
    return max(minimum, math.ceil(concurrent / density))


def profile_quota_gib(head_count: int, gib_per_user: int) -> int:
    """head count * GiB per profile, rounded up to 100 GiB (the premium minimum and step)."""
    raw = head_count * gib_per_user
    step = PREMIUM_SHARE_MIN_GIB
    return max(step, math.ceil(raw / step) * step)


def share_quota_gib(size_gb: float, headroom: float) -> int:
    """Source size (GB -> GiB) times headroom, rounded up to whole GiB, between 1 and 5 TiB."""
    gib = size_gb * 1e9 / 2**30
    return min(STANDARD_SHARE_MAX_GIB, max(1, math.ceil(gib * headroom)))


def database_storage_gib(total_gb: float) -> int:
    """Twice the source databases, as the next PostgreSQL flexible server size from 32 GiB."""
    wanted = max(32, math.ceil(total_gb * 2))
    return int(2 ** math.ceil(math.log2(wanted)))


def app_servers(programme: m.Programme) -> tuple[AppServer, ...]:
    lifted = (m.Disposition.REHOST, m.Disposition.REMOTEAPP)
    out: list[AppServer] = []
    for name, mu in programme.municipalities.items():
        hosts = {h.name: h for h in mu.hosts}
        by_server: dict[str, list[str]] = {}
        for app in mu.applications:
            if app.disposition in lifted and app.server:
                by_server.setdefault(app.server, []).append(app.name)
        for server, apps in by_server.items():
            os = hosts[server].server_os if server in hosts else "linux"
            out.append(AppServer(name, server, os, tuple(apps)))
    return tuple(out)


def boot_groups(
    programme: m.Programme, servers: tuple[AppServer, ...]
) -> tuple[tuple[AppServer, ...], ...]:
    """The application servers in the order a failover starts them: a server whose application
    is the target of another server's koppeling (same municipality) boots in an earlier group.
    Group n holds the servers whose longest chain of such dependencies is n long; servers that
    depend on each other (a cycle) are in the same group."""
    host_of: dict[tuple[str, str], AppServer] = {
        (s.municipality, app): s for s in servers for app in s.applications
    }
    needs: dict[AppServer, set[AppServer]] = {s: set() for s in servers}
    for name, mu in programme.municipalities.items():
        for app in mu.applications:
            server = host_of.get((name, app.name))
            if server is None:
                continue
            for koppeling in app.koppelingen:
                target = host_of.get((name, koppeling.target))
                if target is not None and target != server:
                    needs[server].add(target)
    reach = {s: _reachable(s, needs) for s in servers}
    # Servers that call each other (a cycle of koppelingen) boot together, in one group.
    level: dict[AppServer, int] = {}

    def depth(server: AppServer) -> int:
        if server not in level:
            below = [t for t in reach[server] if server not in reach[t]]
            level[server] = max((depth(t) + 1 for t in below), default=0)
        return level[server]

    for server in servers:
        depth(server)
    return tuple(
        tuple(s for s in servers if level[s] == n)
        for n in range(max(level.values(), default=-1) + 1)
        if n in level.values()
    )


def _reachable(start: AppServer, needs: dict[AppServer, set[AppServer]]) -> set[AppServer]:
    """Every server `start` depends on, directly or through others (itself only in a cycle)."""
    seen: set[AppServer] = set()
    todo = list(needs[start])
    while todo:
        server = todo.pop()
        if server not in seen:
            seen.add(server)
            todo.extend(needs[server])
    return seen


def size(programme: m.Programme, settings: StackSettings) -> Sizing:
    head_count = sum(mu.info.head_count for mu in programme.municipalities.values())
    office = cad = 0
    for mu in programme.municipalities.values():
        o, c = workplace_counts(mu)
        office, cad = office + o, cad + c
    office_hosts = session_hosts(
        office, settings.concurrency, settings.session_density, settings.min_office_hosts
    )
    cad_hosts = session_hosts(cad, settings.concurrency, settings.cad_density, 1)
    quota = profile_quota_gib(head_count, settings.profile_gib_per_user)
    servers = app_servers(programme)
    shares = tuple(
        FileShareSize(name, s.name, share_quota_gib(s.size_gb, settings.file_headroom))
        for name, mu in programme.municipalities.items()
        for s in mu.shares
    )
    pg_gb = sum(
        d.size_gb
        for mu in programme.municipalities.values()
        for a in mu.applications
        for d in a.databases
        if d.engine is m.DatabaseEngine.POSTGRESQL and a.disposition is not m.Disposition.RETIRE
    )
    pg_storage = database_storage_gib(pg_gb)
    groups = boot_groups(programme, servers)
    pct = f"{settings.concurrency:.0%}"
    decisions = (
        Decision("head count", head_count, "sum of municipality.head_count"),
        Decision("office users", office, "enabled people with workplace office (or head count)"),
        Decision("CAD users", cad, "enabled people with workplace cad"),
        Decision(
            "office session hosts",
            office_hosts,
            f"max({settings.min_office_hosts}, ceil(ceil({office} x {pct}) / "
            f"{settings.session_density} per host)) of {settings.office_vm_size}: the office "
            "scale set's capacity",
        ),
        Decision(
            "CAD session hosts",
            cad_hosts,
            f"ceil(ceil({cad} x {pct}) / {settings.cad_density} per host) of "
            f"{settings.gpu_vm_size}: the GPU scale set's capacity; no pool when 0",
        ),
        Decision(
            "standby session hosts",
            0,
            "the standby scale set's capacity is kept at zero, raised on failover",
        ),
        Decision(
            "standby session hosts at failover",
            office_hosts,
            "the office pool's size: what the failover raises the standby scale set to "
            "(tag failover-capacity)",
        ),
        Decision(
            "FSLogix quota GiB",
            quota,
            f"{head_count} x {settings.profile_gib_per_user} GiB, rounded up to 100 GiB",
        ),
        Decision("application servers", len(servers), "distinct servers of rehost/remoteapp apps"),
        Decision(
            "recovery plan boot groups",
            len(groups),
            "servers whose applications others call (koppelingen) boot first",
        ),
        Decision(
            "file data GiB",
            sum(s.quota_gib for s in shares),
            f"per share ceil(size x {settings.file_headroom}) GiB, 1 GiB minimum",
        ),
        Decision(
            "PostgreSQL storage GiB",
            pg_storage,
            f"2 x {pg_gb:.1f} GB of PostgreSQL databases, next power of two from 32 GiB",
        ),
    )
    return Sizing(
        head_count,
        office,
        cad,
        office_hosts,
        cad_hosts,
        quota,
        servers,
        shares,
        pg_storage,
        decisions,
        groups,
    )
