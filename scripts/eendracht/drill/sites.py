"""How the drill itself reaches the two sites (its load and its measurements): PostgreSQL
through psql with the environment's pgpass file, the file servers through ssh with their
inventory variables. Never a password on a command line."""

from __future__ import annotations

import os
import shlex
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eendracht.environment import Environment
from eendracht.environment.fallback import Fallback, SiteDatabase

DRILL_DATABASE = "eendracht_drill"
TIMEOUT = 15.0


class SiteError(Exception):
    """A site did not answer as the drill needs (one line)."""


@dataclass(frozen=True)
class Sites:
    env: Environment
    fallback: Fallback
    passfile: Path

    @classmethod
    def of(cls, env: Environment) -> Sites:
        assert env.spec.fallback is not None and env.spec.postgres_passfile is not None
        return cls(env, env.spec.fallback, env.path(env.spec.postgres_passfile.file))

    def database(self, site: str) -> SiteDatabase:
        db: SiteDatabase = getattr(self.fallback, site).database
        return db

    def psql(self, site: str, sql: str, db: str = "postgres", timeout: float = TIMEOUT) -> str:
        d = self.database(site)
        argv = ["psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1",
                "-h", d.address, "-p", str(d.port), "-U", d.user, "-d", db, "-c", sql]  # fmt: skip
        env = {**os.environ, "PGPASSFILE": str(self.passfile), "PGCONNECT_TIMEOUT": "3"}
        return _output(argv, f"{site} database {d.address}", timeout, env)

    def _host(self, host: str) -> dict[str, Any]:
        for group in self.env.hosts.values():
            if host in group:
                return group[host]
        raise SiteError(f"no host {host} in the environment's inventory")

    def ssh_argv(self, site: str) -> list[str]:
        """ssh to a site's file server, as Ansible reaches it."""
        files = getattr(self.fallback, site).files
        v = self._host(files.host)
        # A site that vanishes without resetting the connection (a partition) ends the
        # session within ~6 s instead of leaving the drill's load waiting on it.
        argv = ["ssh", "-o", "BatchMode=yes", "-o", "ConnectTimeout=5",
                "-o", "ServerAliveInterval=2", "-o", "ServerAliveCountMax=3"]  # fmt: skip
        argv += ["-p", str(v.get("ansible_port", 22))]
        if v.get("ansible_ssh_private_key_file"):
            argv += ["-i", str(v["ansible_ssh_private_key_file"])]
        argv += shlex.split(str(v.get("ansible_ssh_common_args", "")))
        return [*argv, f"{v.get('ansible_user', 'root')}@{v.get('ansible_host', files.host)}"]

    def files_path(self, site: str) -> str:
        return str(getattr(self.fallback, site).files.path)

    def ssh(self, site: str, command: str, timeout: float = 60.0) -> str:
        return _output([*self.ssh_argv(site), command], f"{site} file server", timeout)


def _output(argv: list[str], what: str, timeout: float, env: dict[str, str] | None = None) -> str:
    """The standard output of `argv`; SiteError naming `what` and the tool's last error line."""
    done = subprocess.run(
        argv, capture_output=True, text=True, env=env, timeout=timeout, check=False
    )
    if done.returncode != 0:
        lines = done.stderr.strip().splitlines()
        raise SiteError(f"{what}: {lines[-1] if lines else argv[0] + ' failed'}")
    return done.stdout


def drill_files_dir(sites: Sites, site: str, run: int) -> str:
    return f"{sites.files_path(site).rstrip('/')}/.eendracht-drill/run-{run}"
