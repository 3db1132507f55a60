"""`eendracht export awx`: the wave as awx.awx configuration as code.

Every module call is checked against the installed awx.awx modules' own argument specs
(`ansible-doc -j`); the workflow's success path is the runbook's order, each failure path the
rollback `eendracht wave rollback` would run at that point, the gate an approval node for the
programme's approvers; the first job is run as AWX runs it, on a prepared wave.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from eendracht.awx.config import Names, config_calls
from eendracht.awx.specs import Options, call_problems, load_options
from eendracht.awx.workflow import CONTEXT, GATE, PLAYBOOKS, Workflow, build_workflow
from eendracht.cli import app
from eendracht.identity import map_identities
from eendracht.plan import Runbook, build_runbook
from eendracht.programme import load_programme
from eendracht.wave.orchestrator import Wave
from eendracht.wave.steps import rollback_steps
from tests.awx.awx_job import REPO, exported_calls, job_templates, run_job
from tests.test_environment import _edit, _vault
from tests.wave.wave_support import MINI, fake_environment

PROGRAMMES = [
    (REPO / "inventory" / "altena", "woudrichem"),
    (REPO / "inventory" / "ple1n", "haaren"),
    (MINI, "noordwaard"),
]
NAMES = Names("eendracht", "eendracht", "eendracht test", "eendracht", ("eendracht machine",))
MODULES = ("awx.awx.job_template", "awx.awx.workflow_job_template", "awx.awx.role")


@pytest.fixture(scope="module")
def options() -> dict[str, Options]:
    return load_options(MODULES)


def _runbook(programme: Path, municipality: str) -> Runbook:
    prog = load_programme(programme)
    return build_runbook(prog, municipality, map_identities(prog))


@pytest.fixture(scope="module")
def runbooks() -> dict[str, Runbook]:
    return {m: _runbook(p, m) for p, m in PROGRAMMES}


def _nodes(workflow_args: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {n["identifier"]: n for n in workflow_args["workflow_nodes"]}


def _next(node: dict[str, Any], kind: str) -> list[str]:
    return [t["identifier"] for t in node.get("related", {}).get(kind, [])]


def _success_path(nodes: dict[str, dict[str, Any]]) -> list[str]:
    """From the root (the node no edge leads to), following success edges."""
    targets = {t for n in nodes.values() for k in ("success_nodes", "failure_nodes", "always_nodes") for t in _next(n, k)}  # fmt: skip
    roots = [i for i in nodes if i not in targets]
    assert roots == [CONTEXT], roots
    path, here = [], CONTEXT
    while True:
        path.append(here)
        after = _next(nodes[here], "success_nodes")
        assert len(after) <= 1, (here, after)
        if not after:
            return path
        here = after[0]


def _rollback_path(nodes: dict[str, dict[str, Any]], start: str) -> list[str]:
    path, here = [], start
    while True:
        path.append(here)
        assert not _next(nodes[here], "success_nodes") and not _next(nodes[here], "failure_nodes")
        after = _next(nodes[here], "always_nodes")
        if not after:
            return path
        here = after[0]


def _calls(workflow: Workflow, from_step: bool = False) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for call in config_calls(workflow, NAMES, from_step=from_step):
        out.setdefault(call.module, []).append(call.args)
    return out


def _exported(runbook: Runbook) -> tuple[dict[str, Any], dict[str, dict[str, Any]], dict[str, Any]]:
    """The workflow's call, its nodes by identifier and the job templates by name."""
    calls = _calls(build_workflow(runbook))
    wfjt = calls["awx.awx.workflow_job_template"][0]
    return wfjt, _nodes(wfjt), {t["name"]: t for t in calls["awx.awx.job_template"]}


@pytest.mark.parametrize("municipality", [m for _, m in PROGRAMMES])
def test_every_call_fits_the_installed_awx_argument_specs(
    municipality: str, runbooks: dict[str, Runbook], options: dict[str, Options]
) -> None:
    calls = config_calls(build_workflow(runbooks[municipality]), NAMES)
    assert {c.module for c in calls} == set(MODULES)
    problems = [p for c in calls for p in call_problems(options[c.module], c.args)]
    assert problems == []


def test_the_spec_check_names_each_kind_of_misfit(
    runbooks: dict[str, Runbook], options: dict[str, Options]
) -> None:
    calls = _calls(build_workflow(runbooks["noordwaard"]))
    template = dict(calls["awx.awx.job_template"][1])
    template["tags"] = "x"  # job_tags is the option
    template["timeout"] = "600"
    template["job_type"] = "deploy"
    template["credentials"] = [{"name": "eendracht machine"}]
    del template["name"]
    problems = call_problems(options["awx.awx.job_template"], template)
    assert sorted(problems) == sorted(
        [
            "tags: no such option",
            "timeout: str given, the option takes int",
            "job_type: 'deploy' is not one of ['run', 'check']",
            "credentials[0]: dict given, elements are str",
            "name: required, not given",
        ]
    )
    workflow = json.loads(json.dumps(calls["awx.awx.workflow_job_template"][0]))
    workflow["workflow_nodes"][1]["related"]["success_nodes"][0]["name"] = "x"
    workflow["workflow_nodes"][0]["unified_job_template"]["timeout"] = "0"
    workflow["survey_enabled"] = "yes"
    assert sorted(call_problems(options["awx.awx.workflow_job_template"], workflow)) == [
        "survey_enabled: str given, the option takes bool",
        "workflow_nodes[0].unified_job_template.timeout: str given, the option takes int",
        "workflow_nodes[1].related.success_nodes[0].name: no such option",
    ]


@pytest.mark.parametrize("municipality", [m for _, m in PROGRAMMES])
def test_the_workflow_runs_the_runbook_in_order_then_asks_the_approvers(
    municipality: str, runbooks: dict[str, Runbook]
) -> None:
    runbook = runbooks[municipality]
    wfjt, nodes, templates = _exported(runbook)
    assert _success_path(nodes) == [CONTEXT, *(s.id for s in runbook.steps()), GATE]
    for step in runbook.steps():
        template = templates[nodes[step.id]["unified_job_template"]["name"]]
        assert template["playbook"] == step.playbook
        assert template["job_tags"] == ",".join(step.tags)
        assert template.get("extra_vars", {}) == step.extra_vars
        assert template["timeout"] == step.timeout
    gate = nodes[GATE]["unified_job_template"]
    assert gate["type"] == "workflow_approval" and gate["timeout"] == 0
    assert all(c.criterion in gate["description"] for c in runbook.gate.criteria)
    (role,) = _calls(build_workflow(runbook))["awx.awx.role"]
    assert role["role"] == "approval" and role["workflows"] == [wfjt["name"]]
    assert role["teams"] == runbook.gate.approvers
    assert [q["variable"] for q in wfjt["survey_spec"]["spec"]] == ["wave_dir", "eendracht_change"]
    assert wfjt["survey_enabled"] is True and wfjt["destroy_current_nodes"] is True


@pytest.mark.parametrize("municipality", [m for _, m in PROGRAMMES])
def test_each_failure_rolls_back_what_eendracht_would_at_that_point(
    municipality: str, runbooks: dict[str, Runbook]
) -> None:
    runbook = runbooks[municipality]
    _, nodes, templates = _exported(runbook)

    def ran(path: list[str]) -> list[tuple[str, str, dict[str, Any]]]:
        out = []
        for identifier in path:
            t = templates[nodes[identifier]["unified_job_template"]["name"]]
            out.append((t["playbook"], t["job_tags"], t.get("extra_vars", {})))
        return out

    ids = [s.id for s in runbook.steps()]
    for k, step_id in enumerate([*ids, GATE]):
        started = set(ids[: k + 1])
        expected = [
            (str(s.playbook), ",".join(s.tags), s.extra_vars)
            for s in rollback_steps(runbook, PLAYBOOKS, started)
        ]
        (entry,) = _next(nodes[step_id], "failure_nodes")
        assert ran(_rollback_path(nodes, entry)) == expected, step_id
    # Shared tails: the graph grows with the runbook, not with its square.
    assert len(nodes) <= 2 * (len(ids) + len(runbook.rollback)) + 4


def test_from_a_step_the_workflow_starts_there_and_still_undoes_what_came_before(
    runbooks: dict[str, Runbook],
) -> None:
    runbook = runbooks["noordwaard"]
    ids = [s.id for s in runbook.steps()]
    workflow = build_workflow(runbook, "cutover.identity")
    nodes = _nodes(_calls(workflow, from_step=True)["awx.awx.workflow_job_template"][0])
    assert _success_path(nodes) == [CONTEXT, *ids[ids.index("cutover.identity") :], GATE]
    (entry,) = _next(nodes["cutover.identity"], "failure_nodes")
    undone = _rollback_path(nodes, entry)
    assert "rollback.freeze.files" in undone and "rollback.presync.dns" in undone
    with pytest.raises(KeyError):
        build_workflow(runbook, "cutover.nothing")


def test_no_credential_or_secret_is_created_or_copied(runbooks: dict[str, Runbook]) -> None:
    text = yaml.safe_dump(
        [c.args for c in config_calls(build_workflow(runbooks["woudrichem"]), NAMES)]
    )
    for call in config_calls(build_workflow(runbooks["woudrichem"]), NAMES):
        assert call.module != "awx.awx.credential"
        if call.module == "awx.awx.job_template":
            assert call.args["credentials"] == ["eendracht machine"]
    assert not any(word in text.lower() for word in ("password", "secret:", "token", "passfile"))


def test_every_job_template_selects_plays_of_its_playbook(runbooks: dict[str, Runbook]) -> None:
    for runbook in runbooks.values():
        for template in build_workflow(runbook).templates.values():
            plays = yaml.safe_load((REPO / template.playbook).read_text(encoding="utf-8"))
            tagged = [p for p in plays if set(template.tags) & set(p.get("tags", []))]
            assert tagged or not template.tags, (template.key, template.tags)


def _export(tmp_path: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["export", "awx", *args])
    return result.exit_code, result.output


def test_the_command_writes_one_playbook_ansible_reads(tmp_path: Path) -> None:
    out = tmp_path / "awx"
    code, said = _export(tmp_path, str(MINI), "-m", "noordwaard", "-o", str(out))
    assert code == 0, said
    (path,) = out.iterdir()
    assert path.name == "waardstad-noordwaard.awx.yml" and "49 nodes" in said
    check = subprocess.run(
        [str(Path(sys.executable).with_name("ansible-playbook")), "--syntax-check", str(path)],
        capture_output=True, text=True, cwd=tmp_path, timeout=120,
    )  # fmt: skip
    assert check.returncode == 0, check.stdout + check.stderr
    modules = [m for m, _ in exported_calls(path)]
    assert modules[-2:] == ["awx.awx.workflow_job_template", "awx.awx.role"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["-m", "atlantis"], "--municipality: unknown municipality 'atlantis'"),
        (
            ["-m", "noordwaard", "--from", "cutover.nothing"],
            "--from: 'cutover.nothing' is not a step",
        ),
        (
            ["-m", "noordwaard", "--organization", " "],
            "--organization: ' ' is not a name AWX takes",
        ),
        (["-m", "noordwaard", "--credential", "a\nb"], "--credential: 'a\\\\nb' is not a name"),
    ],
)
def test_bad_input_is_one_line_and_writes_nothing(
    tmp_path: Path, args: list[str], message: str
) -> None:
    out = tmp_path / "awx"
    code, said = _export(tmp_path, str(MINI), *args, "-o", str(out))
    assert code == 2 and message in said and len(said.strip().splitlines()) == 1, said
    assert not out.exists()


def test_an_output_that_is_a_file_is_refused(tmp_path: Path) -> None:
    out = tmp_path / "awx"
    out.write_text("kept")
    code, said = _export(tmp_path, str(MINI), "-m", "noordwaard", "-o", str(out))
    assert code == 2 and "--output:" in said and out.read_text() == "kept"


def test_the_first_job_hands_the_prepared_wave_to_the_next_as_awx_runs_it(
    tmp_path: Path,
) -> None:
    environment = fake_environment(tmp_path / "environment")
    state = tmp_path / "state"
    prepared = CliRunner().invoke(
        app,
        ["wave", "prepare", str(MINI), "-m", "noordwaard", "--environment", str(environment),
         "--state", str(state)],
    )  # fmt: skip
    assert prepared.exit_code == 0, prepared.output
    (extravars_file,) = state.rglob("extravars.json")
    wave_dir = extravars_file.parent
    code, said = _export(tmp_path, str(MINI), "-m", "noordwaard", "-o", str(tmp_path / "awx"))
    assert code == 0, said
    (path,) = (tmp_path / "awx").iterdir()
    context = job_templates(path)["waardstad noordwaard context"]
    workflow = next(a for m, a in exported_calls(path) if m == "awx.awx.workflow_job_template")
    launch = {**workflow["extra_vars"], "wave_dir": f"{wave_dir}/", "eendracht_change": "CHG-1"}
    job = run_job(context, launch, wave_dir / "inventory", tmp_path / "job")
    assert job.status == "successful", job.stdout[-3000:]
    assert job.artifacts == json.loads(extravars_file.read_text(encoding="utf-8"))
    # A folder of another wave, or no change named: the first job fails, no step runs.
    other = {**launch, "eendracht_municipality": "zuiderveen"}
    job = run_job(context, other, wave_dir / "inventory", tmp_path / "job2")
    assert job.status == "failed" and job.artifacts == {}
    assert "not of zuiderveen" in job.stdout
    job = run_job(context, {**launch, "eendracht_change": ""}, wave_dir / "inventory", tmp_path / "job3")  # fmt: skip
    assert job.status == "failed" and job.artifacts == {}


def test_prepare_refuses_a_vault_kept_secret_by_key_and_writes_nothing(tmp_path: Path) -> None:
    """A prepared wave hands later jobs paths; a vault value's file lasts only one command."""
    environment = fake_environment(tmp_path / "environment")
    _vault(environment, {"pgpass": "*:*:*:eendracht:vaulted-canary-1234\n"}, "vault-password")
    _edit(
        environment,
        "environment.yml",
        lambda d: d.update(postgres_passfile={"vault": "pgpass"}, vault_password_file="vault.pass"),
    )
    state = tmp_path / "state"
    state.mkdir()
    result = CliRunner().invoke(
        app,
        ["wave", "prepare", str(MINI), "-m", "noordwaard", "--environment", str(environment),
         "--state", str(state)],
    )  # fmt: skip
    assert result.exit_code == 2, result.output
    assert "environment.yml: postgres_passfile: kept in the vault" in result.output
    assert "vaulted-canary-1234" not in result.output
    assert list(state.iterdir()) == []


def test_prepare_refuses_a_wave_past_its_gate_and_writes_nothing(tmp_path: Path) -> None:
    environment = fake_environment(tmp_path / "environment")
    wave = Wave(MINI, "noordwaard", environment=environment, state=tmp_path / "state")
    wave.journal.approve("CIO")
    wave.close()
    outcome = Wave(MINI, "noordwaard", environment=environment, state=tmp_path / "state").prepare()
    assert (
        outcome.status == "refused" and "the wave is complete (approved by CIO)" in outcome.message
    )
    assert not (wave.dir / "extravars.json").exists() and not (wave.dir / "inventory").exists()
