"""One class around ansible-runner: runs a phase playbook, streams its events into the journal.

Events arrive through ansible-runner's `event_handler` callback as Ansible emits them (no
polling of artifact files). A step is one play of a phase playbook; its id is the play's
first tag, so `--skip-tags` of finished steps is how a phase resumes.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import ansible_runner

from eendracht.wave.journal import Journal
from eendracht.wave.paths import ANSIBLE_CFG
from eendracht.wave.secrets import CENSORED, scrub

COUNTS_KEY = "eendracht_counts"
RESULT_STATUS = {
    "runner_on_ok": "ok",
    "runner_on_failed": "failed",
    "runner_on_skipped": "skipped",
    "runner_on_unreachable": "unreachable",
}


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
class PhaseResult:
    phase: str
    rc: int
    status: str  # ok | failed
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
    ) -> None:
        self.secret_values = secret_values
        self.journal = journal
        self.run_id = run_id
        self.work_dir = work_dir
        self.inventory = inventory
        self.extravars_file = extravars_file
        self.listener = listener
        self.ansible_cfg = ansible_cfg
        self.progress = Progress()
        self._phase = ""
        self._step = ""
        self._play_steps: dict[str, str] = {}
        self._task_uuid = ""
        self._task = ""
        self._started: dict[tuple[str, str], float] = {}
        self._failures: list[str] = []
        self._skip: set[str] = set()

    # --- running --------------------------------------------------------------------

    def run_phase(
        self,
        phase: str,
        playbook: Path,
        play_steps: dict[str, str],
        skip_steps: Sequence[str] = (),
        limit: str | None = None,
    ) -> PhaseResult:
        """Run one phase playbook; `play_steps` maps play name -> step id."""
        self._phase, self._step, self._play_steps = phase, "", play_steps
        self._skip = set(skip_steps)
        self._failures = []
        self.progress.phase, self.progress.step = phase, ""
        self.journal.start_phase(self.run_id, phase)
        self._notify()
        private = self.work_dir / "runner"
        (private / "env").mkdir(parents=True, exist_ok=True)
        # ansible-runner passes env/extravars as `-e @file`: no vars on a command line.
        extravars = private / "env" / "extravars"
        extravars.write_bytes(self.extravars_file.read_bytes())
        extravars.chmod(0o600)
        env = {
            "ANSIBLE_CONFIG": str(self.ansible_cfg),
            "ANSIBLE_NOCOLOR": "1",
            "PYTHONUNBUFFERED": "1",
        }
        for name in ("EENDRACHT_STATE", "HOME"):
            if name in os.environ:
                env[name] = os.environ[name]
        # ansible-playbook of this interpreter's environment, even when the venv is not active
        env["PATH"] = os.pathsep.join(
            [str(Path(sys.executable).parent), os.environ.get("PATH", "")]
        )
        result = ansible_runner.run(
            private_data_dir=str(private),
            ident=f"{self.run_id}-{phase}-{int(time.time())}",
            playbook=str(playbook),
            inventory=str(self.inventory),
            skip_tags=",".join(skip_steps) or None,
            limit=limit,
            envvars=env,
            quiet=True,
            rotate_artifacts=3,
            event_handler=self._on_event,
            settings={"suppress_ansible_output": True},
        )
        rc = int(result.rc if result.rc is not None else 1)
        ok = rc == 0 and result.status == "successful" and not self._failures
        for step_id in self.journal.running_steps(self.run_id, phase):
            self.journal.finish_step(self.run_id, phase, step_id, "ok" if ok else "failed")
        status = "ok" if ok else "failed"
        self.journal.finish_phase(self.run_id, phase, status, rc)
        if not ok and not self._failures:
            self._failures.append(f"ansible-playbook ended with status {result.status} rc {rc}")
        return PhaseResult(phase, rc, status, list(self._failures))

    # --- events ---------------------------------------------------------------------

    def _notify(self) -> None:
        if self.listener is not None:
            self.listener(self.progress)

    def _on_event(self, event: dict[str, Any]) -> bool:
        kind = str(event.get("event", ""))
        data = event.get("event_data") or {}
        handler = getattr(self, f"_ev_{kind}", None)
        if handler is not None:
            handler(data)
        elif kind in RESULT_STATUS:
            self._host_result(kind, data)
        # False: ansible-runner keeps no job_events copy; the journal is the record.
        return False

    def _ev_playbook_on_start(self, data: dict[str, Any]) -> None:
        pid = data.get("pid")
        if isinstance(pid, int):
            self.journal.set_ansible_pid(self.run_id, self._phase, pid)

    def _ev_playbook_on_play_start(self, data: dict[str, Any]) -> None:
        if self._step:
            status = "failed" if self._failures else "ok"
            self.journal.finish_step(self.run_id, self._phase, self._step, status)
        name = str(data.get("name") or data.get("play") or "")
        self._step = self._play_steps.get(name, name)
        if self._step in self._skip:  # finished in an earlier run; its tasks are skipped
            self._step = ""
            return
        self.journal.start_step(self.run_id, self._phase, self._step, name)
        self.progress.step, self.progress.task, self.progress.host = self._step, "", ""
        self._notify()

    def _ev_playbook_on_task_start(self, data: dict[str, Any]) -> None:
        self._task_uuid = str(data.get("task_uuid") or data.get("uuid") or "")
        self._task = str(data.get("task") or data.get("name") or "")
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
        host = str(data.get("host") or "")
        self._started[(host, str(data.get("task_uuid") or self._task_uuid))] = time.time()
        self.progress.host = host
        self._notify()

    def _host_result(self, kind: str, data: dict[str, Any]) -> None:
        host = str(data.get("host") or "")
        task_uuid = str(data.get("task_uuid") or self._task_uuid)
        res = data.get("res") or {}
        status = RESULT_STATUS[kind]
        if status == "ok" and res.get("changed"):
            status = "changed"
        counts = res.get(COUNTS_KEY) if isinstance(res, dict) else None
        counts = counts if isinstance(counts, dict) else {}
        message = ""
        if status in ("failed", "unreachable"):
            message = redact(_message(res), self.secret_values)
            if data.get("ignore_errors"):
                status = "ignored"
            else:
                self._failures.append(
                    f"{self._step} / {data.get('task', self._task)} @ {host}: {message}"
                )
                self.progress.failed.append(host)
        self.journal.record_host_result(
            self.run_id,
            self._phase,
            self._step,
            task_uuid=task_uuid,
            task=str(data.get("task") or self._task),
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


def redact(text: str, secrets: tuple[str, ...]) -> str:
    for value in secrets:
        text = text.replace(value, CENSORED)
    return text


def _message(res: Any) -> str:
    if not isinstance(res, dict):
        return ""
    if res.get("censored"):
        return str(res["censored"])
    parts = [str(res.get("msg") or "")]
    for key in ("stderr", "module_stderr"):
        if res.get(key):
            parts.append(str(res[key])[-500:])
    text = " ".join(p for p in parts if p).strip()
    return json.dumps(scrub(text))[1:-1][:1000]
