"""Reading the pipeline files (.github/workflows/*.yml, azure-pipelines.yml) as what they run.

Every checker takes the files of one pipeline and returns its problems, one line each as
`FILE: message` (or `PIPELINE: message` for what the files together lack), an empty list when
there is none. The tests run them on the real files and on mutated copies, so each is seen to
find what it looks for. The shell in `run:`/`script:`/`bash:`/`inlineScript:` values is read by
`simple_commands`: one token list per simple command, `bash -c` scripts included and the values
of a `for VAR in WORDS` loop substituted, enough for the commands these files use.
"""

from __future__ import annotations

import glob
import itertools
import re
import shlex
import subprocess
import tomllib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[2]
WORKFLOWS = REPO / ".github" / "workflows"
AZURE = REPO / "azure-pipelines.yml"

SHELL_KEYS = ("run", "script", "bash", "inlineScript")
SHA = re.compile(r"^[0-9a-f]{40}$")


@dataclass(frozen=True)
class File:
    path: Path
    text: str
    doc: Any

    @property
    def label(self) -> str:
        try:
            return str(self.path.relative_to(REPO))
        except ValueError:
            return self.path.name

    @property
    def is_workflow(self) -> bool:
        return not self.path.name.startswith("azure-pipelines")


def read(path: Path) -> File:
    text = path.read_text()
    return File(path, text, yaml.safe_load(text))


@dataclass(frozen=True)
class Pipeline:
    name: str  # "GitHub Actions" or "Azure Pipelines"
    files: tuple[File, ...]


def github(paths: Iterable[Path] | None = None) -> Pipeline:
    chosen = sorted(WORKFLOWS.glob("*.yml")) if paths is None else list(paths)
    return Pipeline("GitHub Actions", tuple(read(p) for p in chosen))


def azure(path: Path = AZURE) -> Pipeline:
    return Pipeline("Azure Pipelines", (read(path),))


# ---------------------------------------------------------------------------------------------
# The files' structure: jobs, steps, shell scripts


def walk(node: Any) -> Iterator[tuple[str, Any]]:
    """Every (key, value) of every mapping under node."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield str(key), value
            yield from walk(value)
    elif isinstance(node, list):
        for item in node:
            yield from walk(item)


def jobs(file: File) -> list[tuple[str, dict[str, Any]]]:
    """(id, job) of every job: GitHub's `jobs:`, Azure's `stages[].jobs[]` (job or deployment)."""
    doc = file.doc
    if file.is_workflow:
        return [(str(k), v) for k, v in (doc.get("jobs") or {}).items()]
    found = []
    for stage in doc.get("stages") or [{"stage": "", "jobs": doc.get("jobs") or []}]:
        for job in stage.get("jobs") or []:
            name = job.get("job") or job.get("deployment") or ""
            found.append((f"{stage.get('stage')}.{name}", job))
    return found


def steps(job: dict[str, Any]) -> list[dict[str, Any]]:
    """A job's steps, a deployment job's (strategy.runOnce.deploy.steps) included."""
    if "steps" in job:
        return list(job["steps"])
    return [s for key, value in walk(job.get("strategy")) if key == "steps" for s in value]


def scripts(node: Any) -> list[str]:
    return [v for k, v in walk(node) if k in SHELL_KEYS and isinstance(v, str)]


def inputs(step: dict[str, Any]) -> dict[str, Any]:
    """A GitHub step's `with:` (an empty `with:` is None)."""
    return step.get("with") or {}


def uses(job: dict[str, Any], action: str) -> list[dict[str, Any]]:
    """The steps of a GitHub job that use `action` (owner/name, any ref)."""
    return [s for s in steps(job) if str(s.get("uses", "")).split("@")[0].lower() == action.lower()]


# ---------------------------------------------------------------------------------------------
# Shell: simple commands

SEPARATOR = re.compile(r"^[;&|()\n]+$")
REDIRECT = re.compile(r"^[0-9]*[<>&]*[<>][<>&]*$")
PREFIX_WORDS = {"do", "then", "else", "elif", "if", "while", "until", "!", "{", "time", "sudo"}
END_WORDS = {"done", "fi", "esac", "}"}
ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")
LOOP_VAR = re.compile(r"\$\{(\w+)(%[^}]*)?\}|\$(\w+)")


def _tokens(script: str) -> list[str]:
    lex = shlex.shlex(script.replace("\\\n", " "), posix=True, punctuation_chars=";&|()<>\n")
    lex.whitespace = " \t\r"
    lex.whitespace_split = True
    lex.commenters = "#"
    return list(lex)


def _split(tokens: list[str]) -> list[list[str]]:
    commands: list[list[str]] = [[]]
    skip_next = False
    for token in tokens:
        if skip_next:
            skip_next = False
        elif SEPARATOR.match(token):
            commands.append([])
        elif REDIRECT.match(token):  # > FILE, >> FILE, 2>&1 (the 2, the >& and the 1)
            if commands[-1] and commands[-1][-1].isdigit():
                commands[-1].pop()
            skip_next = True
        else:
            commands[-1].append(token)
    return [c for c in commands if c]


def _strip(command: list[str]) -> list[str]:
    while command and (command[0] in PREFIX_WORDS or ASSIGNMENT.match(command[0])):
        command = command[1:]
    return [] if command and command[0] in END_WORDS else command


def _inner_script(command: list[str]) -> str | None:
    """The SCRIPT of `... bash [-flags] -c SCRIPT` (also inside `docker run ... IMAGE bash -c`)."""
    for i, token in enumerate(command):
        if Path(token).name in ("bash", "sh"):
            for j in range(i + 1, len(command) - 1):
                if re.fullmatch(r"-[a-z]*c", command[j]):
                    return command[j + 1]
    return None


def _expand(command: list[str], loops: dict[str, list[str]]) -> list[list[str]]:
    for token in command:
        for match in LOOP_VAR.finditer(token):
            name = match.group(1) or match.group(3)
            if name in loops:
                suffix = (match.group(2) or "")[1:]
                out = []
                for value in loops[name]:
                    if suffix and value.endswith(suffix):
                        value = value[: -len(suffix)]
                    out.append([t.replace(match.group(0), value) for t in command])
                return out
    return [command]


def simple_commands(script: str, root: Path = REPO) -> list[list[str]]:
    """The simple commands of a shell script, words unquoted, in order."""
    loops: dict[str, list[str]] = {}
    found: list[list[str]] = []
    for command in _split(_tokens(script)):
        command = _strip(command)
        if not command:
            continue
        if command[0] == "for" and len(command) >= 3 and command[2] == "in":
            words = command[3:]
            loops[command[1]] = [
                v
                for w in words
                for v in (sorted(glob.glob(w, root_dir=root)) if glob.has_magic(w) else [w])
            ]
            continue
        inner = _inner_script(command)
        if inner is not None:
            found.extend(simple_commands(inner, root))
            continue
        found.extend(_expand(command, loops))
    return found


def commands_of(node: Any, program: str) -> list[list[str]]:
    """The commands under node (a file's doc or a job) whose program is `program` (any path)."""
    return [
        c for text in scripts(node) for c in simple_commands(text) if Path(c[0]).name == program
    ]


# ---------------------------------------------------------------------------------------------
# make


@dataclass(frozen=True)
class Makefile:
    targets: frozenset[str]
    variables: frozenset[str]


@cache
def makefile(directory: Path = REPO) -> Makefile:
    """The targets and variables of the Makefile, as make itself reads it (`make -pq`)."""
    out = subprocess.run(
        ["make", "-pqrR", "-f", "Makefile"],
        cwd=directory,
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", "LC_ALL": "C"},
        check=False,
    ).stdout
    targets: set[str] = set()
    variables: set[str] = set()
    previous = ""
    for line in out.splitlines():
        if previous.startswith("# makefile (from 'Makefile'"):
            if m := re.match(r"^(?:override )?([A-Za-z_][A-Za-z0-9_]*) :?= ", line):
                variables.add(m.group(1))
        elif previous != "# Not a target:" and (
            m := re.match(r"^([^#\s:=%][^:=]*?):(?:[^=]|$)", line)
        ):
            targets.add(m.group(1))
        previous = line
    return Makefile(frozenset(targets - {".PHONY", ".DEFAULT", ".SUFFIXES"}), frozenset(variables))


def make_problems(pipeline: Pipeline, mk: Makefile | None = None) -> list[str]:
    mk = mk or makefile()
    problems = []
    for file in pipeline.files:
        for command in commands_of(file.doc, "make"):
            args = command[1:]
            if any(a in ("-C", "-f", "--directory", "--file") for a in args):
                problems.append(f"{file.label}: {shlex.join(command)}: another Makefile")
            for arg in args:
                if arg.startswith("-"):
                    continue
                if "=" in arg:
                    name, value = arg.split("=", 1)
                    if name not in mk.variables:
                        problems.append(
                            f"{file.label}: make {arg}: the Makefile has no variable {name}"
                        )
                    elif "/" in value and "$" not in value and not (REPO / value).exists():
                        problems.append(f"{file.label}: make {arg}: no such path {value}")
                elif arg not in mk.targets:
                    problems.append(f"{file.label}: make {arg}: no such target in the Makefile")
    return problems


# ---------------------------------------------------------------------------------------------
# eendracht


@cache
def cli() -> Any:
    """The `eendracht` command line as click sees it (a group of groups and commands)."""
    import typer.main

    from eendracht.cli import app

    return typer.main.get_command(app)


def _option_names(command: Any) -> set[str]:
    names = {"--help"}
    for param in command.params:
        if param.param_type_name == "option":
            names.update(param.opts)
            names.update(param.secondary_opts)
    return names


def _takes_value(command: Any, name: str) -> bool:
    for param in command.params:
        if param.param_type_name == "option" and name in (*param.opts, *param.secondary_opts):
            return not (param.is_flag or param.count)
    return False


def cli_problems(pipeline: Pipeline, root: Any = None) -> list[str]:
    """Every `eendracht ...` names a command, only its options, its required ones and arguments."""
    root = root or cli()
    problems = []
    for file in pipeline.files:
        for command in commands_of(file.doc, "eendracht"):
            words = command[1:]
            current, path = root, ["eendracht"]
            while hasattr(current, "commands") and words and not words[0].startswith("-"):
                sub = current.commands.get(words[0])
                if sub is None:
                    break
                current, path, words = sub, [*path, words[0]], words[1:]
            said = " ".join(path)
            if hasattr(current, "commands"):
                what = f"no such command {words[0]!r}" if words else "a group, not a command"
                problems.append(
                    f"{file.label}: {said} {words[0] if words else ''}".rstrip() + f": {what}"
                )
                continue
            given, positional, i = set(), [], 0
            while i < len(words):
                word = words[i]
                if word.startswith("-") and word != "-":
                    name = word.split("=", 1)[0]
                    given.add(name)
                    if name not in _option_names(current):
                        problems.append(f"{file.label}: {said} {name}: no such option")
                    elif "=" not in word and _takes_value(current, name):
                        i += 1
                else:
                    positional.append(word)
                i += 1
            arguments = [p for p in current.params if p.param_type_name == "argument"]
            if len(positional) > sum(max(p.nargs, 1) for p in arguments):
                problems.append(f"{file.label}: {said}: too many arguments {positional}")
            if len(positional) < sum(1 for p in arguments if p.required):
                problems.append(f"{file.label}: {said}: missing argument")
            for param in current.params:
                if (
                    param.param_type_name == "option"
                    and param.required
                    and not given & {*param.opts, *param.secondary_opts}
                ):
                    problems.append(f"{file.label}: {said}: missing {param.opts[0]}")
            for value in positional:
                if "/" in value and "$" not in value and not (REPO / value).exists():
                    problems.append(f"{file.label}: {said} {value}: no such path")
    return problems


def programme_problems(pipeline: Pipeline) -> list[str]:
    """Every programme under inventory/ is checked by `eendracht check` in this pipeline."""
    checked = {
        c[2].rstrip("/")
        for file in pipeline.files
        for c in commands_of(file.doc, "eendracht")
        if len(c) > 2 and c[1] == "check"
    }
    programmes = sorted(p.name for p in (REPO / "inventory").iterdir() if p.is_dir())
    return [
        f"{pipeline.name}: inventory/{name} is never checked (eendracht check)"
        for name in programmes
        if f"inventory/{name}" not in checked
    ]


# ---------------------------------------------------------------------------------------------
# Stacks


def stack_files() -> list[str]:
    return sorted(
        p.name.removeprefix("Pulumi.").removesuffix(".yaml")
        for p in (REPO / "stacks").glob("Pulumi.*.yaml")
    )


def _literal(value: Any) -> list[str]:
    """The values that are not expressions (${{ }}, $(var), $VAR)."""
    values = value if isinstance(value, list) else [value]
    return [str(v) for v in values if "$" not in str(v)]


def _pulumi_commands(job: dict[str, Any]) -> set[str]:
    done = {
        str(inputs(s)["command"]) for s in uses(job, "pulumi/actions") if "command" in inputs(s)
    }
    for command in commands_of(job, "pulumi"):
        if len(command) > 1 and command[1] in ("preview", "up", "update", "refresh", "destroy"):
            done.add("up" if command[1] == "update" else command[1])
    return done


STACK_KEYS = ("stack", "stacks", "stack-name")


def _parameter_stacks(file: File) -> set[str]:
    """Azure's template parameters named stack or stacks: their default values."""
    params = file.doc.get("parameters") if isinstance(file.doc, dict) else None
    return {
        s
        for p in params or []
        if isinstance(p, dict) and p.get("name") in STACK_KEYS
        for s in _literal(p.get("default", []))
    }


def _stacks_named(job: dict[str, Any]) -> set[str]:
    named = {s for key, value in walk(job) if key in STACK_KEYS for s in _literal(value)}
    for command in commands_of(job, "pulumi"):
        for flag, value in itertools.pairwise(command):
            if flag in ("--stack", "-s"):
                named.update(_literal(value))
    return named


def stack_coverage(pipeline: Pipeline) -> dict[str, set[str]]:
    """stack -> the pulumi commands this pipeline runs on it."""
    coverage: dict[str, set[str]] = {}
    for file in pipeline.files:
        for _, job in jobs(file):
            for stack in _stacks_named(job):
                coverage.setdefault(stack, set()).update(_pulumi_commands(job))
    return coverage


def stack_problems(pipeline: Pipeline) -> list[str]:
    """Every stack named has its stacks/Pulumi.<stack>.yaml; every stack file is previewed and up."""
    problems = []
    known = set(stack_files())
    for file in pipeline.files:
        for stack in sorted(_parameter_stacks(file) - known):
            problems.append(
                f"{file.label}: parameters: stack {stack}: no stacks/Pulumi.{stack}.yaml"
            )
        for job_id, job in jobs(file):
            for stack in sorted(_stacks_named(job) - known):
                problems.append(
                    f"{file.label}: {job_id}: stack {stack}: no stacks/Pulumi.{stack}.yaml"
                )
    coverage = stack_coverage(pipeline)
    for stack in sorted(known):
        for command, what in (("preview", "previewed"), ("up", "brought up")):
            if command not in coverage.get(stack, set()):
                problems.append(
                    f"{pipeline.name}: stack {stack} is never {what} (pulumi {command})"
                )
    return problems


# ---------------------------------------------------------------------------------------------
# Pins and versions

USES_LINE = re.compile(r"^\s*(?:-\s+)?uses:\s*(?P<ref>[^\s#]+)\s*(?:#\s*(?P<tag>\S+))?")


def pin_problems(pipeline: Pipeline) -> list[str]:
    """Every `uses:` is owner/name@<40-hex commit> # vX.Y.Z, one pin per action everywhere."""
    problems = []
    seen: dict[str, tuple[str, str | None, str]] = {}
    for file in pipeline.files:
        for number, line in enumerate(file.text.splitlines(), 1):
            m = USES_LINE.match(line)
            if not m:
                continue
            ref, tag = m.group("ref").strip("'\""), m.group("tag")
            where = f"{file.label}:{number}"
            action, _, sha = ref.partition("@")
            if ref.startswith(("./", "docker://")):
                continue
            if not SHA.match(sha):
                problems.append(f"{where}: uses: {ref}: not pinned to a full commit SHA")
                continue
            if not (tag and re.fullmatch(r"v\d+(\.\d+)*", tag)):
                problems.append(f"{where}: uses: {ref}: no `# vX.Y.Z` comment naming its tag")
                continue
            first = seen.setdefault(action.lower(), (sha, tag, where))
            if (sha, tag) != first[:2]:
                problems.append(
                    f"{where}: uses: {action}@{sha} # {tag}: {first[2]} pins {first[0]} # {first[1]}"
                )
    return problems


def locked_pulumi() -> str:
    lock = tomllib.loads((REPO / "uv.lock").read_text())
    (version,) = [p["version"] for p in lock["package"] if p["name"] == "pulumi"]
    return str(version)


def pulumi_cli_problems(pipeline: Pipeline, locked: str | None = None) -> list[str]:
    """The Pulumi CLI every job installs is the pulumi SDK version of uv.lock."""
    locked = locked or locked_pulumi()
    problems = []
    for file in pipeline.files:
        for job_id, job in jobs(file):
            for step in uses(job, "pulumi/actions"):
                version = str(inputs(step).get("pulumi-version", "(default ^3)"))
                if version != locked:
                    problems.append(
                        f"{file.label}: {job_id}: pulumi-version {version}, uv.lock has {locked}"
                    )
            for step in steps(job):
                text = "\n".join(scripts(step))
                if "get.pulumi.com" not in text:
                    continue
                pinned = re.search(r"--version\s+\"?\$\{?PULUMI_VERSION\}?\"?", text)
                variable = str(step.get("env", {}).get("PULUMI_VERSION"))
                if not pinned or variable != "$(pulumiVersion)":
                    problems.append(
                        f"{file.label}: {job_id}: the Pulumi CLI is not installed as $(pulumiVersion)"
                    )
        if not file.is_workflow:
            version = variables(file).get("pulumiVersion")
            if version != locked:
                problems.append(
                    f"{file.label}: variable pulumiVersion {version}, uv.lock has {locked}"
                )
    return problems


def variables(file: File) -> dict[str, str]:
    """Azure's top-level variables (list or mapping form), groups left out."""
    raw = file.doc.get("variables") or {}
    if isinstance(raw, dict):
        return {str(k): str(v) for k, v in raw.items()}
    return {str(v["name"]): str(v["value"]) for v in raw if "name" in v}


# ---------------------------------------------------------------------------------------------
# Identities and secrets

VARS_ONLY = re.compile(r"^\$\{\{\s*vars\.[A-Z0-9_]+\s*\}\}$")
FORBIDDEN = re.compile(
    r"secrets\.|AZURE_CLIENT_SECRET|ARM_CLIENT_SECRET|client-secret|servicePrincipalKey"
    r"|AZURE_CREDENTIALS|ARM_ACCESS_KEY|AZURE_STORAGE_KEY|PULUMI_ACCESS_TOKEN|PULUMI_CONFIG_PASSPHRASE"
)


def secret_problems(pipeline: Pipeline) -> list[str]:
    """No secret at all: Azure by OIDC / workload identity federation, IDs from `vars.`."""
    problems = []
    for file in pipeline.files:
        for number, line in enumerate(file.text.splitlines(), 1):
            if m := FORBIDDEN.search(line):
                problems.append(f"{file.label}:{number}: {m.group(0)}: no secrets in the pipelines")
        for job_id, job in jobs(file):
            for step in uses(job, "Azure/login"):
                given = inputs(step)
                for key in sorted(set(given) - {"client-id", "tenant-id", "subscription-id"}):
                    problems.append(
                        f"{file.label}: {job_id}: Azure/login {key}: only client-id, tenant-id, subscription-id"
                    )
                for key, value in sorted(given.items()):
                    if not VARS_ONLY.match(str(value)):
                        problems.append(
                            f"{file.label}: {job_id}: Azure/login {key}: {value} is not a vars. value"
                        )
            for key, value in (job.get("env") or {}).items():
                if (
                    str(key).startswith(("ARM_", "AZURE_"))
                    and key != "ARM_USE_OIDC"
                    and not VARS_ONLY.match(str(value))
                ):
                    problems.append(
                        f"{file.label}: {job_id}: env {key}: {value} is not a vars. value"
                    )
    return problems


def identity_problems(pipeline: Pipeline) -> list[str]:
    """A preview reaches Azure only as the Reader identity, an up only as the Contributor one."""
    problems = []
    for file in pipeline.files:
        for job_id, job in jobs(file):
            commands = _pulumi_commands(job)
            text = yaml.safe_dump(job)
            if file.is_workflow:
                reader, deployer = "AZURE_PREVIEW_CLIENT_ID", "AZURE_DEPLOY_CLIENT_ID"
            else:
                reader, deployer = (
                    "variables.previewServiceConnection",
                    "variables.deployServiceConnection",
                )
            if "preview" in commands and (deployer in text or reader not in text):
                problems.append(
                    f"{file.label}: {job_id}: a preview not as the Reader identity ({reader})"
                )
            if "up" in commands and (reader in text or deployer not in text):
                problems.append(
                    f"{file.label}: {job_id}: an up not as the Contributor identity ({deployer})"
                )
            if not commands and (reader in text or deployer in text):
                problems.append(
                    f"{file.label}: {job_id}: an Azure identity without a pulumi command"
                )
    return problems


# ---------------------------------------------------------------------------------------------
# The jobs' settings

NAME = re.compile(r"^[-_A-Za-z0-9]*$")


def github_job_problems(pipeline: Pipeline) -> list[str]:
    """Least permissions, timeouts, runner, checkout without credentials, guarded ups, artifacts."""
    problems = []
    for file in pipeline.files:
        if file.doc.get("permissions") != {}:
            problems.append(f"{file.label}: top-level permissions is not {{}}")
        for job_id, job in jobs(file):
            where = f"{file.label}: {job_id}"
            if not isinstance(job.get("timeout-minutes"), int):
                problems.append(f"{where}: no timeout-minutes")
            if job.get("runs-on") != "ubuntu-latest":
                problems.append(f"{where}: runs-on {job.get('runs-on')}, not ubuntu-latest")
            granted = job.get("permissions")
            if not isinstance(granted, dict):
                problems.append(f"{where}: no permissions of its own")
                granted = {}
            logs_in = bool(uses(job, "Azure/login"))
            comments = any(inputs(s).get("comment-on-pr") for s in uses(job, "pulumi/actions"))
            allowed = {"id-token": logs_in, "pull-requests": comments}
            for scope, level in granted.items():
                if level == "write" and not allowed.get(scope, False):
                    problems.append(f"{where}: permissions {scope}: write is not needed")
            if logs_in and granted.get("id-token") != "write":
                problems.append(f"{where}: Azure/login without id-token: write")
            for step in uses(job, "actions/checkout"):
                if inputs(step).get("persist-credentials") is not False:
                    problems.append(f"{where}: actions/checkout without persist-credentials: false")
            if "up" in _pulumi_commands(job):
                group = str((job.get("concurrency") or {}).get("group", ""))
                environment = str(job.get("environment") or "")
                if "matrix.stack" not in environment and environment not in _stacks_named(job):
                    problems.append(f"{where}: pulumi up outside the stack's protected environment")
                if (
                    "matrix.stack" not in group
                    or job["concurrency"].get("cancel-in-progress") is not False
                ):
                    problems.append(
                        f"{where}: pulumi up without a per-stack concurrency group that never cancels"
                    )
            for step in uses(job, "actions/upload-artifact"):
                given = inputs(step)
                if given.get("if-no-files-found") != "error" or not isinstance(
                    given.get("retention-days"), int
                ):
                    problems.append(
                        f"{where}: upload-artifact without if-no-files-found: error and retention-days"
                    )
    return problems


def azure_job_problems(pipeline: Pipeline) -> list[str]:
    """Names, timeouts, ups as deployment jobs on the stack's environment, on main only."""
    problems = []
    for file in pipeline.files:
        for stage in file.doc.get("stages") or []:
            if not NAME.match(str(stage.get("stage"))):
                problems.append(f"{file.label}: stage {stage.get('stage')!r}: not a valid name")
            for job in stage.get("jobs") or []:
                job_id = job.get("job") or job.get("deployment")
                where = f"{file.label}: {stage.get('stage')}.{job_id}"
                if not NAME.match(str(job_id)):
                    problems.append(f"{where}: not a valid job name")
                if not str(job.get("timeoutInMinutes", "")).isdigit():
                    problems.append(f"{where}: no timeoutInMinutes")
                commands = _pulumi_commands(job)
                if "up" in commands:
                    if "deployment" not in job or job.get("environment") not in _stacks_named(job):
                        problems.append(
                            f"{where}: pulumi up not as a deployment job on the stack's environment"
                        )
                    if "refs/heads/main" not in str(stage.get("condition", "")):
                        problems.append(f"{where}: pulumi up not limited to main")
                if "preview" in commands and "PullRequest" not in str(stage.get("condition", "")):
                    problems.append(f"{where}: pulumi preview not limited to pull requests")
    return problems


def policy_problems(pipeline: Pipeline) -> list[str]:
    """Every pulumi preview and up runs the CrossGuard pack in policy/ (docs/security.md)."""
    problems = []
    if not (REPO / "policy" / "PulumiPolicy.yaml").exists():
        problems.append("policy/PulumiPolicy.yaml: no policy pack")
    for file in pipeline.files:
        for job_id, job in jobs(file):
            for step in uses(job, "pulumi/actions"):
                given = inputs(step)
                if given.get("command") in ("preview", "up") and str(
                    given.get("policyPacks", "")
                ).split() != ["policy"]:
                    problems.append(
                        f"{file.label}: {job_id}: pulumi {given.get('command')} without policyPacks: policy"
                    )
            for command in commands_of(job, "pulumi"):
                packs = [v for f, v in itertools.pairwise(command) if f == "--policy-pack"]
                if command[1:2] in (["preview"], ["up"], ["update"]) and "policy" not in packs:
                    problems.append(
                        f"{file.label}: {job_id}: pulumi {command[1]} without --policy-pack policy"
                    )
    return problems
