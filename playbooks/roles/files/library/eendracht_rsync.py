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
  - With O(prove) the copy is proved in the same module run. The walk before the copy keeps a
    digest of every entry's inode, size, mode, owners, link count, mtime and ctime; a second
    walk after the copy must give the same digest. Any change to an entry - content, owners,
    modes, ACLs, xattrs, a name added, removed or renamed - moves a ctime, and a ctime cannot
    be set back, so an equal digest proves the source held still while rsync copied it (the
    test GNU tar uses for "file changed as we read it"). A second change within the timestamp
    tick of an entry's last change would leave its ctime as it was, so the copy starts only
    once the latest change's tick is over (at most 20 ms where timestamps have nanoseconds,
    2 s where they are whole seconds). When the digest cannot prove it - the digests differ,
    rsync saw files vanish, or a ctime lies ahead of this server's clock (the timestamps come
    from another clock) - a dry run of the same rsync must find nothing left to change,
    content or attributes, or the module fails naming the first entries. The target is
    compared with the source by checksum at verify.
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
    description: prove the copy (the source held still while it was copied, else a dry run
      of the same rsync finds nothing left to copy); skipped in check mode (nothing was copied
      to prove)
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
  description: how the copy was proved (method - unchanged source or dry run), entries_changed,
    and the dry run's counts when one ran (only with O(prove), not in check mode)
  type: dict
  returned: when proved
owners_translated:
  description: how many user and group numbers the copy translated
  type: dict
  returned: when owners are kept
"""

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.eendracht_copy import ARGUMENT_SPEC, CopyError, copy


def main():
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    try:
        result = copy(module.params, module.check_mode)
    except CopyError as failure:
        module.fail_json(msg=str(failure), **failure.details)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
