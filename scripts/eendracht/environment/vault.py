"""Secrets kept in an Ansible Vault file: decrypted in memory with Ansible's own VaultLib."""

from __future__ import annotations

from pathlib import Path

import yaml
from ansible.errors import AnsibleError
from ansible.parsing.vault import VaultLib, VaultSecret, is_encrypted


class VaultError(Exception):
    pass


def read_vault(vault_file: Path, password_file: Path) -> dict[str, str]:
    """`key: value` pairs of an encrypted YAML mapping (`ansible-vault encrypt`)."""
    try:
        password = password_file.read_bytes().strip()
    except OSError as exc:
        raise VaultError(f"cannot read the vault password file {password_file}: {exc}") from None
    if not password:
        raise VaultError(f"the vault password file {password_file} is empty")
    try:
        data = vault_file.read_bytes()
    except OSError as exc:
        raise VaultError(f"cannot read the vault: {exc.strerror or exc}") from None
    if not is_encrypted(data):
        raise VaultError("not encrypted with ansible-vault: secrets are never kept in plain text")
    try:
        plain = VaultLib([("default", VaultSecret(password))]).decrypt(data)
    except AnsibleError:
        raise VaultError("cannot decrypt the vault with the vault password file") from None
    try:
        values = yaml.safe_load(plain)
    except yaml.YAMLError:
        raise VaultError("the decrypted vault is not YAML") from None
    if not isinstance(values, dict) or not all(
        isinstance(k, str) and isinstance(v, str | int) for k, v in values.items()
    ):
        raise VaultError("the decrypted vault must be a mapping of names to string values")
    return {k: str(v) for k, v in values.items()}
