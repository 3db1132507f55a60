#!/usr/bin/python
"""Make a share read-only at the source (freeze) or writable again (thaw), and prove it."""

from __future__ import annotations

DOCUMENTATION = r"""
module: eendracht_freeze
short_description: Freeze (immutable) or thaw a folder tree with chattr, then prove it
description:
  - O(state=frozen) sets the immutable attribute on every entry (as C(chattr -R +i)): nobody,
    root included, can write, add, rename or delete, while modes and owners stay as they are
    so the copy and its manifest are unchanged. A write test then must be refused.
  - O(state=thawed) removes the attribute again (rollback) and proves a write succeeds.
  - The folder must resolve (symlinks followed) to one of O(roots) or a folder inside one;
    anything else, and C(/), is refused before a flag is touched.
  - Needs a file system with the immutable attribute (ext4, xfs, btrfs) and CAP_LINUX_IMMUTABLE.
options:
  path: {description: the share's folder, type: path, required: true}
  roots:
    description: the share roots of the host; the folder must lie inside one
    type: list
    elements: path
    required: true
  state: {description: frozen or thawed, type: str, choices: [frozen, thawed], default: frozen}
author: eendracht
"""

RETURN = r"""
eendracht_counts:
  description: shares_frozen or shares_thawed
  type: dict
  returned: always
"""

import os
import uuid

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.eendracht_fsflags import apply_tree, is_immutable, resolve_inside


def write_refused(path):
    probe = os.path.join(path, f".eendracht-write-test-{uuid.uuid4().hex}")
    try:
        with open(probe, "w", encoding="utf-8") as handle:
            handle.write("probe")
    except OSError:
        return True
    os.unlink(probe)
    return False


def main():
    module = AnsibleModule(
        argument_spec={
            "path": {"type": "path", "required": True},
            "roots": {"type": "list", "elements": "path", "required": True},
            "state": {"type": "str", "choices": ["frozen", "thawed"], "default": "frozen"},
        },
        supports_check_mode=True,
    )
    given, state = module.params["path"], module.params["state"]
    try:
        path = resolve_inside(given, module.params["roots"])
    except ValueError as exc:
        module.fail_json(msg=str(exc))
    if not os.path.isdir(path):
        module.fail_json(msg=f"no such folder: {given}")
    want_frozen = state == "frozen"
    if module.check_mode:
        module.exit_json(changed=is_immutable(path) != want_frozen)
    try:
        changed_entries = apply_tree(path, want_frozen)
    except OSError as exc:
        module.fail_json(msg=f"cannot set the immutable attribute under {path}: {exc}")
    changed = changed_entries > 0
    refused = write_refused(path)
    if want_frozen and not refused:
        module.fail_json(msg=f"{path} still accepts writes after the freeze")
    if not want_frozen and refused:
        module.fail_json(msg=f"{path} still refuses writes after the thaw")
    key = "shares_frozen" if want_frozen else "shares_thawed"
    module.exit_json(
        changed=changed, eendracht_counts={key: 1, "entries_changed": changed_entries}, write_refused=refused
    )


if __name__ == "__main__":
    main()
