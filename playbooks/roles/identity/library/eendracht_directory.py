#!/usr/bin/python
"""Accounts, groups and memberships in the target directory from the identity mapping, in bulk."""

from __future__ import annotations

DOCUMENTATION = r"""
module: eendracht_directory
short_description: Bulk account migration between LDAP directories or Active Directory domains with the identity mapping
description:
  - Reads the source and target directories once each (C(ldapsearch)), compares every entry
    with what the identity mapping asks for, and writes only the differences in one LDIF batch
    per directory (C(ldapadd) for new entries, C(ldapmodify) for changed ones). No task per person.
  - Bind passwords are read by the LDAP tools from their files (C(-y)); they never appear on a
    command line, in a result or in a log.
  - O(state=present) creates the target accounts (new ones disabled), the groups per department
    and per former municipality, memberships, and the old addresses as aliases.
  - O(state=cutover) enables the target accounts of people enabled at the source and disables
    the source accounts, after writing which source accounts were enabled to O(record_file).
  - O(state=rollback) re-enables the source accounts listed in O(record_file) and disables the
    municipality's target accounts again.
  - O(state=verify) counts the accounts, compares a sample attribute by attribute and checks the
    source accounts are disabled; O(state=check) only binds and counts.
  - "C(kind: openldap) (the default): the OpenLDAP schema with C(eendrachtAccount)."
  - "C(kind: active_directory) (both source and target): AD over LDAPS, verified against
    C(ca_file) (C(LDAPTLS_CACERT), C(LDAPTLS_REQCERT=demand)); reads paged (C(-E pr=500)).
    Source people C((&(objectCategory=person)(objectClass=user))) under C(people_dn) (else
    C(base_dn)) are matched to identities by old account (sAMAccountName). A new account is
    C(objectClass: user) at C(CN=<display name> (<sam>),<people_dn>) with sAMAccountName,
    userPrincipalName, givenName, sn (tussenvoegsel and surname), displayName, mail,
    proxyAddresses (C(SMTP:) new, C(smtp:) every old address), department, manager (the
    manager's new account), C(info: voorheen gemeente <municipality>, account <old account>)
    (how a re-run knows its own accounts), and uidNumber, gidNumber, unixHomeDirectory when the
    target schema has RFC 2307. Groups (C(objectClass: group), global security, under
    C(groups_dn)): C(afd-<department>), C(gem-<municipality>), and every source group holding a
    migrated person directly or through nesting as C(<municipality>-<source name>), nested as at
    the source; members only added. Only the mapped source accounts are disabled at cutover
    (service and administrator accounts are not the migration's); userAccountControl keeps
    every flag but ACCOUNTDISABLE (0x2)."
  - "Initial credentials (active_directory): each new account gets a random password (Python
    C(secrets), AD's complexity rule met, no part of the names in it) as C(unicodePwd) over
    LDAPS, C(pwdLastSet: 0) (change at next logon), C(userAccountControl: 514) (disabled until
    cutover). The passwords are written to O(handover_file) (JSON, mode 0600) before the
    accounts are added and appear nowhere else: not in the result, a log, a message or a
    command line (the LDIF goes on stdin). A re-run never sets the password of an account that
    exists; an account still missing after a killed run gets the password the file holds."
options:
  state: {description: what to do, type: str, choices: [present, cutover, rollback, verify, verify_source, check], default: present}
  mapping_file: {description: JSON identity mapping of the municipality, type: path, required: true}
  source:
    description: "source directory: kind (openldap or active_directory), uri, bind_dn (a DN or,
      on AD, a UPN), password_file, people_dn; on AD also base_dn, groups_dn (where its groups
      are read, default base_dn) and ca_file"
    type: dict
    required: true
  target:
    description: "target directory: kind, uri, bind_dn, password_file, people_dn, groups_dn; on
      AD also base_dn and ca_file (people_dn default OU=Medewerkers,<base_dn>, groups_dn
      OU=Groepen,<base_dn>, created when missing)"
    type: dict
    required: true
  record_file: {description: where cutover records the source accounts it disabled, type: path}
  sample: {description: how many accounts verify compares attribute by attribute, type: int, default: 25}
  cutover_done: {description: whether verify expects the cutover done (accounts enabled, source disabled), type: bool, default: true}
  timeout: {description: seconds each ldapsearch, ldapadd or ldapmodify run may take before the module fails, type: int, default: 600}
  handover_file:
    description: "active_directory, state present: where the initial passwords of new accounts
      go (JSON per municipality: sam, upn, initial_password; mode 0600; kept and extended by re-runs)"
    type: path
  probes:
    description: "active_directory, state verify and verify_source: source accounts whose
      password is known; after cutover each bind must be refused as disabled (AD data 533),
      after rollback each must succeed"
    type: list
    elements: dict
    suboptions:
      account: {description: "sAMAccountName (bound as name@domain), a UPN or a DN", type: str, required: true}
      password_file: {description: file holding the probe's password, type: path, required: true}
author: eendracht
"""

RETURN = r"""
eendracht_counts:
  description: accounts_created, accounts_modified, accounts_unchanged, groups_created, groups_modified,
    accounts_enabled, source_disabled, source_enabled, accounts_verified
  type: dict
  returned: always
"""

import json
import os
import random
import re
import subprocess

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.eendracht_ldif import add_record, modify_record, parse_ldif

ACCOUNT_CLASSES = ["inetOrgPerson", "eendrachtAccount"]


# --- the directory tools ------------------------------------------------------------


class Directory:
    def __init__(self, module, spec):
        self.module = module
        self.uri = spec["uri"]
        self.bind_dn = spec["bind_dn"]
        self.password_file = spec["password_file"]
        self.people_dn = spec.get("people_dn") or spec.get("base_dn")
        self.groups_dn = spec.get("groups_dn") or self.people_dn
        self.timeout = module.params["timeout"]

    def _run(self, argv, input_text=None):
        """One LDAP tool run, ended (and the module failed) after the `timeout` option."""
        try:
            return subprocess.run(argv, input=input_text, capture_output=True, text=True, check=False, timeout=self.timeout)
        except subprocess.TimeoutExpired:
            self.module.fail_json(msg=f"{argv[0]} on {self.uri} timed out after {self.timeout} s")

    def _auth(self):
        return ["-x", "-H", self.uri, "-D", self.bind_dn, "-y", self.password_file]

    def search(self, base, filt, attrs=(), scope="sub"):
        argv = ["ldapsearch", "-LLL", "-o", "ldif-wrap=no", *self._auth(), "-s", scope, "-b", base, filt, *attrs]
        done = self._run(argv)
        if done.returncode == 32:  # no such object: the container is empty or absent
            return []
        if done.returncode != 0:
            self.module.fail_json(msg=f"ldapsearch on {self.uri} failed: {done.stderr.strip()[-500:]}")
        return parse_ldif(done.stdout)

    def apply(self, tool, ldif):
        if not ldif:
            return
        done = self._run([tool, *self._auth()], ldif)
        if done.returncode != 0:
            self.module.fail_json(msg=f"{tool} on {self.uri} failed: {done.stderr.strip()[-500:]}")

    def ensure_container(self, dn):
        if self.module.check_mode:
            return
        rdn = dn.split(",", 1)[0]
        attr, _, value = rdn.partition("=")
        if attr.lower() != "ou":
            return
        parent = dn.split(",", 1)[1] if "," in dn else ""
        found = self.search(parent, f"(ou={value})", ["ou"]) if parent else []
        if not any(e["dn"][0].lower() == dn.lower() for e in found):
            self.apply("ldapadd", add_record(dn, {"objectClass": ["organizationalUnit"], "ou": [value]}))


def by_uid(entries):
    return {e["uid"][0]: e for e in entries if "uid" in e}


# --- desired state --------------------------------------------------------------------


def slug(text):
    folded = text.lower()
    for a, b in (("ë", "e"), ("é", "e"), ("è", "e"), ("ï", "i"), ("ö", "o"), ("ü", "u"), ("ç", "c")):
        folded = folded.replace(a, b)
    return re.sub(r"[^a-z0-9]+", "-", folded).strip("-") or "groep"


def desired_account(identity, municipality):
    attrs = {
        "uid": [identity["username"]],
        "cn": [identity["display_name"]],
        "displayName": [identity["display_name"]],
        "givenName": [identity["given_name"]],
        "sn": [identity["surname"]],
        "mail": [identity["mail"]],
        "ou": [identity["department"]],
        "eendrachtFormerMunicipality": [municipality],
        "eendrachtFormerAccount": [identity["old_account"]],
    }
    if identity.get("aliases"):
        attrs["eendrachtMailAlias"] = sorted(identity["aliases"])
    if identity.get("prefix"):
        attrs["eendrachtSurnamePrefix"] = [identity["prefix"]]
    attrs.update(posix_account(identity))
    return attrs


def account_changes(want, have):
    changes = []
    for name, values in want.items():
        current = have.get(name.lower(), [])
        if sorted(current) != sorted(values):
            changes.append(("replace", name, values))
    return changes


def desired_groups(identities, municipality, people_dn):
    groups = {}
    for i in identities:
        member = f"uid={i['username']},{people_dn}"
        dept = f"afdeling-{slug(i['department'])}"
        groups.setdefault(dept, {"description": i["department"], "members": set()})["members"].add(member)
        groups[dept].setdefault("gid", i.get("gid_number"))
        former = f"voorheen-{municipality}"
        groups.setdefault(former, {"description": f"voorheen gemeente {municipality}", "members": set()})
        groups[former]["members"].add(member)
    return groups


# --- POSIX numbers -----------------------------------------------------------------------
# The identity map carries them (eendracht.identity.numbering): the files role translates file
# owners to the same numbers (rsync --usermap/--groupmap), so they are assigned in one place.


def posix_account(identity):
    """uidNumber, gidNumber (the department group's) and homeDirectory; none without numbers."""
    if not identity.get("uid_number"):
        return {}
    return {
        "uidNumber": [str(identity["uid_number"])],
        "gidNumber": [str(identity["gid_number"])],
        "homeDirectory": [f"/home/{identity['username']}"],
    }


def with_class(have, object_class, changes):
    """Changes to an existing entry, preceded by the objectClass its new attributes need."""
    if not changes or object_class.lower() in [c.lower() for c in have.get("objectclass", [])]:
        return changes
    return [("add", "objectClass", [object_class]), *changes]


# --- the states -------------------------------------------------------------------------


def present(module, mapping, source, target):
    muni = mapping["municipality"]
    identities = [i for i in mapping["identities"]]
    source_uids = set(by_uid(source.search(source.people_dn, "(uid=*)", ["uid"])))
    if source_uids:
        identities = [i for i in identities if i["old_account"] in source_uids]
    target.ensure_container(target.people_dn)
    if target.groups_dn != target.people_dn:
        target.ensure_container(target.groups_dn)
    existing = by_uid(target.search(target.people_dn, "(objectClass=inetOrgPerson)"))
    adds, mods = [], []
    counts = {"accounts_created": 0, "accounts_modified": 0, "accounts_unchanged": 0}
    for identity in identities:
        want = desired_account(identity, muni)
        have = existing.get(identity["username"])
        if have is None:
            classes = ACCOUNT_CLASSES + ["posixAccount"] * ("uidNumber" in want)
            attrs = {"objectClass": classes, **want, "eendrachtDisabled": ["TRUE"]}
            adds.append(add_record(f"uid={identity['username']},{target.people_dn}", attrs))
            counts["accounts_created"] += 1
            continue
        former = have.get("eendrachtformeraccount", [""])[0]
        former_muni = have.get("eendrachtformermunicipality", [""])[0]
        if (former, former_muni) != (identity["old_account"], muni):
            module.fail_json(
                msg=f"target account {identity['username']} belongs to {former_muni}/{former}, "
                f"not {muni}/{identity['old_account']}: the mapping and the directory disagree"
            )
        changes = with_class(have, "posixAccount", account_changes(want, have))
        if changes:
            mods.append(modify_record(have["dn"][0], changes))
            counts["accounts_modified"] += 1
        else:
            counts["accounts_unchanged"] += 1
    groups = desired_groups(identities, muni, target.people_dn)
    current_groups = {
        e["cn"][0]: e for e in target.search(target.groups_dn, "(objectClass=groupOfNames)", ["cn", "member", "objectClass", "gidNumber"])
    }
    counts.update(groups_created=0, groups_modified=0)
    group_adds = []
    for cn, group in sorted(groups.items()):
        members = sorted(group["members"])
        have = current_groups.get(cn)
        gid = [str(group["gid"])] if group.get("gid") else []
        if have is None:
            attrs = {"objectClass": ["groupOfNames"], "cn": [cn], "description": [group["description"]], "member": members}
            if gid:  # a department group's number: groupOfNames has no gidNumber of its own
                attrs.update(objectClass=["groupOfNames", "extensibleObject"], gidNumber=gid)
            group_adds.append(add_record(f"cn={cn},{target.groups_dn}", attrs))
            counts["groups_created"] += 1
            continue
        missing = sorted(set(members) - set(have.get("member", [])))
        changes = [("add", "member", missing)] if missing else []  # other municipalities' members stay
        if gid and have.get("gidnumber", []) != gid:
            changes += with_class(have, "extensibleObject", [("replace", "gidNumber", gid)])
        if changes:
            mods.append(modify_record(have["dn"][0], changes))
            counts["groups_modified"] += 1
    changed = bool(adds or mods or group_adds)
    if not module.check_mode:
        # Accounts before groups: a group's members must exist (referential integrity).
        target.apply("ldapadd", "".join(adds))
        target.apply("ldapadd", "".join(group_adds))
        target.apply("ldapmodify", "".join(mods))
    return changed, counts


def set_disabled(entries, value):
    return "".join(
        modify_record(e["dn"][0], [("replace", "eendrachtDisabled", [value])]) for e in entries
    )


def muni_filter(muni):
    return f"(&(objectClass=inetOrgPerson)(eendrachtFormerMunicipality={muni}))"


def cutover(module, mapping, source, target, record_file):
    muni = mapping["municipality"]
    enabled_people = {i["username"] for i in mapping["identities"] if i["enabled"]}
    src = source.search(source.people_dn, "(uid=*)", ["uid", "eendrachtDisabled"])
    tgt = target.search(target.people_dn, muni_filter(muni), ["uid", "eendrachtDisabled"])
    src_enabled = [e for e in src if e.get("eendrachtdisabled", ["FALSE"])[0].upper() != "TRUE"]
    # Nobody may be left without an account: refuse to disable more source accounts than
    # there will be enabled target accounts (an empty or partial mapping would lock people out).
    # In check mode the step before (state=present) created nothing: count what it would have.
    enabled_after = (
        len(enabled_people)
        if module.check_mode
        else len([e for e in tgt if e["uid"][0] in enabled_people])
    )
    if len(src_enabled) > enabled_after:
        module.fail_json(
            msg=f"refused: cutover would disable {len(src_enabled)} source accounts but enable "
            f"only {enabled_after} target accounts of {muni}; the identity mapping or the "
            "target directory is incomplete",
            eendracht_counts={"source_enabled": len(src_enabled), "target_ready": enabled_after},
        )
    # Who was enabled at the source is recorded once, before anything is disabled, so a
    # resumed cutover does not forget them and rollback re-enables exactly those.
    if record_file and not os.path.exists(record_file) and not module.check_mode:
        tmp = record_file + ".tmp"
        with open(tmp, "w", encoding="utf-8") as handle:
            json.dump(sorted(e["uid"][0] for e in src_enabled), handle)
        os.replace(tmp, record_file)
    to_enable = [
        e for e in tgt
        if e["uid"][0] in enabled_people and e.get("eendrachtdisabled", ["TRUE"])[0].upper() == "TRUE"
    ]
    counts = {"accounts_enabled": len(to_enable), "source_disabled": len(src_enabled)}
    if not module.check_mode:
        target.apply("ldapmodify", set_disabled(to_enable, "FALSE"))
        source.apply("ldapmodify", set_disabled(src_enabled, "TRUE"))
    return bool(to_enable or src_enabled), counts


def rollback(module, mapping, source, target, record_file):
    muni = mapping["municipality"]
    recorded = []
    if record_file and os.path.exists(record_file):
        with open(record_file, encoding="utf-8") as handle:
            recorded = json.load(handle)
    src = by_uid(source.search(source.people_dn, "(uid=*)", ["uid", "eendrachtDisabled"]))
    to_enable = [
        src[uid] for uid in recorded
        if uid in src and src[uid].get("eendrachtdisabled", ["FALSE"])[0].upper() == "TRUE"
    ]
    tgt = target.search(target.people_dn, muni_filter(muni), ["uid", "eendrachtDisabled"])
    to_disable = [e for e in tgt if e.get("eendrachtdisabled", ["FALSE"])[0].upper() != "TRUE"]
    counts = {"source_enabled": len(to_enable), "accounts_disabled": len(to_disable)}
    if not module.check_mode:
        source.apply("ldapmodify", set_disabled(to_enable, "FALSE"))
        target.apply("ldapmodify", set_disabled(to_disable, "TRUE"))
        if record_file and os.path.exists(record_file):
            os.unlink(record_file)  # the next cutover records afresh
    return bool(to_enable or to_disable), counts


def verify(module, mapping, source, target, sample_size, cutover_done):
    muni = mapping["municipality"]
    src_entries = source.search(source.people_dn, "(uid=*)", ["uid", "eendrachtDisabled"])
    src_uids = {e["uid"][0] for e in src_entries}
    identities = [i for i in mapping["identities"] if not src_uids or i["old_account"] in src_uids]
    if not identities:
        module.fail_json(
            msg=f"nothing to verify: the mapping has no people of {muni} that the source holds",
            eendracht_counts={"accounts_verified": 0},
        )
    tgt = by_uid(target.search(target.people_dn, muni_filter(muni)))
    problems = []
    missing = [i["username"] for i in identities if i["username"] not in tgt]
    if missing:
        problems.append(f"{len(missing)} accounts missing in the target, e.g. {', '.join(missing[:5])}")
    usernames = [e["uid"][0] for e in tgt.values()]
    if len(set(usernames)) != len(usernames):
        problems.append("an account exists twice in the target")
    rng = random.Random(len(identities))
    sample = rng.sample(identities, min(sample_size, len(identities)))
    for identity in sample:
        have = tgt.get(identity["username"])
        if have is None:
            continue
        wrong = [c[1] for c in account_changes(desired_account(identity, muni), have)]
        if cutover_done:
            enabled = have.get("eendrachtdisabled", ["TRUE"])[0].upper() != "TRUE"
            if enabled != identity["enabled"]:
                wrong.append("eendrachtDisabled")
        if wrong:
            problems.append(f"{identity['username']}: {', '.join(wrong)} differ from the mapping")
    if cutover_done:
        still = [e["uid"][0] for e in src_entries if e.get("eendrachtdisabled", ["FALSE"])[0].upper() != "TRUE"]
        if still:
            problems.append(f"{len(still)} source accounts still enabled, e.g. {', '.join(still[:5])}")
    counts = {"accounts_verified": len(identities) - len(missing), "accounts_sampled": len(sample)}
    if problems:
        module.fail_json(msg="; ".join(problems[:10]), eendracht_counts=counts)
    return False, counts


def verify_source(module, mapping, source, target):
    """After a rollback: the people enabled in the mapping log on at the source again."""
    muni = mapping["municipality"]
    src = by_uid(source.search(source.people_dn, "(uid=*)", ["uid", "eendrachtDisabled"]))
    should = [i["old_account"] for i in mapping["identities"] if i["enabled"] and i["old_account"] in src]
    disabled = [u for u in should if src[u].get("eendrachtdisabled", ["FALSE"])[0].upper() == "TRUE"]
    tgt = target.search(target.people_dn, muni_filter(muni), ["uid", "eendrachtDisabled"])
    enabled_target = [e["uid"][0] for e in tgt if e.get("eendrachtdisabled", ["FALSE"])[0].upper() != "TRUE"]
    problems = []
    if disabled:
        problems.append(f"{len(disabled)} source accounts still disabled, e.g. {', '.join(disabled[:5])}")
    if enabled_target:
        problems.append(f"{len(enabled_target)} target accounts still enabled")
    counts = {"source_accounts_in_service": len(should) - len(disabled)}
    if problems:
        module.fail_json(msg="; ".join(problems), eendracht_counts=counts)
    return False, counts


def directory_kind(module, spec, role):
    kind = spec.get("kind") or "openldap"
    if kind not in ("openldap", "active_directory"):
        module.fail_json(msg=f"the {role} directory's kind {kind!r} is not openldap or active_directory")
    return kind


def main():
    module = AnsibleModule(
        argument_spec={
            "state": {"type": "str", "default": "present", "choices": ["present", "cutover", "rollback", "verify", "verify_source", "check"]},
            "mapping_file": {"type": "path", "required": True},
            "source": {"type": "dict", "required": True},
            "target": {"type": "dict", "required": True},
            "record_file": {"type": "path"},
            "sample": {"type": "int", "default": 25},
            "cutover_done": {"type": "bool", "default": True},
            "timeout": {"type": "int", "default": 600},
            "handover_file": {"type": "path"},
            "probes": {
                "type": "list",
                "elements": "dict",
                "options": {"account": {"type": "str", "required": True}, "password_file": {"type": "path", "required": True}},
            },
        },
        supports_check_mode=True,
    )
    p = module.params
    with open(p["mapping_file"], encoding="utf-8") as handle:
        mapping = json.load(handle)
    kinds = {directory_kind(module, p["source"], "source"), directory_kind(module, p["target"], "target")}
    if kinds == {"active_directory"}:
        from ansible.module_utils.eendracht_ad import run as run_active_directory

        changed, counts = run_active_directory(module, mapping)
        module.exit_json(changed=changed, eendracht_counts=counts)
    if kinds != {"openldap"}:
        module.fail_json(msg="source and target directory must be of one kind: openldap or active_directory")
    source, target = Directory(module, p["source"]), Directory(module, p["target"])
    state = p["state"]
    if state == "present":
        changed, counts = present(module, mapping, source, target)
    elif state == "cutover":
        changed, counts = cutover(module, mapping, source, target, p["record_file"])
    elif state == "rollback":
        changed, counts = rollback(module, mapping, source, target, p["record_file"])
    elif state == "verify_source":
        changed, counts = verify_source(module, mapping, source, target)
    elif state == "verify":
        changed, counts = verify(module, mapping, source, target, p["sample"], p["cutover_done"])
    else:
        src = source.search(source.people_dn, "(uid=*)", ["uid"])
        if not target.search(target.people_dn.split(",", 1)[-1], "(objectClass=*)", ["1.1"], scope="base"):
            module.fail_json(msg=f"the target directory {target.uri} has no {target.people_dn}")
        changed, counts = False, {"source_accounts": len(src), "mapped_accounts": len(mapping["identities"])}
    module.exit_json(changed=changed, eendracht_counts=counts)


if __name__ == "__main__":
    main()
