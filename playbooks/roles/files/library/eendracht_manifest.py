#!/usr/bin/python
"""Checksum manifest of a folder (build), or the comparison of two manifests (compare)."""

from __future__ import annotations

DOCUMENTATION = r"""
module: eendracht_manifest
short_description: Build or compare checksum manifests of a file share
description:
  - O(mode=build) walks O(path) without following symlinks and writes one JSON line per entry
    to O(dest) (path, type, mode, uid, gid, size, mtime, sha256 of files, link target).
  - O(mode=compare) compares a source and a target manifest; every source entry must be on the
    target and equal; target extras are only an error when O(mirror) is true.
  - Reads only; runs in check mode too.
options:
  mode: {description: build or compare, type: str, choices: [build, compare], default: build}
  path: {description: folder to describe (build), type: path}
  dest: {description: where to write the manifest (build), type: path}
  source: {description: source manifest (compare), type: path}
  target: {description: target manifest (compare), type: path}
  mirror: {description: extras on the target count as differences, type: bool, default: false}
  max_listed: {description: how many differences to list, type: int, default: 50}
author: eendracht
"""

RETURN = r"""
eendracht_counts:
  description: entries and bytes described (build) or files_verified and differences (compare)
  type: dict
  returned: always
"""

import hashlib
import json
import os
import stat

from ansible.module_utils.basic import AnsibleModule

CHUNK = 1 << 20
COMPARED = ("type", "mode", "uid", "gid", "size", "mtime", "sha256", "link")


def _sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()


def describe(root):
    """Entries of the tree under root, sorted by relative path."""
    out = []
    for folder, dirs, files in os.walk(root):
        dirs.sort()
        for name in sorted(dirs + files):
            full = os.path.join(folder, name)
            st = os.lstat(full)
            rel = os.path.relpath(full, root)
            entry = {
                "path": rel,
                "mode": stat.S_IMODE(st.st_mode),
                "uid": st.st_uid,
                "gid": st.st_gid,
            }
            if stat.S_ISLNK(st.st_mode):
                entry.update(type="link", link=os.readlink(full))
            elif stat.S_ISDIR(st.st_mode):
                entry["type"] = "dir"
            elif stat.S_ISREG(st.st_mode):
                entry.update(
                    type="file", size=st.st_size, mtime=int(st.st_mtime), sha256=_sha256(full)
                )
                if st.st_nlink > 1:
                    entry["nlink"] = st.st_nlink
            else:
                entry["type"] = "other"
            out.append(entry)
    out.sort(key=lambda e: e["path"])
    return out


def load(path):
    with open(path, encoding="utf-8") as handle:
        return {e["path"]: e for e in map(json.loads, handle) if e}


def compare(source, target, mirror, max_listed):
    differences = []
    verified = 0
    byte_count = 0
    for rel, want in source.items():
        have = target.get(rel)
        if have is None:
            differences.append(f"missing on target: {rel}")
            continue
        fields = [f for f in COMPARED if want.get(f) != have.get(f)]
        if want.get("type") == "dir":
            fields = [f for f in fields if f != "mtime"]
        if fields:
            differences.append(f"differs ({', '.join(fields)}): {rel}")
        elif want.get("type") == "file":
            verified += 1
            byte_count += want.get("size", 0)
    extras = [rel for rel in target if rel not in source]
    if mirror:
        differences.extend(f"not on source (mirror): {rel}" for rel in extras)
    counts = {
        "files_verified": verified,
        "bytes_verified": byte_count,
        "entries_compared": len(source),
        "differences": len(differences),
        "target_extras": len(extras),
    }
    return counts, differences[:max_listed]


def main():
    module = AnsibleModule(
        argument_spec={
            "mode": {"type": "str", "choices": ["build", "compare"], "default": "build"},
            "path": {"type": "path"},
            "dest": {"type": "path"},
            "source": {"type": "path"},
            "target": {"type": "path"},
            "mirror": {"type": "bool", "default": False},
            "max_listed": {"type": "int", "default": 50},
        },
        required_if=[("mode", "build", ("path", "dest")), ("mode", "compare", ("source", "target"))],
        supports_check_mode=True,
    )
    p = module.params
    if p["mode"] == "build":
        if not os.path.isdir(p["path"]):
            module.fail_json(msg=f"no such folder: {p['path']}")
        entries = describe(p["path"])
        os.makedirs(os.path.dirname(p["dest"]) or ".", exist_ok=True)
        tmp = p["dest"] + ".tmp"
        with open(tmp, "w", encoding="utf-8") as handle:
            for entry in entries:
                handle.write(json.dumps(entry, sort_keys=True) + "\n")
        os.replace(tmp, p["dest"])
        files = [e for e in entries if e["type"] == "file"]
        counts = {"entries": len(entries), "files": len(files), "bytes": sum(e["size"] for e in files)}
        module.exit_json(changed=False, eendracht_counts=counts, manifest=p["dest"])
    counts, differences = compare(load(p["source"]), load(p["target"]), p["mirror"], p["max_listed"])
    if differences:
        module.fail_json(
            msg=f"{counts['differences']} differences between source and target",
            differences=differences,
            eendracht_counts=counts,
        )
    module.exit_json(changed=False, eendracht_counts=counts)


if __name__ == "__main__":
    main()
