"""Reads a programme folder (an Ansible inventory) into the models, collecting every problem.

Each group_vars file is validated on its own, so a problem is always reported against the
file it is in. Cross-file rules (`rules.py`) run afterwards on what parsed, with the same
origin map; those two types belong to the rules, so this module imports `rules.py` and never
the other way round.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter, ValidationError

from eendracht.problems import Problem, ProblemsFound, brief_repr, display_path, field_path
from eendracht.programme import models as m
from eendracht.programme.rules import Origins, Parsed, check_rules
from eendracht.safeyaml import Vault, read_yaml_mapping

__all__ = ["Loaded", "load_programme", "pydantic_problems", "read_programme", "read_yaml_mapping"]

PROGRAMME_KEYS: dict[str, Any] = {"programme": m.ProgrammeSettings}
MUNICIPALITY_KEYS: dict[str, Any] = {
    "municipality": m.MunicipalityInfo,
    "people": list[m.Person],
    "people_source": m.PeopleSource,
    "shares": list[m.Share],
    "dns": m.Dns,
    "mailboxes": list[m.Mailbox],
    "devices": list[m.Device],
    "applications": list[m.Application],
}
YAML_SUFFIXES = (".yml", ".yaml")
# What Ansible reads as variables in group_vars/ (YAML_FILENAME_EXTENSIONS, and no extension):
# eendracht reads the same files, so nothing reaches the playbooks that check did not see.
VARS_SUFFIXES = ("", *YAML_SUFFIXES, ".json")
MAX_VARS_FILES = 1000  # files in one group_vars folder, its subfolders included


def pydantic_problems(file: str, prefix: list[str | int], exc: ValidationError) -> list[Problem]:
    out = []
    for err in exc.errors(include_url=False):
        loc: list[str | int] = [*prefix, *err["loc"]]
        kind = err["type"]
        if kind == "extra_forbidden":
            msg = "unknown key"
        elif kind == "missing":
            msg = "required key is missing"
        else:
            msg = err["msg"].removeprefix("Value error, ")
            if kind not in ("value_error", "assertion_error") and "input" in err:
                msg = f"{msg} (got {brief_repr(err['input'])})"
        out.append(Problem(file, field_path(loc), msg))
    return out


def _validate(file: str, key: str, schema: Any, value: Any, problems: list[Problem]) -> Any:
    try:
        return TypeAdapter(schema).validate_python(value)
    except ValidationError as exc:
        problems.extend(pydantic_problems(file, [key], exc))
        return None


def _vars_files(folder: Path, problems: list[Problem]) -> list[Path]:
    """The files Ansible reads as the variables of `folder`, in its order, and no more.

    As Ansible does: a file is read as it is; in a folder, every file with no extension or
    `.yml`, `.yaml`, `.json` (hidden files and backups `~` skipped), and subfolders without an
    extension in place. What Ansible silently skips but looks like variables (a folder named
    `people.yml`, a FIFO, a symbolic link loop) is a problem here, never silence.
    """
    if not folder.is_dir():
        return [folder]
    found: list[Path] = []
    visited: set[tuple[int, int]] = set()
    todo = [folder]
    while todo:
        current = todo.pop()
        info = current.stat()
        if (info.st_dev, info.st_ino) in visited:
            problems.append(
                Problem(display_path(current), "", "folder loops back to a folder above it")
            )
            continue
        visited.add((info.st_dev, info.st_ino))
        try:
            names = sorted(os.listdir(current))
        except OSError as exc:
            problems.append(
                Problem(display_path(current), "", f"cannot read folder: {exc.strerror or exc}")
            )
            continue
        subfolders = []
        for name in names:
            if name.startswith(".") or name.endswith("~"):
                continue
            path = current / name
            suffix = os.path.splitext(name)[1]
            if suffix not in VARS_SUFFIXES:
                continue
            if path.is_dir():
                if suffix:
                    problems.append(
                        Problem(
                            display_path(path),
                            "",
                            "is a folder, not a file of variables (expected a file; Ansible skips it)",
                        )
                    )
                else:
                    subfolders.append(path)
                continue
            found.append(path)  # files, and what only pretends to be one: refused when read
            if len(found) > MAX_VARS_FILES:
                problems.append(
                    Problem(
                        display_path(folder),
                        "",
                        f"holds more than {MAX_VARS_FILES} files of variables",
                    )
                )
                return []
        todo.extend(reversed(subfolders))
    return found


def _group_vars(
    folder: Path, allowed: dict[str, Any], problems: list[Problem], vault: Vault | None
) -> tuple[dict[str, Any], dict[str, str]]:
    """Validated top-level variables of one group_vars folder, and the file of each."""
    values: dict[str, Any] = {}
    files: dict[str, str] = {}
    for path in _vars_files(folder, problems):
        shown = display_path(path)
        data = read_yaml_mapping(path, problems, vault)
        if data is None:
            continue
        for key, value in data.items():
            if not isinstance(key, str):
                problems.append(Problem(shown, str(key), "variable names are strings"))
                continue
            if key.startswith("ansible_"):
                # They would change how Ansible reaches or runs on the hosts after check said
                # the programme is valid: where and how to connect is the environment's.
                problems.append(
                    Problem(
                        shown,
                        key,
                        "connection settings belong in the environment's hosts.yml, "
                        "not in the programme",
                    )
                )
                continue
            if key in files:
                problems.append(Problem(shown, key, f"already defined in {files[key]}"))
                continue
            if key not in allowed:
                known = ", ".join(sorted(allowed))
                problems.append(Problem(shown, key, f"unknown key (expected one of: {known})"))
                continue
            files[key] = shown
            validated = _validate(shown, key, allowed[key], value, problems)
            if validated is not None:
                values[key] = validated
    return values, files


def _group_vars_folder(root: Path, group: str) -> Path | None:
    base = root / "group_vars"
    for candidate in (base / f"{group}{s}" for s in VARS_SUFFIXES):  # Ansible's order
        if os.path.lexists(candidate):
            return candidate
    return None


def _read_hosts(
    root: Path, problems: list[Problem], origins: Origins, vault: Vault | None
) -> dict[str, list[m.Host]]:
    candidates = [root / f"hosts{s}" for s in YAML_SUFFIXES]
    path = next((p for p in candidates if os.path.lexists(p)), None)
    if path is None:
        problems.append(Problem(display_path(root / "hosts.yml"), "", "file is missing"))
        return {}
    shown = origins.hosts_file = display_path(path)
    data = read_yaml_mapping(path, problems, vault)
    if data is None:
        return {}
    groups: dict[str, list[m.Host]] = {}
    for key in data:
        if key != "all":
            problems.append(Problem(shown, key, _NOT_READ.format(what="a group outside `all`")))
    top = data.get("all")
    if not isinstance(top, dict):
        problems.append(Problem(shown, "all", "required: `all:` with `children:` per municipality"))
        return {}
    for key in top:
        if key != "children":
            problems.append(Problem(shown, f"all.{key}", _ALL_KEYS.get(key, _NOT_READ_KEY)))
    children = top.get("children")
    if not isinstance(children, dict) or not children:
        problems.append(Problem(shown, "all.children", "one group per municipality is required"))
        return {}
    for group, body in children.items():
        where = f"all.children.{group}"
        for key in body if isinstance(body, dict) else ():
            if key != "hosts":
                problems.append(
                    Problem(shown, f"{where}.{key}", _GROUP_KEYS.get(key, _NOT_READ_KEY))
                )
        hosts_body = (body or {}).get("hosts") if isinstance(body, dict) else None
        if not isinstance(hosts_body, dict) or not hosts_body:
            problems.append(Problem(shown, f"{where}.hosts", "a municipality lists its servers"))
            groups[group] = []
            continue
        groups[group] = []
        for host, hvars in hosts_body.items():
            hvars = hvars or {}
            if not isinstance(hvars, dict):
                problems.append(
                    Problem(shown, f"{where}.hosts.{host}", "host vars must be a mapping")
                )
                continue
            connection = {k: v for k, v in hvars.items() if str(k).startswith("ansible_")}
            rest = {k: v for k, v in hvars.items() if not str(k).startswith("ansible_")}
            try:
                groups[group].append(m.Host(name=host, group=group, connection=connection, **rest))
            except ValidationError as exc:
                problems.extend(pydantic_problems(shown, [*where.split("."), "hosts", host], exc))
    return groups


# What Ansible would read in hosts.yml but a programme keeps elsewhere: refused, so that no
# variable reaches the playbooks without having been checked.
_NOT_READ = "Ansible reads {what} but eendracht does not (expected only `all: children:`)"
_NOT_READ_KEY = "unknown key: Ansible would read it, eendracht does not (expected `hosts`)"
_VARS = "variables in hosts.yml are not checked (expected them in group_vars/{where}/)"
_ALL_KEYS = {
    "vars": _VARS.format(where="all"),
    "hosts": "hosts outside a municipality (expected every host in a group of `all.children`)",
}
_GROUP_KEYS = {
    "vars": _VARS.format(where="<municipality>"),
    "children": "groups inside a municipality (expected a municipality to list only `hosts`)",
}


def _host_vars(root: Path, problems: list[Problem]) -> None:
    """host_vars/ would reach the playbooks through Ansible unchecked: refused."""
    for name in ("host_vars",):
        if os.path.lexists(root / name):
            problems.append(
                Problem(
                    display_path(root / name),
                    "",
                    "Ansible reads host variables here but eendracht does not "
                    "(expected a host's variables in hosts.yml)",
                )
            )


@dataclass
class Loaded:
    programme: m.Programme | None
    parsed: Parsed
    origins: Origins
    problems: list[Problem]


def read_programme(root: Path, vault: Vault | None = None) -> Loaded:
    """Everything that can be read, with every problem found on the way.

    `vault` decrypts what Ansible Vault encrypted (files and `!vault` values), in memory.
    """
    problems: list[Problem] = []
    origins = Origins()
    if not root.is_dir():
        why = (
            "is not a folder (a programme is a folder with hosts.yml and group_vars/)"
            if root.exists()
            else "programme folder does not exist"
        )
        problems.append(Problem(display_path(root), "", why))
        return Loaded(None, Parsed(None, {}), origins, problems)

    groups = _read_hosts(root, problems, origins, vault)
    _host_vars(root, problems)

    settings: m.ProgrammeSettings | None = None
    all_folder = _group_vars_folder(root, "all")
    if all_folder is None:
        problems.append(Problem(display_path(root / "group_vars/all"), "", "folder is missing"))
    else:
        values, files = _group_vars(all_folder, PROGRAMME_KEYS, problems, vault)
        settings = values.get("programme")
        origins.programme_file = files.get("programme", display_path(all_folder))
        if "programme" not in files and not any(
            p.file.startswith(display_path(all_folder)) for p in problems
        ):
            problems.append(
                Problem(display_path(all_folder), "programme", "required key is missing")
            )

    municipalities: dict[str, m.Municipality] = {}
    for group, hosts in groups.items():
        folder = _group_vars_folder(root, group)
        if folder is None:
            problems.append(
                Problem(
                    display_path(root / "group_vars" / group),
                    "",
                    "folder is missing for a municipality in hosts.yml",
                )
            )
            continue
        values, files = _group_vars(folder, MUNICIPALITY_KEYS, problems, vault)
        origins.municipality_files[group] = files
        if "municipality" not in files:
            if not any(p.file.startswith(display_path(folder)) for p in problems):
                problems.append(
                    Problem(display_path(folder), "municipality", "required key is missing")
                )
            continue
        if "municipality" not in values:
            continue  # its own problems were reported
        values["info"] = values.pop("municipality")
        municipalities[group] = m.Municipality(hosts=hosts, **values)

    base = root / "group_vars"
    if base.is_dir():
        for extra in sorted(base.iterdir()):
            name = extra.name.split(".")[0]
            if name != "all" and name not in groups:
                problems.append(
                    Problem(
                        display_path(extra),
                        "",
                        f"group {name!r} is not in {origins.hosts_file or 'hosts.yml'}",
                    )
                )

    parsed = Parsed(settings, municipalities)
    programme = None
    if settings is not None:
        order = [w.municipality for w in settings.waves]
        ordered = {n: municipalities[n] for n in order if n in municipalities}
        ordered.update({n: mu for n, mu in municipalities.items() if n not in ordered})
        programme = m.Programme(root=str(root), settings=settings, municipalities=ordered)
    return Loaded(programme, parsed, origins, problems)


def load_programme(root: Path | str, vault: Vault | None = None) -> m.Programme:
    """The validated programme, or ProblemsFound with every problem in it.

    Problems of the files come first, then those of the cross-file rules (which are often
    their consequence), each group in file order.
    """
    loaded = read_programme(Path(root), vault)
    rules = list(check_rules(loaded.parsed, loaded.origins))
    if loaded.problems or rules or loaded.programme is None:
        hosts = loaded.origins.hosts_file
        files = sorted(set(loaded.problems), key=_problem_order(loaded.problems, hosts))
        shown = set(files)
        derived = [p for p in dict.fromkeys(rules) if p not in shown]
        raise ProblemsFound([*files, *sorted(derived, key=_problem_order(derived, hosts))])
    return loaded.programme


def _problem_order(problems: list[Problem], hosts_file: str | None) -> Any:
    """hosts.yml first (the groups everything else is read by), then by file, as found."""
    first = {p: i for i, p in reversed(list(enumerate(problems)))}
    return lambda p: (p.file != hosts_file, p.file, first[p])
