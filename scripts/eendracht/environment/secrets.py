"""The secret files a run hands Ansible: file references as they are, vault keys written to a
private directory in memory (tmpfs, mode 0700) for the length of the run and removed after.

Ansible and the tools it starts only ever see paths (ldap tools `-y`, nsupdate `-k`, libpq's
pgpass); the values are known here only to redact them from messages.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from pathlib import Path
from types import TracebackType

from eendracht.environment.load import Environment, secret_refs

MIN_SECRET_LENGTH = 6


def _runtime_dir() -> Path:
    shm = Path("/dev/shm")
    base = shm if shm.is_dir() and os.access(shm, os.W_OK) else None
    return Path(tempfile.mkdtemp(prefix="eendracht-secrets-", dir=base))


def secret_values_of(text: str) -> set[str]:
    """The secret values in a password, TSIG key or pgpass file's text."""
    if "secret" in text and "{" in text:  # tsig-keygen / named.conf key clause
        return set(re.findall(r'secret\s+"([^"]+)"', text))
    lines = [line for line in text.splitlines() if line.strip() and not line.startswith("#")]
    if lines and all(line.count(":") >= 4 for line in lines):  # pgpass host:port:db:user:pw
        return {line.split(":", 4)[4] for line in lines}
    return {text.strip()} if text.strip() else set()


class SecretFiles:
    """`with SecretFiles(env, municipality) as secrets:` — paths by environment.yml key."""

    def __init__(self, env: Environment, municipality: str) -> None:
        self.env = env
        self.refs = secret_refs(env.spec, municipality)
        self.dir: Path | None = None
        self.paths: dict[str, str] = {}

    def __enter__(self) -> SecretFiles:
        for key, ref in self.refs.items():
            if ref.file:
                self.paths[key] = str(self.env.path(ref.file))
        vault_keys = {key: ref.vault for key, ref in self.refs.items() if ref.vault}
        if vault_keys:
            self.dir = _runtime_dir()
            self.dir.chmod(0o700)
            for n, (key, name) in enumerate(sorted(vault_keys.items())):
                path = self.dir / f"secret-{n}"
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                with os.fdopen(fd, "w", encoding="utf-8") as handle:
                    handle.write(self.env.vault[name])
                self.paths[key] = str(path)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self.dir is not None:
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None

    def values(self) -> tuple[str, ...]:
        found: set[str] = set()
        for path in self.paths.values():
            try:
                found |= secret_values_of(Path(path).read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError):
                continue
        found |= set(self.env.vault.values())
        return tuple(sorted(v for v in found if len(v) >= MIN_SECRET_LENGTH))
