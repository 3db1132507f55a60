"""Where the lab keeps its state: `<state>/lab/`, state from EENDRACHT_STATE or `<repo>/.state`."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from eendracht.state import REPO_ROOT as REPO_ROOT
from eendracht.state import state_root as state_root


@dataclass(frozen=True)
class LabPaths:
    """Every path the lab writes, derived from one state root."""

    state: Path

    @classmethod
    def of(cls, state: Path | str | None = None) -> LabPaths:
        return cls(state_root(state))

    @property
    def lab(self) -> Path:
        return self.state / "lab"

    @property
    def manifest(self) -> Path:
        return self.lab / "manifest.json"

    @property
    def lock(self) -> Path:
        # Outside lab/ so that `down` can remove lab/ while holding it.
        return self.state / "lab.lock"

    @property
    def pids(self) -> Path:
        return self.lab / "pids"

    @property
    def logs(self) -> Path:
        return self.lab / "logs"

    @property
    def ssh(self) -> Path:
        return self.lab / "ssh"

    @property
    def private_key(self) -> Path:
        return self.ssh / "id_ed25519"

    @property
    def authorized_keys(self) -> Path:
        return self.ssh / "authorized_keys"

    @property
    def files(self) -> Path:
        return self.lab / "files"

    def host_root(self, host: str) -> Path:
        return self.files / host

    @property
    def ldap(self) -> Path:
        return self.lab / "ldap"

    @property
    def dns(self) -> Path:
        return self.lab / "dns"

    @property
    def postgres(self) -> Path:
        return self.lab / "postgres"

    @property
    def apps(self) -> Path:
        return self.lab / "apps"

    @property
    def environment(self) -> Path:
        """The environment the lab writes for the waves (docs/migration.md)."""
        return self.lab / "environment"

    @property
    def details(self) -> Path:
        """Where the lab keeps each service, for its own checks; no playbook reads it."""
        return self.lab / "lab.json"


def write_secret(path: Path, secret: str) -> Path:
    """A secret file readable by its owner only, created with that mode (never world-readable)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(secret)
    os.chmod(path, 0o600)
    return path
