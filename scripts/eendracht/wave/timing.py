"""Where a wave's time went, per phase: the steps' own work and the orchestration around it.

A phase's **work** is the time its tasks ran: for each task, from the first host starting it
to the last host reporting (the module, its transfer and its interpreter included). Its
**overhead** is the rest of the phase's wall time: ansible-playbook start-up, inventory and
play set-up, the journal, the gaps between tasks. Read from the journal alone.
"""

from __future__ import annotations

from dataclasses import dataclass

from eendracht.wave.journal import Journal


@dataclass(frozen=True)
class PhaseTime:
    run_id: int
    phase: str
    seconds: float
    work: float
    steps: int

    @property
    def overhead(self) -> float:
        return max(0.0, self.seconds - self.work)


def phase_times(journal: Journal, run_ids: list[int]) -> list[PhaseTime]:
    """The finished phases of these runs, in the order they ran."""
    if not run_ids:
        return []
    marks = ",".join("?" * len(run_ids))
    work = {
        (row[0], row[1]): float(row[2] or 0.0)
        for row in journal.db.execute(
            "SELECT run_id, phase, SUM(d) FROM (SELECT run_id, phase,"
            " MAX(finished_at) - MIN(started_at) AS d FROM host_results"
            f" WHERE run_id IN ({marks}) AND started_at IS NOT NULL"
            " GROUP BY run_id, phase, task_uuid) GROUP BY run_id, phase",
            run_ids,
        )
    }
    steps = {
        (row[0], row[1]): int(row[2])
        for row in journal.db.execute(
            f"SELECT run_id, phase, COUNT(*) FROM steps WHERE run_id IN ({marks})"
            " GROUP BY run_id, phase",
            run_ids,
        )
    }
    return [
        PhaseTime(
            row[0],
            row[1],
            float(row[3] - row[2]),
            work.get((row[0], row[1]), 0.0),
            steps.get((row[0], row[1]), 0),
        )
        for row in journal.db.execute(
            "SELECT run_id, phase, started_at, finished_at FROM phases"
            f" WHERE run_id IN ({marks}) AND finished_at IS NOT NULL ORDER BY started_at",
            run_ids,
        )
    ]
