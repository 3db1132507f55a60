"""Reads a programme folder (an Ansible inventory) into the models, collecting every problem.

Each group_vars file is validated on its own, so a problem is always reported against the
file it is in. Cross-file rules (`rules.py`) run afterwards on what parsed, with the same
origin map; those two types belong to the rules, so this module imports `rules.py` and never
the other way round.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import TypeAdapter, ValidationError

from eendracht.problems import Problem, ProblemsFound, display_path, field_path
from eendracht.programme import models as m
from eendracht.programme.rules import Origins, Parsed, check_rules

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


# libyaml's parser when PyYAML was built with it: the example programmes parse ~8x faster.
_SafeLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _UniqueKeyLoader(_SafeLoader):  # type: ignore[valid-type,misc]
    """SafeLoader that refuses duplicate keys instead of silently keeping the last."""


def _construct_mapping(loader: yaml.SafeLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r}", key_node.start_mark
            )
        seen.add(key)
    return loader.construct_mapping(node)


_UniqueKeyLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG,
    _construct_mapping,
)


def read_yaml_mapping(path: Path, problems: list[Problem]) -> dict[str, Any] | None:
    """One YAML file that must hold a mapping; any failure becomes a Problem."""
    shown = display_path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        problems.append(Problem(shown, "", f"cannot read file: {exc}"))
        return None
    try:
        data = yaml.load(text, Loader=_UniqueKeyLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"line {mark.line + 1} column {mark.column + 1}" if mark else ""
        problems.append(Problem(shown, where, f"YAML syntax error: {exc.problem or exc}"))
        return None
    except yaml.YAMLError as exc:
        problems.append(Problem(shown, "", f"YAML syntax error: {exc}"))
        return None
    if data is None:
        problems.append(Problem(shown, "", "file is empty; it must hold a mapping of variables"))
        return None
    if not isinstance(data, dict):
        kind = type(data).__name__
        problems.append(
            Problem(shown, "", f"top level must be a mapping of variables, not a {kind}")
        )
        return None
    return data


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
                msg = f"{msg} (got {err['input']!r})"
        out.append(Problem(file, field_path(loc), msg))
    return out


def _validate(file: str, key: str, schema: Any, value: Any, problems: list[Problem]) -> Any:
    try:
        return TypeAdapter(schema).validate_python(value)
    except ValidationError as exc:
        problems.extend(pydantic_problems(file, [key], exc))
        return None


def _yaml_files(folder: Path) -> list[Path]:
    if folder.is_file():
        return [folder]
    return sorted(p for p in folder.iterdir() if p.suffix in YAML_SUFFIXES and p.is_file())


def _group_vars(
    folder: Path, allowed: dict[str, Any], problems: list[Problem]
) -> tuple[dict[str, Any], dict[str, str]]:
    """Validated top-level variables of one group_vars folder, and the file of each."""
    values: dict[str, Any] = {}
    files: dict[str, str] = {}
    for path in _yaml_files(folder):
        shown = display_path(path)
        data = read_yaml_mapping(path, problems)
        if data is None:
            continue
        for key, value in data.items():
            if not isinstance(key, str):
                problems.append(Problem(shown, str(key), "variable names are strings"))
                continue
            if key.startswith("ansible_"):
                continue  # connection settings are Ansible's business
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
    for candidate in (base / group, *(base / f"{group}{s}" for s in YAML_SUFFIXES)):
        if candidate.exists():
            return candidate
    return None


def _read_hosts(root: Path, problems: list[Problem], origins: Origins) -> dict[str, list[m.Host]]:
    path = next((root / f"hosts{s}" for s in YAML_SUFFIXES if (root / f"hosts{s}").exists()), None)
    if path is None:
        problems.append(Problem(display_path(root / "hosts.yml"), "", "file is missing"))
        return {}
    shown = origins.hosts_file = display_path(path)
    data = read_yaml_mapping(path, problems)
    if data is None:
        return {}
    groups: dict[str, list[m.Host]] = {}
    top = data.get("all")
    if not isinstance(top, dict):
        problems.append(Problem(shown, "all", "required: `all:` with `children:` per municipality"))
        return {}
    children = top.get("children")
    if not isinstance(children, dict) or not children:
        problems.append(Problem(shown, "all.children", "one group per municipality is required"))
        return {}
    for group, body in children.items():
        where = f"all.children.{group}"
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


@dataclass
class Loaded:
    programme: m.Programme | None
    parsed: Parsed
    origins: Origins
    problems: list[Problem]


def read_programme(root: Path) -> Loaded:
    """Everything that can be read, with every problem found on the way."""
    problems: list[Problem] = []
    origins = Origins()
    if not root.is_dir():
        problems.append(Problem(display_path(root), "", "programme folder does not exist"))
        return Loaded(None, Parsed(None, {}), origins, problems)

    groups = _read_hosts(root, problems, origins)

    settings: m.ProgrammeSettings | None = None
    all_folder = _group_vars_folder(root, "all")
    if all_folder is None:
        problems.append(Problem(display_path(root / "group_vars/all"), "", "folder is missing"))
    else:
        values, files = _group_vars(all_folder, PROGRAMME_KEYS, problems)
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
        values, files = _group_vars(folder, MUNICIPALITY_KEYS, problems)
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


def load_programme(root: Path | str) -> m.Programme:
    """The validated programme, or ProblemsFound with every problem in it."""
    loaded = read_programme(Path(root))
    problems = [*loaded.problems, *check_rules(loaded.parsed, loaded.origins)]
    if problems or loaded.programme is None:
        raise ProblemsFound(sorted(set(problems), key=_problem_order(problems)))
    return loaded.programme


def _problem_order(problems: list[Problem]) -> Any:
    first = {p: i for i, p in reversed(list(enumerate(problems)))}
    return lambda p: (p.file, first[p])
