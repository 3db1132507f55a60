"""Module calls checked against the installed collection's own argument specs.

The awx.awx modules build their argument spec inside `main()`; the machine-readable form of it
is their documentation, as `ansible-doc -j` prints it: options with `type`, `elements`,
`choices`, `required`, `aliases` and nested `suboptions`. A call passes when every key is an
option (or an alias of one), every value has the option's type, every choice is allowed and
every required option is given, at every depth.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

Options = dict[str, dict[str, Any]]


class SpecError(RuntimeError):
    """ansible-doc could not describe a module."""


def load_options(modules: Iterable[str]) -> dict[str, Options]:
    """Each module's options, from one `ansible-doc -j` of the interpreter's environment."""
    wanted = sorted(set(modules))
    ansible_doc = Path(sys.executable).with_name("ansible-doc")
    done = subprocess.run(
        [str(ansible_doc), "-j", *wanted], capture_output=True, text=True, timeout=120
    )
    if done.returncode != 0:
        raise SpecError(done.stderr.strip() or f"ansible-doc exited {done.returncode}")
    docs = json.loads(done.stdout)
    missing = [m for m in wanted if m not in docs]
    if missing:
        raise SpecError(f"ansible-doc knows no module {', '.join(missing)}")
    return {m: docs[m]["doc"].get("options") or {} for m in wanted}


_TYPES: dict[str, tuple[type, ...]] = {
    "str": (str,),
    "path": (str,),
    "int": (int,),
    "float": (int, float),
    "bool": (bool,),
    "list": (list,),
    "dict": (dict,),
}


def _type_problem(kind: str, value: Any) -> bool:
    if kind in ("raw", "jsonarg", "json", ""):
        return False
    accepted = _TYPES.get(kind)
    if accepted is None:
        return True  # a type this checker does not know is not passed silently
    if isinstance(value, bool) and bool not in accepted:
        return True
    return not isinstance(value, accepted)


def _value_problems(option: dict[str, Any], value: Any, where: str) -> list[str]:
    kind = str(option.get("type", "str"))
    if _type_problem(kind, value):
        return [f"{where}: {type(value).__name__} given, the option takes {kind}"]
    problems: list[str] = []
    choices = option.get("choices")
    items = value if kind == "list" else [value]
    if kind == "list":
        elements = str(option.get("elements", ""))
        for n, item in enumerate(items):
            if elements and _type_problem(elements, item):
                problems.append(
                    f"{where}[{n}]: {type(item).__name__} given, elements are {elements}"
                )
            elif elements == "dict" and option.get("suboptions"):
                problems += call_problems(option["suboptions"], item, f"{where}[{n}]")
    elif kind == "dict" and option.get("suboptions"):
        problems += call_problems(option["suboptions"], value, where)
    if choices:
        problems += [f"{where}: {v!r} is not one of {choices}" for v in items if v not in choices]
    return problems


def call_problems(options: Options, args: dict[str, Any], where: str = "") -> list[str]:
    """Every way `args` does not fit `options`, each naming the key path."""
    by_name: dict[str, str] = {}
    for name, option in options.items():
        by_name[name] = name
        for alias in option.get("aliases") or []:
            by_name[alias] = name
    problems: list[str] = []
    given: set[str] = set()
    for key, value in args.items():
        path = f"{where}.{key}" if where else key
        option_name = by_name.get(key)
        if option_name is None:
            problems.append(f"{path}: no such option")
            continue
        given.add(option_name)
        problems += _value_problems(options[option_name], value, path)
    for name, option in options.items():
        if option.get("required") and name not in given:
            problems.append(f"{where + '.' if where else ''}{name}: required, not given")
    return problems
