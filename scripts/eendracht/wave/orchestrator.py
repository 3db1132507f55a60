"""A wave: the phases of one municipality in order, under its lock, journaled, resumable.

A wave runs against an environment (`eendracht.environment`), whoever provides it. After
verify comes the go/no-go gate; until it is passed `rollback` restores the source side.
Each run tells the environment's notification channels (`eendracht.notify`) about its phases,
failed steps, the gate, approval and rollback, without ever waiting on them.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from eendracht.environment import Environment, load_environment
from eendracht.environment.load import secret_refs
from eendracht.environment.secrets import SecretFiles
from eendracht.identity import IdentityMapping
from eendracht.notify.events import EventKind
from eendracht.notify.notifier import Notifier
from eendracht.plan import Runbook, build_runbook
from eendracht.problems import Problem, ProblemsFound, display_path
from eendracht.programme.loader import load_programme
from eendracht.programme.models import Programme
from eendracht.wave.context import WaveContext, build_context, mapping_for
from eendracht.wave.journal import Journal
from eendracht.wave.leftovers import stop_leftovers
from eendracht.wave.lock import WaveLock, WaveLocked
from eendracht.wave.paths import JOURNAL, PLAYBOOKS, wave_dir
from eendracht.wave.runner import Listener, Runner, StepResult
from eendracht.wave.steps import WAVE_PHASES, WaveStep, rollback_steps, wave_steps

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_REFUSED = 2
EXIT_LOCKED = 3
# A check run goes no further: verify tests what a real run changed.
CHECK_UNTIL = "cutover"


@dataclass
class WaveOutcome:
    status: (
        str  # complete | at_gate | stopped | checked | failed | rolled_back | refused | prepared
    )
    exit_code: int
    message: str
    run_id: int = 0
    steps: list[StepResult] = field(default_factory=list)


@dataclass(frozen=True)
class Inputs:
    secrets: SecretFiles
    mapping: IdentityMapping


def _phases(steps: list[WaveStep]) -> list[tuple[str, list[WaveStep]]]:
    """Consecutive steps grouped by phase, in order."""
    out: list[tuple[str, list[WaveStep]]] = []
    for step in steps:
        if not out or out[-1][0] != step.phase:
            out.append((step.phase, []))
        out[-1][1].append(step)
    return out


def refused(message: str) -> WaveOutcome:
    return WaveOutcome("refused", EXIT_REFUSED, message)


class Wave:
    def __init__(
        self,
        programme_path: Path,
        municipality: str,
        *,
        environment: Path,
        rehearsal: bool = False,
        state: Path | None = None,
        playbooks: Path = PLAYBOOKS,
        listener: Listener | None = None,
        programme: Programme | None = None,
        vault_password_file: Path | None = None,
        per_step: bool = False,
    ) -> None:
        """Checks the programme and the environment; writes nothing until a command runs.

        `rehearsal` (the lab) is the only place the gate may approve itself (`--yes`).
        `vault_password_file` opens the programme's vaulted files for Ansible too.
        `per_step` starts ansible-playbook once per step instead of once per phase (the
        orchestration benchmark's baseline).
        """
        self.per_step = per_step
        self.vault_password_file = vault_password_file
        self.programme = programme or load_programme(programme_path)
        self.programme.municipality(municipality)  # KeyError with the known names
        self.municipality = municipality
        self.env: Environment = load_environment(environment, self.programme, municipality)
        self.rehearsal = rehearsal
        self.state = state
        self.playbooks = playbooks
        self.listener = listener
        self.dir = wave_dir(self.env, self.programme.name, municipality, state)
        self.lock = WaveLock(self.dir / "wave.lock", municipality)
        self._journal: Journal | None = None
        # Starts no thread until it has something to send; closed at the end of each command.
        self.notifier = Notifier.from_environment(self.env, self.programme.name, municipality)

    @property
    def journal(self) -> Journal:
        if self._journal is None:
            self._journal = Journal(self.dir / JOURNAL)
            # The webhook URLs are secrets: redacted from everything the journal writes.
            self._journal.add_secrets(self.notifier.secrets)
        return self._journal

    def _notify(self, kind: EventKind, run_id: int, run_kind: str, **fields: str) -> None:
        self.notifier.emit(kind, run_id=run_id, run_kind=run_kind, **fields)

    def has_run(self) -> bool:
        return (self.dir / JOURNAL).exists()

    def _refused(self, action: str, message: str, *, by: str = "") -> WaveOutcome:
        """A refusal, in the audit trail of a wave that has a journal (a wave that never ran
        gets none written for it: refused input writes nothing)."""
        if self.has_run():
            self.journal.audit(action, "refused", by=by)
        return refused(message)

    @contextmanager
    def _locked(self, action: str, *, by: str = "") -> Iterator[None]:
        """The wave's lock; a refusal because another run holds it is audited, then raised."""
        try:
            with self.lock:
                yield
        except WaveLocked:
            if self.has_run():
                self.journal.audit(action, "refused (locked)", by=by)
            raise

    def close(self) -> None:
        if self._journal is not None:
            self._journal.close()
            self._journal = None

    @contextmanager
    def _inputs(self) -> Iterator[Inputs]:
        """What a run reads before it writes anything (people from the source directories):
        a wrong credential refuses the run with nothing changed. Vault secrets exist (in
        memory-backed files) only inside it."""
        with SecretFiles(self.env, self.municipality) as secrets:
            yield Inputs(secrets, mapping_for(self.programme, self.municipality, self.env, secrets))

    def _context(self, inputs: Inputs) -> WaveContext:
        ctx = build_context(
            self.programme, self.municipality, self.env, inputs.secrets, self.dir, inputs.mapping
        )
        self.notifier.add_secrets(ctx.secret_values)
        return ctx

    def mapping(self) -> IdentityMapping:
        """The identity mapping this wave uses (people read from directories included)."""
        with self._inputs() as inputs:
            return inputs.mapping

    def _runner(self, run_id: int, ctx: WaveContext, check: bool = False) -> Runner:
        return Runner(
            check=check,
            vault_password_file=self.vault_password_file,
            journal=self.journal,
            run_id=run_id,
            work_dir=self.dir,
            inventory=ctx.inventory,
            extravars_file=ctx.extravars_file,
            listener=self.listener,
            secret_values=ctx.secret_values + self.notifier.secrets,
        )

    def _runbook(self, ctx: WaveContext) -> Runbook:
        return build_runbook(self.programme, self.municipality, ctx.mapping)

    def _stop_leftovers(self) -> str:
        """Before any run: Ansible left running by a killed run is stopped, or the run refused."""
        _, remaining = stop_leftovers(self.dir)
        if remaining:
            return (
                f"Ansible processes of an earlier run of this wave still run and could not be "
                f"stopped (pids {', '.join(map(str, remaining))}); stop them first"
            )
        return ""

    def _execute(
        self,
        runner: Runner,
        run_id: int,
        steps: list[WaveStep],
        done: set[str],
        *,
        keep_going: bool = False,
        run_kind: str = "wave",
    ) -> tuple[list[StepResult], list[str]]:
        """Runs the steps not in `done` in order; returns the results and the failures.

        The steps of a phase run as one ansible-playbook (`per_step`: one each). It stops at
        the first failure unless `keep_going` (rollback: every undo step runs; after a failure
        the phase goes on with the step after it).
        """
        results: list[StepResult] = []
        failures: list[str] = []
        todo = [s for s in steps if s.step_id not in done]
        for phase, group in _phases(todo):
            self.journal.start_phase(run_id, phase)
            self._notify("phase_started", run_id, run_kind, phase=phase)
            phase_failed = False
            while group:
                batch = group[:1] if self.per_step else group
                ran = runner.run_steps(batch)
                results += ran
                for result in ran:
                    if result.status != "ok":
                        phase_failed = True
                        failures.append(
                            f"step {result.step_id} failed: " + "; ".join(result.failures[:5])
                        )
                        self._notify(
                            "step_failed",
                            run_id,
                            run_kind,
                            status="failed",
                            phase=phase,
                            step=result.step_id,
                            message="; ".join(result.failures[:5]),
                        )
                if not ran or (phase_failed and not keep_going):
                    break
                group = group[len(ran) :]
            self.journal.finish_phase(run_id, phase, "failed" if phase_failed else "ok")
            self._notify(
                "phase_finished",
                run_id,
                run_kind,
                status="failed" if phase_failed else "ok",
                phase=phase,
            )
            if phase_failed and not keep_going:
                break
        return results, failures

    # --- the wave -------------------------------------------------------------------

    def run(
        self,
        *,
        until: str | None = None,
        resume: bool = False,
        yes: bool = False,
        check: bool = False,
    ) -> WaveOutcome:
        """Runs under the lock; raises WaveLocked when another run holds it.

        `check`: every step up to cutover in Ansible's check mode; nothing changes, and the
        run counts neither for resume, nor for the gate, nor for rollback.
        """
        if yes and not self.rehearsal:
            return refused("--yes approves the gate automatically: only on the lab (--lab)")
        if check and (yes or resume):
            return refused("--check runs every step without changing anything: no --yes, --resume")
        if check and WAVE_PHASES.index(until or CHECK_UNTIL) > WAVE_PHASES.index(CHECK_UNTIL):
            return refused(f"--check stops after {CHECK_UNTIL}: verify needs a real run")
        try:
            with self._inputs() as inputs, self._locked("check" if check else "run"):
                if check:
                    return self._check_locked(until or CHECK_UNTIL, inputs)
                return self._run_locked(inputs, until=until, resume=resume, yes=yes)
        finally:
            self.notifier.close()  # at most the drain budget

    def _check_locked(self, until: str, inputs: Inputs) -> WaveOutcome:
        if blocked := self._stop_leftovers():
            return self._refused("check", blocked)
        ctx = self._context(inputs)
        steps = wave_steps(self._runbook(ctx), self.playbooks, until)
        run_id = self.journal.start_run("check", os.getpid(), self.rehearsal, until=until)
        results, failures = self._execute(
            self._runner(run_id, ctx, check=True), run_id, steps, set(), run_kind="check"
        )
        if failures:
            self.journal.finish_run(run_id, "failed", failures[0])
            return WaveOutcome("failed", EXIT_FAILED, failures[0], run_id, results)
        message = f"checked {len(results)} steps up to {until}: nothing was changed"
        self.journal.finish_run(run_id, "ok", message)
        return WaveOutcome("checked", EXIT_OK, message, run_id, results)

    def _run_locked(
        self, inputs: Inputs, *, until: str | None, resume: bool, yes: bool
    ) -> WaveOutcome:
        approval = self.journal.approval()
        if approval:
            return WaveOutcome(
                "complete",
                EXIT_OK,
                f"the go/no-go gate was passed ({approval['approved_by']}); the wave is complete",
            )
        if blocked := self._stop_leftovers():
            return self._refused("run", blocked)
        ctx = self._context(inputs)
        steps = wave_steps(self._runbook(ctx), self.playbooks, until)
        run_id = self.journal.start_run(
            "wave", os.getpid(), self.rehearsal, until=until, resumed=resume
        )
        done = {k.step_id for k in self.journal.done_steps()} if resume else set()
        results, failures = self._execute(self._runner(run_id, ctx), run_id, steps, done)
        if failures:
            self.journal.finish_run(run_id, "failed", failures[0])
            return WaveOutcome("failed", EXIT_FAILED, failures[0], run_id, results)
        last_phase = steps[-1].phase if steps else ""
        if last_phase != "verify":
            self.journal.finish_run(run_id, "stopped", f"stopped after {last_phase} (--until)")
            return WaveOutcome("stopped", EXIT_OK, f"stopped after {last_phase}", run_id, results)
        if yes:
            self.journal.approve("rehearsal (--yes)", run_id, automatic=True)
            self._notify_approved(run_id, "wave")
            self.journal.finish_run(run_id, "ok", "gate approved automatically (--yes)")
            return WaveOutcome(
                "complete", EXIT_OK, "wave complete; gate approved (--yes)", run_id, results
            )
        message = (
            "verified; waiting at the go/no-go gate: eendracht wave approve "
            f"{self.programme.root} --municipality {self.municipality} --by APPROVER"
        )
        self.journal.finish_run(run_id, "at_gate", message)
        self._notify("gate_waiting", run_id, "wave", status="waiting", message=message)
        return WaveOutcome("at_gate", EXIT_OK, message, run_id, results)

    def _notify_approved(self, run_id: int, run_kind: str) -> None:
        """Who approved, and the operating-system user and host that recorded it (the journal's)."""
        approval = self.journal.approval() or {}
        self._notify(
            "approved",
            run_id,
            run_kind,
            actor=str(approval.get("approved_by") or ""),
            origin=f"{approval.get('os_user') or '?'}@{approval.get('host') or '?'}",
            message="the go/no-go gate is passed; rollback is no longer possible",
        )

    def verified(self) -> bool:
        """The latest verify passed in full and nothing failed after it."""
        runbook = build_runbook(self.programme, self.municipality)
        wanted = {s.id for s in runbook.steps() if s.phase.value == "verify"}
        return self.journal.verify_passed(wanted)

    def approve(self, by: str) -> WaveOutcome:
        approvers = self.programme.settings.go_no_go.approvers
        if by.casefold() not in {a.casefold() for a in approvers}:
            return self._refused(
                "approve",
                f"--by {by!r} is not an approver of the programme ({', '.join(approvers)})",
                by=by,
            )
        if not self.has_run():
            return refused(f"no wave of {self.municipality} has run in environment {self.env.name}")
        with self._locked("approve", by=by):
            existing = self.journal.approval()
            if existing:
                return WaveOutcome(
                    "complete", EXIT_OK, f"already approved by {existing['approved_by']}"
                )
            if not self.verified():
                return self._refused(
                    "approve",
                    "verify has not passed in full since the last failure; nothing to approve",
                    by=by,
                )
            self.journal.approve(by)
            waves = [r for r in self.journal.runs() if r["kind"] == "wave"]
            self._notify_approved(int(waves[-1]["id"]) if waves else 0, "approve")
        self.notifier.close()  # at most the drain budget, after the lock is released
        return WaveOutcome("complete", EXIT_OK, f"go/no-go approved by {by}; the wave is complete")

    def prepare(self) -> WaveOutcome:
        """Writes what a job started by another engine (AWX, docs/pipelines.md) reads, and runs
        nothing: the inventory, the identity map and the extra vars, in the wave's folder.

        Raises ProblemsFound, with nothing written, when a secret is kept in the environment's
        vault: its file would last only as long as this command, and the jobs come later."""
        vaulted = sorted(
            key for key, ref in secret_refs(self.env.spec, self.municipality).items() if ref.vault
        )
        if vaulted:
            raise ProblemsFound(
                [
                    Problem(
                        display_path(self.env.environment_file),
                        key,
                        "kept in the vault: a prepared wave hands later jobs paths, so give "
                        "this secret as a file (`file:`) on a path the jobs can read",
                    )
                    for key in vaulted
                ]
            )
        if self.has_run() and (approval := self.journal.approval()):
            return refused(f"the wave is complete (approved by {approval['approved_by']})")
        with self._inputs() as inputs, self._locked("prepare"):
            ctx = self._context(inputs)
            self.journal.audit("prepare", "ok")
        steps = len(self._runbook(ctx).steps())
        return WaveOutcome(
            "prepared",
            EXIT_OK,
            f"{steps} steps; the jobs read {ctx.extravars_file} and the inventory {ctx.inventory}",
        )

    def rollback(self) -> WaveOutcome:
        """Every undo step runs even when one fails; a second rollback completes the rest."""
        if not self.has_run():
            return refused(f"no wave of {self.municipality} has run in environment {self.env.name}")
        try:
            return self._rollback()
        finally:
            self.notifier.close()  # at most the drain budget

    def _rollback(self) -> WaveOutcome:
        with self._inputs() as inputs, self._locked("rollback"):
            approval = self.journal.approval()
            if approval:
                return self._refused(
                    "rollback",
                    f"the go/no-go gate was passed ({approval['approved_by']}): rollback is no "
                    "longer possible; fix forward",
                )
            if blocked := self._stop_leftovers():
                return self._refused("rollback", blocked)
            ctx = self._context(inputs)
            steps = rollback_steps(self._runbook(ctx), self.playbooks, self.journal.started_steps())
            run_id = self.journal.start_run("rollback", os.getpid(), self.rehearsal)
            results, failures = self._execute(
                self._runner(run_id, ctx),
                run_id,
                steps,
                set(),
                keep_going=True,
                run_kind="rollback",
            )
            if failures:
                message = (
                    f"rollback incomplete: {len(failures)} of {len(results)} steps failed "
                    f"(run rollback again to complete it): " + " | ".join(failures)
                )
                self.journal.finish_run(run_id, "failed", message)
                self._notify(
                    "rollback_failed", run_id, "rollback", status="failed", message=message
                )
                return WaveOutcome("failed", EXIT_FAILED, message, run_id, results)
            self.journal.finish_run(run_id, "ok", "source side restored and verified")
            self._notify(
                "rolled_back", run_id, "rollback", message="source side restored and verified"
            )
            return WaveOutcome(
                "rolled_back", EXIT_OK, "source side restored and verified", run_id, results
            )
