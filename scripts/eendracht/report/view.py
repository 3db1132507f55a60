"""A read-only view of a wave journal: the one place journal rows become a timeline.

The journal is opened with SQLite's `mode=ro` URI, so nothing here can write to it, whoever
else has it open (a running wave writes in WAL mode; a reader never blocks it). A file that is
not a journal is refused with `NotAJournal`, one line naming it. The live page reads through
this view too.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eendracht import audit
from eendracht.report.model import (
    AuditTrail,
    GateDecision,
    HostResult,
    PhaseSpan,
    RunSpan,
    ShareFigures,
    StepSpan,
    Timeline,
)
from eendracht.wave.paths import JOURNAL

REQUIRED_TABLES = frozenset({"runs", "phases", "steps", "host_results", "gate"})
# The audit trail's columns shown; the hash (shortened) lets an auditor match the export.
AUDIT_COLUMNS = (
    "id", "at", "actor_os_user", "actor_by", "action", "object", "result", "host", "hash",
)  # fmt: skip
# A share's copy is the step `<phase>.files.<share>`; its figures are its results' counts.
COPY_PHASES = ("presync", "final_sync")


@dataclass(frozen=True)
class LatestTask:
    """The task a run started last, and the host it last started or reported on."""

    phase: str
    step_id: str
    task: str
    started_at: float
    host: str


class NotAJournal(Exception):
    """The path is not a wave journal that can be read: the message is one line naming it."""


def _number(value: Any) -> int | float | None:
    if isinstance(value, bool):
        return None
    return value if isinstance(value, int | float) else None


class JournalView:
    """Opened by `open_view`; close it (or use it as a context manager) when done."""

    def __init__(self, path: Path, db: sqlite3.Connection) -> None:
        self.path = path
        self.db = db

    def __enter__(self) -> JournalView:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        self.db.close()

    def _rows(self, sql: str, args: tuple[Any, ...] = ()) -> list[sqlite3.Row]:
        return list(self.db.execute(sql, args))

    def data_version(self) -> int:
        """SQLite's `PRAGMA data_version`: changes whenever another connection commits (the
        live page polls it; asking costs no read of the journal's tables)."""
        return int(self.db.execute("PRAGMA data_version").fetchone()[0])

    def last_write(self) -> float:
        """The newest time the journal records (a run, step, task, result or approval): how
        far behind it a reader is."""
        row = self.db.execute(
            "SELECT MAX(t) FROM (SELECT MAX(COALESCE(finished_at, started_at)) AS t FROM runs"
            " UNION ALL SELECT MAX(COALESCE(finished_at, started_at)) FROM steps"
            " UNION ALL SELECT MAX(started_at) FROM tasks"
            " UNION ALL SELECT MAX(finished_at) FROM host_results"
            " UNION ALL SELECT MAX(approved_at) FROM gate)"
        ).fetchone()
        return float(row[0] or 0.0)

    # --- runs, phases, steps ------------------------------------------------------------

    def run_ids(self) -> list[int]:
        return [int(r[0]) for r in self._rows("SELECT id FROM runs ORDER BY id")]

    def runs(self, upto: int | None = None) -> list[RunSpan]:
        limit = upto if upto is not None else 2**62
        phases: dict[int, list[PhaseSpan]] = {}
        steps: dict[tuple[int, str], list[StepSpan]] = {}
        for r in self._rows(
            "SELECT * FROM steps WHERE run_id <= ? ORDER BY started_at, rowid", (limit,)
        ):
            steps.setdefault((r["run_id"], r["phase"]), []).append(
                StepSpan(
                    r["run_id"],
                    r["phase"],
                    r["step_id"],
                    r["name"],
                    r["status"],
                    r["started_at"],
                    r["finished_at"],
                )
            )
        for r in self._rows(
            "SELECT * FROM phases WHERE run_id <= ? ORDER BY started_at, rowid", (limit,)
        ):
            phases.setdefault(r["run_id"], []).append(
                PhaseSpan(
                    r["run_id"],
                    r["phase"],
                    r["status"],
                    r["started_at"],
                    r["finished_at"],
                    tuple(steps.get((r["run_id"], r["phase"]), [])),
                )
            )
        return [
            RunSpan(
                r["id"],
                r["kind"],
                r["status"],
                r["started_at"],
                r["finished_at"],
                bool(r["resumed"]),
                bool(r["lab"]),
                r["message"] or "",
                tuple(phases.get(r["id"], [])),
            )
            for r in self._rows("SELECT * FROM runs WHERE id <= ? ORDER BY id", (limit,))
        ]

    def timeline(self, run_id: int | None = None) -> Timeline:
        """The report's runs: `run_id` (default the last), its attempt and the history before.

        An attempt starts after the last rollback that succeeded before the run: a rollback
        starts the wave over, and a rollback's report shows the attempt it undid."""
        runs = self.runs(run_id)
        if not runs or (run_id is not None and runs[-1].id != run_id):
            raise NotAJournal(f"{self.path}: no run {run_id} in this journal")
        run = runs[-1]
        epoch = max(
            (r.id for r in runs[:-1] if r.kind == "rollback" and r.status == "ok"), default=0
        )
        attempt = tuple(r for r in runs if r.id > epoch)
        history = tuple(r for r in runs if r.id <= epoch)
        return Timeline(run, attempt, history)

    def latest_task(self, run_id: int) -> LatestTask | None:
        """The run's last task started and the host of its last result (the live page's
        "now running"); None before the run started a task."""
        row = self.db.execute(
            "SELECT phase, step_id, task_uuid, name, started_at FROM tasks WHERE run_id = ?"
            " ORDER BY started_at DESC, rowid DESC LIMIT 1",
            (run_id,),
        ).fetchone()
        if row is None:
            return None
        host = self.db.execute(
            "SELECT host FROM host_results WHERE run_id = ? AND task_uuid = ?"
            " ORDER BY id DESC LIMIT 1",
            (run_id, row["task_uuid"]),
        ).fetchone()
        return LatestTask(
            row["phase"], row["step_id"], row["name"], float(row["started_at"]),
            str(host["host"]) if host else "",
        )  # fmt: skip

    # --- what moved ---------------------------------------------------------------------

    def host_results(self, run_ids: list[int], *, latest_ok: bool = False) -> list[HostResult]:
        """The results of these runs in order; `latest_ok`: only each task and host's last
        result that ended ok or changed (a step run again counts once)."""
        if not run_ids:
            return []
        marks = ",".join("?" * len(run_ids))
        rows = self._rows(
            f"SELECT * FROM host_results WHERE run_id IN ({marks}) ORDER BY id", tuple(run_ids)
        )
        out: dict[tuple[str, str, str, str] | int, HostResult] = {}
        for r in rows:
            try:
                raw = json.loads(r["counts"] or "{}")
            except ValueError:
                raw = {}
            counts = {str(k): v for k, v in raw.items()} if isinstance(raw, dict) else {}
            result = HostResult(
                r["run_id"],
                r["phase"],
                r["step_id"],
                r["task"],
                r["host"],
                r["status"],
                counts,
                r["message"] or "",
            )
            if not latest_ok:
                out[r["id"]] = result
            elif r["status"] in ("ok", "changed"):
                out[(r["phase"], r["step_id"], r["task"], r["host"])] = result
        return list(out.values())

    def counts(self, run_ids: list[int]) -> dict[str, dict[str, int]]:
        """Summed counts per phase over the latest ok result of each task and host."""
        out: dict[str, dict[str, int]] = {}
        for result in self.host_results(run_ids, latest_ok=True):
            bucket = out.setdefault(result.phase, {})
            for key, value in result.counts.items():
                number = _number(value)
                if number is not None:
                    bucket[key] = bucket.get(key, 0) + int(number)
        return out

    def shares(self, run_ids: list[int]) -> list[ShareFigures]:
        """Per share and copy phase: files and bytes transferred, and the step's seconds."""
        seconds: dict[tuple[str, str], float] = {}
        for run in self.runs(max(run_ids, default=0)):
            if run.id not in run_ids:
                continue
            for phase in run.phases:
                for step in phase.steps:
                    if step.status == "ok" and step.seconds is not None:
                        seconds[(step.phase, step.step_id)] = step.seconds
        figures: dict[tuple[str, str], list[int]] = {}
        for result in self.host_results(run_ids, latest_ok=True):
            parts = result.step_id.split(".", 2)
            if result.phase not in COPY_PHASES or len(parts) != 3 or parts[1] != "files":
                continue
            files = _number(result.counts.get("files_transferred"))
            size = _number(result.counts.get("bytes_transferred"))
            if files is None and size is None:
                continue
            total = figures.setdefault((result.phase, result.step_id), [0, 0])
            total[0] += int(files or 0)
            total[1] += int(size or 0)
        return [
            ShareFigures(
                step_id.split(".", 2)[2], phase, files, size, seconds.get((phase, step_id), 0.0)
            )
            for (phase, step_id), (files, size) in figures.items()
        ]

    def verification(self, run_ids: list[int]) -> list[HostResult]:
        """Every result of the verify phase and of the rollback's source check, as journaled."""
        return [
            r
            for r in self.host_results(run_ids)
            if r.phase == "verify" or r.step_id == "rollback.source-in-service"
        ]

    def failures(self, run_ids: list[int]) -> list[HostResult]:
        return [r for r in self.host_results(run_ids) if r.status in ("failed", "unreachable")]

    # --- the gate and the audit trail ---------------------------------------------------

    def gate(self, upto: int | None = None) -> GateDecision | None:
        """The go/no-go decision as it stood after run `upto` (default the last): the latest
        approval since the last rollback that succeeded, recorded before the next run began."""
        limit = upto if upto is not None else 2**62
        columns = {r[1] for r in self._rows("PRAGMA table_info(gate)")}
        after = self.db.execute("SELECT MIN(started_at) FROM runs WHERE id > ?", (limit,))
        before = after.fetchone()[0]
        row = self.db.execute(
            "SELECT * FROM gate WHERE COALESCE(run_id, 0) <= ? AND approved_at < ?"
            " AND approved_at >= COALESCE((SELECT MAX(finished_at) FROM runs"
            " WHERE kind='rollback' AND status='ok' AND id <= ?), 0) ORDER BY id DESC LIMIT 1",
            (limit, before if before is not None else float("inf"), limit),
        ).fetchone()
        if row is None:
            return None
        return GateDecision(
            str(row["approved_by"]),
            float(row["approved_at"]),
            bool(row["automatic"]),
            str(row["os_user"]) if "os_user" in columns else "",
            str(row["host"]) if "host" in columns else "",
            row["run_id"],
        )

    def audit(self) -> AuditTrail:
        """The audit trail (eendracht.audit) with its verdict, when the journal has one."""
        exists = self.db.execute(
            "SELECT 1 FROM sqlite_master WHERE type='table' AND name='audit'"
        ).fetchone()
        if not exists:
            return AuditTrail(False)
        trail = audit.records(self.db)
        verdict = audit.verify(self.db)
        rows = tuple(tuple(getattr(r, c) for c in AUDIT_COLUMNS) for r in trail)
        return AuditTrail(True, AUDIT_COLUMNS, rows, verdict.intact, verdict.reason)


def open_view(path: Path) -> JournalView:
    """A read-only view of the journal at `path` (a journal.sqlite, or a folder holding one).

    Raises NotAJournal, naming the file, when it is missing or not a wave journal."""
    if path.is_dir():
        path = path / JOURNAL
    if not path.is_file():
        raise NotAJournal(f"{path}: no such journal file")
    try:
        db = audit.open_read_only(path)
    except sqlite3.Error as exc:
        raise NotAJournal(f"{path}: cannot be opened as a journal ({exc})") from None
    db.row_factory = sqlite3.Row
    try:
        names = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    except sqlite3.DatabaseError as exc:
        db.close()
        raise NotAJournal(f"{path}: not a wave journal ({exc})") from None
    if missing := REQUIRED_TABLES - names:
        db.close()
        raise NotAJournal(f"{path}: not a wave journal (no table {', '.join(sorted(missing))})")
    return JournalView(path, db)
