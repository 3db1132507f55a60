"""The owner translation of the files role: old uid/gid numbers (source directory) to new ones
(identity map), and the arguments of eendracht_manifest, whose mode `owners` this is.

The one implementation. The files role's action plugin (`roles/files/action_plugins/
eendracht_manifest.py`) runs mode `owners` in Ansible's worker on the controller, where the
identity map and the directory's password file are (the role's tasks are `delegate_to:
localhost`): no module is built, shipped or started, which was most of the task's time. The
module (`roles/files/library/eendracht_manifest.py`) imports it as
`ansible.module_utils.eendracht_owners` for every other run. Failures are raised as
`OwnersError`; `read_owners` returns the result.

A step reads the translation once per `ansible-playbook` run: given `reuse` (the task's own
registered result of an earlier play of the run) read from the same inputs, that result is
returned as it is, without a directory read or a parse of the identity map.
"""

from __future__ import annotations

import json
import os
import subprocess
import unicodedata

from ansible.module_utils.eendracht_ldif import parse_ldif
from ansible.module_utils.eendracht_posix_acl import ALL_KEEPS

# eendracht_manifest's arguments, as the module's AnsibleModule and the action plugin take them.
ARGUMENT_SPEC = {
    "mode": {"type": "str", "choices": ["build", "owners", "compare"], "default": "build"},
    "path": {"type": "path"},
    "dest": {"type": "path"},
    "builds": {"type": "list", "elements": "dict"},
    "mapping_file": {"type": "path"},
    "directory": {"type": "dict"},
    "keep_below": {"type": "int", "default": 1000},
    "timeout": {"type": "int", "default": 120},
    "reuse": {"type": "dict"},
    "shares": {"type": "list", "elements": "dict"},
    "manifest_dir": {"type": "path"},
    "owners": {"type": "dict"},
    "keeps": {"type": "list", "elements": "str", "default": list(ALL_KEEPS)},
    "min_ratio": {"type": "float", "default": 1.0},
    "max_listed": {"type": "int", "default": 50},
}
REQUIRED_IF = [
    ("mode", "build", ("path", "builds"), True),
    ("mode", "owners", ("mapping_file", "directory")),
    ("mode", "compare", ("shares",)),
]


class OwnersError(Exception):
    """The owners task fails with this message."""


def read_directory(directory, timeout):
    """Accounts and groups with posix numbers (ldapsearch -y: the password stays in its file).

    On Active Directory the account name is sAMAccountName (read as `uid`), over LDAPS
    verified against the directory's ca_file, paged as AD caps a result at 1,000 entries."""
    base = directory.get("base_dn") or directory.get("people_dn")
    ad = directory.get("kind") == "active_directory"
    argv = [
        "ldapsearch", "-LLL", "-x", "-o", "ldif-wrap=no", "-o", f"nettimeout={timeout}",
        "-l", str(timeout), "-H", directory["uri"], "-D", directory["bind_dn"],
        "-y", directory["password_file"], "-b", base,
        *(["-E", "pr=500/noprompt"] if ad else []),
        "(|(uidNumber=*)(gidNumber=*))",
        "sAMAccountName" if ad else "uid", "uidNumber", "gidNumber", "cn", "description",
        *(["objectClass"] if ad else []),
    ]  # fmt: skip
    env = dict(os.environ)
    if directory.get("ca_file"):
        env.update(LDAPTLS_CACERT=directory["ca_file"], LDAPTLS_REQCERT="demand")
    try:
        done = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=timeout, env=env)
    except subprocess.TimeoutExpired:
        raise RuntimeError(f"ldapsearch on {directory['uri']} timed out after {timeout} s") from None
    if done.returncode not in (0, 32):
        raise RuntimeError(f"ldapsearch on {directory['uri']} failed: {done.stderr.strip()[-300:]}")
    entries = parse_ldif(done.stdout)
    if ad:
        # An AD group has gidNumber but is no account: only users carry their name as `uid`.
        for e in entries:
            classes = {c.lower() for c in e.pop("objectclass", [])}
            name = e.pop("samaccountname", None)
            if name and "user" in classes and "computer" not in classes:
                e["uid"] = name
            elif "user" not in classes:
                e.pop("uidnumber", None)
    return entries


def folded(name):
    """The department key of eendracht.identity.numbering.department_key: a-z0-9 only."""
    plain = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
    return "".join(c for c in plain if c.isalnum())


def owner_map(identities, entries, keep_below):
    """Old number -> new, for accounts (uidNumber) and groups (gidNumber) of the source directory.

    An account maps to the new account of the identity with its old account name; a group to
    the department group of its description (or cn), else - for a primary group - to the
    department group of its members' new accounts when they all agree.
    """
    by_account = {i["old_account"]: i for i in identities}
    departments = {}
    for i in identities:  # by name as written, and as numbering folds it
        departments.setdefault(i["department"], i["gid_number"])
        departments.setdefault(folded(i["department"]), i["gid_number"])
    users, groups, unmapped_users, unmapped_groups = {}, {}, {}, {}
    primary = {}
    for e in entries:
        if "uidnumber" in e and "uid" in e:
            old, account = int(e["uidnumber"][0]), e["uid"][0]
            if old < keep_below:
                continue
            identity = by_account.get(account)
            if identity is None or not identity.get("uid_number"):
                unmapped_users[str(old)] = f"{account}: no new account in the identity map"
                continue
            users[str(old)] = identity["uid_number"]
            if "gidnumber" in e:
                primary.setdefault(int(e["gidnumber"][0]), set()).add(identity["gid_number"])
    for e in entries:
        if "uidnumber" in e or "gidnumber" not in e:
            continue
        old = int(e["gidnumber"][0])
        names = e.get("description", []) + e.get("cn", [])
        keys = [n for n in names if n in departments] + [folded(n) for n in names if folded(n) in departments]
        new = departments[keys[0]] if keys else None
        if old >= keep_below and new is not None:
            groups[str(old)] = new
    for old, new in primary.items():
        if str(old) in groups or old < keep_below:
            continue
        if len(new) == 1:
            groups[str(old)] = next(iter(new))
        else:
            unmapped_groups[str(old)] = "members of several departments: no one new group"
    for e in entries:
        old = int(e.get("gidnumber", ["0"])[0])
        if "uidnumber" not in e and old >= keep_below and str(old) not in groups:
            unmapped_groups[str(old)] = f"{e.get('cn', ['?'])[0]}: no department of the identity map"
    return {
        "users": users,
        "groups": groups,
        "keep_below": keep_below,
        "unmapped_users": unmapped_users,
        "unmapped_groups": unmapped_groups,
    }


def read_from(params):
    """What a translation was read from: the identity map (path, size, change time), the
    directory (everything but the password file's contents) and keep_below."""
    try:
        st = os.stat(params["mapping_file"])
        mapping = [params["mapping_file"], st.st_size, st.st_mtime_ns, st.st_ino]
    except OSError:
        mapping = [params["mapping_file"]]
    directory = {k: v for k, v in sorted((params["directory"] or {}).items()) if k != "timeout"}
    return {"mapping_file": mapping, "directory": directory, "keep_below": params["keep_below"]}


def read_owners(params):
    """The result of mode `owners`: eendracht_owners, eendracht_counts and what it was read from
    (`owners_read_from`); `reuse` read from the same inputs is returned as it is (`reused`)."""
    source = read_from(params)
    earlier = params.get("reuse") or {}
    if earlier.get("owners_read_from") == source and isinstance(earlier.get("eendracht_owners"), dict):
        # Its counts were reported when it was read: a reuse reports none.
        return {"changed": False, "eendracht_owners": earlier["eendracht_owners"], "owners_read_from": source, "reused": True}
    try:
        with open(params["mapping_file"], encoding="utf-8") as handle:
            identities = json.load(handle).get("identities", [])
    except (OSError, ValueError, AttributeError) as exc:
        raise OwnersError(f"the identity map {params['mapping_file']} cannot be read: {exc}") from None
    if identities and not any(i.get("uid_number") for i in identities):
        raise OwnersError(f"{params['mapping_file']} has no uid numbers: write it with this eendracht")
    missing = sorted({"uri", "bind_dn", "password_file"} - set(k for k, v in params["directory"].items() if v))
    if missing:
        raise OwnersError(f"the source directory misses {', '.join(missing)}: old owner numbers cannot be read")
    try:
        entries = read_directory(params["directory"], params["timeout"])
    except (RuntimeError, OSError) as exc:
        raise OwnersError(str(exc)) from None
    owners = owner_map(identities, entries, params["keep_below"])
    counts = {
        "accounts_mapped": len(owners["users"]),
        "accounts_unmapped": len(owners["unmapped_users"]),
        "groups_mapped": len(owners["groups"]),
        "groups_unmapped": len(owners["unmapped_groups"]),
    }
    return {"changed": False, "eendracht_counts": counts, "eendracht_owners": owners, "owners_read_from": source}
