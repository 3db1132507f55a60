#!/usr/bin/python
"""Copy a share with rsync over SSH to the target file server, owners translated, reporting what moved."""

from __future__ import annotations

DOCUMENTATION = r"""
module: eendracht_rsync
short_description: Copy a folder to a remote host with rsync over SSH, owners translated to the new accounts
description:
  - Runs C(rsync -a) from this host to O(dest_host), keeping what the target can keep (O(keeps)):
    owners, modes, times, symlinks, hard links, POSIX ACLs and extended attributes (-H/-A/-X only
    when the tree has them, see O(detect)).
  - Owners are translated (security translation, as ADMT does for SIDs) with C(--usermap) and
    C(--groupmap) built from O(owners) for exactly the numbers the tree uses, in owners and in
    ACL entries; numbers below C(owners.keep_below) (system accounts) map to themselves. A file
    owned by a number with no mapping stops the copy before anything is copied, naming the
    number, its account and the first paths. Without C(--numeric-ids): with it rsync leaves the
    numbers in ACL entries untranslated; every number used is mapped explicitly, so no name
    lookup happens either.
  - Nothing on the target is deleted unless O(mirror) is true.
  - In check mode rsync runs with C(--dry-run) and reports what it would copy.
  - With O(prove) a dry run of the same rsync follows the copy in the same module run and the
    module fails if it still finds anything to change - content or attributes, owners and ACLs
    included (the source changed while it was copied) - naming the first entries.
  - Changed means rsync changed an entry, content or attributes (C(--itemize-changes), counted
    while it streams, not kept).
  - Every process it starts has a time limit: O(timeout) for each rsync run, O(io_timeout) for
    rsync's own I/O timeout, a connect timeout for ssh.
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
    description: ask rsync for -H/-A/-X only when the tree has hard links, ACLs or xattrs (found by
      the local walk that also collects the owners); false always keeps all three
    type: bool
    default: true
  prove:
    description: after the copy, a dry run of the same rsync must find nothing left to copy;
      skipped in check mode (nothing was copied to prove)
    type: bool
    default: false
  owners:
    description: the owner translation (eendracht_manifest mode=owners) - users and groups (old
      number -> new), keep_below, unmapped_users, unmapped_groups; required when O(keeps) has owner
    type: dict
  keeps:
    description: what the target can keep (the files role's files_target_capabilities)
    type: list
    elements: str
    default: [owner, mode, mtime, acl, xattr, hardlink, symlink]
  scan_only:
    description: only walk the tree and check that every owner number can be translated (the
      preflight); no rsync runs and nothing is copied
    type: bool
    default: false
  timeout: {description: seconds each rsync run may take, type: int, default: 86400}
  io_timeout: {description: rsync --timeout, seconds without data before it gives up, type: int, default: 600}
author: eendracht
"""

RETURN = r"""
eendracht_counts:
  description: files_transferred, bytes_transferred, files_total, bytes_total, files_deleted,
    entries_changed (everything rsync itemized: content, owners, modes, times, ACLs, xattrs)
  type: dict
  returned: always
eendracht_proof:
  description: the counts of the dry run after the copy (only with O(prove), not in check mode)
  type: dict
  returned: when proved
owners_translated:
  description: how many user and group numbers the copy translated
  type: dict
  returned: when owners are kept
"""

import os
import re
import shlex
import shutil
import signal
import stat
import subprocess
import tempfile
import threading
import time
from contextlib import contextmanager, nullcontext

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.eendracht_posix_acl import ACL_XATTRS, ALL_KEEPS, acl_ids

STATS = {
    "files_total": r"Number of files: ([\d,]+)",
    "files_transferred": r"Number of regular files transferred: ([\d,]+)",
    "files_deleted": r"Number of deleted files: ([\d,]+)",
    "bytes_total": r"Total file size: ([\d,]+)",
    "bytes_transferred": r"Total transferred file size: ([\d,]+)",
}
# --itemize-changes: YXcstpoguax and the name; `*deleting name` for deletions.
ITEMIZED = re.compile(r"^(?:[<>ch.][fdLDS][^ ]{9} |\*deleting )")
LISTED_CHANGES = 10
LISTED_PATHS = 3
# One command-line argument may not exceed 128 KiB (MAX_ARG_STRLEN); rsync has no map file.
MAX_MAP = 120_000


def parse_stats(text):
    counts = {}
    for key, pattern in STATS.items():
        match = re.search(pattern, text)
        counts[key] = int(match.group(1).replace(",", "")) if match else 0
    return counts


class Scan:
    """One local walk: what rsync must be asked to keep, and every owner number in use."""

    def __init__(self):
        self.hard_links = self.acls = self.xattrs = False
        self.users = {}  # number -> first paths that use it (as owner or in an ACL)
        self.groups = {}

    def use(self, table, number, rel):
        paths = table.setdefault(number, [])
        if len(paths) < LISTED_PATHS:
            paths.append(rel)

    def features(self):
        return {"hard_links": self.hard_links, "acls": self.acls, "xattrs": self.xattrs}


def scan_tree(root):
    """Walk root once (lstat + listxattr): hard links, ACLs, xattrs, and the owners they name."""
    scan = Scan()
    scan.use(scan.users, os.lstat(root).st_uid, ".")
    scan.use(scan.groups, os.lstat(root).st_gid, ".")
    for folder, dirs, files in os.walk(root):
        for name in dirs + files:
            path = os.path.join(folder, name)
            rel = os.path.relpath(path, root)
            st = os.lstat(path)
            scan.use(scan.users, st.st_uid, rel)
            scan.use(scan.groups, st.st_gid, rel)
            if stat.S_ISREG(st.st_mode) and st.st_nlink > 1:
                scan.hard_links = True
            if stat.S_ISLNK(st.st_mode):
                continue
            try:
                names = os.listxattr(path, follow_symlinks=False)
            except OSError:
                continue
            for attr in names:
                if attr not in ACL_XATTRS:
                    scan.xattrs = True
                    continue
                scan.acls = True
                try:
                    users, groups = acl_ids(os.getxattr(path, attr, follow_symlinks=False))
                except OSError:
                    continue
                for number in users:
                    scan.use(scan.users, number, rel)
                for number in groups:
                    scan.use(scan.groups, number, rel)
    return scan


def tree_features(root):
    """What the tree holds that plain `rsync -a` would not keep: hard links, ACLs, xattrs."""
    return scan_tree(root).features()


def id_maps(scan, owners):
    """(usermap, groupmap, unmapped): rsync's maps for the numbers the tree uses.

    Every number is mapped explicitly - system numbers to themselves - so rsync never falls
    back to matching names between the two servers. `unmapped` lists each number with no new
    account, its account and the first paths using it.
    """
    keep_below = owners.get("keep_below", 1000)
    maps, unmapped = [], []
    for kind, used, table, reasons in (
        ("uid", scan.users, owners.get("users", {}), owners.get("unmapped_users", {})),
        ("gid", scan.groups, owners.get("groups", {}), owners.get("unmapped_groups", {})),
    ):
        pairs = []
        for number in sorted(used):
            new = number if number < keep_below else table.get(str(number))
            if new is None:
                why = reasons.get(str(number), "not in the source directory")
                unmapped.append(f"{kind} {number} ({why}): {', '.join(used[number])}")
            else:
                pairs.append(f"{number}:{new}")
        maps.append(",".join(pairs))
    return maps[0], maps[1], unmapped


def ssh_command(params):
    ssh = ["ssh", "-p", str(params["dest_port"]), "-o", "BatchMode=yes", "-o", "ConnectTimeout=30"]
    if params["ssh_key"]:
        ssh += ["-i", params["ssh_key"]]
    return ssh + shlex.split(params["ssh_args"] or "")


@contextmanager
def shared_connection(params):
    """A function giving the ssh options that let the copy and its proof share one SSH
    connection to the target.

    Each SSH handshake costs ~0.15-0.5 s, a large part of a small delta. The master is started
    on entry, so its handshake runs while the tree is walked, and the function waits for it
    (at most 30 s; if it does not come up, both rsyncs simply connect on their own). It runs in
    the foreground of its own process (stdio on /dev/null, so no pipe of ours waits for it) and
    is ended here.
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

    def options():
        deadline = time.monotonic() + 30
        while not os.path.exists(socket) and master.poll() is None:
            if time.monotonic() > deadline:
                break
            time.sleep(0.005)
        return ["-S", socket, "-o", "ControlMaster=no"] if os.path.exists(socket) else []

    try:
        yield options
    finally:
        master.terminate()
        try:
            master.wait(timeout=10)
        except subprocess.TimeoutExpired:
            master.kill()
            master.wait()
        shutil.rmtree(folder, ignore_errors=True)


def rsync_command(params, check_mode, features=None, ssh_options=(), maps=None):
    """The rsync argv. `maps`: (usermap, groupmap) to translate owners; None keeps the numbers."""
    ssh = ssh_command(params) + list(ssh_options)
    keeps = params.get("keeps") or ALL_KEEPS
    features = features or {"hard_links": True, "acls": True, "xattrs": True}
    hard_links = features["hard_links"] and "hardlink" in keeps
    acls = features["acls"] and "acl" in keeps and "mode" in keeps
    xattrs = features["xattrs"] and "xattr" in keeps
    flags = "-a" + "H" * hard_links + "A" * acls + "X" * xattrs
    argv = ["rsync", flags]
    if "owner" not in keeps:
        argv += ["--no-owner", "--no-group"]
    elif maps is None:
        argv.append("--numeric-ids")
    else:
        usermap, groupmap = maps
        argv += [f"--usermap={usermap}"] * bool(usermap) + [f"--groupmap={groupmap}"] * bool(groupmap)
    if "mode" not in keeps:
        argv.append("--no-perms")
    if "mtime" not in keeps:
        argv.append("--no-times")
    if "symlink" not in keeps:
        argv.append("--no-links")
    argv += ["--stats", "--itemize-changes", "--mkpath", f"--timeout={params.get('io_timeout') or 600}", "-e", shlex.join(ssh)]
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


def run(argv, timeout):
    """(rc, stats text, itemized count, first itemized lines, stderr tail) of rsync.

    The output is read as it comes: a bulk copy itemizes every entry, so lines are counted,
    not kept. The process runs in its own session, killed whole at the timeout.
    """
    proc = subprocess.Popen(
        argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True, errors="replace", start_new_session=True,
    )  # fmt: skip
    expired = threading.Event()

    def stop():
        expired.set()
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass

    timer = threading.Timer(timeout, stop)
    errors = []
    reader = threading.Thread(target=lambda: errors.append(proc.stderr.read()[-4000:]), daemon=True)
    timer.start()
    reader.start()
    stats, first, itemized = [], [], 0
    try:
        for line in proc.stdout:
            if ITEMIZED.match(line):
                itemized += 1
                if len(first) < LISTED_CHANGES:
                    first.append(line.rstrip("\n"))
            elif len(stats) < 200:
                stats.append(line)
        proc.wait()
    finally:
        timer.cancel()
        reader.join(timeout=10)
    if expired.is_set():
        raise subprocess.TimeoutExpired(argv, timeout)
    return proc.returncode, "".join(stats), itemized, first, "".join(errors)


def run_rsync(module, argv):
    try:
        rc, out, itemized, first, err = run(argv, module.params["timeout"])
    except subprocess.TimeoutExpired:
        module.fail_json(msg=f"rsync to {module.params['dest_host']} timed out after {module.params['timeout']} s")
    if rc not in (0, 24):  # 24: files vanished while copying (a live share), not an error
        module.fail_json(msg=f"rsync failed with rc {rc}", stderr=err[-2000:], rc=rc)
    counts = parse_stats(out)
    counts["entries_changed"] = itemized
    return counts, first


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
            "owners": {"type": "dict"},
            "keeps": {"type": "list", "elements": "str", "default": list(ALL_KEEPS)},
            "scan_only": {"type": "bool", "default": False},
            "timeout": {"type": "int", "default": 86400},
            "io_timeout": {"type": "int", "default": 600},
        },
        supports_check_mode=True,
    )
    p = module.params
    unknown = sorted(set(p["keeps"]) - set(ALL_KEEPS))
    if unknown:
        module.fail_json(msg=f"unknown in keeps: {', '.join(unknown)} (known: {', '.join(ALL_KEEPS)})")
    translating = "owner" in p["keeps"]
    if translating and p["owners"] is None:
        module.fail_json(
            msg="the target keeps owners but no owner translation was given (owners): the old "
            "numbers of different municipalities would collide on the target"
        )
    if not os.path.isdir(p["src"]):
        module.fail_json(msg=f"no such folder: {p['src']}")
    proving = p["prove"] and not module.check_mode and not p["scan_only"]  # check mode copied nothing
    # The proof's SSH master connects while the tree is walked.
    with shared_connection(p) if proving else nullcontext(None) as shared:
        scan = scan_tree(p["src"]) if (p["detect"] or translating) else None
        features = scan.features() if (scan and p["detect"]) else None
        maps, result = None, {}
        if translating:
            usermap, groupmap, unmapped = id_maps(scan, p["owners"])
            if unmapped:
                module.fail_json(
                    msg=f"{len(unmapped)} owner numbers of {p['src']} have no new account, nothing "
                    f"copied: {'; '.join(unmapped[:10])}",
                    unmapped=unmapped,
                )
            if len(usermap) > MAX_MAP or len(groupmap) > MAX_MAP:
                module.fail_json(msg=f"{len(scan.users)} owners: too many for one rsync command line; split the share")
            maps = (usermap, groupmap)
            result["owners_translated"] = {"users": len(scan.users), "groups": len(scan.groups)}
        if p["scan_only"]:
            module.exit_json(changed=False, features=features, **result)
        if not proving:
            argv = rsync_command(p, module.check_mode, features, maps=maps)
            counts, _ = run_rsync(module, argv)
            result.update(eendracht_counts=counts, cmd=argv[:-2])
        else:
            # Same flags (the tree was walked once, above), in this process and over the same SSH
            # connection: no second task, module start-up, walk or handshake. Anything left to
            # copy means the source changed during the copy.
            options = shared()
            argv = rsync_command(p, False, features, options, maps)
            counts, _ = run_rsync(module, argv)
            proof, left = run_rsync(module, rsync_command(p, True, features, options, maps))
            result.update(eendracht_counts=counts, cmd=argv[:-2], eendracht_proof=proof)
            if proof["entries_changed"] > 0:
                module.fail_json(
                    msg=f"a dry run after the copy still finds {proof['entries_changed']} entries to "
                    f"change ({proof['files_transferred']} files to copy): the source changed while "
                    f"it was copied; first: {'; '.join(left[:5])}",
                    **result,
                )
    changed = counts["entries_changed"] > 0 or counts["files_transferred"] > 0
    module.exit_json(changed=changed, features=features, **result)


if __name__ == "__main__":
    main()
