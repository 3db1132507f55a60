"""What a wave hands the playbooks: inventory, stack outputs, lab details and the identity map.

Extra vars: {"target": <stack outputs>, "lab": <lab details or {}>, "municipality": NAME,
"identity_map_file": PATH, "wave_dir": PATH, "programme_name": NAME}. They go to
ansible-runner as a file (mode 0600) rather than a command line; none of them is a secret:
passwords stay in files referenced by path.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eendracht.identity import IdentityMapping
from eendracht.problems import Problem, ProblemsFound
from eendracht.programme.models import Programme
from eendracht.wave.identity_map import build_mapping, write_identity_map
from eendracht.wave.paths import lab_dir, state_root


@dataclass(frozen=True)
class WaveContext:
    inventory: Path
    outputs: dict[str, Any]
    lab: dict[str, Any]
    extravars_file: Path
    identity_map_file: Path
    secret_values: tuple[str, ...]
    mapping: IdentityMapping


def lab_details(state: Path | None) -> tuple[Path, dict[str, Any], dict[str, Any]]:
    root = lab_dir(state)
    outputs_file = root / "outputs.json"
    if not outputs_file.is_file():
        raise ProblemsFound(
            [Problem(str(outputs_file), "", "the lab is not up: run `eendracht lab up` first")]
        )
    data = json.loads(outputs_file.read_text(encoding="utf-8"))
    return root / "inventory", dict(data.get("outputs", {})), dict(data.get("lab", {}))


def stack_outputs(programme: Programme, state: Path | None, outputs: Path | None) -> dict[str, Any]:
    path = outputs or state_root(state) / "outputs" / f"{programme.name}.json"
    if not path.is_file():
        raise ProblemsFound(
            [
                Problem(
                    str(path),
                    "",
                    "no stack outputs: save `pulumi stack output --json` here or pass --outputs",
                )
            ]
        )
    data = json.loads(path.read_text(encoding="utf-8"))
    return dict(data.get("outputs", data))


def secret_values(lab: dict[str, Any]) -> tuple[str, ...]:
    """Values of the secrets the lab keeps in files, so they can be redacted from messages."""
    files: list[str] = []

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                if key in ("password_file", "tsig_key_file") and isinstance(item, str):
                    files.append(item)
                else:
                    walk(item)

    walk(lab)
    values: set[str] = set()
    for name in files:
        try:
            text = Path(name).read_text(encoding="utf-8").strip()
        except OSError:
            continue
        if "secret" in text:
            values.update(re.findall(r'secret\s+"([^"]+)"', text))
        elif text:
            values.add(text)
    return tuple(sorted(v for v in values if len(v) >= 6))


def build_context(
    programme: Programme,
    municipality: str,
    wave_dir: Path,
    *,
    lab: bool,
    state: Path | None,
    outputs_file: Path | None = None,
) -> WaveContext:
    if lab:
        inventory, outputs, lab_info = lab_details(state)
    else:
        inventory, outputs, lab_info = Path(programme.root), {}, {}
        outputs = stack_outputs(programme, state, outputs_file)
    wave_dir.mkdir(parents=True, exist_ok=True)
    identity_map_file = wave_dir / "identity_map.json"
    mapping = build_mapping(programme, lab_info)
    write_identity_map(mapping, municipality, identity_map_file)
    extravars = {
        "target": outputs,
        "lab": lab_info,
        "municipality": municipality,
        "identity_map_file": str(identity_map_file),
        "wave_dir": str(wave_dir),
        "programme_name": programme.name,
    }
    extravars_file = wave_dir / "extravars.json"
    fd = os.open(extravars_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(extravars, handle, indent=1)
    return WaveContext(
        inventory=inventory,
        outputs=outputs,
        lab=lab_info,
        extravars_file=extravars_file,
        identity_map_file=identity_map_file,
        secret_values=secret_values(lab_info),
        mapping=mapping,
    )
