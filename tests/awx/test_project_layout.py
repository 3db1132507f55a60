"""The project runs from an AWX project sync as it is: what the code under playbooks/ uses is in
the execution environment's requirements (collections, Python packages, command-line tools the
roles start on the machine that runs ansible-playbook), and the playbooks pass a syntax check
from a copy of what AWX sees (no .venv, .state, inventory/ or package; no ANSIBLE_CONFIG)."""

from __future__ import annotations

import ast
import configparser
import importlib.metadata
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml
from bindep.depends import Depends

REPO = Path(__file__).resolve().parents[2]
PLAYBOOKS = REPO / "playbooks"
RPM = ["platform:rpm", "platform:redhat", "platform:fedora"]
FQCN = re.compile(r"(?<![\w.])([a-z][a-z0-9_]*)\.([a-z][a-z0-9_]*)\.([a-z_][a-z0-9_]*)(?![\w])")
CORE = {("ansible", "builtin"), ("ansible", "legacy")}

# Every command-line tool the code under playbooks/ starts, and where it runs. On the machine
# that runs ansible-playbook (the execution environment): the bindep package that brings it.
LOCAL_TOOLS = {
    "ldapsearch": "openldap-clients",  # identity (eendracht_directory, eendracht_ad), files owners, fallback verify
    "ldapadd": "openldap-clients",  # identity role, delegated to localhost
    "ldapmodify": "openldap-clients",  # identity role, delegated to localhost
    "psql": "postgresql",  # applications (eendracht_pg) and fallback (eendracht_pg_site) on localhost
    "pg_dump": "postgresql",  # applications role's database move, on localhost
    "pg_restore": "postgresql",  # applications role's database move, on localhost
}
# On managed hosts: the server's own tools, not the execution environment's.
ON_MANAGED_HOSTS = {
    "rsync": "source server (eendracht_copy, shipped by the files role's action plugin); primary's file server (fallback switchback, delegated)",
    "ssh": "rsync's transport from those servers (eendracht_copy, the fallback role's fallback_files_ssh)",
    "doveadm": "target mail server (mail role, delegate_to mail_server)",
    "setpriv": "target mail server (module_utils/eendracht_mailmove)",
    "lsattr": "each source server (files role's preflight)",
    "du": "each source server (preflight role's capacity)",
    "df": "target file server (preflight role's capacity, delegated)",
    "dirname": "target file server (preflight role's capacity, delegated)",
    "tail": "target file server (preflight role's capacity, delegated)",
    "runuser": "database host (eendracht_pg_site rebuilt, delegated)",
    "pg_rewind": "database host (eendracht_pg_site rebuilt, delegated)",
    "pg_controldata": "database host (eendracht_pg_site rebuilt, delegated)",
}
# Not started by the code, needed all the same.
OTHER_PACKAGES = {
    "openssh-clients": "Ansible's ssh connection to every Linux host (ansible.cfg [ssh_connection])",
    "krb5-libs": "libgssapi_krb5 for the gssapi package (GSS-TSIG: dns role, fallback's Traffic Manager)",
}
# Tools a change could start that are in neither table yet: found anywhere, the test fails until
# the tables say where they run.
CANDIDATES = {
    "nsupdate", "dig", "kinit", "klist", "kdestroy", "ldapdelete", "ldappasswd", "ldapwhoami",
    "ldapmodrdn", "pg_basebackup", "pg_dumpall", "pg_ctl", "pg_isready", "createdb", "dropdb",
    "smbclient", "samba-tool", "wbinfo", "ldbsearch", "ldbmodify", "openssl", "curl", "wget",
    "az", "azcopy", "pwsh", "powershell", "sshpass", "scp", "sftp", "getent", "setfacl",
    "getfacl", "chattr", "sqlite3", "mysql", "mysqldump", "sqlcmd", "rclone", "git",
}  # fmt: skip
KNOWN = set(LOCAL_TOOLS) | set(ON_MANAGED_HOSTS) | CANDIDATES
COMMAND_MODULES = {
    f"{prefix}{m}"
    for prefix in ("", "ansible.builtin.", "ansible.legacy.")
    for m in ("command", "shell", "raw", "script")
}
SHELL_WORDS = {
    "set",
    "while",
    "until",
    "if",
    "then",
    "else",
    "fi",
    "for",
    "do",
    "done",
    "case",
    "esac",
    "[",
    "[[",
    "test",
    "echo",
    "printf",
    "export",
    "cd",
    "exit",
    "true",
    "false",
    "read",
    "local",
}


def _files(*suffixes: str) -> list[Path]:
    return sorted(
        p
        for p in PLAYBOOKS.rglob("*")
        if p.is_file() and p.suffix in suffixes and "__pycache__" not in p.parts
    )


def _yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def _nodes(node: Any) -> Iterator[Any]:
    yield node
    if isinstance(node, dict):
        for key, value in node.items():
            yield key
            yield from _nodes(value)
    elif isinstance(node, list):
        for value in node:
            yield from _nodes(value)


def _python_strings(tree: ast.AST) -> Iterator[str]:
    """String constants of a module, its documentation left out: docstrings and a module's
    DOCUMENTATION, EXAMPLES and RETURN (which may name other modules, e.g. in `seealso`)."""
    docs = {
        id(n.body[0].value) for n in ast.walk(tree)
        if isinstance(n, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
        and n.body and isinstance(n.body[0], ast.Expr) and isinstance(n.body[0].value, ast.Constant)
    } | {
        id(n.value) for n in ast.walk(tree)
        if isinstance(n, ast.Assign)
        and any(isinstance(t, ast.Name) and t.id in {"DOCUMENTATION", "EXAMPLES", "RETURN"} for t in n.targets)
    }  # fmt: skip
    for n in ast.walk(tree):
        if isinstance(n, ast.Constant) and isinstance(n.value, str) and id(n) not in docs:
            yield n.value


def _name(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _installed_collections() -> dict[tuple[str, str], tuple[str, Path]]:
    """(namespace, name) -> (version, the folder holding ansible_collections) of the .venv."""
    spec = importlib.util.find_spec("ansible_collections")
    assert spec and spec.submodule_search_locations
    found: dict[tuple[str, str], tuple[str, Path]] = {}
    for root in map(Path, spec.submodule_search_locations):
        for manifest in root.glob("*/*/MANIFEST.json"):
            info = json.loads(manifest.read_text(encoding="utf-8"))["collection_info"]
            found.setdefault((info["namespace"], info["name"]), (info["version"], root.parent))
    return found


def _used_collections(installed: set[tuple[str, str]]) -> dict[tuple[str, str], set[str]]:
    """Collections named by FQCN in tasks, handlers, playbooks, templates and plugins (a
    candidate counts when a collection of that name exists: `a.b.c` is also a variable path)."""
    texts: list[tuple[Path, str]] = []
    for path in _files(".yml", ".yaml"):
        texts += [(path, s) for s in _nodes(_yaml(path)) if isinstance(s, str)]
    texts += [(path, path.read_text(encoding="utf-8")) for path in _files(".j2")]
    for path in _files(".py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        texts += [(path, s) for s in _python_strings(tree)]
        for n in ast.walk(tree):
            if isinstance(n, ast.ImportFrom | ast.Import):
                for module in (
                    [n.module or ""] if isinstance(n, ast.ImportFrom) else [a.name for a in n.names]
                ):
                    parts = module.split(".")
                    if parts[0] == "ansible_collections" and len(parts) >= 3:
                        texts.append((path, f"{parts[1]}.{parts[2]}.x"))
    used: dict[tuple[str, str], set[str]] = {}
    for path, text in texts:
        for match in FQCN.finditer(text):
            key = (match[1], match[2])
            if key in installed and key not in CORE:
                used.setdefault(key, set()).add(str(path.relative_to(REPO)))
    return used


def test_every_collection_used_is_required_at_the_installed_version() -> None:
    installed = _installed_collections()
    used = _used_collections(set(installed))
    required = {
        tuple(c["name"].split(".")): str(c["version"])
        for c in _yaml(REPO / "collections/requirements.yml")["collections"]
    }  # fmt: skip
    assert set(used) <= set(required), (
        f"used but not in collections/requirements.yml: {sorted(set(used) - set(required))}"
    )
    assert set(required) <= set(used), (
        f"in collections/requirements.yml but used nowhere: {sorted(set(required) - set(used))}"
    )
    for key, version in required.items():
        assert version == installed[key][0], (
            f"{'.'.join(key)}: required {version}, the lock's ansible package has {installed[key][0]}"
        )
    # The collections' own dependencies are among them (ansible-galaxy would pull another version).
    for key in required:
        _, root = installed[key]
        manifest = json.loads(
            (root / "ansible_collections" / key[0] / key[1] / "MANIFEST.json").read_text(
                encoding="utf-8"
            )
        )
        for dependency in manifest["collection_info"]["dependencies"]:
            assert tuple(dependency.split(".")) in required, f"{'.'.join(key)} needs {dependency}"


def _imports() -> dict[str, set[str]]:
    """Top-level modules the code under playbooks/ imports that are neither the standard library,
    nor Ansible, nor the project's own files -> where."""
    local = {p.stem for p in _files(".py")}
    found: dict[str, set[str]] = {}
    for path in _files(".py"):
        for n in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [a.name for a in n.names] if isinstance(n, ast.Import) else []
            if isinstance(n, ast.ImportFrom) and n.level == 0 and n.module:
                names = [n.module]
            for name in (m.split(".")[0] for m in names):
                if (
                    name in sys.stdlib_module_names
                    or name in local
                    or name in {"__future__", "ansible", "ansible_collections"}
                ):
                    continue
                found.setdefault(name, set()).add(str(path.relative_to(REPO)))
    return found


def test_every_python_package_imported_is_in_the_ee_requirements() -> None:
    imports = _imports()
    assert imports, "no third-party import found: the scan is broken"
    distributions = importlib.metadata.packages_distributions()
    unknown = sorted(set(imports) - set(distributions))
    assert unknown == [], f"imported but installed by no distribution of the .venv: {unknown}"
    needed = {_name(d) for name in imports for d in distributions[name]}
    requirements = (REPO / "ee/requirements.txt").read_text(encoding="utf-8").splitlines()
    pinned = {_name(line.split("==")[0]) for line in requirements if "==" in line}
    assert needed <= pinned, (
        f"imported under playbooks/ but not in ee/requirements.txt: {sorted(needed - pinned)}"
    )
    with open(REPO / "pyproject.toml", "rb") as handle:
        group = tomllib.load(handle)["dependency-groups"]["ee"]
    declared = {_name(re.match(r"[A-Za-z0-9._-]+", spec)[0]) for spec in group}  # type: ignore[index]
    assert declared == needed, "pyproject.toml's `ee` group is exactly what playbooks/ imports"


def _command_words(text: str) -> Iterator[str]:
    """The command of each part of a command line or shell script."""
    text = re.sub(r"{{.*?}}", "TEMPLATED", text, flags=re.DOTALL)
    for part in re.split(r"\n|;|&&|\|\||\||\$\(|`|\b(?:do|then|else)\b", text):
        words = part.split()
        if (
            words
            and words[0] != "TEMPLATED"
            and "=" not in words[0]
            and words[0] not in SHELL_WORDS
        ):
            yield os.path.basename(words[0].strip("\"'()"))


def _tools() -> dict[str, set[str]]:
    """Tools the code starts -> where: the literal command of every command/shell task, the
    program of a Python argv list (`["tool", "-x", ...]`, subprocess calls, shutil.which), and
    any known tool name a string starts with (argvs built apart, role defaults)."""
    found: dict[str, set[str]] = {}

    def add(tool: str, path: Path) -> None:
        found.setdefault(tool, set()).add(str(path.relative_to(REPO)))

    for path in _files(".yml", ".yaml"):
        for node in _nodes(_yaml(path)):
            if (
                isinstance(node, str)
                and node.split()
                and os.path.basename(node.split()[0]) in KNOWN
            ):
                add(os.path.basename(node.split()[0]), path)
            if not isinstance(node, dict):
                continue
            for module in COMMAND_MODULES & set(node):
                args = node[module]
                argv = args.get("argv") if isinstance(args, dict) else None
                if isinstance(argv, list) and argv and "{{" not in str(argv[0]):
                    add(os.path.basename(str(argv[0])), path)
                text = (
                    args
                    if isinstance(args, str)
                    else (args or {}).get("cmd") or (args or {}).get("_raw_params")
                )
                for word in _command_words(text) if isinstance(text, str) else ():
                    add(word, path)
    for path in _files(".py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for text in _python_strings(tree):
            if text.split() and os.path.basename(text.split()[0]) in KNOWN:
                add(os.path.basename(text.split()[0]), path)
        # An argv is the first argument of a call or what a name like argv/cmd is given.
        argvs = [n.args[0] for n in ast.walk(tree) if isinstance(n, ast.Call) and n.args] + [
            n.value for n in ast.walk(tree)
            if isinstance(n, ast.Assign) and any(isinstance(t, ast.Name) and re.search("argv|cmd|command", t.id) for t in n.targets)
        ]  # fmt: skip
        for n in argvs:
            if isinstance(n, ast.List | ast.Tuple) and len(n.elts) >= 2:
                first, second = n.elts[0], n.elts[1]
                if (
                    isinstance(first, ast.Constant) and isinstance(first.value, str) and re.fullmatch(r"[a-z][\w.+-]*", first.value)
                    and isinstance(second, ast.Constant) and isinstance(second.value, str) and second.value.startswith("-")
                ):  # fmt: skip
                    add(first.value, path)
        for n in ast.walk(tree):
            if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) and n.args:
                arg = n.args[0]
                if (
                    n.func.attr == "which"
                    and isinstance(arg, ast.Constant)
                    and isinstance(arg.value, str)
                ):
                    add(arg.value, path)
                if n.func.attr in {
                    "run",
                    "Popen",
                    "call",
                    "check_call",
                    "check_output",
                    "run_command",
                } and isinstance(arg, ast.List):
                    head = arg.elts[0] if arg.elts else None
                    if isinstance(head, ast.Constant) and isinstance(head.value, str):
                        add(os.path.basename(head.value), path)
    return found


def test_every_tool_started_locally_is_in_bindep() -> None:
    tools = _tools()
    unplaced = {
        t: sorted(w) for t, w in tools.items() if t not in LOCAL_TOOLS and t not in ON_MANAGED_HOSTS
    }
    assert unplaced == {}, (
        f"say where these run (LOCAL_TOOLS with its bindep package, or ON_MANAGED_HOSTS): {unplaced}"
    )
    stale = sorted((set(LOCAL_TOOLS) | set(ON_MANAGED_HOSTS)) - set(tools))
    assert stale == [], f"no longer started by the code under playbooks/: {stale}"
    bindep = Depends((REPO / "ee/bindep.txt").read_text(encoding="utf-8"))
    runtime = {rule[0] for rule in bindep.active_rules(["default", *RPM])}
    expected = set(LOCAL_TOOLS.values()) | set(OTHER_PACKAGES)
    assert runtime == expected, (
        f"ee/bindep.txt lacks {sorted(expected - runtime)}, has unneeded {sorted(runtime - expected)}"
    )


def test_the_project_as_awx_syncs_it_passes_a_syntax_check(tmp_path: Path) -> None:
    """AWX: the project root as working directory, its ansible.cfg found there, an inventory of
    its own (-i), the collections installed in the execution environment; no .venv, .state,
    inventory/ or eendracht package."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--", "playbooks", "collections", "ansible.cfg"],
        cwd=REPO, capture_output=True, text=True, check=True,
    ).stdout.split("\0")  # fmt: skip
    project = tmp_path / "project"
    for relative in filter(None, listed):
        if (REPO / relative).is_file():
            (project / relative).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / relative, project / relative)
    playbooks = sorted(str(p.relative_to(project)) for p in (project / "playbooks").glob("*.yml"))
    assert len(playbooks) >= 9
    collections = {root for _, root in _installed_collections().values()}
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
    env.update(
        HOME=str(tmp_path), ANSIBLE_COLLECTIONS_PATH=os.pathsep.join(map(str, sorted(collections)))
    )
    done = subprocess.run(
        [str(Path(sys.executable).parent / "ansible-playbook"), "-v", "--syntax-check", "-i", "localhost,", *playbooks],
        cwd=project, env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert f"Using {project / 'ansible.cfg'} as config file" in done.stdout
    assert "WARNING" not in done.stderr, done.stderr


CHECKOUT_ONLY = re.compile(
    r"\.venv\b|\.state\b|\bscripts/|/work/|/root/|\binventory/|playbook_dir\W+/\.\."
)


def test_nothing_under_playbooks_needs_a_checkout() -> None:
    offenders = []
    for path in _files(".yml", ".yaml", ".py", ".j2", ".cfg", ".md", ".json", ".csv"):
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if CHECKOUT_ONLY.search(line):
                offenders.append(f"{path.relative_to(REPO)}:{n}: {line.strip()}")
    assert offenders == [], "\n".join(offenders)
    config = configparser.ConfigParser(interpolation=None)
    config.read(REPO / "ansible.cfg", encoding="utf-8")
    for section in config.sections():
        for key, value in config[section].items():
            assert not re.search(
                r"\.venv\b|\.state\b|\bscripts/|/work/|/root/|(^|/)\.\.(/|$)", value
            ), f"ansible.cfg [{section}] {key} = {value}"
            if key in {"roles_path", "library", "module_utils"}:
                assert all(p.startswith("playbooks/") for p in value.split(":")), (
                    f"{key} outside playbooks/: {value}"
                )
