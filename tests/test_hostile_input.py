"""Hostile input: each kind of malformed file is one clear line, exit 2, nothing written.

One test per kind, through the CLI in a subprocess (what an operator runs), each asserting the
file, the field, exit 2, no traceback, a bounded output, and that neither the programme nor
the state folder changed.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from ansible.parsing.vault import VaultLib, VaultSecret

from eendracht.problems import ProblemsFound
from eendracht.safeyaml import MAX_BYTES, MAX_NODES
from eendracht.stackconfig import read_stack
from tests.programmes import copy_programme

EENDRACHT = Path(sys.executable).with_name("eendracht")
NW = "group_vars/noordwaard"
P = "group_vars/all/programme.yml"
PASSWORD = b"correct horse battery staple"
Make = Callable[[Path], None]


def snapshot(root: Path) -> dict[str, tuple[int, int]]:
    out = {}
    for path in sorted(root.rglob("*")):
        info = path.lstat()
        out[str(path)] = (info.st_mode, info.st_size if path.is_file() else 0)
    return out


def run(
    tmp: Path,
    *args: str,
    env: dict[str, str] | None = None,
    timeout: float = 60,
    bounded: bool = True,
) -> tuple[int, list[str], float]:
    started = time.monotonic()
    done = subprocess.run(
        [str(EENDRACHT), *args],
        cwd=tmp,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "EENDRACHT_STATE": str(tmp / "state"), **(env or {})},
        check=False,
    )
    took = time.monotonic() - started
    output = done.stdout + done.stderr
    assert "Traceback" not in output, output
    assert not bounded or len(output) < 4000, f"{len(output)} characters of output"
    return done.returncode, [line for line in output.splitlines() if line.strip()], took


@pytest.fixture
def mini(tmp_path: Path) -> Path:
    (tmp_path / "state").mkdir()
    (tmp_path / "state" / "kept").write_text("x\n")
    return copy_programme("mini", tmp_path / "mini")


def refused(mini: Path, make: Make, file: str, field: str, fragment: str) -> list[str]:
    make(mini)
    before = snapshot(mini.parent)
    code, lines, _ = run(mini.parent, "check", "mini")
    assert code == 2, lines
    prefix = f"mini/{file}: {field}: " if field else f"mini/{file}: "
    assert any(line.startswith(prefix) and fragment in line for line in lines), (
        f"expected {prefix!r} with {fragment!r} in:\n" + "\n".join(lines)
    )
    assert snapshot(mini.parent) == before
    return lines


def write(rel: str, text: str) -> Make:
    return lambda root: (root / rel).write_text(text, encoding="utf-8")


def replace(rel: str, old: str, new: str) -> Make:
    def make(root: Path) -> None:
        text = (root / rel).read_text(encoding="utf-8")
        assert old in text
        (root / rel).write_text(text.replace(old, new), encoding="utf-8")

    return make


ALIAS_BOMB = "devices:\n  - &a0 [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"  - &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]\n" for i in range(1, 10)
)

KINDS: list[tuple[str, Make, str, str, str]] = [
    # (kind, make, file, field, fragment)
    (
        "impossible-date",
        replace(P, "2027-03-20", "2027-02-30"),
        P,
        "programme.waves[1].weekend",
        "2027-02-30 is not a date that exists (expected YYYY-MM-DD)",
    ),
    (
        "boolean-group-name",
        replace("hosts.yml", "    zuidwaard:", "    no:"),
        "hosts.yml",
        "all.children.no",
        "key `no` is read by YAML 1.1 as a boolean, not a name",
    ),
    (
        "number-or-null-key",
        write(f"{NW}/extra.yml", "1: een\nnull: niets\n"),
        f"{NW}/extra.yml",
        "1",
        "read by YAML 1.1 as a number",
    ),
    (
        "complex-key",
        write(f"{NW}/extra.yml", "? [a, b]\n: x\n"),
        f"{NW}/extra.yml",
        "",
        "line 1 column 3: a key is a list",
    ),
    (
        "deep-nesting",
        write(f"{NW}/devices.yml", "devices: " + "[" * 100_000 + "]" * 100_000 + "\n"),
        f"{NW}/devices.yml",
        "line 1 column 41",
        "nested more than 32 levels deep",
    ),
    (
        "alias-bomb",
        write(f"{NW}/devices.yml", ALIAS_BOMB),
        f"{NW}/devices.yml",
        "line 8 column 5",  # &a6: 11,111,111 values
        f"its aliases stand for more than {MAX_NODES} values",
    ),
    (
        "unknown-tag",
        write(f"{NW}/devices.yml", "devices: !!python/object:os.system [ls]\n"),
        f"{NW}/devices.yml",
        "devices",
        "tag tag:yaml.org,2002:python/object:os.system is not used here",
    ),
    (
        "symlink-loop",
        lambda r: (
            (r / NW / "people.yml").unlink(),
            (r / NW / "people.yml").symlink_to("people.yml"),
        ),
        f"{NW}/people.yml",
        "",
        "cannot read file: Too many levels of symbolic links",
    ),
    (
        "fifo",
        lambda r: ((r / NW / "people.yml").unlink(), os.mkfifo(r / NW / "people.yml")),
        f"{NW}/people.yml",
        "",
        "is a FIFO (named pipe), not a file",
    ),
    (
        "device",
        lambda r: (
            (r / NW / "people.yml").unlink(),
            (r / NW / "people.yml").symlink_to("/dev/zero"),
        ),
        f"{NW}/people.yml",
        "",
        "is a character device, not a file",
    ),
    (
        "huge-file",
        lambda r: os.truncate(r / NW / "people.yml", 2 * MAX_BYTES),  # sparse: no disk used
        f"{NW}/people.yml",
        "",
        f"larger than the {MAX_BYTES} bytes a file may have",
    ),
    (
        "folder-as-people",
        lambda r: ((r / NW / "people.yml").unlink(), (r / NW / "people.yml").mkdir()),
        f"{NW}/people.yml",
        "",
        "is a folder, not a file of variables",
    ),
    (
        "folder-as-programme",
        lambda r: ((r / P).unlink(), (r / P).mkdir()),
        P,
        "",
        "is a folder, not a file of variables",
    ),
    (
        "host-vars",
        lambda r: ((r / "host_vars").mkdir(), (r / "host_vars/nw-srv01.yml").write_text("a: 1\n")),
        "host_vars",
        "",
        "Ansible reads host variables here but eendracht does not",
    ),
    (
        "vars-in-hosts",
        replace("hosts.yml", "all:\n", "all:\n  vars:\n    ansible_user: root\n"),
        "hosts.yml",
        "all.vars",
        "variables in hosts.yml are not checked",
    ),
    (
        "group-vars-in-hosts",
        replace("hosts.yml", "    zuidwaard:\n", "    zuidwaard:\n      vars: {colour: red}\n"),
        "hosts.yml",
        "all.children.zuidwaard.vars",
        "variables in hosts.yml are not checked",
    ),
    (
        "json-group-vars",
        write(f"{NW}/extra.json", '{"colour": "red"}'),
        f"{NW}/extra.json",
        "colour",
        "unknown key",
    ),
    (
        "no-extension-group-vars",
        write(f"{NW}/extra", "devices: []\n"),
        f"{NW}/extra",
        "devices",
        "already defined in",
    ),
    (
        "nested-group-vars",
        lambda r: ((r / NW / "more").mkdir(), (r / NW / "more" / "x.yml").write_text("a: 1\n")),
        f"{NW}/more/x.yml",
        "a",
        "unknown key",
    ),
    (
        "connection-settings-in-group-vars",
        write(f"{NW}/connect.yml", "ansible_become_exe: /tmp/anything\n"),
        f"{NW}/connect.yml",
        "ansible_become_exe",
        "belong in the environment's hosts.yml",
    ),
]


@pytest.mark.parametrize(
    ("kind", "make", "file", "field", "fragment"), KINDS, ids=[k[0] for k in KINDS]
)
def test_each_kind_is_one_clear_line(
    mini: Path, kind: str, make: Make, file: str, field: str, fragment: str
) -> None:
    refused(mini, make, file, field, fragment)


def test_the_alias_bomb_is_refused_in_a_moment_without_printing_it(mini: Path) -> None:
    (mini / NW / "devices.yml").write_text(ALIAS_BOMB, encoding="utf-8")
    code, lines, took = run(mini.parent, "check", "mini")
    assert code == 2
    assert took < 10, took  # a second of it is starting Python and importing
    assert not any("x, x" in line or "*a" in line for line in lines)


def test_a_huge_value_is_echoed_as_a_short_excerpt(mini: Path) -> None:
    name = "x" * 5_000_000
    lines = refused(  # YAML itself allows implicit keys of at most 1024 characters
        mini,
        replace(f"{NW}/people.yml", "given_name: Jan", f"given_name: Jan, {name[:1000]}: 1"),
        f"{NW}/people.yml",
        "people[0]." + "x" * 79 + "… (1000 characters)",
        "unknown key",
    )
    assert max(len(line) for line in lines) < 500
    lines = refused(
        mini,
        replace(f"{NW}/people.yml", "account: jdevries", f"account: {name}"),
        f"{NW}/people.yml",
        "people[0].account",
        "xxx...xxx",
    )
    assert max(len(line) for line in lines) < 500


def test_a_control_character_in_a_key_stays_on_one_line(mini: Path) -> None:
    refused(
        mini,
        write(f"{NW}/extra.yml", '"a\\nb\\e[31m": 1\n'),
        f"{NW}/extra.yml",
        "a\\nb\\x1b[31m",
        "unknown key",
    )


def test_merge_keys_work(mini: Path) -> None:
    replace(
        f"{NW}/shares.yml",
        "  - {name: sociaal-domein, server: nw-srv01, path: /srv/shares/sociaal-domein, size_gb: 0.08, files: 200, department: Sociaal Domein}",
        "  - <<: *first\n    name: sociaal-domein\n    path: /srv/shares/sociaal-domein\n    department: Sociaal Domein",
    )(mini)
    replace(f"{NW}/shares.yml", "  - {name: burgerzaken", "  - &first {name: burgerzaken")(mini)
    code, lines, _ = run(mini.parent, "check", "mini")
    assert code == 0, lines


def _vault(mini: Path) -> Path:
    """people.yml encrypted as a whole, and a !vault value in a new file; the password file."""
    lib = VaultLib([("default", VaultSecret(PASSWORD))])
    people = mini / NW / "people.yml"
    people.write_bytes(lib.encrypt(people.read_bytes()))
    value = lib.encrypt(b"ldaps://dc01.noordwaard.local").decode()
    indented = "".join(f"    {line}\n" for line in value.splitlines())
    (mini / NW / "source.yml").write_text(
        f"people_source:\n  base_dn: ou=people,dc=nw\n  uri: !vault |\n{indented}"
    )
    password = mini.parent / "vault-password"
    password.write_bytes(PASSWORD + b"\n")
    return password


def test_vault_with_the_password_works_in_check_and_plan(mini: Path) -> None:
    password = _vault(mini)
    before = snapshot(mini.parent)
    code, lines, _ = run(mini.parent, "check", "mini", "--vault-password-file", str(password))
    assert code == 0, lines
    code, lines, _ = run(
        mini.parent,
        "plan",
        "mini",
        "-m",
        "noordwaard",
        "-f",
        "json",
        env={"ANSIBLE_VAULT_PASSWORD_FILE": str(password)},
        bounded=False,
    )
    assert code == 0, lines[-5:]
    script = mini.parent / "vault-client"
    script.write_text(f"#!/bin/sh\necho '{PASSWORD.decode()}'\n")
    script.chmod(0o700)
    before[str(script)] = (script.lstat().st_mode, script.stat().st_size)
    code, lines, _ = run(mini.parent, "check", "mini", "--vault-password-file", str(script))
    assert code == 0, lines
    assert snapshot(mini.parent) == before  # nothing decrypted written anywhere
    for path in mini.parent.rglob("*"):
        if path.is_file():
            assert b"ldaps://dc01.noordwaard.local" not in path.read_bytes()


def test_vault_without_the_password_is_one_line_per_secret(mini: Path) -> None:
    password = _vault(mini)
    lines = refused(
        mini,
        lambda r: None,
        f"{NW}/source.yml",
        "people_source.uri",
        "an encrypted value (!vault): give the vault password",
    )
    assert (
        f"mini/{NW}/people.yml: encrypted with ansible-vault: give the vault password with --vault-password-file FILE or $ANSIBLE_VAULT_PASSWORD_FILE"
        in lines
    )
    password.write_bytes(b"wrong\n")
    code, lines, _ = run(mini.parent, "check", "mini", "--vault-password-file", str(password))
    assert code == 2
    assert f"mini/{NW}/people.yml: cannot decrypt the file with the vault password given" in lines
    assert (
        f"mini/{NW}/source.yml: people_source.uri: cannot decrypt the !vault value with the vault password given"
        in lines
    )
    code, lines, _ = run(mini.parent, "check", "mini", "--vault-password-file", "nowhere")
    assert code == 2
    assert lines == [
        "nowhere: --vault-password-file: cannot read the vault password file nowhere: cannot read file: No such file or directory"
    ]


def test_the_root_cause_comes_first(mini: Path) -> None:
    lines = refused(
        mini,
        replace("hosts.yml", "    zuidwaard:", "    no:"),
        "hosts.yml",
        "all.children.no",
        "boolean",
    )
    assert lines[0].startswith("mini/hosts.yml: all.children.no: "), lines
    lines = refused(
        mini,
        lambda r: (r / P).write_text("programme: [\n"),
        P,
        "line 2 column 1",
        "YAML syntax error",
    )


STACK = """config:
  eendracht:programme: {programme}
  eendracht:adminSshPublicKey: ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKO6sXWD4OMaBV7U67hHJ4I2rrufDbpZ8YausTyGI6/5 x
{extra}"""


def _stack(tmp_path: Path, programme: str = "inventory/altena", extra: str = "") -> Path:
    stacks = tmp_path / "stacks"
    stacks.mkdir(exist_ok=True)
    (tmp_path / "inventory" / "altena").mkdir(parents=True, exist_ok=True)
    (stacks / "Pulumi.t.yaml").write_text(STACK.format(programme=programme, extra=extra))
    return stacks


def test_a_stack_without_its_programme_names_the_stack_file_and_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ProblemsFound) as caught:
        read_stack("t", _stack(tmp_path, "inventory/nowhere"))
    assert [str(p) for p in caught.value.problems] == [
        "stacks/Pulumi.t.yaml: config.eendracht:programme: programme folder 'inventory/nowhere' "
        "does not exist (expected a programme folder relative to the repository, e.g. inventory/altena)"
    ]
    assert read_stack("t", _stack(tmp_path)).programme_path == tmp_path / "inventory" / "altena"


def test_a_plain_text_secret_in_a_stack_file_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ProblemsFound) as caught:
        read_stack("t", _stack(tmp_path, extra="  eendracht:adminPassword: hunter2\n"))
    [problem] = caught.value.problems
    assert (problem.file, problem.field) == (
        "stacks/Pulumi.t.yaml",
        "config.eendracht:adminPassword",
    )
    assert "expected Pulumi's `secure:` form" in problem.message
    assert "hunter2" not in str(problem)
    secure = "  eendracht:vpnSharedKey:\n    secure: v1:AAAA\n  eendracht:graphClientId: 0000\n"
    assert read_stack("t", _stack(tmp_path, extra=secure)).settings
