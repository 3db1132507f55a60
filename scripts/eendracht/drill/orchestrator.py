"""A fallback drill: preflight, failover, fail-back; journaled like a wave, resumable, locked.

A drill holds its own lock and the lock of every wave of the programme in that environment:
a drill is refused while a wave runs, and no wave starts during a drill. Its steps are the
plays of `playbooks/drill.yml` (eendracht.plan.drill); between them the drill runs its own
instruments: the write load during the outage, the RPO count after the failover, RTO from the
journal's times. A drill interrupted anywhere continues with `--resume` where it stopped.
"""

from __future__ import annotations

import json
import os
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eendracht.drill import endpoints, load, measure
from eendracht.drill.figures import drill_figures
from eendracht.drill.report import write_report
from eendracht.drill.sites import SiteError, Sites
from eendracht.environment import Environment
from eendracht.environment.load import load_drill_environment
from eendracht.environment.secrets import secret_values_of
from eendracht.plan.drill import DRILL_PHASES, DRILL_PLAYBOOK, DRILL_STEPS, DrillStep
from eendracht.programme.loader import load_programme
from eendracht.programme.models import Programme
from eendracht.wave.context import write_inventory, write_private_json
from eendracht.wave.journal import Journal
from eendracht.wave.leftovers import stop_leftovers
from eendracht.wave.lock import WaveLock, WaveLocked
from eendracht.wave.orchestrator import EXIT_FAILED, EXIT_LOCKED, EXIT_OK, EXIT_REFUSED
from eendracht.wave.paths import JOURNAL, PLAYBOOKS, drill_dir, wave_dir
from eendracht.wave.runner import Listener, Runner, StepResult
from eendracht.wave.secrets import Redactor
from eendracht.wave.steps import WaveStep

OUTAGE_TASK = "The primary site goes down as in a real outage"


@dataclass
class DrillOutcome:
    status: str  # complete | failed | refused | locked
    exit_code: int
    message: str
    drill: int = 0  # the drill's number: its first run's id
    steps: list[StepResult] = field(default_factory=list)
    report: Path | None = None


class Drill:
    def __init__(
        self,
        programme_path: Path,
        *,
        environment: Path,
        lab: bool = False,
        state: Path | None = None,
        playbooks: Path = PLAYBOOKS,
        listener: Listener | None = None,
        programme: Programme | None = None,
    ) -> None:
        """Checks the programme and the environment (ProblemsFound); writes nothing."""
        self.programme = programme or load_programme(programme_path)
        self.env: Environment = load_drill_environment(environment, self.programme)
        self.sites = Sites.of(self.env)
        self.lab = lab
        self.state = state
        self.playbooks = playbooks
        self.listener = listener
        self.dir = drill_dir(self.env, self.programme.name, state)
        self._journal: Journal | None = None

    @property
    def journal(self) -> Journal:
        if self._journal is None:
            self.dir.mkdir(parents=True, exist_ok=True)
            self._journal = Journal(self.dir / JOURNAL)
        return self._journal

    def close(self) -> None:
        if self._journal is not None:
            self._journal.close()
            self._journal = None

    # --- what the drill knows of earlier runs ----------------------------------------

    def _number(self) -> int:
        """The current drill: the first run after the last completed one (0: none yet)."""
        runs = [r for r in self.journal.runs() if r["kind"] == "drill"]
        last_ok = max((int(r["id"]) for r in runs if r["status"] == "ok"), default=0)
        later = [int(r["id"]) for r in runs if int(r["id"]) > last_ok]
        return min(later, default=0)

    def _done(self, number: int) -> set[str]:
        if not number:
            return set()
        return {k.step_id for k in self.journal.done_steps(kind="drill", since=number - 1)}

    def folder(self, number: int) -> Path:
        return self.dir / f"drill-{number}"

    # --- locks ---------------------------------------------------------------------------

    def _locks(self, stack: ExitStack) -> str:
        """Takes the drill's lock and every wave's; returns why not ("" when held)."""
        try:
            stack.enter_context(WaveLock(self.dir / "drill.lock", "the drill"))
        except WaveLocked as exc:
            return f"another drill of {self.programme.name} runs ({exc.holder.describe()})"
        for name in self.programme.municipalities:
            lock = WaveLock(
                wave_dir(self.env, self.programme.name, name, self.state) / "wave.lock", name
            )
            try:
                stack.enter_context(lock)
            except WaveLocked as exc:
                return f"the wave of {name} runs ({exc.holder.describe()}): no drill during a wave"
        return ""

    # --- the run -------------------------------------------------------------------------

    def run(self, *, resume: bool = False, force: bool = False) -> DrillOutcome:
        with ExitStack() as stack:
            self.dir.mkdir(parents=True, exist_ok=True)
            if why := self._locks(stack):
                if (self.dir / JOURNAL).exists():
                    self.journal.audit("drill", "refused (locked)")
                return DrillOutcome("locked", EXIT_LOCKED, why)
            try:
                return self._run_locked(resume, force)
            finally:
                self.close()

    def _refused(self, message: str) -> DrillOutcome:
        if (self.dir / JOURNAL).exists():
            self.journal.audit("drill", "refused")
        return DrillOutcome("refused", EXIT_REFUSED, message)

    def _run_locked(self, resume: bool, force: bool) -> DrillOutcome:
        has_journal = (self.dir / JOURNAL).exists()
        number = self._number() if has_journal else 0
        done = self._done(number)
        if number and not resume:
            return self._refused(
                f"drill {number} did not finish (done: {', '.join(sorted(done)) or 'nothing'}); "
                "continue it with --resume"
            )
        if resume and not number:
            return self._refused("no unfinished drill to resume")
        _, remaining = stop_leftovers(self.dir)
        if remaining:
            return self._refused(
                f"Ansible of an earlier drill still runs (pids {', '.join(map(str, remaining))})"
            )
        if "failover.outage" not in done:
            try:
                ready = measure.readiness(self.sites)
            except SiteError as exc:
                return self._refused(f"the primary site does not answer: {exc}")
            if not ready.in_sync and not force:
                return self._refused(
                    f"the fallback site is not in sync ({ready.describe()}): no failover "
                    "(--force fails over anyway and measures what is lost)"
                )
        run_id = self.journal.start_run("drill", os.getpid(), self.lab, resumed=resume)
        number = number or run_id
        folder = self.folder(number)
        folder.mkdir(parents=True, exist_ok=True)
        runner = self._runner(run_id, number, folder, force)
        results: list[StepResult] = []
        for phase in DRILL_PHASES:
            todo = [s for s in DRILL_STEPS if s.phase == phase and s.id not in done]
            try:
                ran = self._run_phase(runner, run_id, phase, todo, number, done)
            except SiteError as exc:  # the drill's own instruments: its load, its counts
                ran, message = [], f"phase {phase}: {exc}"
            else:
                message = ""
            results += ran
            failed = [r for r in ran if r.status != "ok"]
            if failed:
                message = f"step {failed[0].step_id} failed: " + "; ".join(failed[0].failures[:3])
            elif len(ran) < len(todo) and not message:
                message = f"phase {phase} stopped early"
            if message:
                self.journal.finish_run(run_id, "failed", message)
                return DrillOutcome(
                    "failed", EXIT_FAILED, message + " (fix it, then --resume)", number, results,
                    self._report(number),
                )  # fmt: skip
        message = self._summary(number)
        self.journal.finish_run(run_id, "ok", message)
        return DrillOutcome("complete", EXIT_OK, message, number, results, self._report(number))

    def _run_phase(
        self,
        runner: Runner,
        run_id: int,
        phase: str,
        todo: list[DrillStep],
        number: int,
        done: set[str],
    ) -> list[StepResult]:
        """The steps of a phase as one ansible-playbook; the failover's under the write load
        (until the outage ends it), and RPO counted once it passed (or, resumed, once)."""
        if not todo:
            ran: list[StepResult] = []
        elif phase == "failover" and "failover.outage" not in done:
            load.prepare(self.sites)
            with load.WriteLoad(self.sites, number, self.folder(number) / "acks.log") as writes:
                writes.wait_for_first()
                ran = self._phase(runner, run_id, phase, todo)
        else:
            ran = self._phase(runner, run_id, phase, todo)
        if phase == "failover" and len(ran) == len(todo) and all(r.status == "ok" for r in ran):
            self._measure_rpo(number, self.folder(number))
        return ran

    def _phase(
        self, runner: Runner, run_id: int, phase: str, todo: list[DrillStep]
    ) -> list[StepResult]:
        self.journal.start_phase(run_id, phase)
        ran = runner.run_steps([self._wave_step(s) for s in todo])
        failed = any(r.status != "ok" for r in ran) or len(ran) < len(todo)
        self.journal.finish_phase(run_id, phase, "failed" if failed else "ok")
        return ran

    def _wave_step(self, step: DrillStep) -> WaveStep:
        site = step.site or "fallback"
        extra: dict[str, Any] = {"drill_site": site}
        moved = endpoints.moved_municipalities(self.env, self.programme, self.state)
        extra["drill_endpoints"] = {
            **endpoints.checks(site, self.sites.fallback, self.programme, moved),
            "primary_ports": endpoints.primary_ports(self.env, self.sites.fallback),
            "directory": endpoints.directory(self.env, site),
        }
        return WaveStep(
            phase=step.phase,
            step_id=step.id,
            title=step.title,
            playbook=self.playbooks / Path(DRILL_PLAYBOOK).name,
            tags=(step.tag,),
            extra_vars=extra,
            timeout=step.timeout,
        )

    def _runner(self, run_id: int, number: int, folder: Path, force: bool) -> Runner:
        fallback = self.sites.fallback.model_dump(mode="json")
        fallback["traffic_manager"]["tsig_key_file"] = str(
            self.env.path(self.sites.fallback.traffic_manager.tsig_key.file)
        )
        fallback["files"]["status_file"] = (
            str(self.env.path(fallback["files"]["status_file"]))
            if fallback["files"]["status_file"]
            else ""
        )
        extravars = {
            "fallback": fallback,
            "postgres_passfile": str(self.sites.passfile),
            "drill_dir": str(folder),
            "drill_run": number,
            "drill_force": force,
            "programme_name": self.programme.name,
        }
        extravars_file = folder / "extravars.json"
        write_private_json(extravars_file, extravars)
        secrets = self._secret_values()
        return Runner(
            journal=self.journal,
            run_id=run_id,
            work_dir=self.dir,
            inventory=write_inventory(self.programme, self.env, self.dir / "inventory"),
            extravars_file=extravars_file,
            listener=self.listener,
            secret_values=secrets,
        )

    def _secret_values(self) -> tuple[str, ...]:
        found: set[str] = set()
        for path in (
            self.sites.passfile,
            self.env.path(self.sites.fallback.traffic_manager.tsig_key.file),
        ):
            try:
                found |= secret_values_of(path.read_text(encoding="utf-8"))
            except OSError:
                continue
        return tuple(sorted(found))

    # --- measurements --------------------------------------------------------------------

    def _measure_rpo(self, number: int, folder: Path) -> None:
        path = folder / "rpo.json"
        if path.exists():
            return
        acks = load.Acks.read(folder / "acks.log")
        result = measure.rpo(self.sites, number, acks)
        path.write_text(json.dumps(result.to_json(), indent=2) + "\n", encoding="utf-8")

    def figures(self, number: int) -> dict[str, Any]:
        """RTO and RPO of a drill, and the time of every step, from the journal and its files."""
        return drill_figures(self.journal, number, self.folder(number), OUTAGE_TASK)

    def _summary(self, number: int) -> str:
        f = self.figures(number)
        rpo = f.get("rpo") or {}
        return (
            f"drill {number} complete: RTO {f['rto_seconds']} s; RPO {rpo.get('rows_missing', '?')} "
            f"of {rpo.get('rows_acknowledged', '?')} committed transactions, "
            f"{rpo.get('files_missing', '?')} of {rpo.get('files_acknowledged', '?')} files "
            f"({self.sites.fallback.replication} replication)"
        )

    def _report(self, number: int) -> Path:
        return write_report(self, number, Redactor(self._secret_values()))
