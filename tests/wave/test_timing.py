"""Where a wave's time went, read back from the journal: each phase's work and overhead."""

from __future__ import annotations

import os
from pathlib import Path

from eendracht.wave.journal import Journal
from eendracht.wave.timing import phase_times


def _result(
    journal: Journal, run: int, phase: str, task: str, host: str, start: float, end: float
) -> None:
    journal.record_host_result(
        run, phase, f"{phase}.x", task_uuid=task, task=task, host=host, status="ok",
        started_at=start, finished_at=end, counts={},
    )  # fmt: skip


def test_work_is_each_task_from_its_first_host_to_its_last_and_the_rest_overhead(
    tmp_path: Path,
) -> None:
    journal = Journal(tmp_path / "journal.sqlite")
    run = journal.start_run("wave", os.getpid(), lab=True)
    journal.start_phase(run, "presync")
    journal.start_step(run, "presync", "presync.a", "a")
    journal.start_step(run, "presync", "presync.b", "b")
    # Two hosts of one task overlap (100-103 and 101-104: 4 s of work, not 6), a second task
    # on one host takes 2 s; a result without a start (a skip) adds no work.
    _result(journal, run, "presync", "t1", "nw-srv01", 100.0, 103.0)
    _result(journal, run, "presync", "t1", "nw-srv02", 101.0, 104.0)
    _result(journal, run, "presync", "t2", "nw-srv01", 105.0, 107.0)
    journal.record_host_result(
        run, "presync", "presync.b", task_uuid="t3", task="t3", host="nw-srv01",
        status="skipped", started_at=None, finished_at=108.0, counts={},
    )  # fmt: skip
    journal.db.execute("UPDATE phases SET started_at=99.0, finished_at=109.0")
    journal.start_phase(run, "freeze")  # still running: not reported
    [presync] = phase_times(journal, [run])
    assert (presync.phase, presync.steps) == ("presync", 2)
    assert presync.seconds == 10.0 and presync.work == 6.0 and presync.overhead == 4.0
    assert phase_times(journal, []) == []
    other = journal.start_run("rollback", os.getpid(), lab=True)
    assert phase_times(journal, [other]) == []
    journal.close()
