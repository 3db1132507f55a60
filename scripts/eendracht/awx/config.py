"""A wave's workflow as configuration as code for the awx.awx collection: the module calls of a
playbook an operator runs against AWX / Ansible Automation Platform (docs/pipelines.md).

Everything the calls need besides the wave is referenced by name, never created or copied
here: the organization, the project (this repository), the inventory, the execution
environment, the credentials and the teams that may approve. A secret has nowhere to go.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from eendracht.awx.workflow import GATE, Node, Workflow

# The survey's answers: the weekend's parameters, asked when the workflow is launched.
SURVEY_WAVE_DIR = "wave_dir"
SURVEY_CHANGE = "eendracht_change"
# What the context job compares with the prepared wave before any step runs.
EXPECTED_PROGRAMME = "eendracht_programme"
EXPECTED_MUNICIPALITY = "eendracht_municipality"


@dataclass(frozen=True)
class Names:
    """What the export refers to in AWX, by name."""

    organization: str
    project: str
    inventory: str
    execution_environment: str
    credentials: tuple[str, ...]


@dataclass(frozen=True)
class Call:
    module: str  # fully qualified: awx.awx.job_template
    name: str  # the task's name
    args: dict[str, Any]


def _prefix(workflow: Workflow) -> str:
    return f"{workflow.programme} {workflow.municipality}"


def template_name(workflow: Workflow, key: str) -> str:
    return f"{_prefix(workflow)} {key}"


def workflow_name(workflow: Workflow, from_step: bool) -> str:
    suffix = f" from {workflow.first_step}" if from_step else ""
    return f"{_prefix(workflow)} wave{suffix}"


def approval_name(workflow: Workflow) -> str:
    return f"{_prefix(workflow)} go/no-go"


def _job_template(workflow: Workflow, key: str, names: Names) -> Call:
    template = workflow.templates[key]
    args: dict[str, Any] = {
        "name": template_name(workflow, key),
        "description": template.title,
        "organization": names.organization,
        "project": names.project,
        "playbook": template.playbook,
        "inventory": names.inventory,
        "execution_environment": names.execution_environment,
        "credentials": list(names.credentials),
        "job_type": "run",
        "timeout": template.timeout,
        "ask_variables_on_launch": False,
        "allow_simultaneous": False,
        "state": "present",
    }
    if template.tags:
        args["job_tags"] = ",".join(template.tags)
    if template.extra_vars:
        args["extra_vars"] = template.extra_vars
    return Call("awx.awx.job_template", f"Job template {args['name']}", args)


def _edges(node: Node) -> dict[str, list[dict[str, str]]]:
    related: dict[str, list[dict[str, str]]] = {}
    for kind, targets in (
        ("success_nodes", node.success),
        ("failure_nodes", node.failure),
        ("always_nodes", node.always),
    ):
        if targets:
            related[kind] = [{"identifier": t} for t in targets]
    return related


def _gate_description(workflow: Workflow) -> str:
    criteria = "; ".join(f"{c.criterion} ({c.threshold})" for c in workflow.gate.criteria)
    return f"Go when every criterion holds: {criteria}. {workflow.gate.decision}"


def _node(workflow: Workflow, node: Node, names: Names) -> dict[str, Any]:
    if node.identifier == GATE:
        template: dict[str, Any] = {
            "name": approval_name(workflow),
            "type": "workflow_approval",
            "description": _gate_description(workflow),
            "timeout": 0,  # a decision is never taken by the clock: a timeout would roll back
        }
    else:
        template = {
            "name": template_name(workflow, node.template),
            "type": "job_template",
            "organization": {"name": names.organization},
        }
    out: dict[str, Any] = {"identifier": node.identifier, "unified_job_template": template}
    if related := _edges(node):
        out["related"] = related
    return out


def _survey() -> dict[str, Any]:
    return {
        "name": "The migration weekend",
        "description": "Asked at launch: which prepared wave runs, under which change.",
        "spec": [
            {
                "question_name": "Wave folder",
                "question_description": "The folder `eendracht wave prepare` printed: its "
                "extravars.json is read by the first job (on a path the jobs can read).",
                "variable": SURVEY_WAVE_DIR,
                "type": "text",
                "required": True,
                "min": 1,
                "max": 1024,
                "default": "",
            },
            {
                "question_name": "CAB change",
                "question_description": "The change this weekend runs under, as the CAB "
                "approved it; every job of the workflow records it.",
                "variable": SURVEY_CHANGE,
                "type": "text",
                "required": True,
                "min": 1,
                "max": 64,
                "default": "",
            },
        ],
    }


def config_calls(workflow: Workflow, names: Names, *, from_step: bool = False) -> list[Call]:
    """Job templates first (a workflow node refers to existing ones), then the workflow, then
    who may approve its gate."""
    calls = [_job_template(workflow, key, names) for key in workflow.templates]
    wfjt = workflow_name(workflow, from_step)
    calls.append(
        Call(
            "awx.awx.workflow_job_template",
            f"Workflow {wfjt}",
            {
                "name": wfjt,
                "description": (
                    f"The wave of {workflow.municipality} ({workflow.programme}) from "
                    f"{workflow.first_step}, in the runbook's order, with its go/no-go gate; "
                    "a failed step rolls back what was started."
                ),
                "organization": names.organization,
                "inventory": names.inventory,
                "extra_vars": {
                    EXPECTED_PROGRAMME: workflow.programme,
                    EXPECTED_MUNICIPALITY: workflow.municipality,
                },
                "survey_enabled": True,
                "survey_spec": _survey(),
                "allow_simultaneous": False,
                # The nodes are replaced as a whole: a changed runbook leaves no old edge behind.
                "destroy_current_nodes": True,
                "workflow_nodes": [_node(workflow, n, names) for n in workflow.nodes],
                "state": "present",
            },
        )
    )
    calls.append(
        Call(
            "awx.awx.role",
            f"Who may approve the go/no-go of {wfjt}",
            {
                "teams": list(workflow.gate.approvers),
                "role": "approval",
                "workflows": [wfjt],
                "lookup_organization": names.organization,
                "state": "present",
            },
        )
    )
    return calls


def config_playbook(calls: list[Call]) -> list[dict[str, Any]]:
    """The calls as one play on the controller's side (awx.awx talks to AWX over its API)."""
    return [
        {
            "name": "Configure the wave in AWX / Ansible Automation Platform",
            "hosts": "localhost",
            "connection": "local",
            "gather_facts": False,
            "tasks": [{"name": c.name, c.module: c.args} for c in calls],
        }
    ]
