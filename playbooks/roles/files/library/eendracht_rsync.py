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
  - With O(prove) a dry run of the same rsync follows the copy in the same module run and the
    module fails if it still finds files to copy (the source changed while it was copied).
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
  prove:
    description: after the copy, a dry run of the same rsync must find nothing left to copy;
      skipped in check mode (nothing was copied to prove)
    type: bool
    default: false
author: eendracht
"""

RETURN = r"""
eendracht_counts:
  description: files_transferred, bytes_transferred, files_total, bytes_total, files_deleted
  type: dict
  returned: always
eendracht_proof:
  description: the counts of the dry run after the copy (only with O(prove), not in check mode)
  type: dict
  returned: when proved
"""

import os
import re
import shlex
import shutil
import stat
import subprocess
import tempfile
import time
from contextlib import contextmanager

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


def ssh_command(params):
    ssh = ["ssh", "-p", str(params["dest_port"]), "-o", "BatchMode=yes"]
    if params["ssh_key"]:
        ssh += ["-i", params["ssh_key"]]
    return ssh + shlex.split(params["ssh_args"] or "")


@contextmanager
def shared_connection(params):
    """ssh options that let the copy and its proof share one SSH connection to the target.

    Each SSH handshake costs ~0.3-0.5 s, a large part of a small delta. The master runs in
    the foreground of its own process (stdio on /dev/null, so no pipe of ours waits for it)
    and is ended here; if it does not come up, both rsyncs simply connect on their own.
    """
    folder = tempfile.mkdtemp(prefix="eendracht-rsync-")
    socket = os.path.join(folder, "master")
    argv = [*ssh_command(params), "-M", "-N", "-S", socket, "-o", "ControlPersist=no"]
    master = subprocess.Popen(
        [*argv, f"{params['dest_user']}@{params['dest_host']}"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while not os.path.exists(socket) and master.poll() is None:
            if time.monotonic() > deadline:
                break
            time.sleep(0.01)
        yield ["-S", socket, "-o", "ControlMaster=no"] if os.path.exists(socket) else []
    finally:
        master.terminate()
        try:
            master.wait(timeout=10)
        except subprocess.TimeoutExpired:
            master.kill()
            master.wait()
        shutil.rmtree(folder, ignore_errors=True)


def rsync_command(params, check_mode, features=None, ssh_options=()):
    ssh = ssh_command(params) + list(ssh_options)
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


def run_rsync(module, argv):
    rc, out, err = module.run_command(argv)
    if rc not in (0, 24):  # 24: files vanished while copying (a live share), not an error
        module.fail_json(msg=f"rsync failed with rc {rc}", stderr=err[-2000:], rc=rc)
    return parse_stats(out)


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
            "prove": {"type": "bool", "default": False},
        },
        supports_check_mode=True,
    )
    features = tree_features(module.params["src"]) if module.params["detect"] else None
    argv = rsync_command(module.params, module.check_mode, features)
    proving = module.params["prove"] and not module.check_mode  # check mode copied nothing
    if not proving:
        counts = run_rsync(module, argv)
        result = {"eendracht_counts": counts, "cmd": argv[:-2]}
    else:
        # Same flags (the tree was walked once, above), in this process and over the same SSH
        # connection: no second task, module start-up, walk or handshake. Anything left to
        # copy means the source changed during the copy.
        with shared_connection(module.params) as shared:
            argv = rsync_command(module.params, False, features, shared)
            counts = run_rsync(module, argv)
            proof = run_rsync(module, rsync_command(module.params, True, features, shared))
        result = {"eendracht_counts": counts, "cmd": argv[:-2], "eendracht_proof": proof}
        if proof["files_transferred"] > 0:
            module.fail_json(
                msg=f"a dry run after the copy still finds {proof['files_transferred']} files "
                "to copy: the source changed while it was copied",
                **result,
            )
    changed = counts["files_transferred"] > 0 or counts["files_deleted"] > 0
    module.exit_json(changed=changed, features=features, **result)


if __name__ == "__main__":
    main()
