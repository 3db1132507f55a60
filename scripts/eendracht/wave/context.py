"""What a wave hands the playbooks: the inventory, the environment's variables and the identity map.

The inventory is `<wave>/inventory/`: the environment's hosts.yml beside a copy of the
programme's group_vars, so a run always uses the programme as it was when it started. Extra
vars (playbook_vars + municipality, identity_map_file, wave_dir, programme_name) go to
ansible-runner as a file (mode 0600), never on a command line; none is a secret: secrets
stay in files referenced by path.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eendracht.environment import Environment
from eendracht.environment.playbook_vars import playbook_vars, source_directory
from eendracht.environment.secrets import SecretFiles
from eendracht.identity import IdentityMapping
from eendracht.problems import Problem, ProblemsFound, display_path
from eendracht.programme.models import Person, Programme
from eendracht.wave.identity_map import (
    PeopleReadError,
    build_mapping,
    read_people,
    write_identity_map,
)


@dataclass(frozen=True)
class WaveContext:
    inventory: Path
    extravars: dict[str, Any]
    extravars_file: Path
    identity_map_file: Path
    secret_values: tuple[str, ...]
    mapping: IdentityMapping


def people_from_directories(
    programme: Programme, municipality: str, env: Environment, secrets: SecretFiles
) -> dict[str, list[Person]]:
    """People of every municipality up to this one (wave order) that keeps them in a directory."""
    out: dict[str, list[Person]] = {}
    for name, mu in programme.municipalities.items():
        if mu.people_source is not None and not mu.people:
            try:
                out[name] = read_people(source_directory(env, secrets, name))
            except PeopleReadError as exc:
                raise ProblemsFound(
                    [
                        Problem(
                            display_path(env.environment_file),
                            f"municipalities.{name}.directory",
                            str(exc),
                        )
                    ]
                ) from None
        if name == municipality:
            break
    return out


def write_private_json(path: Path, body: Any) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(body, handle, indent=1, ensure_ascii=False)


def write_inventory(programme: Programme, env: Environment, folder: Path) -> Path:
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    shutil.copy2(env.hosts_file, folder / "hosts.yml")
    shutil.copytree(Path(programme.root) / "group_vars", folder / "group_vars")
    return folder


def mapping_for(
    programme: Programme, municipality: str, env: Environment, secrets: SecretFiles
) -> IdentityMapping:
    return build_mapping(programme, people_from_directories(programme, municipality, env, secrets))


def build_context(
    programme: Programme,
    municipality: str,
    env: Environment,
    secrets: SecretFiles,
    wave_dir: Path,
    mapping: IdentityMapping,
) -> WaveContext:
    wave_dir.mkdir(parents=True, exist_ok=True)
    # What rollback needs (original DNS records, source accounts that were enabled) is
    # written here by the step that changes it, before the change (docs/migration.md).
    (wave_dir / "rollback").mkdir(mode=0o700, exist_ok=True)
    identity_map_file = wave_dir / "identity_map.json"
    write_identity_map(mapping, municipality, identity_map_file)
    extravars = {
        **playbook_vars(env, secrets, programme, municipality),
        "municipality": municipality,
        "identity_map_file": str(identity_map_file),
        "wave_dir": str(wave_dir),
        "programme_name": programme.name,
    }
    extravars_file = wave_dir / "extravars.json"
    write_private_json(extravars_file, extravars)
    return WaveContext(
        inventory=write_inventory(programme, env, wave_dir / "inventory"),
        extravars=extravars,
        extravars_file=extravars_file,
        identity_map_file=identity_map_file,
        secret_values=secrets.values(),
        mapping=mapping,
    )
