"""The figures of one drill, read back from its journal and its folder (nothing recomputed):

- RTO: from the moment the primary went away (the outage task's end) to the last passing
  chain test at the fallback (the end of `failover.verify`), across resumed runs;
- the fail-back's interruption: from the fallback's applications stopping (the start of
  `failback.switchback`) to the last passing check at the primary;
- RPO: what `rpo.json` counted after the failover;
- each step's status and duration (its latest attempt).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from eendracht.plan.drill import DRILL_STEPS
from eendracht.wave.journal import Journal


def _steps(journal: Journal, number: int) -> dict[str, dict[str, Any]]:
    rows = journal.db.execute(
        "SELECT s.step_id, s.status, s.started_at, s.finished_at, s.run_id FROM steps s "
        "JOIN runs r ON r.id = s.run_id WHERE r.kind = 'drill' AND r.id >= ? "
        "ORDER BY s.started_at, s.rowid",
        (number,),
    )
    latest: dict[str, dict[str, Any]] = {}
    for step_id, status, started, finished, run_id in rows:
        latest[step_id] = {
            "status": status,
            "started_at": started,
            "finished_at": finished,
            "seconds": round(finished - started, 2) if finished else None,
            "run": run_id,
        }
    return latest


def _outage_at(journal: Journal, number: int, task: str) -> float | None:
    row = journal.db.execute(
        "SELECT MAX(h.finished_at) FROM host_results h JOIN runs r ON r.id = h.run_id "
        "WHERE r.kind = 'drill' AND r.id >= ? AND h.step_id = 'failover.outage' "
        "AND h.task = ? AND h.status IN ('ok', 'changed')",
        (number, task),
    ).fetchone()
    return float(row[0]) if row and row[0] else None


def drill_figures(journal: Journal, number: int, folder: Path, outage_task: str) -> dict[str, Any]:
    steps = _steps(journal, number)
    outage = _outage_at(journal, number, outage_task)
    verified = steps.get("failover.verify", {})
    rto = None
    if outage and verified.get("status") == "ok":
        rto = round(verified["finished_at"] - outage, 2)
    switchback = steps.get("failback.switchback", {})
    back = steps.get("failback.verify", {})
    interruption = None
    if switchback.get("started_at") and back.get("status") == "ok":
        interruption = round(back["finished_at"] - switchback["started_at"], 2)
    rpo_file = folder / "rpo.json"
    rpo = json.loads(rpo_file.read_text(encoding="utf-8")) if rpo_file.exists() else None
    ordered = [
        {"id": s.id, "title": s.title, "phase": s.phase, "check": s.check,
         **steps.get(s.id, {"status": "not run", "seconds": None})}
        for s in DRILL_STEPS
    ]  # fmt: skip
    return {
        "drill": number,
        "outage_at": outage,
        "rto_seconds": rto,
        "failback_interruption_seconds": interruption,
        "rpo": rpo,
        "steps": ordered,
    }
