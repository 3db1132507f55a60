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

from eendracht.environment.load import Environment, password_dirs, secret_refs

MIN_SECRET_LENGTH = 6


def _runtime_dir() -> Path:
    shm = Path("/dev/shm")
    base = shm if shm.is_dir() and os.access(shm, os.W_OK) else None
    return Path(tempfile.mkdtemp(prefix="eendracht-secrets-", dir=base))


def _pgpass_password(line: str) -> str | None:
    """The password field of a pgpass line (host:port:db:user:password, `\\:` and `\\\\`
    escaped), or None when the line has fewer than five fields."""
    fields: list[str] = []
    current: list[str] = []
    escaped = False
    for char in line:
        if escaped:
            current.append(char)
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == ":" and len(fields) < 4:
            fields.append("".join(current))
            current = []
        else:
            current.append(char)
    return "".join(current) if len(fields) == 4 else None


def secret_values_of(text: str) -> set[str]:
    """The secret values in a password, TSIG key or pgpass file's text."""
    found: set[str] = set()
    # tsig-keygen / named.conf key clause, and dnssec-keygen's .private (`Key: ...`)
    found |= set(re.findall(r'secret\s+"([^"]+)"', text))
    found |= set(re.findall(r"^(?:Key|HMAC(?:MD5|SHA\d+)?):\s*(\S+)\s*$", text, re.M))
    if found:
        return found
    lines = [line for line in text.splitlines() if line.strip() and not line.startswith("#")]
    passwords = {line: _pgpass_password(line) for line in lines}
    if lines and None not in passwords.values():
        for line, password in passwords.items():
            found.add(password or "")  # as libpq reads it ...
            found.add(line.split(":", 4)[4])  # ... and as the file spells it (escapes)
        return found - {""}
    return {text.strip()} if text.strip() else set()


class SecretFiles:
    """`with SecretFiles(env, municipality) as secrets:` — paths by environment.yml key."""

    def __init__(self, env: Environment, municipality: str) -> None:
        self.env = env
        self.refs = secret_refs(env.spec, municipality)
        self.dir: Path | None = None
        self.paths: dict[str, str] = {}
        # Folders of per-mailbox password files: handed over as paths, their files redacted.
        self.dirs = {k: str(env.path(v)) for k, v in password_dirs(env.spec, municipality).items()}

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

    def _vault_password(self) -> set[str]:
        if not self.env.vault or not self.env.spec.vault_password_file:
            return set()
        path = Path(self.env.spec.vault_password_file).expanduser()
        path = path if path.is_absolute() else self.env.root / path
        try:
            return {path.read_text(encoding="utf-8").strip()}
        except (OSError, UnicodeDecodeError):
            return set()

    def values(self) -> tuple[str, ...]:
        """Every secret value a run may meet, to redact it from what the wave writes: the
        secrets of the credential files and the vault's values (all of them, used or not),
        and the vault's password."""
        found: set[str] = set()
        files = list(self.paths.values())
        for folder in self.dirs.values():
            try:
                files += [str(p) for p in Path(folder).iterdir() if p.suffix == ".password"]
            except OSError:
                continue
        for path in files:
            try:
                found |= secret_values_of(Path(path).read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError):
                continue
        for value in self.env.vault.values():
            # a vault value is what a secret file would hold (a password, a key clause, pgpass)
            found |= {value, value.strip()} | secret_values_of(value)
        found |= self._vault_password()
        return tuple(sorted(v for v in found if len(v) >= MIN_SECRET_LENGTH))
