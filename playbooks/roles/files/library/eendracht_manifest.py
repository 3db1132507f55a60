#!/usr/bin/python
"""Checksum manifests of a share (build), the owner translation (owners), their comparison (compare)."""

from __future__ import annotations

DOCUMENTATION = r"""
module: eendracht_manifest
short_description: Build, translate and compare checksum manifests of file shares
description:
  - O(mode=build) walks O(path) without following symlinks and writes one JSON line per entry
    to O(dest): path, type, mode, uid, gid, size, mtime and sha256 of files, link target, POSIX
    ACL entries (access and default), extended attributes (name and sha256 of the value) and the
    hard-link group (the first path of the tree that shares the inode).
  - O(mode=owners) reads the old uid/gid numbers from the source directory (C(ldapsearch), the
    bind password read from its file) and the new ones from the identity map, and returns the
    translation the copy (rsync --usermap/--groupmap) and the comparison use. Numbers below
    O(keep_below) are system accounts and stay as they are.
  - O(mode=compare) compares the manifests of every share in O(shares) in one run, as the target
    keeps them: owners after translation (O(owners)), and only what the target can keep
    (O(keeps)); the result says per attribute how many entries the target cannot keep. Every
    difference is listed (first paths first). Differences of folders and links always fail;
    files fail when verified files / source files falls below O(min_ratio) (1.0, the default:
    nothing may differ). Nothing to verify fails too - no share, or no file in the source
    manifest of a share the programme says has files.
  - Reads only; in check mode it runs too (build writes only its own manifest file).
options:
  mode: {description: what to do, type: str, choices: [build, owners, compare], default: build}
  path: {description: folder to describe (build), type: path}
  dest: {description: where to write the manifest (build), type: path}
  builds:
    description: several manifests in one run (build), each C(path) and C(dest), instead of
      O(path) and O(dest) (a loop would start the module once per share)
    type: list
    elements: dict
  mapping_file: {description: the identity map JSON (owners), type: path}
  directory:
    description: "source directory (owners): uri, bind_dn, password_file, base_dn, people_dn"
    type: dict
  keep_below: {description: numbers below this are kept as they are (owners), type: int, default: 1000}
  timeout: {description: seconds the directory read may take (owners), type: int, default: 120}
  reuse:
    description: an earlier result of mode owners in this run (the task's own registered value);
      returned as it is, without reading, when it was read from the same identity map, directory
      and keep_below (owners)
    type: dict
  shares:
    description: "shares to compare (the programme's): name, mirror, files (how many the
      programme says it has: such a share must not have an empty manifest), and source and
      target manifest paths, by default <manifest_dir>/<name>.source.jsonl and .target.jsonl"
    type: list
    elements: dict
  manifest_dir: {description: where the manifests of O(shares) are (compare), type: path}
  owners: {description: the translation O(mode=owners) returned (compare), type: dict}
  keeps:
    description: what the target keeps besides content, size and type (compare)
    type: list
    elements: str
    default: [owner, mode, mtime, acl, xattr, hardlink, symlink]
  min_ratio: {description: verified files / source files at least this (compare), type: float, default: 1.0}
  max_listed: {description: how many differences to list, type: int, default: 50}
author: eendracht
"""

RETURN = r"""
eendracht_counts:
  description: entries and bytes described (build), accounts and groups mapped (owners), or
    files_source, files_verified, bytes_verified, differences, target_extras (compare)
  type: dict
  returned: always
eendracht_owners:
  description: users and groups (old number -> new), keep_below, unmapped_users and unmapped_groups
  type: dict
  returned: mode owners
owners_read_from:
  description: what the translation was read from (identity map path, size, change time; the
    directory settings; keep_below), which O(reuse) must match
  type: dict
  returned: mode owners
cannot_keep:
  description: per attribute the target cannot keep, how many source entries carry it
  type: dict
  returned: mode compare
differences:
  description: the first differences, each naming its share and path
  type: list
  returned: mode compare
"""

import hashlib
import json
import os
import stat

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.eendracht_owners import (  # noqa: F401 - owner_map, folded: one implementation
    ARGUMENT_SPEC,
    REQUIRED_IF,
    OwnersError,
    folded,
    owner_map,
    read_owners,
)
from ansible.module_utils.eendracht_posix_acl import ACL_XATTRS, ALL_KEEPS, acl_entries

CHUNK = 1 << 20


# --- build --------------------------------------------------------------------------


def _sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()


def extended(full, is_link):
    """(ACL entries, {xattr name: sha256 of its value}) of one entry; empty when it has none."""
    acl, xattrs = [], {}
    try:
        names = os.listxattr(full, follow_symlinks=False)
    except OSError:
        return acl, xattrs
    for name in sorted(names):
        try:
            value = os.getxattr(full, name, follow_symlinks=False)
        except OSError:
            continue
        if name in ACL_XATTRS:
            if not is_link:
                acl += acl_entries(value, ACL_XATTRS[name])
        else:
            xattrs[name] = hashlib.sha256(value).hexdigest()
    return acl, xattrs


def describe(root):
    """Entries of the tree under root, sorted by relative path."""
    out = []
    inodes = {}
    for folder, dirs, files in os.walk(root):
        dirs.sort()
        for name in sorted(dirs + files):
            full = os.path.join(folder, name)
            st = os.lstat(full)
            rel = os.path.relpath(full, root)
            entry = {"path": rel, "mode": stat.S_IMODE(st.st_mode), "uid": st.st_uid, "gid": st.st_gid}
            if stat.S_ISLNK(st.st_mode):
                entry.update(type="link", link=os.readlink(full))
            elif stat.S_ISDIR(st.st_mode):
                entry["type"] = "dir"
            elif stat.S_ISREG(st.st_mode):
                entry.update(type="file", size=st.st_size, mtime=int(st.st_mtime), sha256=_sha256(full))
                if st.st_nlink > 1:
                    entry["nlink"] = st.st_nlink
                    inodes.setdefault((st.st_dev, st.st_ino), []).append(entry)
            else:
                entry["type"] = "other"
            acl, xattrs = extended(full, entry["type"] == "link")
            if acl:
                entry["acl"] = acl
            if xattrs:
                entry["xattrs"] = xattrs
            out.append(entry)
    # A hard-link group is named by its first path, so the same group has the same name on
    # both sides whatever the inode numbers are.
    for group in inodes.values():
        if len(group) > 1:
            first = min(e["path"] for e in group)
            for e in group:
                e["hardlink"] = first
    out.sort(key=lambda e: e["path"])
    return out


def load(path):
    with open(path, encoding="utf-8") as handle:
        return {e["path"]: e for e in map(json.loads, handle) if e}


# --- owners (the translation itself: module_utils/eendracht_owners.py) ------------------


def translate(number, kind, owners):
    """The number the target should carry for a source number; None when it has no mapping."""
    if number < owners.get("keep_below", 1000):
        return number
    return owners[kind].get(str(number))


def translate_acl(entries, owners):
    """ACL entries with named users and groups translated; None when one has no mapping."""
    out = []
    for entry in entries:
        parts = entry.split(":")
        tag_at = 1 if parts[0] == "default" else 0
        tag, qualifier = parts[tag_at], parts[tag_at + 1]
        if qualifier and tag in ("user", "group"):
            new = translate(int(qualifier), "users" if tag == "user" else "groups", owners)
            if new is None:
                return None
            parts[tag_at + 1] = str(new)
        out.append(":".join(parts))
    return out


# --- compare ------------------------------------------------------------------------


def expected(want, keeps, owners):
    """What the target should hold for a source entry: (fields, untranslatable attributes)."""
    out = {"type": want.get("type")}
    problems = []
    if want.get("type") == "file":
        out.update(size=want.get("size"), sha256=want.get("sha256"))
        if "mtime" in keeps:
            out["mtime"] = want.get("mtime")
        if "hardlink" in keeps:
            out["hardlink"] = want.get("hardlink")
    if want.get("type") == "link":
        out["link"] = want.get("link")
    if "mode" in keeps and want.get("type") != "link":
        out["mode"] = want.get("mode")
    if "owner" in keeps:
        for field, kind in (("uid", "users"), ("gid", "groups")):
            new = translate(want[field], kind, owners) if owners is not None else want[field]
            if new is None:
                problems.append(f"{field} {want[field]} has no mapping")
            out[field] = new
    if "acl" in keeps:
        acl = want.get("acl")
        if acl and owners is not None and "owner" in keeps:
            acl = translate_acl(acl, owners)
            if acl is None:
                problems.append("an ACL entry names an account with no mapping")
        out["acl"] = acl
    if "xattr" in keeps:
        out["xattrs"] = want.get("xattrs")
    return out, problems


def not_kept(source, keeps):
    """Per attribute the target cannot keep, how many source entries carry it."""
    carries = {
        "owner": lambda e: True,
        "mode": lambda e: e.get("type") != "link",
        "mtime": lambda e: e.get("type") == "file",
        "acl": lambda e: bool(e.get("acl")),
        "xattr": lambda e: bool(e.get("xattrs")),
        "hardlink": lambda e: bool(e.get("hardlink")),
        "symlink": lambda e: e.get("type") == "link",
    }
    out = {}
    for attribute in ALL_KEEPS:
        if attribute not in keeps:
            count = sum(1 for e in source.values() if carries[attribute](e))
            if count:
                out[attribute] = count
    return out


def compare(source, target, mirror, max_listed, owners=None, keeps=ALL_KEEPS):
    """(counts, differences) of one share; differences name the path and what differs."""
    differences = []
    verified = byte_count = files = file_differences = 0
    for rel, want in source.items():
        if want.get("type") == "link" and "symlink" not in keeps:
            continue  # the copy leaves links out; counted in cannot_keep
        is_file = want.get("type") == "file"
        files += is_file
        have = target.get(rel)
        if have is None:
            differences.append(f"missing on target: {rel}")
            file_differences += is_file
            continue
        fields, problems = expected(want, keeps, owners)
        wrong = [f for f, value in fields.items() if have.get(f) != value]
        if problems or wrong:
            detail = ", ".join(problems + wrong)
            differences.append(f"differs ({detail}): {rel}")
            file_differences += is_file
        elif is_file:
            verified += 1
            byte_count += want.get("size", 0)
    extras = [rel for rel in target if rel not in source]
    if mirror:
        differences.extend(f"not on source (mirror): {rel}" for rel in extras)
    counts = {
        "files_source": files,
        "files_verified": verified,
        "bytes_verified": byte_count,
        "entries_compared": len(source),
        "differences": len(differences),
        "file_differences": file_differences,
        "target_extras": len(extras),
    }
    return counts, differences[:max_listed]


def compare_shares(shares, owners, keeps, min_ratio, max_listed, manifest_dir=None):
    """Every share of the step at once: (ok, message, counts, differences, cannot_keep)."""
    if not shares:
        return False, "no shares selected: nothing to verify", {}, [], {}
    totals = {}
    differences, refusals, cannot_keep = [], [], {}
    for share in shares:
        name = share["name"]
        where = {side: share.get(side) or os.path.join(manifest_dir or ".", f"{name}.{side}.jsonl") for side in ("source", "target")}
        try:
            source, target = load(where["source"]), load(where["target"])
        except OSError as exc:
            refusals.append(f"{name}: no manifest ({exc.strerror}: {exc.filename})")
            continue
        counts, listed = compare(source, target, share.get("mirror", False), max_listed, owners, keeps)
        for key, value in counts.items():
            totals[key] = totals.get(key, 0) + value
        differences += [f"{name}: {d}" for d in listed]
        if share.get("files", 0) > 0 and counts["files_source"] == 0:
            refusals.append(f"{name}: the source manifest has no files, the programme says {share['files']}")
        for attribute, count in not_kept(source, keeps).items():
            cannot_keep[attribute] = cannot_keep.get(attribute, 0) + count
    files = totals.get("files_source", 0)
    ratio = totals.get("files_verified", 0) / files if files else 0.0
    totals["verified_ratio"] = round(ratio, 6)
    folders_and_links = totals.get("differences", 0) - totals.get("file_differences", 0)
    if not files and not refusals:
        refusals.append("no file in any source manifest: nothing to verify")
    problems = list(refusals)
    if files and ratio < min_ratio:
        problems.append(f"verified {totals['files_verified']} of {files} files ({ratio:.4f} < {min_ratio:g})")
    if folders_and_links:
        problems.append(f"{folders_and_links} folders or links differ")
    if problems and differences:
        problems.append(
            f"{totals['differences']} differences between source and target, first: {', '.join(differences[:5])}"
        )
    return not problems, "; ".join(problems), totals, differences[:max_listed], cannot_keep


def write_manifest(path, dest):
    """The manifest of the folder `path`, written to `dest` (replaced whole); its counts."""
    entries = describe(path)
    os.makedirs(os.path.dirname(dest) or ".", exist_ok=True)
    tmp = dest + ".tmp"
    with open(tmp, "w", encoding="utf-8") as handle:
        for entry in entries:
            handle.write(json.dumps(entry, sort_keys=True) + "\n")
    os.replace(tmp, dest)
    files = [e for e in entries if e["type"] == "file"]
    return {"entries": len(entries), "files": len(files), "bytes": sum(e["size"] for e in files)}


# --- the module ---------------------------------------------------------------------


def main():
    module = AnsibleModule(
        argument_spec=ARGUMENT_SPEC,
        required_if=REQUIRED_IF,
        supports_check_mode=True,
    )
    p = module.params
    unknown = sorted(set(p["keeps"]) - set(ALL_KEEPS))
    if unknown:
        module.fail_json(msg=f"unknown in keeps: {', '.join(unknown)} (known: {', '.join(ALL_KEEPS)})")
    if p["mode"] == "build":
        if p["builds"] is not None and (p["path"] or p["dest"]):
            module.fail_json(msg="give builds or path and dest, not both")
        if p["builds"] is None and not p["dest"]:
            module.fail_json(msg="mode build needs dest with path")
        builds = p["builds"] if p["builds"] is not None else [{"path": p["path"], "dest": p["dest"]}]
        bad = [b for b in builds if not b.get("path") or not b.get("dest")]
        if bad:
            module.fail_json(msg=f"every build needs path and dest: {bad[0]}")
        missing = [b["path"] for b in builds if not os.path.isdir(b["path"])]
        if missing:
            module.fail_json(msg=f"no such folder: {', '.join(missing)}")
        counts = {"entries": 0, "files": 0, "bytes": 0}
        for build in builds:
            for key, value in write_manifest(build["path"], build["dest"]).items():
                counts[key] += value
        module.exit_json(changed=False, eendracht_counts=counts, manifests=[b["dest"] for b in builds])
    if p["mode"] == "owners":
        try:
            module.exit_json(**read_owners(p))
        except OwnersError as exc:
            module.fail_json(msg=str(exc))
    if "owner" in p["keeps"] and p["owners"] is None:
        module.fail_json(msg="the target keeps owners: compare needs the owner translation (owners)")
    ok, message, counts, differences, cannot_keep = compare_shares(
        p["shares"], p["owners"], p["keeps"], p["min_ratio"], p["max_listed"], p["manifest_dir"]
    )
    result = {"eendracht_counts": counts, "differences": differences, "cannot_keep": cannot_keep}
    if not ok:
        module.fail_json(msg=message, **result)
    if cannot_keep:
        kinds = ", ".join(f"{k} ({n} entries)" for k, n in sorted(cannot_keep.items()))
        module.warn(f"the target cannot keep: {kinds}; not compared")
    if differences:
        module.warn(f"{len(differences)} differences within the ratio: {', '.join(differences[:5])}")
    module.exit_json(changed=False, **result)


if __name__ == "__main__":
    main()
