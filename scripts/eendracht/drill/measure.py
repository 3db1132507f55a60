"""The drill's measurements: is the standby in sync (before), what is missing at the fallback
after the failover (RPO), how long the outage lasted (RTO, from the journal's step times)."""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from typing import Any

from eendracht.drill.load import Acks
from eendracht.drill.sites import DRILL_DATABASE, SiteError, Sites, drill_files_dir


@dataclass(frozen=True)
class Readiness:
    streaming: bool
    sync_state: str  # sync | async | potential | quorum | ""
    lag_bytes: int
    files_error: str  # the file mirror's last round's error, "" when it succeeded
    declared: str = "asynchronous"  # the environment's replication mode

    @property
    def mode_as_declared(self) -> bool:
        return (self.sync_state == "sync") == (self.declared == "synchronous")

    @property
    def in_sync(self) -> bool:
        return (
            self.streaming
            and self.lag_bytes == 0
            and self.mode_as_declared
            and not self.files_error
        )

    def describe(self) -> str:
        if not self.streaming:
            return "the fallback database is not streaming from the primary"
        parts = [f"replication {self.sync_state}, {self.lag_bytes} bytes to replay"]
        if not self.mode_as_declared:
            parts.append(f"the environment declares {self.declared}")
        if self.files_error:
            parts.append(f"file mirror: {self.files_error}")
        return "; ".join(parts)


def _mirror_problem(sites: Sites) -> str:
    """Why the file mirror is not current ("" when its last round succeeded within three
    intervals, as the role's preflight requires too)."""
    files = sites.fallback.files
    if not files.status_file:
        return ""
    try:
        status = json.loads(sites.env.path(files.status_file).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        return f"no status: {exc}"
    if status.get("error"):
        return str(status["error"])[:200]
    age = time.time() - float(status.get("last_ok") or 0)
    if age > 3 * files.interval_seconds + 5:
        return f"its last good round was {age:.0f} s ago"
    return ""


def readiness(sites: Sites) -> Readiness:
    name = sites.fallback.fallback.database.application_name
    out = sites.psql(
        "primary",
        "SELECT state, sync_state, pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn)::bigint "
        f"FROM pg_stat_replication WHERE application_name = '{name}'",
    ).split("|")
    files_error = _mirror_problem(sites)
    declared = sites.fallback.replication
    if len(out) != 3:
        return Readiness(False, "", 0, files_error, declared)
    state, sync_state, lag = (v.strip() for v in out)
    return Readiness(state == "streaming", sync_state, int(lag or 0), files_error, declared)


@dataclass(frozen=True)
class Rpo:
    rows_acknowledged: int
    rows_missing: int
    files_acknowledged: int
    files_missing: int  # absent or with another checksum at the fallback
    replication: str

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def rpo(sites: Sites, run: int, acks: Acks) -> Rpo:
    """What the primary acknowledged before the outage and the fallback does not hold."""
    present = {
        int(n)
        for n in sites.psql(
            "fallback", f"SELECT n FROM writes WHERE run = {run}", db=DRILL_DATABASE
        ).split()
    }
    folder = drill_files_dir(sites, "fallback", run)
    try:
        listing = sites.ssh("fallback", f"cd '{folder}' 2>/dev/null && sha256sum file-* || true")
    except SiteError:
        listing = ""
    held = {}
    for line in listing.splitlines():
        words = line.split()
        if len(words) == 2:
            held[words[1]] = words[0]
    return Rpo(
        rows_acknowledged=len(acks.rows),
        rows_missing=len(acks.rows - present),
        files_acknowledged=len(acks.files),
        files_missing=sum(1 for name, sha in acks.files.items() if held.get(name) != sha),
        replication=sites.fallback.replication,
    )
