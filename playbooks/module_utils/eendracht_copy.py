"""The files role's copy: rsync from a source file server to the target, owners translated.

One implementation, run two ways: by the `eendracht_rsync` module (AnsiballZ, as any module),
and by the action plugin of the same name, which ships this file and `eendracht_posix_acl` to
the source server and runs them with its Python directly (see the plugin for why). It imports
only the standard library and `eendracht_posix_acl`. What it does is documented in the module.
"""

from __future__ import annotations

import hashlib
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
from contextlib import contextmanager

from ansible.module_utils.eendracht_posix_acl import ACL_XATTRS, ALL_KEEPS, acl_ids

ARGUMENT_SPEC = {
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
}


class CopyError(Exception):
    """A copy that cannot go on; `details` go into the failed result beside the message."""

    def __init__(self, msg, **details):
        super().__init__(msg)
        self.details = details


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


# How long a file system's timestamp tick may be: the kernel's coarse clock (<= 10 ms) where
# timestamps have nanoseconds, whole seconds (ext3) or two (FAT) where they have none.
FINE_TICK_NS = 20_000_000
COARSE_TICK_NS = 2_000_000_000


def walk(root):
    """(relative path, path, lstat) of root and everything under it, each folder's entries in
    name order, symlinks not followed. An entry gone before it could be read (a live share) is
    left out, as rsync leaves it out; a folder that cannot be read stops the walk."""
    yield ".", root, os.lstat(root)
    folders = [("", root)]
    while folders:
        prefix, folder = folders.pop()
        try:
            with os.scandir(folder) as found:
                entries = sorted(found, key=lambda entry: entry.name)
        except FileNotFoundError:
            continue
        except OSError as error:
            raise CopyError(f"cannot read {folder}: {error.strerror}") from None
        below = []
        for entry in entries:
            try:
                st = entry.stat(follow_symlinks=False)
            except FileNotFoundError:
                continue
            rel = prefix + entry.name
            yield rel, entry.path, st
            if stat.S_ISDIR(st.st_mode):
                below.append((rel + "/", entry.path))
        folders.extend(reversed(below))


class Digest:
    """A digest of every entry's path, inode, size, mode, owners, links, mtime and ctime.

    A change to an entry within the timestamp tick of its last change leaves its ctime as it
    was; `settle` waits until that tick is over, so every change from then on moves a ctime.
    """

    def __init__(self):
        self.hash = hashlib.blake2b(digest_size=32)
        self.entries = 0
        self.latest_ctime_ns = 0
        self.whole_seconds = True

    def add(self, rel, st):
        self.entries += 1
        self.latest_ctime_ns = max(self.latest_ctime_ns, st.st_ctime_ns)
        self.whole_seconds = self.whole_seconds and st.st_ctime_ns % 1_000_000_000 == 0
        self.hash.update(
            f"{rel}\0{st.st_ino} {st.st_size} {st.st_mode} {st.st_uid} {st.st_gid} {st.st_nlink}"
            f" {st.st_mtime_ns} {st.st_ctime_ns}\n".encode("utf-8", "surrogateescape")
        )

    def value(self):
        return self.hash.hexdigest()

    def settle(self):
        """Wait (at most one tick) until the tick of the latest change is over; False when a
        ctime lies ahead of this clock (the share's timestamps come from another clock)."""
        tick = COARSE_TICK_NS if self.whole_seconds else FINE_TICK_NS
        now = time.time_ns()
        if self.latest_ctime_ns > now + FINE_TICK_NS:
            return False
        wait = self.latest_ctime_ns + tick - now
        if wait > 0:
            time.sleep(wait / 1e9)
        return True


def tree_digest(root):
    digest = Digest()
    for rel, _, st in walk(root):
        digest.add(rel, st)
    return digest


class Scan:
    """One local walk: what rsync must be asked to keep, every owner number in use, the digest."""

    def __init__(self):
        self.hard_links = self.acls = self.xattrs = False
        self.users = {}  # number -> first paths that use it (as owner or in an ACL)
        self.groups = {}
        self.digest = Digest()

    def use(self, table, number, rel):
        paths = table.setdefault(number, [])
        if len(paths) < LISTED_PATHS:
            paths.append(rel)

    def features(self):
        return {"hard_links": self.hard_links, "acls": self.acls, "xattrs": self.xattrs}


def scan_tree(root):
    """Walk root once (lstat + listxattr): hard links, ACLs, xattrs, the owners they name, and
    the digest the proof compares with a walk after the copy."""
    scan = Scan()
    for rel, path, st in walk(root):
        scan.digest.add(rel, st)
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
def early_connection(params):
    """A function giving the ssh options that let rsync use an SSH connection to the target
    opened before the tree is walked.

    The handshake (~0.1-0.5 s, a large part of a small delta) then runs while the tree is
    walked; the function waits for it (at most 30 s; if it does not come up, rsync simply
    connects on its own). The master runs in the foreground of its own process (stdio on
    /dev/null, so no pipe of ours waits for it) and is ended here, however the copy ends.
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


def rsync_command(params, check_mode, features=None, maps=None, ssh_options=()):
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


def run_rsync(params, argv):
    try:
        rc, out, itemized, first, err = run(argv, params["timeout"])
    except subprocess.TimeoutExpired:
        raise CopyError(f"rsync to {params['dest_host']} timed out after {params['timeout']} s") from None
    if rc not in (0, 24):  # 24: files vanished while copying (a live share), not an error
        raise CopyError(f"rsync failed with rc {rc}", stderr=err[-2000:], rc=rc)
    counts = parse_stats(out)
    counts["entries_changed"] = itemized
    return counts, first, rc


def prove(params, scan, settled, argv_of, copy_rc, result):
    """The proof of a copy (see the module's description): the source's digest unchanged since
    the walk before the copy, else a dry run of the same rsync that finds nothing to change."""
    if settled and copy_rc == 0:
        after = tree_digest(params["src"])
        if after.value() == scan.digest.value():
            return {"method": "source unchanged", "entries_compared": after.entries, "entries_changed": 0}
    proof, left, _ = run_rsync(params, argv_of(True))
    if proof["entries_changed"] > 0:
        raise CopyError(
            f"a dry run after the copy still finds {proof['entries_changed']} entries to "
            f"change ({proof['files_transferred']} files to copy): the source changed while "
            f"it was copied; first: {'; '.join(left[:5])}",
            eendracht_proof={"method": "dry run", **proof},
            **result,
        )
    return {"method": "dry run", **proof}


def copy(params, check_mode):
    """The module's work (see its documentation): the result, or CopyError."""
    p = params
    unknown = sorted(set(p["keeps"]) - set(ALL_KEEPS))
    if unknown:
        raise CopyError(f"unknown in keeps: {', '.join(unknown)} (known: {', '.join(ALL_KEEPS)})")
    if "owner" in p["keeps"] and p["owners"] is None:
        raise CopyError(
            "the target keeps owners but no owner translation was given (owners): the old "
            "numbers of different municipalities would collide on the target"
        )
    if not os.path.isdir(p["src"]):
        raise CopyError(f"no such folder: {p['src']}")
    if p["scan_only"]:
        _, _, result = _scanned(p, False)
        return {"changed": False, **result}
    if not p["prove"]:
        return _copied(p, check_mode, list)
    # A proved copy is the final delta, where the SSH handshake is a large part of the time: its
    # connection is opened while the tree is walked. A bulk copy connects on its own: through a
    # master's multiplexed channel its 1.6 GB took ~7% longer here.
    with early_connection(p) as connection:
        return _copied(p, check_mode, connection)


def _scanned(p, proving):
    """(scan, maps, result so far) of the walk before the copy; CopyError for an owner number
    with no new account."""
    translating = "owner" in p["keeps"]
    scan = scan_tree(p["src"]) if (p["detect"] or translating or proving) else None
    features = scan.features() if (scan and p["detect"]) else None
    maps, result = None, {"features": features}
    if translating:
        usermap, groupmap, unmapped = id_maps(scan, p["owners"])
        if unmapped:
            raise CopyError(
                f"{len(unmapped)} owner numbers of {p['src']} have no new account, nothing "
                f"copied: {'; '.join(unmapped[:10])}",
                unmapped=unmapped,
            )
        if len(usermap) > MAX_MAP or len(groupmap) > MAX_MAP:
            raise CopyError(f"{len(scan.users)} owners: too many for one rsync command line; split the share")
        maps = (usermap, groupmap)
        result["owners_translated"] = {"users": len(scan.users), "groups": len(scan.groups)}
    return scan, maps, result


def _copied(p, check_mode, connection):
    proving = p["prove"] and not check_mode  # check mode copied nothing to prove
    scan, maps, result = _scanned(p, proving)
    settled = proving and scan.digest.settle()
    options = connection()

    def argv_of(dry_run):
        return rsync_command(p, dry_run, result["features"], maps, options)

    argv = argv_of(check_mode)
    counts, _, rc = run_rsync(p, argv)
    result.update(eendracht_counts=counts, cmd=argv[:-2])
    if proving:
        result["eendracht_proof"] = prove(p, scan, settled, argv_of, rc, result)
    changed = counts["entries_changed"] > 0 or counts["files_transferred"] > 0
    return {"changed": changed, **result}
