"""The audit trail: who did what to which object, with what result, from where and when.

BIO2 8.15.01 asks every log record to carry action, object, result, origin, actor and time;
8.15.05 makes tampering with logs an incident. So every record is hash-chained: it carries
the SHA-256 of its own fields and of the record before it, ids run 1, 2, 3, ... without gaps,
and SQLite's AUTOINCREMENT counter remembers the highest id ever given. Editing a record
breaks its hash, deleting one breaks the chain (or, for the newest, disagrees with the
counter), reordering breaks both. `verify` says which record first fails and why.

The table lives in the wave's journal.sqlite (every run, resume, approval, rollback) and, for
what happens outside a wave (lab up and down), in `<state>/audit.sqlite`. Texts are redacted
by the caller before they get here: a record, once written, cannot be changed.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from eendracht.state import state_root
from eendracht.wave.lock import host_name
from eendracht.wave.lock import os_user as current_os_user

SCHEMA = """
CREATE TABLE IF NOT EXISTS audit (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at REAL NOT NULL,                  -- epoch seconds
    actor_os_user TEXT NOT NULL,       -- the operating-system user who ran the command
    actor_by TEXT NOT NULL,            -- the person named with --by ('' when none)
    action TEXT NOT NULL,              -- run | resume | check | approve | rollback | lab up ...
    object TEXT NOT NULL,              -- programme/municipality, or the lab's programme
    result TEXT NOT NULL,              -- started | ok | failed | at_gate | refused | ...
    host TEXT NOT NULL,                -- where the command ran
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);
"""
GENESIS = "0" * 64
FIELDS = (
    "id",
    "at",
    "actor_os_user",
    "actor_by",
    "action",
    "object",
    "result",
    "host",
    "prev_hash",
    "hash",
)


@dataclass(frozen=True)
class AuditRecord:
    id: int
    at: float
    actor_os_user: str
    actor_by: str
    action: str
    object: str
    result: str
    host: str
    prev_hash: str
    hash: str

    def expected_hash(self) -> str:
        return record_hash(
            self.id,
            self.at,
            self.actor_os_user,
            self.actor_by,
            self.action,
            self.object,
            self.result,
            self.host,
            self.prev_hash,
        )

    def as_export(self) -> dict[str, Any]:
        row = asdict(self)
        row["time"] = datetime.fromtimestamp(self.at, UTC).isoformat(timespec="milliseconds")
        return row


def record_hash(
    record_id: int,
    at: float,
    actor_os_user: str,
    actor_by: str,
    action: str,
    obj: str,
    result: str,
    host: str,
    prev_hash: str,
) -> str:
    canonical = json.dumps(
        [record_id, at, actor_os_user, actor_by, action, obj, result, host, prev_hash],
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def append(
    db: sqlite3.Connection,
    action: str,
    obj: str,
    result: str,
    *,
    by: str = "",
    os_user: str | None = None,
    host: str | None = None,
    at: float | None = None,
) -> AuditRecord:
    """Add one record. Call inside the caller's write transaction (BEGIN IMMEDIATE), so the
    record and the change it describes are written together and no other writer can slip a
    record in between reading the last hash and inserting this one."""
    last = db.execute("SELECT id, hash FROM audit ORDER BY id DESC LIMIT 1").fetchone()
    prev = str(last[1]) if last else GENESIS
    record_id = int(last[0]) + 1 if last else _next_id(db)
    fields = (
        record_id,
        time.time() if at is None else at,
        os_user if os_user is not None else current_os_user(),
        by,
        action,
        obj,
        result,
        host if host is not None else host_name(),
        prev,
    )
    digest = record_hash(*fields)
    db.execute(
        "INSERT INTO audit (id, at, actor_os_user, actor_by, action, object, result, host,"
        " prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (*fields, digest),
    )
    return AuditRecord(*fields, digest)


def _next_id(db: sqlite3.Connection) -> int:
    """The first id of an empty table: 1, unless records were given ids before (then the
    chain was emptied, which verify reports; appending goes on after the counter)."""
    row = db.execute("SELECT seq FROM sqlite_sequence WHERE name='audit'").fetchone()
    return int(row[0]) + 1 if row else 1


def records(db: sqlite3.Connection) -> list[AuditRecord]:
    rows = db.execute(f"SELECT {', '.join(FIELDS)} FROM audit ORDER BY id").fetchall()
    return [AuditRecord(*tuple(row)) for row in rows]


@dataclass(frozen=True)
class Verdict:
    intact: bool
    records: int
    reason: str  # why not intact, naming the first record that fails; "" when intact


def verify(db: sqlite3.Connection) -> Verdict:
    trail = records(db)
    counter = db.execute("SELECT seq FROM sqlite_sequence WHERE name='audit'").fetchone()
    highest = int(counter[0]) if counter else 0
    prev = GENESIS
    for expected_id, record in enumerate(trail, start=1):
        if record.id != expected_id:
            return Verdict(False, len(trail), f"record {expected_id} is missing (deleted)")
        if record.prev_hash != prev:
            return Verdict(
                False, len(trail), f"record {record.id}: the chain breaks (a record was removed)"
            )
        if record.hash != record.expected_hash():
            return Verdict(False, len(trail), f"record {record.id}: edited (its hash differs)")
        prev = record.hash
    if highest > len(trail):
        return Verdict(
            False,
            len(trail),
            f"record {len(trail) + 1} is missing (deleted): ids were given up to {highest}",
        )
    return Verdict(True, len(trail), "")


def export_csv(trail: list[AuditRecord]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=["time", *FIELDS], lineterminator="\n")
    writer.writeheader()
    for record in trail:
        writer.writerow(record.as_export())
    return out.getvalue()


def export_json(trail: list[AuditRecord], verdict: Verdict) -> str:
    document = {
        "intact": verdict.intact,
        "reason": verdict.reason,
        "records": [record.as_export() for record in trail],
    }
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


class AuditLog:
    """An audit trail of its own file, for actions outside any wave (lab up and down)."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.db = sqlite3.connect(path, timeout=30, isolation_level=None)
        self.db.executescript(SCHEMA)
        path.chmod(0o600)

    def record(self, action: str, obj: str, result: str, *, by: str = "") -> AuditRecord:
        with transaction(self.db):
            return append(self.db, action, obj, result, by=by)

    def close(self) -> None:
        self.db.close()


@contextmanager
def transaction(db: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    db.execute("BEGIN IMMEDIATE")
    try:
        yield db
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")


def audited(
    path: Path,
    action: str,
    obj: str,
    step: Callable[[], Any],
    *,
    unrecorded: tuple[type[BaseException], ...] = (),
) -> Any:
    """Run `step`, recording in the audit log at `path` that `action` on `obj` was done and
    whether it worked (the exception, if any, goes on to the caller). Exceptions of the
    `unrecorded` types are refused input: nothing was done, so nothing is written."""
    try:
        outcome = step()
    except unrecorded:
        raise
    except BaseException:
        with closing(AuditLog(path)) as log:
            log.record(action, obj, "failed")
        raise
    with closing(AuditLog(path)) as log:
        log.record(action, obj, "ok")
    return outcome


def state_log(state: Path | None = None) -> Path:
    """The audit log of what happens outside any wave (lab up and down) under a state root."""
    return state_root(state) / "audit.sqlite"


def open_read_only(path: Path) -> sqlite3.Connection:
    """A journal or audit log opened without the right to change it (SQLite's mode=ro), so a
    reader can never write to it, whoever else has it open; usable from any thread."""
    return sqlite3.connect(
        f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=10, check_same_thread=False
    )
