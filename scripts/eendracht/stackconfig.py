"""Stack config files (`stacks/Pulumi.<stack>.yaml`) read without the Pulumi CLI.

The mocked preview needs what `stacks/__main__.py` gets from `pulumi.Config`: the programme
folder and the overrides under the `eendracht:` namespace. Both end in the same validated
`StackSettings`, so a stack file that the preview accepts is one the real program accepts.
Secrets (`pulumi config set --secret`) are not decrypted here: the preview uses stand-ins;
but a secret key must hold Pulumi's `secure:` form, and a plain-text value is refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from eendracht.problems import Problem, ProblemsFound, display_path
from eendracht.programme.loader import pydantic_problems, read_yaml_mapping
from eendracht.stacksettings import (
    CONFIG_NAMESPACE,
    OTHER_CONFIG_KEYS,
    SECRET_CONFIG_KEYS,
    StackSettings,
)

REPO = Path(__file__).resolve().parents[2]
STACKS_DIR = REPO / "stacks"
SECRET_KEYS = SECRET_CONFIG_KEYS | OTHER_CONFIG_KEYS  # read by the program, not settings


@dataclass(frozen=True)
class StackConfig:
    stack: str
    file: Path
    settings: StackSettings
    programme_path: Path


def stack_names(stacks_dir: Path = STACKS_DIR) -> list[str]:
    return sorted(p.name[len("Pulumi.") : -len(".yaml")] for p in stacks_dir.glob("Pulumi.*.yaml"))


def read_stack(stack: str, stacks_dir: Path = STACKS_DIR) -> StackConfig:
    """The validated settings of one stack, or ProblemsFound naming the file and key."""
    path = stacks_dir / f"Pulumi.{stack}.yaml"
    shown = display_path(path)
    if not path.is_file():
        known = ", ".join(stack_names(stacks_dir)) or "none"
        raise ProblemsFound([Problem(shown, "", f"unknown stack {stack!r} (known: {known})")])
    problems: list[Problem] = []
    data = read_yaml_mapping(path, problems)
    if data is None:
        raise ProblemsFound(problems)
    config = data.get("config") or {}
    if not isinstance(config, dict):
        raise ProblemsFound([Problem(shown, "config", "must be a mapping of config keys")])
    values: dict[str, Any] = {}
    for key, value in config.items():
        namespace, _, name = str(key).partition(":")
        if namespace == CONFIG_NAMESPACE and name in SECRET_CONFIG_KEYS:
            if not (isinstance(value, dict) and list(value) == ["secure"]):
                problems.append(
                    Problem(
                        shown,
                        f"config.{key}",
                        "a secret in plain text (expected Pulumi's `secure:` form: "
                        f"pulumi config set --secret {key})",
                    )
                )
            continue
        if namespace != CONFIG_NAMESPACE or name in SECRET_KEYS:
            continue
        if isinstance(value, dict):  # `secure:` values are secrets, never settings
            problems.append(
                Problem(shown, f"config.{key}", "settings are plain values, not secrets")
            )
            continue
        values[name] = value
    try:
        settings = StackSettings.from_config(values)
    except ValidationError as exc:
        problems.extend(pydantic_problems(shown, ["config"], exc))
        raise ProblemsFound(problems) from None
    programme = stacks_dir.parent / settings.programme
    if not programme.is_dir():
        problems.append(
            Problem(
                shown,
                f"config.{CONFIG_NAMESPACE}:programme",
                f"programme folder {settings.programme!r} does not exist "
                "(expected a programme folder relative to the repository, e.g. inventory/altena)",
            )
        )
    if problems:
        raise ProblemsFound(problems)
    return StackConfig(stack, path, settings, programme)
