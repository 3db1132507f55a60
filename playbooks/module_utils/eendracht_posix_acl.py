"""POSIX ACLs as Linux keeps them (the `system.posix_acl_*` xattrs), and what a target keeps.

The one decoder of Linux's binary ACL xattr (acl_ea.h: version u32, then entries of tag u16,
perm u16, id u32), shared by the rsync module (which owner numbers an ACL names) and the
manifest module (the entries as `getfacl -n` prints them).
"""

from __future__ import annotations

import struct

# What a target can keep besides content, size and type (the files role's capabilities).
ALL_KEEPS = ("owner", "mode", "mtime", "acl", "xattr", "hardlink", "symlink")
# The xattrs that hold a POSIX ACL, and the prefix getfacl gives their entries.
ACL_XATTRS = {"system.posix_acl_access": "", "system.posix_acl_default": "default:"}
ACL_USER_OBJ, ACL_USER, ACL_GROUP_OBJ, ACL_GROUP, ACL_MASK, ACL_OTHER = 1, 2, 4, 8, 16, 32
ACL_TAGS = {
    ACL_USER_OBJ: "user", ACL_USER: "user", ACL_GROUP_OBJ: "group", ACL_GROUP: "group",
    ACL_MASK: "mask", ACL_OTHER: "other",
}  # fmt: skip
NAMED = (ACL_USER, ACL_GROUP)


def acl_records(value):
    """(tag, perm, id) of every entry of a binary ACL xattr."""
    return [struct.unpack_from("<HHI", value, offset) for offset in range(4, len(value) - 7, 8)]


def acl_ids(value):
    """(users, groups): the numbers named in a binary ACL xattr."""
    users, groups = set(), set()
    for tag, _, ident in acl_records(value):
        if tag == ACL_USER:
            users.add(ident)
        elif tag == ACL_GROUP:
            groups.add(ident)
    return users, groups


def acl_entries(value, prefix=""):
    """getfacl -n style entries of a binary ACL xattr: `user:10002:rw-`, `default:mask::rwx`."""
    out = []
    for tag, perm, ident in acl_records(value):
        qualifier = str(ident) if tag in NAMED else ""
        perms = "".join(c if perm & bit else "-" for c, bit in (("r", 4), ("w", 2), ("x", 1)))
        out.append(f"{prefix}{ACL_TAGS.get(tag, hex(tag))}:{qualifier}:{perms}")
    return out
