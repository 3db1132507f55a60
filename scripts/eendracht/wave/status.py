"""`eendracht wave status`: phases, steps, timings and counts from the journal."""

from __future__ import annotations

import datetime as dt
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from eendracht.display_text import shown
from eendracht.wave.display import human_bytes
from eendracht.wave.journal import Journal


def _when(ts: float | None) -> str | None:
    if ts is None:
        return None
    return dt.datetime.fromtimestamp(ts, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _seconds(start: float | None, end: float | None) -> float | None:
    return round(end - start, 2) if start is not None and end is not None else None


def wave_status(journal: Journal, programme: str, municipality: str) -> dict[str, Any]:
    runs = journal.runs()
    epoch = journal.epoch_start()
    done = journal.done_steps()
    approval = journal.approval()
    last = runs[-1] if runs else None
    if approval:
        state = "complete"
    elif last is None:
        state = "not started"
    else:
        state = str(last["status"])
        if last["kind"] == "rollback" and last["status"] == "ok":
            state = "rolled back"
    phases = []
    for row in journal.phases():
        phases.append(
            {
                "run": row["run_id"],
                "phase": row["phase"],
                "status": row["status"],
                "started": _when(row["started_at"]),
                "seconds": _seconds(row["started_at"], row["finished_at"]),
            }
        )
    steps = []
    for row in journal.steps():
        steps.append(
            {
                "run": row["run_id"],
                "phase": row["phase"],
                "step": row["step_id"],
                "status": row["status"],
                "started": _when(row["started_at"]),
                "seconds": _seconds(row["started_at"], row["finished_at"]),
            }
        )
    return {
        "programme": programme,
        "municipality": municipality,
        "state": state,
        "steps_done": sorted(k.step_id for k in done),
        "gate": (
            {
                "approved_by": approval["approved_by"],
                "approved_at": _when(approval["approved_at"]),
                "automatic": bool(approval["automatic"]),
            }
            if approval
            else None
        ),
        "runs": [
            {
                "id": r["id"],
                "kind": r["kind"],
                "status": r["status"],
                "started": _when(r["started_at"]),
                "seconds": _seconds(r["started_at"], r["finished_at"]),
                "resumed": bool(r["resumed"]),
                "message": r["message"],
            }
            for r in runs
        ],
        "phases": phases,
        "steps": steps,
        "counts": journal.counts(since_run=epoch),
    }


def print_status(console: Console, status: dict[str, Any]) -> None:
    # What the journal holds may quote a tool's output: shown as written, never as markup.
    console.print(
        Text.assemble(
            (f"{shown(status['programme'])} / {shown(status['municipality'])}", "bold"),
            ": ",
            shown(status["state"]),
        ),
        highlight=False,
    )
    if status["gate"]:
        gate = status["gate"]
        console.print(
            Text(f"go/no-go approved by {shown(gate['approved_by'])} at {gate['approved_at']}")
        )
    table = Table("run", "phase", "step", "status", "started", "seconds")
    for step in status["steps"]:
        table.add_row(
            str(step["run"]),
            Text(shown(step["phase"])),
            Text(shown(step["step"])),
            Text(shown(step["status"])),
            step["started"] or "",
            "" if step["seconds"] is None else f"{step['seconds']:.1f}",
        )
    console.print(table)
    for phase, counts in status["counts"].items():
        figures = ", ".join(
            f"{k}={human_bytes(v) if k.startswith('bytes') else v}"
            for k, v in sorted(counts.items())
        )
        console.print(Text(shown(f"{phase}: {figures}")), highlight=False)
