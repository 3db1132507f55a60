"""Canaries: a real-style wave on the lab leaves no secret anywhere it writes.

The lab's environment is copied and used as any environment would be (`--environment DIR
--confirm`, the real CLI in a subprocess), with secrets of every kind eendracht knows:

- vault keys (Ansible Vault, opened with a password file) that the run really uses: both
  directory passwords hold the lab's real passwords, and the noordwaard TSIG key holds a bare
  canary instead of a key clause — an operator's mistake that makes the DNS preflight fail
  with dig's message quoting the key file's content, so the secret is in the output and must
  be redacted; plus a vault key nothing uses;
- a credential file line nothing uses (pgpass for another host);
- the vault's password;
- secrets in the wave's process environment (AZURE_CLIENT_SECRET, LDAP_BIND_PASSWORD, ...).

The wave runs to the end of preflight (stopping at the DNS step); then every file under the
state root (journal, artifacts, the wave's folder, the lab), every file under /tmp and /dev/shm
created meanwhile, and the CLI's stdout and stderr are searched for every canary: none may be
found. The lab's real passwords may not be in the wave's folder or the CLI's output either.
"""

from __future__ import annotations

import os
import secrets
import shutil
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from ansible.parsing.vault import VaultLib, VaultSecret
from wave_support import MINI, lab_session, write_secret

from eendracht.environment import load_environment
from eendracht.environment.secrets import secret_values_of
from eendracht.programme.loader import load_programme
from eendracht.wave.paths import lab_environment, wave_dir

pytestmark = [pytest.mark.lab, pytest.mark.slow]

MUNI = "noordwaard"
CLI = [str(Path(sys.executable).parent / "eendracht")]
TIMEOUT = 300
MAX_SEARCHED = 50 * 1024 * 1024  # larger files created meanwhile are not read (share data)


@pytest.fixture(scope="module")
def lab_state() -> Iterator[Path]:
    with lab_session(prefix="eendracht-canary-test-") as state:
        yield state


def _canary(kind: str) -> str:
    return f"canary-{kind}-{secrets.token_hex(8)}"


def _canary_environment(lab: Path, root: Path, canaries: dict[str, str]) -> dict[str, str]:
    """A copy of the lab's environment whose secrets are vault keys and canaries; returns the
    lab's real secret values it uses."""
    shutil.copytree(lab, root)
    spec = yaml.safe_load((root / "environment.yml").read_text())
    spec["name"] = "canary"
    spec.pop("waves_dir", None)  # journals under <state>/waves/canary/, as for any environment
    target = spec["target"]["directory"]
    source = spec["municipalities"][MUNI]["directory"]
    real = {
        "target_directory_password": Path(target["password"]["file"]).read_text().strip(),
        "noordwaard_directory_password": Path(source["password"]["file"]).read_text().strip(),
    }
    target["password"] = {"vault": "target_directory_password"}
    source["password"] = {"vault": "noordwaard_directory_password"}
    spec["municipalities"][MUNI]["dns"]["tsig_key"] = {"vault": "noordwaard_tsig_key"}
    vault = {
        **real,
        "noordwaard_tsig_key": canaries["vault_tsig_key"],
        "unused": canaries["vault_unused"],
    }
    password = canaries["vault_password"]
    write_secret(root / "secrets" / "vault-pass", password + "\n")
    spec["vault_password_file"] = "secrets/vault-pass"
    plain = yaml.safe_dump(vault).encode()
    encrypted = VaultLib([("default", VaultSecret(password.encode()))]).encrypt(plain)
    write_secret(root / "secrets" / "vault.yml", encrypted.decode())
    pgpass = Path(spec["postgres_passfile"]["file"]).read_text()
    real_pg = secret_values_of(pgpass)
    write_secret(
        root / "secrets" / "pgpass",
        pgpass.rstrip("\n") + f"\ncanary-db.invalid:5432:*:*:{canaries['pgpass_unused']}\n",
    )
    spec["postgres_passfile"] = {"file": "secrets/pgpass"}
    (root / "environment.yml").write_text(yaml.safe_dump(spec, sort_keys=False))
    found = set(real.values()) | real_pg
    tsig = Path(spec["municipalities"]["zuidwaard"]["dns"]["tsig_key"]["file"])
    found |= secret_values_of(tsig.read_text())
    return {f"real-{n}": v for n, v in enumerate(sorted(found))}


def _new_files(roots: list[Path], since: float, skip: list[Path]) -> Iterator[Path]:
    for root in roots:
        for folder, dirs, files in os.walk(root, onerror=lambda _: None):
            here = Path(folder)
            dirs[:] = [d for d in dirs if here / d not in skip]
            for name in files:
                path = here / name
                try:
                    st = path.lstat()
                except OSError:
                    continue
                if path.is_file() and not path.is_symlink() and st.st_ctime >= since:
                    yield path


def _all_files(root: Path) -> Iterator[Path]:
    yield from (p for p in root.rglob("*") if p.is_file() and not p.is_symlink())


def _needles(canaries: dict[str, str]) -> dict[str, str]:
    """Each canary whole, and the first and last 8 characters of its random part: a tool that
    quotes a secret cut short must not leave a piece of it either."""
    out: dict[str, str] = {}
    for name, value in canaries.items():
        token = value.split("-")[-1].split("@")[0]
        out |= {name: value, f"{name} (start)": token[:8], f"{name} (end)": token[-8:]}
    return out


def _found(paths: list[Path], values: dict[str, str]) -> list[str]:
    """`name in path` for every value found in a file (read as bytes, whole)."""
    hits: list[str] = []
    wanted = {name: value.encode() for name, value in values.items()}
    for path in paths:
        try:
            if path.stat().st_size > MAX_SEARCHED:
                continue
            data = path.read_bytes()
        except OSError:
            continue
        hits += [f"{name} in {path}" for name, value in wanted.items() if value in data]
    return hits


def test_no_secret_of_a_wave_is_written_anywhere(lab_state: Path, tmp_path: Path) -> None:
    canaries = {
        kind: _canary(kind)
        for kind in ("vault_tsig_key", "vault_unused", "vault_password", "pgpass_unused")
    }
    env_canaries = {
        "AZURE_CLIENT_SECRET": _canary("env-azure"),
        "LDAP_BIND_PASSWORD": _canary("env-ldap"),
        "PGPASSWORD": _canary("env-pg"),
        "ANSIBLE_BECOME_PASS": _canary("env-become"),
        "HTTPS_PROXY": f"http://beheer:{_canary('env-proxy')}@proxy.invalid:3128",
    }
    canaries |= {f"env {name}": value for name, value in env_canaries.items()}
    environment = tmp_path / "environment"  # the inputs: not searched
    real = _canary_environment(lab_environment(lab_state), environment, canaries)
    assert real and all(len(v) >= 6 for v in real.values())

    started = time.time() - 1
    done = subprocess.run(
        [*CLI, "wave", "run", str(MINI), "--municipality", MUNI,
         "--environment", str(environment), "--confirm", "--until", "preflight"],
        capture_output=True, text=True, timeout=TIMEOUT,
        env={**os.environ, **env_canaries, "EENDRACHT_STATE": str(lab_state), "COLUMNS": "200"},
    )  # fmt: skip
    output = done.stdout + done.stderr
    # The DNS preflight failed on the bare TSIG key (no key file): the message names the file
    # on tmpfs, never its content. (A tool that quotes a secret is redacted: test_runner_env.)
    assert done.returncode == 1, output[-3000:]
    said = " ".join(output.split())
    assert "preflight.dns" in said and "no key with a known algorithm" in said, said[-3000:]

    programme = load_programme(MINI)
    wave = wave_dir(load_environment(environment, programme, MUNI), programme.name, MUNI)
    assert wave.is_relative_to(lab_state / "waves" / "canary")
    journal = sqlite3.connect(f"file:{wave / 'journal.sqlite'}?mode=ro", uri=True)
    try:
        steps = dict(journal.execute("SELECT step_id, status FROM steps").fetchall())
        messages = [r[0] for r in journal.execute("SELECT message FROM host_results")]
    finally:
        journal.close()
    # The directory preflight bound with both vault-held passwords: the vault was really used.
    assert steps.get("preflight.directory") == "ok" and steps.get("preflight.dns") == "failed"
    assert any("/dev/shm/" in m and "no key with a known algorithm" in m for m in messages)
    assert any((wave / "runner" / "artifacts").glob("*/stdout"))

    state_files = list(_all_files(lab_state))
    wave_files = list(_all_files(wave))
    since = list(
        _new_files([Path("/tmp"), Path("/dev/shm")], started, skip=[environment, lab_state])
    )
    needles = _needles(canaries)
    hits = _found(state_files + since, needles) + _found(wave_files, real)
    hits += [f"{n} in the CLI's output" for n, v in (needles | real).items() if v in output]
    assert not hits, hits
    # (the vault's values were on tmpfs, under /dev/shm, for the run only: searched too)
    print(
        f"{len(canaries)} canaries and {len(real)} real secrets; searched {len(state_files)} "
        f"files under the state, {len(wave_files)} in the wave's folder, {len(since)} new "
        f"under /tmp and /dev/shm, and {len(output)} characters of CLI output"
    )
