"""A programme with vault-encrypted group_vars starts a lab with the vault password, and is one
clear line without it (nothing started, nothing written)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from ansible.parsing.vault import VaultLib, VaultSecret

from eendracht.lab import lab_down
from tests.lab.conftest import MINI, lab_state_dir

pytestmark = pytest.mark.lab
EENDRACHT = str(Path(sys.executable).with_name("eendracht"))


def test_lab_up_of_a_vaulted_programme_needs_and_uses_the_vault_password(tmp_path: Path) -> None:
    programme = tmp_path / "mini"
    shutil.copytree(MINI, programme)
    people = programme / "group_vars" / "noordwaard" / "people.yml"
    secret = VaultSecret(b"lab-vault-password")
    people.write_bytes(VaultLib([("default", secret)]).encrypt(people.read_bytes(), secret))
    password = tmp_path / "vault-password"
    password.write_text("lab-vault-password\n")
    state = lab_state_dir()
    env = {**os.environ, "EENDRACHT_STATE": str(state), "COLUMNS": "300"}
    try:
        done = subprocess.run(
            [EENDRACHT, "lab", "up", str(programme)],
            capture_output=True, text=True, timeout=120, env=env,
        )  # fmt: skip
        assert done.returncode == 2, done.stdout + done.stderr
        assert "people.yml: encrypted with ansible-vault" in done.stderr
        assert "Traceback" not in done.stderr
        assert list(state.iterdir()) == []
        done = subprocess.run(
            [EENDRACHT, "lab", "up", str(programme), "--vault-password-file", str(password)],
            capture_output=True, text=True, timeout=300, env=env,
        )  # fmt: skip
        assert done.returncode == 0, done.stdout + done.stderr
        # The lab seeded noordwaard's people as the encrypted file lists them.
        status = subprocess.run(
            [EENDRACHT, "lab", "status", "--json"],
            capture_output=True, text=True, timeout=60, env=env,
        )  # fmt: skip
        listed = (MINI / "group_vars" / "noordwaard" / "people.yml").read_text().count("given_name")
        assert json.loads(status.stdout)["seeded"]["people"]["noordwaard"] == listed
        for path in (state / "lab").rglob("*"):
            if path.is_file() and path.stat().st_size < 1_000_000:
                assert b"lab-vault-password" not in path.read_bytes(), path
    finally:
        lab_down(state)
        shutil.rmtree(state, ignore_errors=True)
