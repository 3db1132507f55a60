"""One class around ansible-runner: runs the steps of a phase as one ansible-playbook, streams
its events into the journal.

Events arrive through ansible-runner's `event_handler` callback as Ansible emits them (no
polling of artifact files). A step is one step of the runbook (`eendracht plan`): the play of
its phase playbook for its tags, narrowed by its vars (`phase_playbook`); the journal marks it
started at its first play and done at the task that closes its last, so resuming skips exactly
the steps that finished.

No secret reaches Ansible through the environment and none is written by ansible-runner:
Ansible gets only the variables of `ansible_env.ansible_environment()` (an allow-list, not a
copy of eendracht's own environment), and of a step's artifacts only `stdout` (written here,
every line redacted), `rc` and `status` remain.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from ansible_runner.interface import init_runner

from eendracht.wave.ansible_env import ansible_environment, runner_environment
from eendracht.wave.journal import Journal
from eendracht.wave.leftovers import stop_leftovers
from eendracht.wave.paths import ANSIBLE_CFG
from eendracht.wave.phase_playbook import BOOKKEEPING, STEP_DONE, write_phase_playbook
from eendracht.wave.secrets import Redactor, scrub
from eendracht.wave.steps import WaveStep

COUNTS_KEY = "eendracht_counts"
RESULT_STATUS = {
    "runner_on_ok": "ok",
    "runner_on_failed": "failed",
    "runner_on_skipped": "skipped",
    "runner_on_unreachable": "unreachable",
}

# ansible-runner's settings, as env/settings (it reads settings only from there): stdout is
# written by the runner's event handler, redacted, not by ansible-runner.
RUNNER_SETTINGS = {"suppress_ansible_output": True, "suppress_output_file": True}
# Of a step's artifacts (<wave>/runner/artifacts/<ident>/) only these remain; `command` (with
# the environment), job_events (partial results), fact_cache and the like are removed.
KEPT_ARTIFACTS = frozenset({"stdout", "rc", "status"})


def prune_artifacts(artifacts: Path) -> None:
    """Every step's artifacts keep only `KEPT_ARTIFACTS` (also those a killed run left)."""
    if not artifacts.is_dir():
        return
    for ident in artifacts.iterdir():
        if not ident.is_dir() or ident.is_symlink():
            continue
        for entry in ident.iterdir():
            if entry.name in KEPT_ARTIFACTS and entry.is_file():
                continue
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry, ignore_errors=True)
            else:
                entry.unlink(missing_ok=True)


@dataclass
class Progress:
    """What the terminal shows; updated from events."""

    phase: str = ""
    step: str = ""
    task: str = ""
    host: str = ""
    counts: dict[str, int] = field(default_factory=dict)
    failed: list[str] = field(default_factory=list)


Listener = Callable[[Progress], None]


@dataclass
class StepResult:
    phase: str
    step_id: str
    rc: int
    status: str  # ok | failed
    failures: list[str]
    seconds: float


@dataclass
class _Running:
    step: WaveStep
    started: float  # monotonic
    failures: list[str]


class Runner:
    def __init__(
        self,
        *,
        journal: Journal,
        run_id: int,
        work_dir: Path,
        inventory: Path,
        extravars_file: Path,
        listener: Listener | None = None,
        ansible_cfg: Path = ANSIBLE_CFG,
        secret_values: tuple[str, ...] = (),
        check: bool = False,
        vault_password_file: Path | None = None,
    ) -> None:
        """`check`: every step runs in Ansible's check mode (`--check`): nothing changes.
        `vault_password_file`: Ansible opens the programme's vaulted group_vars with it (a path
        on the command line, never the password)."""
        self.check = check
        self.vault_password_file = vault_password_file
        self.secret_values = secret_values
        self.redact = Redactor(secret_values)
        self.journal = journal
        # Everything the journal writes is redacted too (run messages included).
        journal.add_secrets(secret_values)
        self.run_id = run_id
        self.work_dir = work_dir
        self.inventory = inventory
        self.extravars_file = extravars_file
        self.listener = listener
        self.ansible_cfg = ansible_cfg
        self.progress = Progress()
        self._phase = ""
        self._step = ""
        self._task_uuid = ""
        self._task = ""
        self._started: dict[tuple[str, str], float] = {}
        self._steps: dict[str, WaveStep] = {}
        self._step_of_play: dict[str, str] = {}
        self._results: list[StepResult] = []
        self._current: _Running | None = None
        self._timed_out: WaveStep | None = None
        self._stop = False
        self._ansible_pid = 0
        self._stdout: IO[str] | None = None

    # --- running --------------------------------------------------------------------

    def _cmdline(self) -> str:
        args = ["--check"] if self.check else []
        if self.vault_password_file is not None:
            args += ["--vault-password-file", str(self.vault_password_file.resolve())]
        return shlex.join(args)

    def run_step(self, step: WaveStep) -> StepResult:
        """One step in an ansible-playbook run of its own."""
        return self.run_steps([step])[0]

    def run_steps(self, steps: Sequence[WaveStep]) -> list[StepResult]:
        """Runs consecutive steps (of one phase) as one ansible-playbook run, a play or more each.

        Returns a result for every step that started, in order; the run stops at the first
        failing step (its plays are `any_errors_fatal`). A step is done when its last play's
        `STEP_DONE` task reports, so the journal marks each step as it finishes, not when the
        run ends. A step's `timeout` (seconds, the runbook's; 0 for none) counts from its
        first play: when it passes the run is cancelled and the step fails saying so.
        """
        if not steps:
            return []
        private = self.work_dir / "runner"
        (private / "env").mkdir(parents=True, exist_ok=True)
        label = steps[0].phase if len(steps) > 1 else steps[0].step_id
        book = write_phase_playbook(steps, private / "project" / f"{label}.yml")
        self._steps = {s.step_id: s for s in steps}
        self._step_of_play = book.step_of_play
        self._results = []
        self._current = None
        self._timed_out = None
        self._stop = False
        self._ansible_pid = 0
        # ansible-runner reads env/cmdline and env/envvars on every run when they exist: a check
        # run must leave no cmdline behind for the real one, and no environment may be kept (an
        # older eendracht had ansible-runner write it; suppress_env_files writes none now).
        for name in ("cmdline", "envvars", "passwords", "ssh_key", "extravars"):
            (private / "env" / name).unlink(missing_ok=True)
        prune_artifacts(private / "artifacts")
        fd = os.open(private / "env" / "settings", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(RUNNER_SETTINGS, handle)
        env = ansible_environment(self.ansible_cfg)
        # Extra vars go as `-e @file` (the wave's file, mode 0600): no vars on a command line.
        cmdline = f"{self._cmdline()} -e @{shlex.quote(str(self.extravars_file))}".strip()
        result = init_runner(
            private_data_dir=str(private),
            ident=f"{self.run_id}-{label}-{int(time.time())}",
            playbook=str(book.path),
            inventory=str(self.inventory),
            envvars=env,
            suppress_env_files=True,
            quiet=True,
            rotate_artifacts=8,
            event_handler=self._on_event,
            cancel_callback=self._past_deadline,
            cmdline=cmdline,
        )
        # ansible-runner seeds the environment with a copy of os.environ: replace it whole.
        result.config.env = runner_environment(result.config.env, env)
        stdout = Path(result.config.artifact_dir) / "stdout"
        fd = os.open(stdout, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        self._stdout = os.fdopen(fd, "w", encoding="utf-8")
        try:
            result.run()
        finally:
            self._stdout.close()
            self._stdout = None
            prune_artifacts(private / "artifacts")
        rc = int(result.rc if result.rc is not None else 1)
        if self._timed_out is not None:
            # ansible-runner stops ansible-playbook's group; Ansible's workers run in sessions
            # of their own, so what they started is stopped by the wave's folder too.
            stop_leftovers(self.work_dir)
        successful = rc == 0 and result.status == "successful"
        ended = "" if successful else f"ansible-playbook ended with status {result.status} rc {rc}"
        if self._timed_out is not None:
            ended = (
                f"{self._timed_out.step_id} timed out after {self._timed_out.timeout} s: "
                "ansible-playbook was stopped"
            )
        self._finish_current(ended)
        if all(r.status == "ok" for r in self._results) and len(self._results) < len(steps):
            # The run ended before the next step began (a syntax error, a kill): it failed.
            self._start(steps[len(self._results)])
            self._finish_current(ended or "ansible-playbook ended before the step began")
        return list(self._results)

    def _past_deadline(self) -> bool:
        """ansible-runner's cancel callback: the running step has passed its timeout."""
        if self._stop:
            return True
        current = self._current
        if current is None or not current.step.timeout:
            return False
        if time.monotonic() - current.started > current.step.timeout:
            self._timed_out = current.step
            return True
        return False

    def _start(self, step: WaveStep) -> None:
        if self._current is not None:
            if self._current.step.step_id == step.step_id:
                return  # the step's next play
            # The run went past the step's plays (one matched no host): nothing failed in it.
            self._finish_current()
        if self._results and self._results[-1].status != "ok":
            self._stop = True  # a failed step ends the run, whatever Ansible would do next
            return
        self._current = _Running(step, time.monotonic(), [])
        self._phase, self._step = step.phase, step.step_id
        self.progress.phase, self.progress.step = step.phase, step.step_id
        self.progress.task = self.progress.host = ""
        self.journal.start_step(self.run_id, step.phase, step.step_id, step.title)
        if self._ansible_pid:
            self.journal.set_ansible_pid(self.run_id, step.step_id, self._ansible_pid)
        self._notify()

    def _finish_current(self, ended: str = "") -> None:
        """Ends the running step: ok when nothing failed. `ended` says how the run ended when
        it ended inside the step (a failure for anything but a successful end)."""
        current = self._current
        if current is None:
            return
        self._current = None
        failures = current.failures
        if ended and self._timed_out is current.step:
            failures.insert(0, ended)
        elif ended and not failures:
            failures.append(ended)
        status = "failed" if failures else "ok"
        step = current.step
        self.journal.finish_step(self.run_id, step.phase, step.step_id, status)
        self._results.append(
            StepResult(
                step.phase,
                step.step_id,
                0 if status == "ok" else 1,
                status,
                list(failures),
                time.monotonic() - current.started,
            )
        )

    # --- events ---------------------------------------------------------------------

    def _notify(self) -> None:
        if self.listener is not None:
            self.listener(self.progress)

    def _on_event(self, event: dict[str, Any]) -> bool:
        kind = str(event.get("event", ""))
        data = event.get("event_data") or {}
        text = event.get("stdout")
        if self._stdout is not None and isinstance(text, str) and text and text != "{}":
            self._stdout.write(self.redact(text) + "\n")
            self._stdout.flush()
        if kind == "playbook_on_start" and isinstance(event.get("pid"), int):
            self._ansible_pid = int(event["pid"])  # journaled with each step
        handler = getattr(self, f"_ev_{kind}", None)
        if handler is not None:
            handler(data)
        elif kind in RESULT_STATUS:
            self._host_result(kind, data)
        # False: ansible-runner keeps no job_events copy; the journal is the record.
        return False

    def _ev_playbook_on_play_start(self, data: dict[str, Any]) -> None:
        step_id = self._step_of_play.get(str(data.get("name") or data.get("play") or ""))
        if step_id is not None:
            self._start(self._steps[step_id])

    def _ev_playbook_on_task_start(self, data: dict[str, Any]) -> None:
        if str(data.get("task") or data.get("name") or "").startswith(BOOKKEEPING):
            return
        self._task_uuid = str(data.get("task_uuid") or data.get("uuid") or "")
        self._task = self.redact(str(data.get("task") or data.get("name") or ""))
        self.journal.record_task(
            self.run_id,
            self._phase,
            self._step,
            self._task_uuid,
            self._task,
            str(data.get("task_action") or ""),
        )
        self.progress.task = self._task
        self._notify()

    def _ev_runner_on_start(self, data: dict[str, Any]) -> None:
        host = self.redact(str(data.get("host") or ""))
        self._started[(host, str(data.get("task_uuid") or self._task_uuid))] = time.time()
        self.progress.host = host
        self._notify()

    def _host_result(self, kind: str, data: dict[str, Any]) -> None:
        if str(data.get("task") or "").startswith(BOOKKEEPING):
            if kind == "runner_on_ok" and data.get("task") == STEP_DONE:
                self._finish_current()
            return
        host = self.redact(str(data.get("host") or ""))
        task = self.redact(str(data.get("task") or self._task))
        task_uuid = str(data.get("task_uuid") or self._task_uuid)
        res = data.get("res") or {}
        status = RESULT_STATUS[kind]
        if status == "ok" and res.get("changed"):
            status = "changed"
        counts = result_counts(res)
        message = ""
        if status in ("failed", "unreachable"):
            message = _message(res, self.redact)
            if data.get("ignore_errors"):
                status = "ignored"
            else:
                failure = self.redact(f"{self._step} / {task} @ {host}: {message}")
                if self._current is not None:
                    self._current.failures.append(failure)
                self.progress.failed.append(host)
        self.journal.record_host_result(
            self.run_id,
            self._phase,
            self._step,
            task_uuid=task_uuid,
            task=task,
            host=host,
            status=status,
            started_at=self._started.pop((host, task_uuid), None),
            finished_at=time.time(),
            counts=counts,
            message=message,
        )
        if counts and status in ("ok", "changed"):
            for key, value in counts.items():
                if isinstance(value, int | float):
                    self.progress.counts[key] = self.progress.counts.get(key, 0) + int(value)
            self._notify()


def result_counts(res: Any) -> dict[str, int]:
    """eendracht_counts of a result, summed over the items of a loop."""
    if not isinstance(res, dict):
        return {}
    parts = [res] + [r for r in res.get("results") or [] if isinstance(r, dict)]
    out: dict[str, int] = {}
    for part in parts:
        counts = part.get(COUNTS_KEY)
        if not isinstance(counts, dict):
            continue
        for key, value in counts.items():
            if isinstance(value, int | float) and not isinstance(value, bool):
                out[key] = out.get(key, 0) + int(value)
    return out


def redact(text: str, secrets: tuple[str, ...]) -> str:
    return Redactor(secrets)(text)


def _message(res: Any, redact: Callable[[str], str]) -> str:
    """A failed result's message, one line; every part is redacted before it is cut short, so
    no part of a secret survives the cut."""
    if not isinstance(res, dict):
        return ""
    if res.get("censored"):
        return redact(str(res["censored"]))
    parts = [redact(str(res.get("msg") or ""))]
    for key in ("stderr", "module_stderr"):
        if res.get(key):
            parts.append(redact(str(res[key]))[-500:])
    failed_items = [r for r in res.get("results") or [] if isinstance(r, dict) and r.get("failed")]
    for item in failed_items[:3]:  # a loop's own msg only says "One or more items failed"
        label = redact(str(item.get("_ansible_item_label", item.get("item", ""))))
        parts.append(f"[{label[:80]}] {redact(str(item.get('msg', '')))}".strip())
    text = " ".join(p for p in parts if p).strip()
    return redact(json.dumps(scrub(text))[1:-1])[:1000]
