"""The environment a wave runs against: every incomplete or wrong one is refused with the file
and the key named, and vault secrets exist on disk only for the length of a run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from ansible.parsing.vault import VaultLib, VaultSecret

from eendracht.environment import load_environment
from eendracht.environment.secrets import SecretFiles
from eendracht.problems import ProblemsFound
from eendracht.programme.loader import load_programme
from tests.wave.wave_support import MINI, fake_environment, write_secret

PROGRAMME = load_programme(MINI)
CLI = str(Path(sys.executable).parent / "eendracht")


def _edit(root: Path, name: str, change: Callable[[Any], Any]) -> None:
    path = root / name
    data = (
        yaml.safe_load(path.read_text()) if name.endswith(".yml") else json.loads(path.read_text())
    )
    change(data)
    path.write_text(yaml.safe_dump(data) if name.endswith(".yml") else json.dumps(data))


def _fifo(path: Path) -> None:
    path.unlink()
    os.mkfifo(path)


def _problems(root: Path, municipality: str = "noordwaard") -> list[tuple[str, str]]:
    with pytest.raises(ProblemsFound) as exc:
        load_environment(root, PROGRAMME, municipality)
    return [(Path(p.file).name, p.field) for p in exc.value.problems]


def _spec(root: Path) -> dict[str, Any]:
    return dict(yaml.safe_load((root / "environment.yml").read_text()))


def test_a_complete_environment_loads(tmp_path: Path) -> None:
    env = load_environment(fake_environment(tmp_path / "env"), PROGRAMME, "noordwaard")
    assert env.name == "rehearsal" and env.outputs["file_target_host"] == "target-files"
    assert "nw-srv01" in env.group_hosts("noordwaard")


CASES: list[tuple[str, Callable[[Path], None], tuple[str, str]]] = [
    ("no environment.yml", lambda r: (r / "environment.yml").unlink(), ("environment.yml", "")),
    ("no hosts.yml", lambda r: (r / "hosts.yml").unlink(), ("hosts.yml", "")),
    ("no outputs", lambda r: (r / "outputs.json").unlink(), ("outputs.json", "")),
    ("outputs not JSON", lambda r: (r / "outputs.json").write_text("{nope"), ("outputs.json", "")),
    ("outputs a list", lambda r: (r / "outputs.json").write_text("[1]"), ("outputs.json", "")),
    (
        "outputs nested 100,000 deep",
        lambda r: (r / "outputs.json").write_text("[" * 100_000 + "]" * 100_000),
        ("outputs.json", ""),
    ),
    ("outputs a FIFO", lambda r: _fifo(r / "outputs.json"), ("outputs.json", "")),
    (
        "an output missing",
        lambda r: _edit(r, "outputs.json", lambda d: d.pop("dns_server")),
        ("outputs.json", "dns_server"),
    ),
    (
        "unknown key",
        lambda r: _edit(r, "environment.yml", lambda d: d.update(colour="blue")),
        ("environment.yml", "colour"),
    ),
    (
        "another programme",
        lambda r: _edit(r, "environment.yml", lambda d: d.update(programme="elders")),
        ("environment.yml", "programme"),
    ),
    (
        "municipality missing",
        lambda r: _edit(r, "environment.yml", lambda d: d["municipalities"].pop("noordwaard")),
        ("environment.yml", "municipalities.noordwaard"),
    ),
    (
        "directory missing",
        lambda r: _edit(
            r, "environment.yml", lambda d: d["municipalities"]["noordwaard"].pop("directory")
        ),
        ("environment.yml", "municipalities.noordwaard.directory"),
    ),
    (
        "not an LDAP URI",
        lambda r: _edit(
            r,
            "environment.yml",
            lambda d: d["municipalities"]["noordwaard"]["directory"].update(uri="http://x"),
        ),
        ("environment.yml", "municipalities.noordwaard.directory.uri"),
    ),
    (
        "dns missing while zones have records",
        lambda r: _edit(
            r, "environment.yml", lambda d: d["municipalities"]["noordwaard"].pop("dns")
        ),
        ("environment.yml", "municipalities.noordwaard.dns"),
    ),
    (
        "databases missing",
        lambda r: _edit(
            r, "environment.yml", lambda d: d["municipalities"]["noordwaard"].pop("databases")
        ),
        ("environment.yml", "municipalities.noordwaard.databases"),
    ),
    (
        "source endpoint of an application with a health check missing",
        lambda r: _edit(
            r,
            "environment.yml",
            lambda d: d["municipalities"]["noordwaard"]["applications"]["burgerzaken"].pop(
                "source"
            ),
        ),
        ("environment.yml", "municipalities.noordwaard.applications.burgerzaken.source"),
    ),
    (
        "target endpoint of a rehosted application missing",
        lambda r: _edit(
            r,
            "environment.yml",
            lambda d: d["municipalities"]["noordwaard"]["applications"]["zaaksysteem"].pop(
                "target"
            ),
        ),
        ("environment.yml", "municipalities.noordwaard.applications.zaaksysteem.target"),
    ),
    (
        "an application the municipality does not have",
        lambda r: _edit(
            r,
            "environment.yml",
            lambda d: d["municipalities"]["noordwaard"]["applications"].update(
                ghost={"source": {"url": "http://127.0.0.1:1"}}
            ),
        ),
        ("environment.yml", "municipalities.noordwaard.applications.ghost"),
    ),
    (
        "a secret file missing",
        lambda r: (r / "secrets" / "pgpass").unlink(),
        ("environment.yml", "postgres_passfile.file"),
    ),
    (
        "a secret file readable by others",
        lambda r: (r / "secrets" / "tsig.key").chmod(0o644),
        ("environment.yml", "municipalities.noordwaard.dns.tsig_key.file"),
    ),
    (
        "a secret given both ways",
        lambda r: _edit(r, "environment.yml", lambda d: d["postgres_passfile"].update(vault="pg")),
        ("environment.yml", "postgres_passfile"),
    ),
    (
        "a vault key without a vault password file",
        lambda r: _edit(
            r, "environment.yml", lambda d: d.update(postgres_passfile={"vault": "pg"})
        ),
        ("environment.yml", "vault_password_file"),
    ),
    (
        "the municipality's hosts missing",
        lambda r: _edit(r, "hosts.yml", lambda d: d["all"]["children"].pop("noordwaard")),
        ("hosts.yml", "all.children.noordwaard"),
    ),
    (
        "a share's server missing",
        lambda r: _edit(
            r,
            "hosts.yml",
            lambda d: d["all"]["children"].update(noordwaard={"hosts": {"other": {}}}),
        ),
        ("hosts.yml", "all.children.noordwaard.hosts.nw-srv01"),
    ),
    (
        "the target file server missing",
        lambda r: _edit(r, "hosts.yml", lambda d: d["all"]["children"].pop("target")),
        ("hosts.yml", "all.children.*.hosts.target-files"),
    ),
    (
        "a DNS server with a TSIG key and Kerberos both",
        lambda r: _edit(
            r,
            "environment.yml",
            lambda d: d["municipalities"]["noordwaard"]["dns"].update(
                kerberos={"principal": "svc@X", "keytab": {"file": "k"}}
            ),
        ),
        ("environment.yml", "municipalities.noordwaard.dns"),
    ),
    (
        "an Active Directory source over plain LDAP",
        lambda r: _edit(
            r,
            "environment.yml",
            lambda d: d["municipalities"]["noordwaard"]["directory"].update(
                kind="active_directory"
            ),
        ),
        ("environment.yml", "municipalities.noordwaard.directory"),
    ),
    (
        "a source directory of another kind than the target's",
        lambda r: _edit(
            r,
            "environment.yml",
            lambda d: d["municipalities"]["noordwaard"]["directory"].update(
                kind="active_directory", uri="ldaps://127.0.0.1"
            ),
        ),
        ("environment.yml", "municipalities.noordwaard.directory.kind"),
    ),
    (
        "mailboxes without a target for them",
        lambda r: _edit(r, "environment.yml", lambda d: d["target"].pop("mail")),
        ("environment.yml", "target.mail"),
    ),
    (
        "a Dovecot target without the municipality's IMAP server",
        lambda r: _edit(
            r,
            "environment.yml",
            lambda d: d["target"].update(
                mail={
                    "kind": "dovecot",
                    "server": "target-files",
                    "config": "/etc/dovecot/dovecot.conf",
                    "imap": {
                        "host": "127.0.0.1",
                        "master_user": "m",
                        "master_password": {"file": "secrets/directory.password"},
                    },
                }
            ),
        ),
        ("environment.yml", "municipalities.noordwaard.mail"),
    ),
    (
        "a folder of mailbox passwords open to others",
        lambda r: (
            (r / "secrets" / "mail").mkdir(mode=0o755),
            _edit(
                r,
                "environment.yml",
                lambda d: d["municipalities"]["noordwaard"].update(
                    mail={"host": "127.0.0.1", "password_dir": "secrets/mail"}
                ),
            ),
        ),
        ("environment.yml", "municipalities.noordwaard.mail.password_dir"),
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_an_incomplete_environment_names_the_file_and_key(
    tmp_path: Path, case: tuple[str, Callable[[Path], None], tuple[str, str]]
) -> None:
    _, damage, expected = case
    root = fake_environment(tmp_path / "env")
    damage(root)
    assert expected in _problems(root)


def test_people_read_from_a_directory_need_its_directory(tmp_path: Path) -> None:
    programme = tmp_path / "programme"
    _copy_with_people_source(programme)
    root = fake_environment(tmp_path / "env", programme)
    _edit(root, "environment.yml", lambda d: d["municipalities"]["noordwaard"].pop("directory"))
    with pytest.raises(ProblemsFound) as exc:
        load_environment(root, load_programme(programme), "zuidwaard")
    fields = [p.field for p in exc.value.problems]
    assert "municipalities.noordwaard.directory" in fields


def _copy_with_people_source(folder: Path) -> None:
    """The mini programme with noordwaard's people kept in its directory, not listed."""
    import shutil

    shutil.copytree(MINI, folder)
    people = folder / "group_vars" / "noordwaard" / "people.yml"
    people.write_text(
        yaml.safe_dump(
            {
                "people_source": {
                    "kind": "ldap",
                    "uri": "ldap://dc.noordwaard.local",
                    "base_dn": "ou=people,dc=noordwaard,dc=nl",
                }
            }
        )
    )


def _vault(root: Path, values: dict[str, str], password: str) -> None:
    secret = VaultSecret(password.encode())
    text = VaultLib([("default", secret)]).encrypt(yaml.safe_dump(values), secret)
    (root / "secrets" / "vault.yml").write_bytes(text)
    write_secret(root / "vault.pass", password)


def test_vault_secrets_exist_on_disk_only_during_a_run(tmp_path: Path) -> None:
    root = fake_environment(tmp_path / "env")
    _vault(root, {"pgpass": "*:*:*:eendracht:vaulted-canary-1234\n"}, "vault-password")
    _edit(
        root,
        "environment.yml",
        lambda d: d.update(postgres_passfile={"vault": "pgpass"}, vault_password_file="vault.pass"),
    )
    env = load_environment(root, PROGRAMME, "noordwaard")
    with SecretFiles(env, "noordwaard") as secrets:
        path = Path(secrets.paths["postgres_passfile"])
        assert path.read_text() == "*:*:*:eendracht:vaulted-canary-1234\n"
        assert oct(path.stat().st_mode & 0o777) == "0o600"
        assert "vaulted-canary-1234" in secrets.values()
    assert not path.exists() and not path.parent.exists()
    for file in root.rglob("*"):
        if file.is_file():
            assert b"vaulted-canary-1234" not in file.read_bytes(), file


@pytest.mark.parametrize(
    ("password", "values", "field"),
    [("wrong", {"pgpass": "x"}, ""), ("vault-password", {"other": "x"}, "postgres_passfile.vault")],
    ids=["wrong password", "key missing"],
)
def test_a_bad_vault_is_refused(
    tmp_path: Path, password: str, values: dict[str, str], field: str
) -> None:
    root = fake_environment(tmp_path / "env")
    _vault(root, values, "vault-password")
    write_secret(root / "vault.pass", password)
    _edit(
        root,
        "environment.yml",
        lambda d: d.update(postgres_passfile={"vault": "pgpass"}, vault_password_file="vault.pass"),
    )
    found = _problems(root)
    assert any(f == field for _, f in found), found


def test_the_cli_refuses_a_bad_environment_in_one_line_and_writes_nothing(tmp_path: Path) -> None:
    root = fake_environment(tmp_path / "env")
    _edit(root, "environment.yml", lambda d: d["municipalities"]["noordwaard"].pop("dns"))
    state = tmp_path / "state"
    state.mkdir()
    done = subprocess.run(
        [CLI, "wave", "run", str(MINI), "-m", "noordwaard", "--environment", str(root),
         "--confirm", "--state", str(state)],
        capture_output=True, text=True, timeout=120, env={**os.environ, "COLUMNS": "300"},
    )  # fmt: skip
    assert done.returncode == 2, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    assert "environment.yml: municipalities.noordwaard.dns: required" in done.stderr
    assert list(state.iterdir()) == []


@pytest.mark.parametrize(
    "args",
    [
        [],  # no environment named
        ["--lab", "--environment", "x"],  # two
        ["--environment", "ENV", "--yes"],  # --yes outside the lab
        ["--environment", "ENV"],  # no terminal and no --confirm
        ["--lab"],  # no lab is up
        ["--environment", "ENV", "--confirm", "--state", "FILE"],  # the state root is a file
    ],
    ids=["none", "both", "yes-without-lab", "unconfirmed", "no-lab", "state-is-a-file"],
)
def test_the_cli_names_exactly_one_confirmed_environment(tmp_path: Path, args: list[str]) -> None:
    root = fake_environment(tmp_path / "env")
    state = tmp_path / "state"
    state.mkdir()
    a_file = tmp_path / "a-file"
    a_file.write_text("not a folder")
    args = [{"ENV": str(root), "FILE": str(a_file)}.get(a, a) for a in args]
    done = subprocess.run(
        [CLI, "wave", "run", str(MINI), "-m", "noordwaard", "--state", str(state), *args],
        capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert done.returncode == 2, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    assert list(state.iterdir()) == []
    assert a_file.read_text() == "not a folder"


def test_on_a_terminal_the_run_shows_what_it_touches_and_a_no_does_nothing(tmp_path: Path) -> None:
    import pexpect

    root = fake_environment(tmp_path / "env")
    state = tmp_path / "state"
    state.mkdir()
    child = pexpect.spawn(
        CLI,
        ["wave", "run", str(MINI), "-m", "noordwaard", "--environment", str(root),
         "--state", str(state)],
        timeout=30, encoding="utf-8", dimensions=(50, 200),
        env={**os.environ, "NO_COLOR": "1"},
    )  # fmt: skip
    child.expect(r"environment rehearsal \(")
    child.expect("hosts of noordwaard: nw-srv01")
    child.expect(r"run the wave against environment rehearsal\? \[y/N\]")
    child.sendline("n")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 2
    assert "not confirmed: nothing was done" in (child.before or "")
    assert list(state.iterdir()) == []


@pytest.mark.parametrize(
    "command",
    [["status"], ["approve", "--by", "CIO"], ["rollback", "--confirm"]],
    ids=["status", "approve", "rollback"],
)
def test_a_wave_that_never_ran_is_refused_and_nothing_is_written(
    tmp_path: Path, command: list[str]
) -> None:
    root = fake_environment(tmp_path / "env")
    state = tmp_path / "state"
    state.mkdir()
    before = sorted(p.name for p in root.rglob("*"))
    done = subprocess.run(
        [CLI, "wave", command[0], str(MINI), "-m", "noordwaard", "--environment", str(root),
         "--state", str(state), *command[1:]],
        capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert done.returncode == 2, done.stdout + done.stderr
    assert "no wave of noordwaard has run in environment rehearsal" in done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    assert list(state.iterdir()) == []
    assert sorted(p.name for p in root.rglob("*")) == before
