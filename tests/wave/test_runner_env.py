"""What a step hands Ansible and what it leaves on disk: an allow-listed environment, no
secret in ansible-runner's artifacts, every known secret value redacted (one tiny local
ansible-playbook run, a few seconds)."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from eendracht.environment.secrets import secret_values_of
from eendracht.wave.ansible_env import (
    PASSED_ON,
    RUNNER_SETS,
    ansible_environment,
    host_key_checking,
)
from eendracht.wave.journal import Journal
from eendracht.wave.paths import ANSIBLE_CFG
from eendracht.wave.runner import KEPT_ARTIFACTS, Runner
from eendracht.wave.secrets import CENSORED, Redactor, redact
from eendracht.wave.steps import WaveStep

# What an operator's shell may hold; none of it may reach Ansible or the disk.
ENV_CANARIES = {
    "AZURE_CLIENT_SECRET": "canary-env-azure-7d1f",
    "LDAP_BIND_PASSWORD": "canary-env-ldap-41c2",
    "PGPASSWORD": "canary-env-pg-9a0e",
    "HTTPS_PROXY": "http://beheer:canary-env-proxy-55b3@proxy.invalid:3128",
    "ANSIBLE_BECOME_PASS": "canary-env-become-03aa",
}
# A secret eendracht knows (a credential file's value): it shows up in a failing tool's stderr.
SECRET = 'canary-known-"6e"\\b8'
# The environment a module gets besides ours: what the shell and Ansible add themselves.
PROCESS_ADDS = {"PWD", "SHLVL", "_", "OLDPWD"}

PLAY = """
- hosts: all
  gather_facts: false
  tasks:
    - name: the environment of a module
      ansible.builtin.shell: env > {{ out_dir }}/module.env
    - name: the environment of ansible-playbook
      ansible.builtin.copy:
        dest: "{{ out_dir }}/controller.json"
        content: "{{ lookup('ansible.builtin.pipe', 'env') | split('\\n') | to_json }}"
    - name: "a task named after a secret: {{ lookup('ansible.builtin.file', secret_file) }}"
      ansible.builtin.shell: >-
        printf 'could not read key: %s\\n' "$(cat {{ secret_file }})" >&2; exit 3
"""


def _env_names(lines: list[str]) -> dict[str, str]:
    return dict(line.split("=", 1) for line in lines if "=" in line)


def _all_text(root: Path) -> dict[Path, str]:
    return {
        p: p.read_bytes().decode("utf-8", "replace")
        for p in root.rglob("*")
        if p.is_file() and not p.is_symlink()
    }


@pytest.fixture(scope="module")
def step(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, object]]:
    """One step run with the canaries in eendracht's environment, for every test of the module."""
    tmp_path = tmp_path_factory.mktemp("step")
    with pytest.MonkeyPatch.context() as monkeypatch:
        for name, value in ENV_CANARIES.items():
            monkeypatch.setenv(name, value)
        yield from _run_step(tmp_path)


def _run_step(tmp_path: Path) -> Iterator[dict[str, object]]:
    out = tmp_path / "out"
    out.mkdir()
    playbook = tmp_path / "presync.yml"
    playbook.write_text(PLAY)
    inventory = tmp_path / "inventory.json"
    local = {"ansible_connection": "local", "ansible_python_interpreter": sys.executable}
    inventory.write_text(json.dumps({"all": {"hosts": {"localhost": local}}}))
    extravars = tmp_path / "extravars.json"
    # As in a wave, Ansible gets the path of the secret's file, never the value.
    secret_file = tmp_path / "secret"
    secret_file.write_text(SECRET + "\n")
    extravars.write_text(json.dumps({"out_dir": str(out), "secret_file": str(secret_file)}))
    wave = tmp_path / "wave"
    # What an older eendracht left: an environment in env/envvars and a step's `command`.
    (wave / "runner" / "env").mkdir(parents=True)
    (wave / "runner" / "env" / "envvars").write_text(json.dumps(ENV_CANARIES))
    old = wave / "runner" / "artifacts" / "1-old-1"
    (old / "job_events").mkdir(parents=True)
    (old / "command").write_text(json.dumps({"env": ENV_CANARIES}))
    (old / "stdout").write_text("kept\n")
    journal = Journal(tmp_path / "journal.sqlite")
    run = journal.start_run("wave", os.getpid(), lab=True)
    runner = Runner(
        journal=journal,
        run_id=run,
        work_dir=wave,
        inventory=inventory,
        extravars_file=extravars,
        secret_values=(SECRET,),
    )
    result = runner.run_step(WaveStep("presync", "presync.files.a", "copy a", playbook, ()))
    journal.finish_run(run, "failed", result.failures[0])
    yield {"result": result, "journal": journal, "out": out, "wave": wave}
    journal.close()


def test_ansible_gets_only_the_allow_listed_environment(step: dict[str, object]) -> None:
    out = step["out"]
    assert isinstance(out, Path)
    module = _env_names((out / "module.env").read_text().splitlines())
    controller = _env_names(json.loads((out / "controller.json").read_text()))
    allowed = set(PASSED_ON) | RUNNER_SETS | PROCESS_ADDS | set(ansible_environment(ANSIBLE_CFG))
    for env in (module, controller):
        assert not {n for n in env if n not in allowed and not n.startswith("LC_")}, env
        assert not set(ENV_CANARIES) & set(env)
        assert not any(c in v for c in ENV_CANARIES.values() for v in env.values())
    # ansible.cfg checks host keys; ansible-runner would have switched that off.
    assert controller["ANSIBLE_HOST_KEY_CHECKING"] == "True" == str(host_key_checking(ANSIBLE_CFG))
    assert controller["HOME"] == os.environ["HOME"]
    assert controller["PATH"].split(os.pathsep)[0] == str(Path(sys.executable).parent)


def test_artifacts_keep_no_environment_and_no_secret(step: dict[str, object]) -> None:
    wave = step["wave"]
    assert isinstance(wave, Path)
    artifacts = wave / "runner" / "artifacts"
    idents = sorted(p for p in artifacts.iterdir())
    assert len(idents) == 2
    for ident in idents:
        assert {p.name for p in ident.iterdir()} <= KEPT_ARTIFACTS
    assert (artifacts / "1-old-1" / "stdout").read_text() == "kept\n"
    assert not (wave / "runner" / "env" / "envvars").exists()
    assert {p.name for p in (wave / "runner" / "env").iterdir()} == {"settings"}
    new = next(p for p in idents if p.name != "1-old-1")
    stdout = (new / "stdout").read_text()
    assert "a task named after a secret" in stdout and CENSORED in stdout
    for path, text in _all_text(wave).items():
        for value in [*ENV_CANARIES.values(), SECRET, *Redactor([SECRET]).forms]:
            assert value not in text, f"{value!r} in {path}"
    assert oct((new / "stdout").stat().st_mode & 0o777) == "0o600"


def test_every_text_of_a_failure_is_redacted(step: dict[str, object]) -> None:
    result, journal = step["result"], step["journal"]
    assert isinstance(journal, Journal)
    failures = result.failures  # type: ignore[attr-defined]
    assert len(failures) == 1 and f"could not read key: {CENSORED}" in failures[0]
    rows = journal.db.execute(
        "SELECT name FROM tasks UNION ALL SELECT task || message FROM host_results"
        " UNION ALL SELECT message FROM runs"
    ).fetchall()
    texts = [str(r[0]) for r in rows]
    assert any(f"a task named after a secret: {CENSORED}" in t for t in texts)
    escaped = Redactor([SECRET]).forms
    assert not [t for t in texts if any(form in t for form in escaped)]
    assert not [f for f in failures if any(form in f for form in escaped)]


def test_redaction_covers_escaped_forms_and_never_cuts_a_secret() -> None:
    assert redact('a "b" x', ['"b"']) == f"a {CENSORED} x"
    assert redact(json.dumps({"m": 'k="b"\\'}), ['k="b"\\']) == json.dumps({"m": CENSORED})
    # a secret that contains another is replaced whole
    assert redact("pw-long-123", ["pw-long", "pw-long-123"]) == CENSORED
    assert redact("", ["x"]) == ""


def test_secret_values_of_credential_files() -> None:
    assert secret_values_of("db:5432:*:u:p\\:w\nother.invalid:1:*:*:canary-x\n") == {
        "p:w",
        "p\\:w",
        "canary-x",
    }
    assert secret_values_of('key "k" {\n algorithm hmac-sha256;\n secret "c2VjcmV0";\n};') == {
        "c2VjcmV0"
    }
    assert secret_values_of("Private-key-format: v1.3\nAlgorithm: 165\nKey: QUJDREVG\n") == {
        "QUJDREVG"
    }
    assert secret_values_of("plain-password\n") == {"plain-password"}
