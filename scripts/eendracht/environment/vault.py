"""Ansible Vault: decrypted in memory with Ansible's own VaultLib, never written anywhere.

The one place eendracht decrypts: the environment's secrets file (`read_vault`) and the
programme's encrypted files and `!vault` values (`VaultKey`, given to the loader). The
password comes from a file, or from what the file prints when it is executable, as Ansible
does (`--vault-password-file`, `$ANSIBLE_VAULT_PASSWORD_FILE`).
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from ansible.errors import AnsibleError
from ansible.parsing.vault import VaultLib, VaultSecret, is_encrypted

from eendracht.safeyaml import Refused, parse_yaml, read_bounded

PASSWORD_FILE_ENV = "ANSIBLE_VAULT_PASSWORD_FILE"
MAX_PASSWORD_BYTES = 64 * 1024
SCRIPT_TIMEOUT = 30  # seconds a password script may take


class VaultError(Exception):
    pass


def vault_password(password_file: Path) -> bytes:
    """The password in `password_file`, or printed by it when it is executable (Ansible's way).

    A script whose name ends in `-client` is asked for `--vault-id default`, as Ansible asks.
    """
    if os.path.isfile(password_file) and os.access(password_file, os.X_OK):
        command = [str(password_file.absolute())]
        if password_file.stem.endswith("-client"):
            command += ["--vault-id", "default"]
        try:
            done = subprocess.run(
                command,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                timeout=SCRIPT_TIMEOUT,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise VaultError(
                f"cannot run the vault password script {password_file}: {exc}"
            ) from None
        if done.returncode != 0:
            raise VaultError(
                f"the vault password script {password_file} exited with {done.returncode}"
            )
        password = done.stdout[:MAX_PASSWORD_BYTES].strip(b"\r\n")
    else:
        try:
            password = read_bounded(password_file, MAX_PASSWORD_BYTES).strip()
        except Refused as exc:
            raise VaultError(
                f"cannot read the vault password file {password_file}: {exc.message}"
            ) from None
    if not password:
        raise VaultError(f"the vault password file {password_file} is empty")
    return password


class VaultKey:
    """Decrypts Ansible Vault text with one password, in memory (the loader's `Vault`)."""

    def __init__(self, password: bytes) -> None:
        self._lib = VaultLib([("default", VaultSecret(password))])

    def __repr__(self) -> str:
        return "VaultKey(<password>)"

    @classmethod
    def from_file(cls, password_file: Path) -> VaultKey:
        return cls(vault_password(password_file))

    def decrypt(self, data: bytes) -> bytes:
        try:
            plain: bytes = self._lib.decrypt(data)
        except AnsibleError:
            raise VaultError("cannot decrypt with the vault password given") from None
        return plain


def read_vault(vault_file: Path, password_file: Path) -> dict[str, str]:
    """`key: value` pairs of an encrypted YAML mapping (`ansible-vault encrypt`)."""
    key = VaultKey.from_file(password_file)
    try:
        data = read_bounded(vault_file)
    except Refused as exc:
        raise VaultError(f"cannot read the vault: {exc.message}") from None
    if not is_encrypted(data):
        raise VaultError("not encrypted with ansible-vault: secrets are never kept in plain text")
    try:
        plain = key.decrypt(data)
    except VaultError:
        raise VaultError("cannot decrypt the vault with the vault password file") from None
    values, found = parse_yaml(plain)  # bounded like every input; nothing of it echoed
    if found:
        raise VaultError("the decrypted vault is not YAML") from None
    if not isinstance(values, dict) or not all(
        isinstance(k, str) and isinstance(v, str | int) for k, v in values.items()
    ):
        raise VaultError("the decrypted vault must be a mapping of names to string values")
    return {k: str(v) for k, v in values.items()}
