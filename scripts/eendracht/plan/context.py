"""What every step builder needs to know about the wave it plans."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from eendracht.plan.models import ApplicationOrder
from eendracht.programme.models import (
    Application,
    Disposition,
    Koppeling,
    Municipality,
    PhaseName,
    Programme,
    ServerRole,
    Share,
)

GB = 1_000_000_000
EXTRA_SHARES = "wave_shares"
EXTRA_APPLICATIONS = "wave_applications"
EXTRA_RECORD_TYPES = "wave_record_types"


def playbook(phase: PhaseName | str) -> str:
    return f"playbooks/{phase}.yml"


def share_bytes(share: Share) -> int:
    return round(share.size_gb * GB)


def plural(count: int, word: str, many: str = "") -> str:
    return f"{count} {word if count == 1 else many or word + 's'}"


def human_bytes(count: int) -> str:
    size = float(count)
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if size < 1000 or unit == "TB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1000
    raise AssertionError("unreachable")


@dataclass(frozen=True)
class Context:
    programme: Programme
    municipality: Municipality
    accounts: int  # people mapped (or the head count, for people read from a directory)
    enabled_accounts: int
    collisions: int
    order: ApplicationOrder
    phases: frozenset[PhaseName]

    @property
    def name(self) -> str:
        return self.municipality.name

    def hosts_with(self, role: ServerRole) -> list[str]:
        return sorted(h.name for h in self.municipality.hosts if role in h.server_roles)

    def host_os(self, name: str) -> str:
        return next((h.server_os for h in self.municipality.hosts if h.name == name), "linux")

    # Worked out once per plan (the context is frozen): the step builders ask for these per
    # share and per application.

    @cached_property
    def moved_applications(self) -> list[Application]:
        return [
            a
            for a in sorted(self.municipality.applications, key=lambda a: a.name)
            if a.disposition is not Disposition.RETIRE
        ]

    @cached_property
    def _applications(self) -> dict[str, Application]:
        named: dict[str, Application] = {}
        for app in self.municipality.applications:
            named.setdefault(app.name, app)  # the first of a name, as Municipality.application
        return named

    def application(self, name: str) -> Application | None:
        return self._applications.get(name)

    @cached_property
    def _callers(self) -> dict[str, list[tuple[Application, Koppeling]]]:
        callers: dict[str, list[tuple[Application, Koppeling]]] = {}
        for caller in self.moved_applications:
            for k in caller.koppelingen:
                callers.setdefault(k.target, []).append((caller, k))
        return callers

    def callers(self, name: str) -> list[tuple[Application, Koppeling]]:
        """The moved applications' koppelingen to `name`: (caller, koppeling), callers by name."""
        return self._callers.get(name, [])

    @cached_property
    def shares(self) -> list[Share]:
        return sorted(self.municipality.shares, key=lambda s: s.name)

    @cached_property
    def total_share_bytes(self) -> int:
        return sum(share_bytes(s) for s in self.municipality.shares)

    @cached_property
    def total_files(self) -> int:
        return sum(s.files for s in self.municipality.shares)

    @cached_property
    def cutover_records(self) -> int:
        return sum(r.cuts_over for z in self.municipality.dns.zones for r in z.records)
