"""The wave journal: every run, phase, step, task, host result and gate decision, in SQLite,
and the wave's audit trail (eendracht.audit): every run, resume, check, rollback and approval,
hash-chained, written in the same transaction as the change it records.

WAL mode so `eendracht wave status` can read while a wave writes; every write commits at
once, so a `kill -9` loses at most the event being written. The journal never holds a secret:
results pass through `scrub()`, and every text written (run messages, step and task names,
hosts, host messages, count names) through the redaction of the secret values it was given
(`add_secrets`, by the runner: the values of the environment's credential files and vault).
"""

from __future__ import annotations

import json
import sqlite3
import time
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eendracht import audit as trail
from eendracht.wave.lock import host_name
from eendracht.wave.lock import os_user as current_os_user
from eendracht.wave.secrets import Redactor, scrub

SCHEMA = (
    """
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,                -- wave | rollback
    started_at REAL NOT NULL,
    finished_at REAL,
    status TEXT NOT NULL,              -- running | ok | failed | stopped_at_gate | interrupted
    pid INTEGER NOT NULL,
    lab INTEGER NOT NULL DEFAULT 0,
    until_phase TEXT,
    resumed INTEGER NOT NULL DEFAULT 0,
    message TEXT
);
CREATE TABLE IF NOT EXISTS phases (
    run_id INTEGER NOT NULL,
    phase TEXT NOT NULL,
    started_at REAL NOT NULL,
    finished_at REAL,
    status TEXT NOT NULL,              -- running | ok | failed
    PRIMARY KEY (run_id, phase)
);
CREATE TABLE IF NOT EXISTS steps (
    run_id INTEGER NOT NULL,
    phase TEXT NOT NULL,
    step_id TEXT NOT NULL,
    name TEXT NOT NULL,
    started_at REAL NOT NULL,
    finished_at REAL,
    status TEXT NOT NULL,              -- running | ok | failed | interrupted
    ansible_pid INTEGER,
    PRIMARY KEY (run_id, phase, step_id)
);
CREATE TABLE IF NOT EXISTS tasks (
    run_id INTEGER NOT NULL,
    phase TEXT NOT NULL,
    step_id TEXT NOT NULL,
    task_uuid TEXT NOT NULL,
    name TEXT NOT NULL,
    action TEXT NOT NULL,
    started_at REAL NOT NULL,
    PRIMARY KEY (run_id, task_uuid)
);
CREATE TABLE IF NOT EXISTS host_results (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id INTEGER NOT NULL,
    phase TEXT NOT NULL,
    step_id TEXT NOT NULL,
    task_uuid TEXT NOT NULL,
    task TEXT NOT NULL,
    host TEXT NOT NULL,
    status TEXT NOT NULL,              -- ok | changed | failed | skipped | unreachable
    started_at REAL,
    finished_at REAL NOT NULL,
    duration REAL,
    counts TEXT NOT NULL DEFAULT '{}', -- eendracht_counts of the result (bytes, accounts, ...)
    message TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS gate (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id INTEGER,
    approved_by TEXT NOT NULL,         -- the approver named (--by)
    approved_at REAL NOT NULL,
    automatic INTEGER NOT NULL DEFAULT 0,
    os_user TEXT NOT NULL DEFAULT '',  -- who recorded it: the operating-system user ...
    host TEXT NOT NULL DEFAULT ''      -- ... on this host
);
CREATE INDEX IF NOT EXISTS host_results_run ON host_results (run_id, phase);
"""
    + trail.SCHEMA
)

# runs.kind -> the audit trail's action (a resumed wave is a "resume").
AUDIT_ACTIONS = {"wave": "run", "rollback": "rollback", "check": "check", "drill": "drill"}

TERMINAL_PHASE_OK = "ok"

# Columns added after the first journals were written: (table, column, definition).
MIGRATIONS: tuple[tuple[str, str, str], ...] = (
    ("gate", "os_user", "TEXT NOT NULL DEFAULT ''"),
    ("gate", "host", "TEXT NOT NULL DEFAULT ''"),
)


@dataclass(frozen=True)
class StepKey:
    phase: str
    step_id: str


class Journal:
    def __init__(self, path: Path, subject: str | None = None) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        # What the audit trail names as the object: <programme>/<municipality> of the wave
        # folder the journal lives in (eendracht.wave.paths.wave_dir), unless told.
        self.subject = subject or f"{path.parent.parent.name}/{path.parent.name}"
        self.db = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
        self.db.row_factory = sqlite3.Row
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.executescript(SCHEMA)
        self._migrate()
        path.chmod(0o600)
        self.redact = Redactor()

    def add_secrets(self, values: tuple[str, ...]) -> None:
        """Secret values to redact from every text written from now on."""
        self.redact.add(values)

    def _migrate(self) -> None:
        """A journal written by an older version gets the columns it lacks."""
        for table, column, definition in MIGRATIONS:
            have = {row[1] for row in self.db.execute(f"PRAGMA table_info({table})")}
            if column not in have:
                self.db.execute(f"ALTER TABLE {table} ADD COLUMN {column} {definition}")

    def close(self) -> None:
        self.db.close()

    def _tx(self) -> AbstractContextManager[sqlite3.Connection]:
        return trail.transaction(self.db)

    def _audit(
        self,
        action: str,
        result: str,
        *,
        by: str = "",
        os_user: str | None = None,
        host: str | None = None,
    ) -> None:
        """One audit record; the caller holds the write transaction."""
        trail.append(
            self.db,
            self.redact(action),
            self.redact(self.subject),
            self.redact(result),
            by=self.redact(by),
            os_user=os_user,
            host=host,
        )

    def audit(self, action: str, result: str, *, by: str = "") -> None:
        """Record an action that changes nothing else in the journal (a refusal, an
        override): who, what, on which wave, with what result, from where, when."""
        with self._tx():
            self._audit(action, result, by=by)

    def audit_trail(self) -> list[trail.AuditRecord]:
        return trail.records(self.db)

    # --- runs ---------------------------------------------------------------------

    def start_run(
        self, kind: str, pid: int, lab: bool, until: str | None = None, resumed: bool = False
    ) -> int:
        with self._tx() as db:
            # A run still marked running belongs to a process that died: say so.
            now = time.time()
            for dead in db.execute("SELECT kind, resumed FROM runs WHERE status='running'"):
                self._audit(self._action(str(dead[0]), bool(dead[1])), "interrupted")
            db.execute(
                "UPDATE runs SET status='interrupted', finished_at=? WHERE status='running'",
                (now,),
            )
            db.execute(
                "UPDATE phases SET status='interrupted', finished_at=? WHERE status='running'",
                (now,),
            )
            db.execute(
                "UPDATE steps SET status='interrupted', finished_at=? WHERE status='running'",
                (now,),
            )
            cur = db.execute(
                "INSERT INTO runs (kind, started_at, status, pid, lab, until_phase, resumed)"
                " VALUES (?, ?, 'running', ?, ?, ?, ?)",
                (kind, now, pid, int(lab), until, int(resumed)),
            )
            self._audit(self._action(kind, resumed), "started")
            return int(cur.lastrowid or 0)

    @staticmethod
    def _action(kind: str, resumed: bool) -> str:
        action = AUDIT_ACTIONS.get(kind, kind)
        return "resume" if resumed and action == "run" else action

    def finish_run(self, run_id: int, status: str, message: str = "") -> None:
        with self._tx() as db:
            row = db.execute("SELECT kind, resumed FROM runs WHERE id=?", (run_id,)).fetchone()
            db.execute(
                "UPDATE runs SET status=?, finished_at=?, message=? WHERE id=?",
                (status, time.time(), self.redact(message), run_id),
            )
            if row is not None:
                self._audit(self._action(str(row[0]), bool(row[1])), status)

    def runs(self) -> list[dict[str, Any]]:
        return [dict(r) for r in self.db.execute("SELECT * FROM runs ORDER BY id")]

    # --- phases and steps -----------------------------------------------------------

    def start_phase(self, run_id: int, phase: str) -> None:
        self.db.execute(
            "INSERT OR REPLACE INTO phases (run_id, phase, started_at, status)"
            " VALUES (?, ?, ?, 'running')",
            (run_id, phase, time.time()),
        )

    def set_ansible_pid(self, run_id: int, step_id: str, pid: int) -> None:
        self.db.execute(
            "UPDATE steps SET ansible_pid=? WHERE run_id=? AND step_id=?", (pid, run_id, step_id)
        )

    def finish_phase(self, run_id: int, phase: str, status: str) -> None:
        self.db.execute(
            "UPDATE phases SET status=?, finished_at=? WHERE run_id=? AND phase=?",
            (status, time.time(), run_id, phase),
        )

    def start_step(self, run_id: int, phase: str, step_id: str, name: str) -> None:
        self.db.execute(
            "INSERT OR REPLACE INTO steps (run_id, phase, step_id, name, started_at, status)"
            " VALUES (?, ?, ?, ?, ?, 'running')",
            (run_id, phase, step_id, self.redact(name), time.time()),
        )

    def finish_step(self, run_id: int, phase: str, step_id: str, status: str) -> None:
        self.db.execute(
            "UPDATE steps SET status=?, finished_at=? WHERE run_id=? AND phase=? AND step_id=?"
            " AND status='running'",
            (status, time.time(), run_id, phase, step_id),
        )

    def running_steps(self, run_id: int, phase: str) -> list[str]:
        rows = self.db.execute(
            "SELECT step_id FROM steps WHERE run_id=? AND phase=? AND status='running'",
            (run_id, phase),
        )
        return [r[0] for r in rows]

    def record_task(
        self, run_id: int, phase: str, step_id: str, uuid: str, name: str, action: str
    ) -> None:
        self.db.execute(
            "INSERT OR IGNORE INTO tasks (run_id, phase, step_id, task_uuid, name, action,"
            " started_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (run_id, phase, step_id, uuid, self.redact(name), self.redact(action), time.time()),
        )

    def record_host_result(
        self,
        run_id: int,
        phase: str,
        step_id: str,
        *,
        task_uuid: str,
        task: str,
        host: str,
        status: str,
        started_at: float | None,
        finished_at: float,
        counts: dict[str, int],
        message: str = "",
    ) -> None:
        duration = finished_at - started_at if started_at else None
        self.db.execute(
            "INSERT INTO host_results (run_id, phase, step_id, task_uuid, task, host, status,"
            " started_at, finished_at, duration, counts, message)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                run_id,
                phase,
                step_id,
                task_uuid,
                self.redact(task),
                self.redact(host),
                status,
                started_at,
                finished_at,
                duration,
                self.redact(json.dumps(scrub(counts))),
                self.redact(str(scrub(message)))[:2000],
            ),
        )

    # --- resume ---------------------------------------------------------------------

    def epoch_start(self) -> int:
        """Runs after the last successful rollback count; a rollback starts the wave over."""
        row = self.db.execute(
            "SELECT MAX(id) FROM runs WHERE kind='rollback' AND status='ok'"
        ).fetchone()
        return int(row[0] or 0)

    def done_steps(self, kind: str = "wave", since: int | None = None) -> set[StepKey]:
        """Steps of runs of `kind` whose latest attempt since the last rollback (or since run
        `since`) ended ok: what resume skips.

        A step that passed once and failed (or was interrupted) in a later run is not done.
        """
        rows = self.db.execute(
            "SELECT s.phase, s.step_id, s.status FROM steps s JOIN runs r ON r.id = s.run_id"
            " WHERE r.kind=? AND r.id > ? ORDER BY s.started_at, s.rowid",
            (kind, self.epoch_start() if since is None else since),
        )
        latest: dict[StepKey, str] = {}
        for row in rows:
            latest[StepKey(row[0], row[1])] = row[2]
        return {key for key, status in latest.items() if status == "ok"}

    def started_steps(self) -> set[str]:
        """Steps of the wave that began since the last rollback: what a rollback undoes."""
        rows = self.db.execute(
            "SELECT DISTINCT s.step_id FROM steps s JOIN runs r ON r.id = s.run_id"
            " WHERE r.kind='wave' AND r.id > ?",
            (self.epoch_start(),),
        )
        return {r[0] for r in rows}

    # --- gate -----------------------------------------------------------------------

    def approve(
        self,
        by: str,
        run_id: int | None = None,
        automatic: bool = False,
        *,
        os_user: str | None = None,
        host: str | None = None,
    ) -> float:
        """Records the go/no-go decision: the approver, and who recorded it where and when.

        `os_user` and `host` default to this process's effective user and this host.
        """
        now = time.time()
        who = {
            "os_user": os_user if os_user is not None else current_os_user(),
            "host": host if host is not None else host_name(),
        }
        with self._tx() as db:
            db.execute(
                "INSERT INTO gate (run_id, approved_by, approved_at, automatic, os_user, host)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (run_id, self.redact(by), now, int(automatic), who["os_user"], who["host"]),
            )
            self._audit(
                "approve",
                "automatic" if automatic else "approved",
                by=by,
                os_user=who["os_user"],
                host=who["host"],
            )
        return now

    def verify_passed(self, wanted: set[str]) -> bool:
        """The go/no-go may be decided: verify passed in full and nothing failed after it.

        Since the last successful rollback (the epoch), every step in `wanted` (the runbook's
        verify steps) ended ok the last time it ran — in the latest run or, when that run
        resumed, an earlier one — and no step of any run (rollback runs included) that started
        after the last verify step that passed ended otherwise than ok: a verify that passed
        once and failed later, or a step that failed, was interrupted or still runs after it,
        gives False.
        """
        if not wanted:
            return False
        rows = self.db.execute(
            "SELECT s.step_id, s.status FROM steps s JOIN runs r ON r.id = s.run_id"
            " WHERE r.id > ? AND r.kind != 'check' ORDER BY s.started_at, s.rowid",
            (self.epoch_start(),),
        ).fetchall()
        latest = {row["step_id"]: row["status"] for row in rows}
        if any(latest.get(step) != "ok" for step in wanted):
            return False
        last_verified = max(
            i for i, row in enumerate(rows) if row["step_id"] in wanted and row["status"] == "ok"
        )
        return all(row["status"] == "ok" for row in rows[last_verified + 1 :])

    def approval(self) -> dict[str, Any] | None:
        row = self.db.execute(
            "SELECT * FROM gate WHERE id > 0 AND approved_at >= COALESCE("
            " (SELECT MAX(finished_at) FROM runs WHERE kind='rollback' AND status='ok'), 0)"
            " ORDER BY id DESC LIMIT 1"
        ).fetchone()
        return dict(row) if row else None

    # --- reading --------------------------------------------------------------------

    def phases(self) -> list[dict[str, Any]]:
        return [dict(r) for r in self.db.execute("SELECT * FROM phases ORDER BY started_at")]

    def steps(self) -> list[dict[str, Any]]:
        return [dict(r) for r in self.db.execute("SELECT * FROM steps ORDER BY started_at")]

    def host_results(self, run_id: int | None = None) -> list[dict[str, Any]]:
        if run_id is None:
            rows = self.db.execute("SELECT * FROM host_results ORDER BY id")
        else:
            rows = self.db.execute(
                "SELECT * FROM host_results WHERE run_id=? ORDER BY id", (run_id,)
            )
        return [dict(r) for r in rows]

    def counts(self, since_run: int = 0) -> dict[str, dict[str, int]]:
        """Summed eendracht_counts per phase (latest successful result of each task/host)."""
        out: dict[str, dict[str, int]] = {}
        rows = self.db.execute(
            "SELECT phase, counts FROM host_results WHERE run_id > ? AND counts != '{}'"
            " AND status IN ('ok', 'changed')",
            (since_run,),
        )
        for row in rows:
            bucket = out.setdefault(row[0], {})
            for key, value in json.loads(row[1]).items():
                if isinstance(value, int | float):
                    bucket[key] = bucket.get(key, 0) + int(value)
        return out

    def task_seconds(self, run_id: int) -> float:
        row = self.db.execute(
            "SELECT SUM(d) FROM (SELECT task_uuid, MAX(duration) AS d FROM host_results"
            " WHERE run_id=? GROUP BY task_uuid)",
            (run_id,),
        ).fetchone()
        return float(row[0] or 0.0)
