"""People kept in a directory (people_source) are read in a real wave, from the environment's
directory with its bind credential; a wrong credential or an unreachable directory is one clear
error naming the environment's key; and cutover refuses a mapping that would lock people out."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from eendracht.environment import load_environment
from eendracht.environment.playbook_vars import source_directory
from eendracht.environment.secrets import SecretFiles
from eendracht.problems import ProblemsFound
from eendracht.programme import load_programme
from eendracht.wave.context import people_from_directories
from eendracht.wave.identity_map import PeopleReadError, read_people
from tests.lab.conftest import MINI, RunningLab

pytestmark = pytest.mark.lab
REPO = Path(__file__).resolve().parents[2]


def _with_people_source(dest: Path) -> Path:
    """The mini programme with noordwaard's people in its directory instead of listed."""
    shutil.copytree(MINI, dest)
    (dest / "group_vars" / "noordwaard" / "people.yml").write_text(
        yaml.safe_dump(
            {
                "people_source": {
                    "kind": "ldap",
                    "uri": "ldap://dc01.noordwaard.local",
                    "base_dn": "ou=medewerkers,dc=noordwaard,dc=nl",
                }
            }
        )
    )
    return dest


def _copy_environment(running_lab: RunningLab, dest: Path) -> Path:
    shutil.copytree(running_lab.environment, dest)
    return dest


def test_people_are_read_from_the_environments_directory(
    running_lab: RunningLab, tmp_path: Path
) -> None:
    programme = load_programme(_with_people_source(tmp_path / "programme"))
    env = load_environment(running_lab.environment, programme, "zuidwaard")
    with SecretFiles(env, "zuidwaard") as secrets:
        people = people_from_directories(programme, "zuidwaard", env, secrets)
    assert set(people) == {"noordwaard"}  # zuidwaard lists its people
    assert len(people["noordwaard"]) == running_lab.info.seeded["people"]["noordwaard"]


def test_a_wrong_credential_or_an_unreachable_directory_is_one_clear_error(
    running_lab: RunningLab, tmp_path: Path
) -> None:
    programme = load_programme(_with_people_source(tmp_path / "programme"))
    root = _copy_environment(running_lab, tmp_path / "environment")
    wrong = root / "secrets" / "wrong.password"
    wrong.parent.mkdir()
    fd = os.open(wrong, os.O_WRONLY | os.O_CREAT, 0o600)
    os.write(fd, b"not-the-password")
    os.close(fd)
    spec = yaml.safe_load((root / "environment.yml").read_text())
    spec["municipalities"]["noordwaard"]["directory"]["password"] = {"file": str(wrong)}
    (root / "environment.yml").write_text(yaml.safe_dump(spec))
    env = load_environment(root, programme, "noordwaard")
    with SecretFiles(env, "noordwaard") as secrets, pytest.raises(ProblemsFound) as exc:
        people_from_directories(programme, "noordwaard", env, secrets)
    [problem] = exc.value.problems
    assert problem.file.endswith("environment.yml")
    assert problem.field == "municipalities.noordwaard.directory"
    assert "Invalid credentials" in problem.message
    assert "not-the-password" not in str(problem)
    # The wave itself refuses in one line, exit 2, and writes nothing.
    programme_dir = tmp_path / "programme"
    done = subprocess.run(
        [str(Path(sys.executable).parent / "eendracht"), "wave", "run", str(programme_dir),
         "-m", "noordwaard", "--environment", str(root), "--confirm"],
        capture_output=True, text=True, timeout=120,
        env={**os.environ, "EENDRACHT_STATE": str(running_lab.state), "COLUMNS": "300"},
    )  # fmt: skip
    assert done.returncode == 2, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    assert "environment.yml: municipalities.noordwaard.directory: cannot read people" in done.stderr
    assert not (Path(env.spec.waves_dir) / "waardstad").exists()
    with SecretFiles(env, "noordwaard") as secrets:
        directory = source_directory(env, secrets, "noordwaard")
    with pytest.raises(PeopleReadError, match=r"cannot read people from ldap://127\.0\.0\.1:9"):
        read_people({**directory, "uri": "ldap://127.0.0.1:9"}, timeout=5)


def _enabled_source_accounts(running_lab: RunningLab) -> int:
    directory = running_lab.lab["source_directories"]["noordwaard"]
    out = subprocess.run(
        ["ldapsearch", "-x", "-LLL", "-H", directory["uri"], "-D", directory["bind_dn"],
         "-y", directory["password_file"], "-b", directory["people_dn"],
         "(&(uid=*)(!(eendrachtDisabled=TRUE)))", "uid"],
        capture_output=True, text=True, check=True, timeout=30,
    ).stdout  # fmt: skip
    return out.count("\nuid: ") + out.startswith("uid: ")


def _directory_module(
    running_lab: RunningLab, tmp_path: Path, state: str
) -> subprocess.CompletedProcess[str]:
    """eendracht_directory with an empty identity mapping against the lab's directories."""
    mapping = tmp_path / "identity_map.json"
    mapping.write_text(
        json.dumps(
            {"organisation": "x", "mail_domain": "waardstad.nl", "upn_suffix": "waardstad.nl",
             "municipality": "noordwaard", "identities": []}
        )
    )  # fmt: skip
    lab = running_lab.lab
    args = {
        "state": state,
        "mapping_file": str(mapping),
        "source": lab["source_directories"]["noordwaard"],
        "target": lab["target_directory"],
        "record_file": str(tmp_path / "enabled.json"),
    }
    return subprocess.run(
        [str(Path(sys.executable).parent / "ansible"), "localhost", "-c", "local",
         "-M", str(REPO / "playbooks" / "roles" / "identity" / "library"),
         "-m", "eendracht_directory", "-a", json.dumps(args)],
        capture_output=True, text=True, timeout=120,
        env={**os.environ, "ANSIBLE_CONFIG": str(REPO / "ansible.cfg")},
    )  # fmt: skip


def test_identity_verify_of_an_empty_mapping_fails(running_lab: RunningLab, tmp_path: Path) -> None:
    done = _directory_module(running_lab, tmp_path, "verify")
    assert done.returncode != 0 and "nothing to verify" in done.stdout, done.stdout


def test_cutover_refuses_a_mapping_that_would_disable_more_than_it_enables(
    running_lab: RunningLab, tmp_path: Path
) -> None:
    before = _enabled_source_accounts(running_lab)
    assert before > 0
    done = _directory_module(running_lab, tmp_path, "cutover")
    assert done.returncode != 0, done.stdout
    assert "refused: cutover would disable" in done.stdout
    assert _enabled_source_accounts(running_lab) == before  # nobody was disabled
    assert not (tmp_path / "enabled.json").exists()
