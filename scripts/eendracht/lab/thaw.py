"""Clearing immutable and append-only flags, so `down` can remove a lab whose shares a
migration froze (`chattr +i`) and did not thaw, e.g. because it was killed."""

from __future__ import annotations

import contextlib
import fcntl
import os
import stat
import struct
from pathlib import Path

FS_IOC_GETFLAGS = 0x80086601
FS_IOC_SETFLAGS = 0x40086602
FROZEN = 0x00000010 | 0x00000020  # FS_IMMUTABLE_FL | FS_APPEND_FL


def _thaw(path: str) -> bool:
    st = os.lstat(path)
    if not (stat.S_ISREG(st.st_mode) or stat.S_ISDIR(st.st_mode)):
        return False
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    try:
        flags = int(struct.unpack("i", fcntl.ioctl(fd, FS_IOC_GETFLAGS, struct.pack("i", 0)))[0])
        if not flags & FROZEN:
            return False
        fcntl.ioctl(fd, FS_IOC_SETFLAGS, struct.pack("i", flags & ~FROZEN))
        return True
    finally:
        os.close(fd)


def thaw(root: Path) -> int:
    """Clear the flags on everything under root (filesystems without flags are skipped)."""
    cleared = 0
    for folder, dirs, files in os.walk(root):
        for name in [folder, *(os.path.join(folder, n) for n in dirs + files)]:
            with contextlib.suppress(OSError):
                cleared += _thaw(name)
    return cleared
