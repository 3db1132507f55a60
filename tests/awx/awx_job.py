"""A job template of an exported wave run as AWX runs it: ansible-runner in the project's root
(its ansible.cfg found there, no ANSIBLE_CONFIG), the template's playbook, `--tags` of its
job_tags, its extra vars under the workflow's; the artifacts are what set_stats hands the next
node (AWX stores the stats event's `artifact_data`)."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ansible_runner
import yaml

REPO = Path(__file__).resolve().parents[2]


@dataclass
class JobResult:
    status: str
    rc: int
    artifacts: dict[str, Any]
    stdout: str


def exported_calls(path: Path) -> list[tuple[str, dict[str, Any]]]:
    """(module, args) of every task of an exported playbook, in order."""
    plays = yaml.safe_load(path.read_text(encoding="utf-8"))
    out = []
    for task in plays[0]["tasks"]:
        module = next(k for k in task if k != "name")
        out.append((module, task[module]))
    return out


def job_templates(path: Path) -> dict[str, dict[str, Any]]:
    return {a["name"]: a for m, a in exported_calls(path) if m == "awx.awx.job_template"}


def run_job(
    template: dict[str, Any], extravars: dict[str, Any], inventory: Path, work: Path
) -> JobResult:
    """One job of `template` (the args of its awx.awx.job_template call)."""
    work.mkdir(parents=True, exist_ok=True)
    # AWX merges the job template's extra vars under the workflow's (survey, artifacts).
    variables = {**template.get("extra_vars", {}), **extravars}
    env = {k: v for k, v in os.environ.items() if k != "ANSIBLE_CONFIG"}
    # An execution environment has ansible-playbook on its PATH; this interpreter's is that.
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    artifacts: dict[str, Any] = {}

    def on_event(event: dict[str, Any]) -> bool:
        if event.get("event") == "playbook_on_stats":
            artifacts.update(event.get("event_data", {}).get("artifact_data") or {})
        return True

    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(env)
    try:
        runner = ansible_runner.run(
            private_data_dir=str(work),
            project_dir=str(REPO),
            playbook=template["playbook"],
            inventory=str(inventory),
            extravars=variables,
            tags=template.get("job_tags") or None,
            timeout=template.get("timeout") or None,
            event_handler=on_event,
            quiet=True,
        )
    finally:
        os.environ.clear()
        os.environ.update(saved)
    stdout = runner.stdout.read() if runner.stdout else ""
    return JobResult(str(runner.status), int(runner.rc or 0), artifacts, stdout)
