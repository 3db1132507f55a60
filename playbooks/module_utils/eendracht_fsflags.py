"""The immutable (and append-only) flag of files and folders, as `chattr +i`/`-i` sets it.

The one implementation of the FS_IOC_GETFLAGS/FS_IOC_SETFLAGS ioctl in eendracht: the freeze
module imports it as `ansible.module_utils.eendracht_fsflags` (Ansible ships this file with the
module: `module_utils` in ansible.cfg), and the Python package loads this same file
(`eendracht.module_utils`) to thaw frozen shares before a rehearsal environment is removed.

Linux only. The flags need a file system that has them (ext4, xfs, btrfs) and
CAP_LINUX_IMMUTABLE to change them. Symlinks and special files have no such flags.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import stat
import struct
from collections.abc import Iterator

FS_IOC_GETFLAGS = 0x80086601
FS_IOC_SETFLAGS = 0x40086602
FS_IMMUTABLE_FL = 0x00000010
FS_APPEND_FL = 0x00000020
# What keeps a tree from being written or removed, root included.
FROZEN = FS_IMMUTABLE_FL | FS_APPEND_FL


def _open(path: str) -> int:
    return os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)


def _get(fd: int) -> int:
    raw = fcntl.ioctl(fd, FS_IOC_GETFLAGS, struct.pack("i", 0))
    return int(struct.unpack("i", raw)[0])


def get_flags(path: str) -> int:
    fd = _open(path)
    try:
        return _get(fd)
    finally:
        os.close(fd)


def change_flags(path: str, add: int = 0, remove: int = 0) -> bool:
    """Sets `add` and clears `remove` on one file or folder; True if its flags changed.

    Anything but a regular file or a folder is left alone (False)."""
    st = os.lstat(path)
    if not (stat.S_ISREG(st.st_mode) or stat.S_ISDIR(st.st_mode)):
        return False
    fd = _open(path)
    try:
        flags = _get(fd)
        new = (flags | add) & ~remove
        if new == flags:
            return False
        fcntl.ioctl(fd, FS_IOC_SETFLAGS, struct.pack("i", new))
        return True
    finally:
        os.close(fd)


def set_immutable(path: str, wanted: bool) -> bool:
    """`chattr +i` (wanted) or `chattr -i` of one entry; True if it changed."""
    if wanted:
        return change_flags(path, add=FS_IMMUTABLE_FL)
    return change_flags(path, remove=FS_IMMUTABLE_FL)


def is_immutable(path: str) -> bool:
    return bool(get_flags(path) & FS_IMMUTABLE_FL)


def resolve_inside(path: str, roots: list[str]) -> str:
    """The real folder of `path` (symlinks followed), when it is one of `roots` or lies inside
    one; else ValueError. `/` is refused whatever the roots say, and so is a root that is `/`:
    the flags are never set or cleared outside the folders the shares are declared in."""
    real = os.path.realpath(path)
    if real == os.sep:
        raise ValueError(f"{path} is the root folder: refused")
    allowed = []
    for root in roots:
        real_root = os.path.realpath(root) if root else ""
        if real_root in ("", os.sep):
            raise ValueError(f"share root {root!r} is not a folder below /: refused")
        allowed.append(real_root)
    if not allowed:
        raise ValueError(f"no share roots given: {path} refused")
    for real_root in allowed:
        if real == real_root or real.startswith(real_root + os.sep):
            return real
    where = f" (resolves to {real})" if real != os.path.normpath(path) else ""
    raise ValueError(f"{path}{where} is outside the share roots {', '.join(roots)}: refused")


def walk(root: str) -> Iterator[str]:
    """root, then every folder and file under it, top down, symlinks not followed.

    A folder is yielded before its own entries are listed, so a freeze that makes each
    entry immutable as it comes leaves no moment in which something new can appear unseen."""
    yield root
    for folder, dirs, files in os.walk(root):
        for name in dirs + files:
            yield os.path.join(folder, name)


def apply_tree(root: str, wanted: bool) -> int:
    """The immutable flag on (or off) for the whole tree, every time: a freeze interrupted
    half way is completed on resume. Returns how many entries changed; errors are raised."""
    return sum(set_immutable(path, wanted) for path in walk(root))


def thaw_tree(root: str, flags: int = FROZEN) -> int:
    """Clears `flags` on everything under root, as far as it can (entries on a file system
    without flags, or that vanish meanwhile, are skipped), so the tree can be removed.
    Returns how many entries had them."""
    if not os.path.lexists(root):
        return 0
    cleared = 0
    for path in walk(root):
        with contextlib.suppress(OSError):
            cleared += change_flags(path, remove=flags)
    return cleared
