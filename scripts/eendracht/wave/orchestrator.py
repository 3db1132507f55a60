"""A wave: the phases of one municipality in order, under its lock, journaled, resumable.

After verify comes the go/no-go gate; until it is passed `rollback` restores the source side.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path

from eendracht.plan import Runbook, build_runbook
from eendracht.programme.loader import load_programme
from eendracht.programme.models import Programme
from eendracht.wave.context import WaveContext, build_context
from eendracht.wave.journal import Journal
from eendracht.wave.lock import WaveLock
from eendracht.wave.paths import PLAYBOOKS, wave_dir
from eendracht.wave.runner import Listener, Runner, StepResult
from eendracht.wave.steps import WaveStep, rollback_steps, wave_steps

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_REFUSED = 2
EXIT_LOCKED = 3


@dataclass
class WaveOutcome:
    status: str  # complete | at_gate | stopped | failed | rolled_back | refused
    exit_code: int
    message: str
    run_id: int = 0
    steps: list[StepResult] = field(default_factory=list)


def _ansible_process(pid: int) -> bool:
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
    return b"ansible" in cmdline


def group_members(pgid: int) -> list[int]:
    """Processes of a process group that are still Ansible (its forked workers included)."""
    members = []
    for stat_file in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat_file.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        pid = int(stat_file.parent.name)
        if int(fields[2]) == pgid and _ansible_process(pid):
            members.append(pid)
    return members


def stop_leftover(pid: int | None, timeout: float = 10.0) -> bool:
    """An ansible-playbook (or its workers) left running by a killed run is stopped first.

    pexpect makes ansible-playbook a session leader, so its pid is its process group's id.
    """
    if not pid or not group_members(pid):
        return False
    for sig in (signal.SIGTERM, signal.SIGKILL):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, sig)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and group_members(pid):
            time.sleep(0.1)
        if not group_members(pid):
            break
    return True


class Wave:
    def __init__(
        self,
        programme_path: Path,
        municipality: str,
        *,
        lab: bool = False,
        state: Path | None = None,
        playbooks: Path = PLAYBOOKS,
        outputs_file: Path | None = None,
        listener: Listener | None = None,
        programme: Programme | None = None,
    ) -> None:
        self.programme = programme or load_programme(programme_path)
        self.programme.municipality(municipality)  # KeyError with the known names
        self.municipality = municipality
        self.lab = lab
        self.state = state
        self.playbooks = playbooks
        self.outputs_file = outputs_file
        self.listener = listener
        self.dir = wave_dir(self.programme.name, municipality, state, lab=lab)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.journal = Journal(self.dir / "journal.sqlite")
        self.lock = WaveLock(self.dir / "wave.lock", municipality)

    def close(self) -> None:
        self.journal.close()

    def context(self) -> WaveContext:
        return build_context(
            self.programme,
            self.municipality,
            self.dir,
            lab=self.lab,
            state=self.state,
            outputs_file=self.outputs_file,
        )

    def _runner(self, run_id: int, ctx: WaveContext) -> Runner:
        return Runner(
            journal=self.journal,
            run_id=run_id,
            work_dir=self.dir,
            inventory=ctx.inventory,
            extravars_file=ctx.extravars_file,
            listener=self.listener,
            secret_values=ctx.secret_values,
        )

    def _runbook(self, ctx: WaveContext) -> Runbook:
        return build_runbook(self.programme, self.municipality, ctx.mapping)

    def _execute(
        self, runner: Runner, run_id: int, steps: list[WaveStep], done: set[str]
    ) -> tuple[list[StepResult], str]:
        """Runs the steps not in `done` in order; returns the results and the first failure."""
        results: list[StepResult] = []
        phase = ""
        for step in steps:
            if step.step_id in done:
                continue
            if step.phase != phase:
                if phase:
                    self.journal.finish_phase(run_id, phase, "ok")
                phase = step.phase
                self.journal.start_phase(run_id, phase)
            result = runner.run_step(
                step.phase,
                step.step_id,
                step.title,
                step.playbook,
                step.tags,
                step.extra_vars,
                timeout=step.timeout,
            )
            results.append(result)
            if result.status != "ok":
                self.journal.finish_phase(run_id, phase, "failed")
                return results, f"step {step.step_id} failed: " + "; ".join(result.failures[:5])
        if phase:
            self.journal.finish_phase(run_id, phase, "ok")
        return results, ""

    # --- the wave -------------------------------------------------------------------

    def run(
        self, *, until: str | None = None, resume: bool = False, yes: bool = False
    ) -> WaveOutcome:
        """Runs under the lock; raises WaveLocked when another run holds it."""
        with self.lock:
            return self._run_locked(until=until, resume=resume, yes=yes)

    def _run_locked(self, *, until: str | None, resume: bool, yes: bool) -> WaveOutcome:
        approval = self.journal.approval()
        if approval:
            return WaveOutcome(
                "complete",
                EXIT_OK,
                f"the go/no-go gate was passed ({approval['approved_by']}); the wave is complete",
            )
        if resume:
            stop_leftover(self.journal.last_ansible_pid())
        ctx = self.context()
        steps = wave_steps(self._runbook(ctx), self.playbooks, until)
        run_id = self.journal.start_run("wave", os.getpid(), self.lab, until=until, resumed=resume)
        runner = self._runner(run_id, ctx)
        done = {k.step_id for k in self.journal.done_steps()} if resume else set()
        results, failure = self._execute(runner, run_id, steps, done)
        if failure:
            self.journal.finish_run(run_id, "failed", failure)
            return WaveOutcome("failed", EXIT_FAILED, failure, run_id, results)
        last_phase = steps[-1].phase if steps else ""
        if last_phase != "verify":
            self.journal.finish_run(run_id, "stopped", f"stopped after {last_phase} (--until)")
            return WaveOutcome("stopped", EXIT_OK, f"stopped after {last_phase}", run_id, results)
        if yes:
            self.journal.approve("rehearsal (--yes)", run_id, automatic=True)
            self.journal.finish_run(run_id, "ok", "gate approved automatically (--yes)")
            return WaveOutcome(
                "complete", EXIT_OK, "wave complete; gate approved (--yes)", run_id, results
            )
        message = (
            "verified; waiting at the go/no-go gate: eendracht wave approve "
            f"{self.programme.root} --municipality {self.municipality} --by NAME"
        )
        self.journal.finish_run(run_id, "at_gate", message)
        return WaveOutcome("at_gate", EXIT_OK, message, run_id, results)

    def verified(self) -> bool:
        """Every verify step finished since the last rollback."""
        done = self.journal.done_steps()
        verify_done = {k.step_id for k in done if k.phase == "verify"}
        runbook = build_runbook(self.programme, self.municipality)
        wanted = {s.id for s in runbook.steps() if s.phase.value == "verify"}
        return bool(verify_done) and wanted <= verify_done

    def approve(self, by: str) -> WaveOutcome:
        if not self.verified():
            return WaveOutcome("refused", EXIT_REFUSED, "verify has not passed; nothing to approve")
        existing = self.journal.approval()
        if existing:
            return WaveOutcome(
                "complete", EXIT_OK, f"already approved by {existing['approved_by']}"
            )
        self.journal.approve(by)
        return WaveOutcome("complete", EXIT_OK, f"go/no-go approved by {by}; the wave is complete")

    def rollback(self) -> WaveOutcome:
        with self.lock:
            approval = self.journal.approval()
            if approval:
                return WaveOutcome(
                    "refused",
                    EXIT_REFUSED,
                    f"the go/no-go gate was passed ({approval['approved_by']}): rollback is no "
                    "longer possible; fix forward",
                )
            stop_leftover(self.journal.last_ansible_pid())
            ctx = self.context()
            steps = rollback_steps(self._runbook(ctx), self.playbooks, self.journal.started_steps())
            run_id = self.journal.start_run("rollback", os.getpid(), self.lab)
            results, failure = self._execute(self._runner(run_id, ctx), run_id, steps, set())
            if failure:
                message = "rollback " + failure
                self.journal.finish_run(run_id, "failed", message)
                return WaveOutcome("failed", EXIT_FAILED, message, run_id, results)
            self.journal.finish_run(run_id, "ok", "source side restored and verified")
            return WaveOutcome(
                "rolled_back", EXIT_OK, "source side restored and verified", run_id, results
            )
