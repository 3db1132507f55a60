#!/usr/bin/python
"""Copy a share with rsync over SSH to the target file server, reporting what moved."""

from __future__ import annotations

DOCUMENTATION = r"""
module: eendracht_rsync
short_description: Copy a folder to a remote host with rsync over SSH, keeping everything
description:
  - Runs C(rsync -aHAX --numeric-ids) from this host to O(dest_host), keeping owners, modes,
    times, symlinks, hard links, ACLs and extended attributes (-H/-A/-X only when the tree has
    them, see O(detect)).
  - Nothing on the target is deleted unless O(mirror) is true.
  - In check mode rsync runs with C(--dry-run) and reports what it would copy.
options:
  src: {description: folder to copy (its contents), type: path, required: true}
  dest: {description: folder on the target host, type: str, required: true}
  dest_host: {description: address of the target host, type: str, required: true}
  dest_port: {description: SSH port of the target host, type: int, default: 22}
  dest_user: {description: SSH user on the target host, type: str, default: root}
  ssh_key: {description: private key for the target host, type: path}
  ssh_args: {description: extra ssh options, type: str, default: ""}
  mirror: {description: delete on the target what the source no longer has, type: bool, default: false}
  checksum: {description: compare by checksum instead of size and time, type: bool, default: false}
  detect:
    description: ask rsync for -H/-A/-X only when the tree has hard links, ACLs or xattrs (found by a
      local walk); false always keeps all three
    type: bool
    default: true
author: eendracht
"""

RETURN = r"""
eendracht_counts:
  description: files_transferred, bytes_transferred, files_total, bytes_total, files_deleted
  type: dict
  returned: always
"""

import os
import re
import shlex
import stat

from ansible.module_utils.basic import AnsibleModule

STATS = {
    "files_total": r"Number of files: ([\d,]+)",
    "files_transferred": r"Number of regular files transferred: ([\d,]+)",
    "files_deleted": r"Number of deleted files: ([\d,]+)",
    "bytes_total": r"Total file size: ([\d,]+)",
    "bytes_transferred": r"Total transferred file size: ([\d,]+)",
}


def parse_stats(text):
    counts = {}
    for key, pattern in STATS.items():
        match = re.search(pattern, text)
        counts[key] = int(match.group(1).replace(",", "")) if match else 0
    return counts


def tree_features(root):
    """What the tree holds that plain `rsync -a` would not keep: hard links, ACLs, xattrs.

    -H, -A and -X each cost rsync work on every file; they are asked for only when some entry
    needs them, found by one local walk (lstat + listxattr), so nothing is lost either way.
    """
    hard_links = acls = xattrs = False
    for folder, dirs, files in os.walk(root):
        for name in dirs + files:
            path = os.path.join(folder, name)
            st = os.lstat(path)
            if stat.S_ISREG(st.st_mode) and st.st_nlink > 1:
                hard_links = True
            if stat.S_ISLNK(st.st_mode):
                continue
            try:
                names = os.listxattr(path, follow_symlinks=False)
            except OSError:
                continue
            for attr in names:
                if attr.startswith("system.posix_acl"):
                    acls = True
                else:
                    xattrs = True
        if hard_links and acls and xattrs:
            break
    return {"hard_links": hard_links, "acls": acls, "xattrs": xattrs}


def rsync_command(params, check_mode, features=None):
    ssh = ["ssh", "-p", str(params["dest_port"]), "-o", "BatchMode=yes"]
    if params["ssh_key"]:
        ssh += ["-i", params["ssh_key"]]
    ssh += shlex.split(params["ssh_args"] or "")
    features = features or {"hard_links": True, "acls": True, "xattrs": True}
    flags = "-a" + "H" * features["hard_links"] + "A" * features["acls"] + "X" * features["xattrs"]
    argv = ["rsync", flags, "--numeric-ids", "--stats", "--mkpath", "-e", shlex.join(ssh)]
    if params["mirror"]:
        argv.append("--delete")
    if params["checksum"]:
        argv.append("--checksum")
    if check_mode:
        argv.append("--dry-run")
    src = params["src"].rstrip("/") + "/"
    dest = params["dest"].rstrip("/") + "/"
    argv += [src, f"{params['dest_user']}@{params['dest_host']}:{dest}"]
    return argv


def main():
    module = AnsibleModule(
        argument_spec={
            "src": {"type": "path", "required": True},
            "dest": {"type": "str", "required": True},
            "dest_host": {"type": "str", "required": True},
            "dest_port": {"type": "int", "default": 22},
            "dest_user": {"type": "str", "default": "root"},
            "ssh_key": {"type": "path"},
            "ssh_args": {"type": "str", "default": ""},
            "mirror": {"type": "bool", "default": False},
            "checksum": {"type": "bool", "default": False},
            "detect": {"type": "bool", "default": True},
        },
        supports_check_mode=True,
    )
    features = tree_features(module.params["src"]) if module.params["detect"] else None
    argv = rsync_command(module.params, module.check_mode, features)
    rc, out, err = module.run_command(argv)
    if rc not in (0, 24):  # 24: files vanished while copying (a live share), not an error
        module.fail_json(msg=f"rsync failed with rc {rc}", stderr=err[-2000:], rc=rc)
    counts = parse_stats(out)
    changed = counts["files_transferred"] > 0 or counts["files_deleted"] > 0
    module.exit_json(changed=changed, eendracht_counts=counts, cmd=argv[:-2], features=features)


if __name__ == "__main__":
    main()
