"""Whether a file may hold a secret: a regular file that no one but its owner can read.

One check for every secret eendracht reads from a file (an environment's credential files,
a webhook URL, the live page's token), so each refuses the same files with the same words."""

from __future__ import annotations

import stat
from pathlib import Path


def secret_file_problem(path: Path, max_bytes: int | None = None) -> str:
    """Why `path` cannot hold a secret, in words that never quote its content; '' when it can."""
    try:
        info = path.stat()
    except OSError as exc:
        return f"cannot read {path}: {exc.strerror or exc}"
    if not stat.S_ISREG(info.st_mode):
        return f"{path} is not a regular file"
    if max_bytes is not None and info.st_size > max_bytes:
        return f"{path} is larger than {max_bytes} bytes"
    if info.st_mode & 0o077:
        return (
            f"{path} is readable by others (mode {stat.S_IMODE(info.st_mode):04o}); "
            "a secret file must be 0600"
        )
    return ""
