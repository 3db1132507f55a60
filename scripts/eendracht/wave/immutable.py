"""The immutable attribute the freeze sets on source shares, read and cleared from Python.

A rehearsal clears it before the lab is taken down: immutable files cannot be deleted.
"""

from __future__ import annotations

import fcntl
import os
import stat
import struct
from pathlib import Path

FS_IOC_GETFLAGS = 0x80086601
FS_IOC_SETFLAGS = 0x40086602
FS_IMMUTABLE_FL = 0x00000010


def _flags(fd: int) -> int:
    raw = fcntl.ioctl(fd, FS_IOC_GETFLAGS, struct.pack("i", 0))
    return int(struct.unpack("i", raw)[0])


def is_immutable(path: Path) -> bool:
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    try:
        return bool(_flags(fd) & FS_IMMUTABLE_FL)
    finally:
        os.close(fd)


def _clear(path: str) -> bool:
    st = os.lstat(path)
    if not (stat.S_ISREG(st.st_mode) or stat.S_ISDIR(st.st_mode)):
        return False
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    try:
        flags = _flags(fd)
        if not flags & FS_IMMUTABLE_FL:
            return False
        fcntl.ioctl(fd, FS_IOC_SETFLAGS, struct.pack("i", flags & ~FS_IMMUTABLE_FL))
        return True
    finally:
        os.close(fd)


def thaw_tree(root: Path) -> int:
    """Clears the attribute on every file and folder under root; returns how many had it."""
    if not root.exists():
        return 0
    cleared = int(_clear(str(root)))
    for folder, dirs, files in os.walk(root):
        for name in dirs + files:
            try:
                cleared += _clear(os.path.join(folder, name))
            except OSError:
                continue
    return cleared
