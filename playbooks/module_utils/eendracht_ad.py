"""Active Directory over LDAPS for the identity module (`eendracht_directory`, kind active_directory).

The same bulk scheme as the OpenLDAP path: every directory is read once (paged, `-E pr=500`,
AD caps a page at 1,000), compared with the identity mapping, and only the differences are
written in one LDIF batch per kind of change, on the tools' stdin. Bind passwords stay in their
files (`-y`); LDAPS is verified against `ca_file` (`LDAPTLS_CACERT`, `LDAPTLS_REQCERT=demand`).

Initial credentials: a new account gets a random password (`secrets`, AD's complexity rule
met, no part of the person's names in it) as `unicodePwd`, `pwdLastSet: 0` (change at next
logon) and `userAccountControl: 514` (disabled until cutover). The passwords are written to the
hand-over file (0600, JSON) *before* the accounts are added, so a run killed half way hands
over the passwords of what it created, and a re-run gives a still-missing account the password
the file already holds. An account that exists is never given a password again.

Loaded by the module as `ansible.module_utils.eendracht_ad` (Ansible ships this file with it);
imports `eendracht_ldif` the same way. Python 3.8 compatible, like every module_utils file.
"""

from __future__ import annotations

import base64
import json
import os
import random
import re
import secrets
import string
import subprocess
import tempfile

from ansible.module_utils.eendracht_ldif import add_record as ldif_add_record
from ansible.module_utils.eendracht_ldif import modify_record, parse_ldif

PAGE = 500
ACCOUNTDISABLE = 0x2
NORMAL_ACCOUNT = 0x200
NEW_ACCOUNT_UAC = NORMAL_ACCOUNT | ACCOUNTDISABLE  # 514
GLOBAL_SECURITY_GROUP = -2147483646
MAX_SAM = 20
SAM_FORBIDDEN = set('"/\\[]:;|=,+*?<>@')
PERSON_FILTER = "(&(objectCategory=person)(objectClass=user))"
SOURCE_ATTRS = [
    "sAMAccountName", "userPrincipalName", "mail", "proxyAddresses", "userAccountControl",
    "department", "manager", "memberOf",
]  # fmt: skip
MANAGED = [
    "userPrincipalName", "givenName", "sn", "displayName", "mail", "proxyAddresses",
    "department", "info", "uidNumber", "gidNumber", "unixHomeDirectory", "manager",
]  # fmt: skip
TARGET_ATTRS = ["sAMAccountName", "userAccountControl", "memberOf", *MANAGED]
GROUP_ATTRS = ["sAMAccountName", "description", "info", "gidNumber", "memberOf", "groupType"]
# What the binds of AD say after "data" (AcceptSecurityContext's sub-status).
BIND_DATA = {
    "52e": "wrong password or unknown account",
    "525": "unknown account",
    "530": "not permitted to log on at this time",
    "531": "not permitted to log on at this workstation",
    "532": "password expired",
    "533": "account disabled",
    "701": "account expired",
    "773": "password must be changed",
    "775": "account locked out",
}
MARKER = re.compile(r"^voorheen gemeente (?P<muni>[^,]+), account (?P<account>.+)$")


class AdError(Exception):
    """One problem that ends the run; its text names the object and holds no secret."""


# --- LDIF and DNs ---------------------------------------------------------------------


def add_record(dn, attrs):
    """An entry to add; unicodePwd is base64 already (UTF-16-LE)."""
    return ldif_add_record(dn, attrs, encoded=("unicodePwd",))


def rdn_value(value):
    """An RDN value escaped as RFC 4514 asks (commas, plus, quotes... and edge spaces)."""
    out = "".join("\\" + c if c in ',+"\\<>;=' else c for c in value)
    if out[:1] in (" ", "#"):
        out = "\\" + out
    if out.endswith(" ") and not out.endswith("\\ "):
        out = out[:-1] + "\\ "
    return out


def dns_domain(base_dn):
    return ".".join(p.split("=", 1)[1] for p in base_dn.split(",") if p.strip().lower().startswith("dc="))


def uac_of(entry):
    try:
        return int(entry.get("userAccountControl", ["512"])[0])
    except ValueError:
        return NORMAL_ACCOUNT


def is_enabled(entry):
    return not uac_of(entry) & ACCOUNTDISABLE


# --- credentials ----------------------------------------------------------------------


def unicode_pwd(password):
    """The value of unicodePwd: the quoted password in UTF-16-LE, base64 for LDIF."""
    return base64.b64encode(f'"{password}"'.encode("utf-16-le")).decode()


def name_tokens(*names):
    """Parts of the account and person names AD's complexity check forbids in a password:
    the whole sAMAccountName and every part of the display name of three characters or more."""
    tokens = set()
    for name in names:
        if len(name) >= 3:
            tokens.add(name.lower())
        tokens.update(t.lower() for t in re.split(r"[\s,.\-_#\t]+", name) if len(t) >= 3)
    return tokens


def new_password(forbidden=(), length=20):
    """Random (secrets), three of AD's four character classes and more, none of `forbidden`."""
    alphabet = string.ascii_letters + string.digits
    while True:
        core = [secrets.choice(alphabet) for _ in range(length - 3)]
        core += [secrets.choice(string.ascii_uppercase), secrets.choice(string.digits), secrets.choice("-_!#%+=")]
        random.SystemRandom().shuffle(core)
        password = "".join(core)
        low = password.lower()
        if not any(t in low for t in forbidden):
            return password


def read_handover(path):
    """sam (lower case) -> the hand-over record of an initial password already handed out."""
    if not path or not os.path.exists(path):
        return {}
    with open(path, encoding="utf-8") as handle:
        data = json.load(handle)
    return {a["sam"].lower(): a for a in data.get("accounts", [])}


def write_handover(path, municipality, records):
    """The hand-over file, replaced atomically, created 0600 (never readable by others)."""
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, mode=0o700, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".handover-", dir=folder)  # mkstemp: mode 0600
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(
                {
                    "municipality": municipality,
                    "note": "initial passwords: the account must change it at first logon",
                    "accounts": sorted(records.values(), key=lambda a: a["sam"].lower()),
                },
                handle,
                indent=1,
                ensure_ascii=False,
            )
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


# --- the directory ----------------------------------------------------------------------


class AdDirectory:
    """One AD domain spoken to over LDAPS with the OpenLDAP client tools."""

    def __init__(self, role, spec, timeout, scrub):
        self.role = role  # "source" or "target", for messages
        missing = [k for k in ("uri", "bind_dn", "password_file", "base_dn") if not spec.get(k)]
        if missing:
            raise AdError(f"the {role} directory (kind active_directory) needs {', '.join(missing)}")
        self.uri = spec["uri"]
        if not self.uri.lower().startswith("ldaps://"):
            raise AdError(f"the {role} directory {self.uri}: kind active_directory is spoken over LDAPS only (ldaps://)")
        self.bind_dn = spec["bind_dn"]
        self.password_file = spec["password_file"]
        if not os.access(self.password_file, os.R_OK):
            raise AdError(f"the {role} directory's password_file {self.password_file} cannot be read")
        self.base_dn = spec["base_dn"]
        self.people_dn = spec.get("people_dn") or f"OU=Medewerkers,{self.base_dn}"
        self.groups_dn = spec.get("groups_dn") or f"OU=Groepen,{self.base_dn}"
        self.ca_file = spec.get("ca_file")
        if self.ca_file and not os.access(self.ca_file, os.R_OK):
            raise AdError(f"the {role} directory's ca_file {self.ca_file} cannot be read")
        self.timeout = timeout
        self.scrub = scrub
        self.env = dict(os.environ, LDAPTLS_REQCERT="demand")  # verification never off
        if self.ca_file:
            self.env["LDAPTLS_CACERT"] = self.ca_file

    def _run(self, argv, input_text=None):
        try:
            return subprocess.run(
                argv, input=input_text, capture_output=True, text=True, check=False,
                timeout=self.timeout, env=self.env,
            )  # fmt: skip
        except subprocess.TimeoutExpired:
            raise AdError(f"{argv[0]} on {self.uri} timed out after {self.timeout} s") from None

    def _auth(self, who=None, password_file=None):
        return [
            "-x", "-H", self.uri, "-o", f"nettimeout={min(30, self.timeout)}",
            "-D", who or self.bind_dn, "-y", password_file or self.password_file,
        ]  # fmt: skip

    def explain(self, tool, done, who=None):
        """One line for a failed tool run: unreachable, refused bind (AD's data code), or the
        tool's own last words, secrets scrubbed."""
        text = " ".join(done.stderr.split())
        if done.returncode == 255 or "Can't contact LDAP server" in text:
            return f"the {self.role} directory {self.uri} cannot be reached ({text[-200:] or 'no answer'})"
        code = re.search(r"data ([0-9a-f]{3})", text)
        if done.returncode == 49:
            reason = BIND_DATA.get(code.group(1), "invalid credentials") if code else "invalid credentials"
            data = f" (AD data {code.group(1)})" if code else ""
            return f"the {self.role} directory {self.uri} refused the bind of {who or self.bind_dn}: {reason}{data}"
        return self.scrub(f"{tool} on {self.uri} failed (exit {done.returncode}): {text[-400:]}")

    def search(self, base, filt, attrs=(), scope="sub"):
        argv = [
            "ldapsearch", "-LLL", "-o", "ldif-wrap=no", "-E", f"pr={PAGE}/noprompt", *self._auth(),
            "-s", scope, "-b", base, filt, *attrs,
        ]  # fmt: skip
        done = self._run(argv)
        if done.returncode == 32:  # no such object: the container is absent
            return []
        if done.returncode != 0:
            raise AdError(self.explain("ldapsearch", done))
        return parse_ldif(done.stdout)

    def bind(self, who, password_file):
        """(True, "") when `who` can bind, else (False, AD's data code or the reason)."""
        done = self._run(["ldapsearch", "-LLL", *self._auth(who, password_file), "-s", "base", "-b", "", "(objectClass=*)", "1.1"])
        if done.returncode == 0:
            return True, ""
        code = re.search(r"data ([0-9a-f]{3})", done.stderr)
        if done.returncode == 49 and code:
            return False, code.group(1)
        raise AdError(self.explain("ldapsearch", done, who))

    def apply(self, tool, ldif, keep_going=False):
        """Runs ldapadd/ldapmodify with the LDIF on stdin; returns the failure text or ""."""
        if not ldif:
            return ""
        done = self._run([tool, *(["-c"] if keep_going else []), *self._auth()], ldif)
        if done.returncode == 0:
            return ""
        message = self.explain(tool, done)
        if not keep_going:
            raise AdError(message)
        return message

    def ensure_ou(self, dn):
        """The OU `dn` and any OU above it that is missing (up to the base DN)."""
        chain = []
        current = dn
        while current.lower() != self.base_dn.lower() and "," in current:
            rdn, parent = current.split(",", 1)
            if rdn.split("=", 1)[0].strip().lower() == "ou":
                chain.append((current, rdn.split("=", 1)[1]))
            current = parent
        for ou_dn, name in reversed(chain):
            if not self.search(ou_dn, "(objectClass=*)", ["1.1"], scope="base"):
                self.apply("ldapadd", add_record(ou_dn, {"objectClass": ["organizationalUnit"], "ou": [name]}))

    def account_dn(self, sam):
        """What a probe binds as: a DN, a UPN or DOMAIN\\name as given, else sam@<domain>."""
        if any(c in sam for c in "=@\\"):
            return sam
        return f"{sam}@{dns_domain(self.base_dn)}"

    def schema_has(self, *names):
        root = self.search("", "(objectClass=*)", ["schemaNamingContext"], scope="base")
        context = root[0].get("schemaNamingContext", [""])[0] if root else ""
        if not context:
            return False
        filt = "(|" + "".join(f"(lDAPDisplayName={n})" for n in names) + ")"
        found = {e.get("lDAPDisplayName", [""])[0].lower() for e in self.search(context, filt, ["lDAPDisplayName"], scope="one")}
        return all(n.lower() in found for n in names)


# --- desired state --------------------------------------------------------------------


def slug(text):
    folded = text.lower()
    for a, b in (("ë", "e"), ("é", "e"), ("è", "e"), ("ï", "i"), ("ö", "o"), ("ü", "u"), ("ç", "c")):
        folded = folded.replace(a, b)
    return re.sub(r"[^a-z0-9]+", "-", folded).strip("-") or "groep"


def marker(muni, old_account):
    return f"voorheen gemeente {muni}, account {old_account}"


def owner_of(entry):
    """(municipality, old account) of a target account this module created, else None."""
    found = MARKER.match(entry.get("info", [""])[0])
    return (found.group("muni"), found.group("account").lower()) if found else None


def sam_problems(identities):
    """Identities whose logon name AD cannot take, and logon names the mapping gives twice."""
    problems, seen = [], {}
    for i in identities:
        sam = i.get("sam_account_name") or ""
        who = f"{i.get('municipality', '?')}/{i['old_account']} ({i['username']})"
        if not sam:
            problems.append(f"{who} has no sam_account_name")
        elif len(sam) > MAX_SAM:
            problems.append(f"{who}: sam_account_name {sam} is {len(sam)} characters, AD allows {MAX_SAM}")
        elif set(sam) & SAM_FORBIDDEN or sam.endswith((".", "$")) or sam != sam.strip():
            problems.append(f"{who}: sam_account_name {sam!r} holds a character AD refuses")
        elif sam.lower() in seen:
            problems.append(f"{who}: sam_account_name {sam} is also {seen[sam.lower()]}'s")
        else:
            seen[sam.lower()] = who
        if not i.get("upn"):
            problems.append(f"{who} has no upn")
    return problems


def desired_user(identity, muni, posix, manager_dn=None):
    sn = " ".join(p for p in (identity.get("prefix", ""), identity["surname"]) if p)
    proxies = identity.get("proxy_addresses") or [
        f"SMTP:{identity['mail']}", *(f"smtp:{a}" for a in identity.get("aliases", []))
    ]
    attrs = {
        "userPrincipalName": [identity["upn"]],
        "givenName": [identity["given_name"]] if identity.get("given_name") else [],
        "sn": [sn] if sn else [],
        "displayName": [identity["display_name"]],
        "mail": [identity["mail"]],
        "proxyAddresses": sorted(proxies),
        "department": [identity["department"]] if identity.get("department") else [],
        "info": [marker(muni, identity["old_account"])],
    }
    if posix and identity.get("uid_number"):
        attrs["uidNumber"] = [str(identity["uid_number"])]
        attrs["gidNumber"] = [str(identity["gid_number"])]
        attrs["unixHomeDirectory"] = [f"/home/{identity['sam_account_name']}"]
    if manager_dn:
        attrs["manager"] = [manager_dn]
    return attrs


def differences(want, have):
    changes = []
    for name, values in want.items():
        current = have.get(name, [])
        if name == "manager":
            same = [v.lower() for v in current] == [v.lower() for v in values]
        else:
            same = sorted(current) == sorted(values)
        if not same and (values or current):
            changes.append(("replace", name, values))
    return changes


# --- the run ----------------------------------------------------------------------------


class Run:
    """One module run against an AD source and an AD target."""

    def __init__(self, module, mapping):
        self.module = module
        self.check_mode = module.check_mode
        self.mapping = mapping
        self.muni = mapping["municipality"]
        self.secrets = []
        p = module.params
        self.source = AdDirectory("source", p["source"], p["timeout"], self.scrub)
        self.target = AdDirectory("target", p["target"], p["timeout"], self.scrub)

    def scrub(self, text):
        for secret in self.secrets:
            text = text.replace(secret, "********")
        return text

    def keep_secret(self, password):
        """Never shown: masked in every result (no_log_values) and scrubbed from messages."""
        for form in (password, unicode_pwd(password), json.dumps(password)[1:-1]):
            self.secrets.append(form)
            self.module.no_log_values.add(form)

    # reading

    def source_users(self):
        base = self.source.people_dn if self.module.params["source"].get("people_dn") else self.source.base_dn
        return {e["sAMAccountName"][0].lower(): e for e in self.source.search(base, PERSON_FILTER, SOURCE_ATTRS) if "sAMAccountName" in e}

    def mapped(self, src):
        """The identities whose old account the source holds (all of them, if it holds none)."""
        identities = self.mapping["identities"]
        if not src:
            return list(identities)
        return [i for i in identities if i["old_account"].lower() in src]

    def target_users(self):
        """sam (lower) -> entry, domain-wide: a logon name is unique in the whole domain."""
        found = self.target.search(self.target.base_dn, "(objectClass=user)", TARGET_ATTRS)
        return {e["sAMAccountName"][0].lower(): e for e in found if "sAMAccountName" in e}

    def ours(self, tgt):
        """old account (lower) -> target entries this municipality's run created."""
        out = {}
        for entry in tgt.values():
            owner = owner_of(entry)
            if owner and owner[0] == self.muni:
                out.setdefault(owner[1], []).append(entry)
        return out

    def conflicts(self, identities, tgt):
        problems = []
        upns = {e["userPrincipalName"][0].lower(): e for e in tgt.values() if "userPrincipalName" in e}
        for i in identities:
            own = (self.muni, i["old_account"].lower())
            holder = tgt.get(i["sam_account_name"].lower())
            if holder is not None and owner_of(holder) != own:
                problems.append(
                    f"sAMAccountName {i['sam_account_name']} of {self.muni}/{i['old_account']} is held in "
                    f"the target by someone else: {holder['dn'][0]}"
                )
            holder = upns.get(i["upn"].lower())
            if holder is not None and owner_of(holder) != own:
                problems.append(f"userPrincipalName {i['upn']} of {self.muni}/{i['old_account']} is held by {holder['dn'][0]}")
        return problems

    def new_dn(self, identity):
        return f"CN={rdn_value(identity['display_name'])} ({rdn_value(identity['sam_account_name'])}),{self.target.people_dn}"

    def desired_all(self, identities, src, tgt, posix):
        """old account (lower) -> (identity, wanted attributes, DN it has or will have)."""
        dns = {}
        for i in identities:
            have = tgt.get(i["sam_account_name"].lower())
            dns[i["old_account"].lower()] = have["dn"][0] if have else self.new_dn(i)
        source_dn = {e["dn"][0].lower(): sam for sam, e in src.items()}
        out = {}
        for i in identities:
            old = i["old_account"].lower()
            manager = src.get(old, {}).get("manager", [""])[0].lower()
            manager_dn = dns.get(source_dn.get(manager, ""))
            out[old] = (i, desired_user(i, self.muni, posix, manager_dn), dns[old])
        return out

    # groups

    def desired_groups(self, identities, src, user_dns, posix):
        """name -> {description, info, gid, members (DNs)}: department, municipality and the
        source's own groups (prefixed with the municipality) with their nesting."""
        groups = {}

        def group(name, description, info, gid=None):
            return groups.setdefault(name, {"description": description, "info": info, "gid": gid, "members": set()})

        for i in identities:
            dn = user_dns[i["old_account"].lower()]
            dept = i.get("department") or "onbekend"
            gid = i.get("gid_number") if posix else None
            group(f"afd-{slug(dept)}", dept, "afdeling", gid or None)["members"].add(dn)
            group(f"gem-{slug(self.muni)}", f"voorheen gemeente {self.muni}", f"voorheen gemeente {self.muni}")["members"].add(dn)
        base = self.module.params["source"].get("groups_dn") or self.source.base_dn
        found = self.source.search(base, "(&(objectClass=group)(!(isCriticalSystemObject=TRUE)))", GROUP_ATTRS)
        by_dn = {e["dn"][0].lower(): e for e in found if "sAMAccountName" in e and ",cn=builtin," not in e["dn"][0].lower()}
        direct = {}
        for sam, entry in src.items():
            if sam not in user_dns:
                continue
            for gdn in entry.get("memberOf", []):
                if gdn.lower() in by_dn:
                    direct.setdefault(gdn.lower(), set()).add(user_dns[sam])
        kept = set(direct)
        grew = True
        while grew:  # a group holding a kept group holds migrated people too
            grew = False
            for child in list(kept):
                for parent in by_dn[child].get("memberOf", []):
                    if parent.lower() in by_dn and parent.lower() not in kept:
                        kept.add(parent.lower())
                        grew = True
        names = {gdn: self.carried_name(by_dn[gdn]["sAMAccountName"][0]) for gdn in kept}
        for gdn in sorted(kept):
            entry = by_dn[gdn]
            desc = entry.get("description", [""])[0] or entry["sAMAccountName"][0]
            info = f"voorheen gemeente {self.muni}, groep {entry['sAMAccountName'][0]}"
            group(names[gdn], desc, info)["members"].update(direct.get(gdn, ()))
        for gdn in sorted(kept):
            for parent in by_dn[gdn].get("memberOf", []):
                if parent.lower() in kept:
                    groups[names[parent.lower()]]["members"].add(self.group_dn(names[gdn]))
        return groups

    def carried_name(self, name):
        clean = re.sub(r"[.\"/\\\[\]:;|=,+*?<>@\s]+", "-", name).strip("-")
        return f"{slug(self.muni)}-{clean}"[:64]

    def group_dn(self, name):
        return f"CN={rdn_value(name)},{self.target.groups_dn}"


def run(module, mapping):
    """The state asked for, on AD; returns (changed, counts). AdError ends it in one message."""
    try:
        r = Run(module, mapping)
        state = module.params["state"]
        if state == "present":
            return present(r)
        if state == "cutover":
            return cutover(r)
        if state == "rollback":
            return rollback(r)
        if state == "verify":
            return verify(r, cutover_done=module.params["cutover_done"])
        if state == "verify_source":
            return verify_source(r)
        return check(r)
    except AdError as exc:
        module.fail_json(msg=str(exc))
    except OSError as exc:  # a record, hand-over or password file: its path, no content
        module.fail_json(msg=f"{exc.strerror}: {exc.filename}")
    return False, {}


def check(r):
    src = r.source_users()
    if not r.target.search(r.target.base_dn, "(objectClass=*)", ["1.1"], scope="base"):
        raise AdError(f"the target directory {r.target.uri} has no {r.target.base_dn}")
    return False, {"source_accounts": len(src), "mapped_accounts": len(r.mapping["identities"])}


def present(r):
    src = r.source_users()
    identities = r.mapped(src)
    problems = sam_problems(identities)
    if problems:
        raise AdError("; ".join(problems[:10]) + " — nothing written")
    tgt = r.target_users()
    problems = r.conflicts(identities, tgt)
    if problems:
        raise AdError("; ".join(problems[:10]) + " — nothing written")
    handover_file = r.module.params.get("handover_file")
    missing = [i for i in identities if i["sam_account_name"].lower() not in tgt]
    if missing and not handover_file:
        raise AdError(f"{len(missing)} accounts to create in {r.target.uri} need handover_file, where their initial passwords go — nothing written")
    posix = r.target.schema_has("uidNumber", "gidNumber", "unixHomeDirectory")
    counts = {"accounts_created": len(missing), "accounts_modified": 0, "accounts_unchanged": 0, "groups_created": 0, "groups_modified": 0}
    if not r.check_mode:
        r.target.ensure_ou(r.target.people_dn)
        r.target.ensure_ou(r.target.groups_dn)
    if missing and not r.check_mode:
        handed = read_handover(handover_file)
        adds = []
        for i in missing:
            record = handed.get(i["sam_account_name"].lower())
            if record is None:  # a password already handed out for a still-missing account is reused
                password = new_password(name_tokens(i["sam_account_name"], i["display_name"]))
                record = {"sam": i["sam_account_name"], "upn": i["upn"], "initial_password": password}
                handed[i["sam_account_name"].lower()] = record
            r.keep_secret(record["initial_password"])
            want = desired_user(i, r.muni, posix)
            attrs = {"objectClass": ["user"], "sAMAccountName": [i["sam_account_name"]]}
            attrs.update((k, v) for k, v in want.items() if v)
            attrs.update(userAccountControl=[str(NEW_ACCOUNT_UAC)], pwdLastSet=["0"], unicodePwd=[unicode_pwd(record["initial_password"])])
            adds.append(add_record(r.new_dn(i), attrs))
        for record in handed.values():
            r.keep_secret(record["initial_password"])
        write_handover(handover_file, r.muni, handed)  # before the first add: nothing created unrecorded
        failed = r.target.apply("ldapadd", "".join(adds), keep_going=True)
        tgt = r.target_users()  # an add that met an existing entry: that entry is compared below
        still = [i for i in missing if i["sam_account_name"].lower() not in tgt]
        if still:
            raise AdError(f"{len(still)} accounts could not be created in {r.target.uri}, e.g. {r.new_dn(still[0])}: {failed}")
    wanted = r.desired_all(identities, src, tgt, posix)
    created = {i["sam_account_name"].lower() for i in missing}
    mods = []
    for old, (i, want, dn) in wanted.items():
        have = tgt.get(i["sam_account_name"].lower())
        if have is None:
            continue  # check mode: it would be created
        changes = differences(want, have)
        if changes:
            mods.append(modify_record(have["dn"][0], changes))
            if i["sam_account_name"].lower() not in created:
                counts["accounts_modified"] += 1
        elif i["sam_account_name"].lower() not in created:
            counts["accounts_unchanged"] += 1
    if not r.check_mode:
        r.target.apply("ldapmodify", "".join(mods))
    user_dns = {old: dn for old, (_, _, dn) in wanted.items()}
    group_changes = groups(r, identities, src, tgt, user_dns, posix, counts)
    changed = bool(missing or mods or group_changes)
    return changed, counts


def groups(r, identities, src, users, user_dns, posix, counts):
    want = r.desired_groups(identities, src, user_dns, posix)
    found = r.target.search(r.target.base_dn, "(objectClass=group)", GROUP_ATTRS)
    have = {e["sAMAccountName"][0].lower(): e for e in found if "sAMAccountName" in e}
    problems = []
    for name in want:
        g = have.get(name.lower())
        if g is None and name.lower() in users:
            problems.append(f"group {name} cannot be made: the logon name belongs to {users[name.lower()]['dn'][0]}")
        elif g is not None and g["dn"][0].lower() != r.group_dn(name).lower():
            problems.append(f"group {name} exists elsewhere in the target: {g['dn'][0]}")
    if problems:
        raise AdError("; ".join(problems[:10]))
    adds, mods = [], []
    for name, g in sorted(want.items()):
        gid = [str(g["gid"])] if g.get("gid") else []
        if name.lower() not in have:
            attrs = {"objectClass": ["group"], "sAMAccountName": [name], "groupType": [str(GLOBAL_SECURITY_GROUP)]}
            attrs.update((k, [g[k]]) for k in ("description", "info") if g.get(k))
            if gid:
                attrs["gidNumber"] = gid
            adds.append(add_record(r.group_dn(name), attrs))
            counts["groups_created"] += 1
        elif gid and have[name.lower()].get("gidNumber", []) != gid:
            mods.append(modify_record(have[name.lower()]["dn"][0], [("replace", "gidNumber", gid)]))
    if r.check_mode:
        return bool(adds)
    r.target.apply("ldapadd", "".join(adds))
    # Members after every group exists (a nested group is a member): who is in a group is read
    # from the members' memberOf (a big group's member list comes in ranges on AD).
    found = r.target.search(r.target.base_dn, "(objectClass=group)", GROUP_ATTRS)
    member_of = {e["dn"][0].lower(): {p.lower() for p in e.get("memberOf", [])} for e in found}
    member_of.update({e["dn"][0].lower(): {p.lower() for p in e.get("memberOf", [])} for e in users.values()})
    touched = set()
    for name, g in sorted(want.items()):
        gdn = r.group_dn(name)
        missing = sorted(m for m in g["members"] if gdn.lower() not in member_of.get(m.lower(), set()))
        if missing:
            mods.append(modify_record(gdn, [("add", "member", missing)]))
            touched.add(name)
    counts["groups_modified"] = len(touched - {n for n in want if n.lower() not in have})
    r.target.apply("ldapmodify", "".join(mods))
    return bool(adds or mods)


def set_uac(entries, enable):
    out = []
    for e in entries:
        uac = uac_of(e)
        new = uac & ~ACCOUNTDISABLE if enable else uac | ACCOUNTDISABLE
        if new != uac:
            out.append(modify_record(e["dn"][0], [("replace", "userAccountControl", [str(new)])]))
    return "".join(out)


def read_record(path):
    if path and os.path.exists(path):
        with open(path, encoding="utf-8") as handle:
            return [s.lower() for s in json.load(handle)]
    return None


def cutover(r):
    record_file = r.module.params["record_file"]
    src = r.source_users()
    identities = [i for i in r.mapped(src) if i["old_account"].lower() in src]
    tgt = r.target_users()
    ours = r.ours(tgt)
    src_enabled = [i["old_account"].lower() for i in identities if is_enabled(src[i["old_account"].lower()])]
    recorded = read_record(record_file)
    enabled_at_source = set(recorded if recorded is not None else src_enabled)
    ready = [o for o in enabled_at_source if o in ours] if not r.check_mode else list(enabled_at_source)
    if recorded is None and len(src_enabled) > len(ready):
        raise AdError(
            f"refused: cutover would disable {len(src_enabled)} source accounts but enable only "
            f"{len(ready)} target accounts of {r.muni}; the identity mapping or the target directory is incomplete"
        )
    if record_file and recorded is None and not r.check_mode:
        os.makedirs(os.path.dirname(os.path.abspath(record_file)), mode=0o700, exist_ok=True)
        tmp = record_file + ".tmp"
        with open(tmp, "w", encoding="utf-8") as handle:
            json.dump(sorted(src[o]["sAMAccountName"][0] for o in src_enabled), handle)
        os.replace(tmp, record_file)
    to_enable = [e for o in enabled_at_source for e in ours.get(o, []) if not is_enabled(e)]
    to_disable = [src[o] for o in (i["old_account"].lower() for i in identities) if is_enabled(src[o])]
    if not r.check_mode:
        r.target.apply("ldapmodify", set_uac(to_enable, True))
        r.source.apply("ldapmodify", set_uac(to_disable, False))
    return bool(to_enable or to_disable), {"accounts_enabled": len(to_enable), "source_disabled": len(to_disable)}


def rollback(r):
    record_file = r.module.params["record_file"]
    recorded = read_record(record_file) or []
    src = r.source_users()
    to_enable = [src[o] for o in recorded if o in src and not is_enabled(src[o])]
    to_disable = [e for entries in r.ours(r.target_users()).values() for e in entries if is_enabled(e)]
    if not r.check_mode:
        r.source.apply("ldapmodify", set_uac(to_enable, True))
        r.target.apply("ldapmodify", set_uac(to_disable, False))
        if record_file and os.path.exists(record_file):
            os.unlink(record_file)  # the next cutover records afresh
    return bool(to_enable or to_disable), {"source_enabled": len(to_enable), "accounts_disabled": len(to_disable)}


def probe(r, want_disabled):
    """Binds of the probe accounts at the source: after cutover each must be refused as
    disabled (data 533), after rollback each must succeed."""
    problems = []
    for p in r.module.params.get("probes") or []:
        who = r.source.account_dn(p["account"])
        ok, data = r.source.bind(who, p["password_file"])
        if want_disabled and data != "533":
            what = "binds" if ok else f"is refused with data {data} ({BIND_DATA.get(data, '?')}), not 533 (disabled)"
            problems.append(f"probe {p['account']} at {r.source.uri} {what}")
        if not want_disabled and not ok:
            problems.append(f"probe {p['account']} cannot bind at {r.source.uri}: data {data} ({BIND_DATA.get(data, '?')})")
    return problems


def verify(r, cutover_done=True):
    src = r.source_users()
    identities = [i for i in r.mapped(src) if not src or i["old_account"].lower() in src]
    if not identities:
        raise AdError(f"nothing to verify: the mapping has no people of {r.muni} that the source holds")
    tgt = r.target_users()
    ours = r.ours(tgt)
    problems = []
    missing = [i["sam_account_name"] for i in identities if i["old_account"].lower() not in ours]
    if missing:
        problems.append(f"{len(missing)} accounts missing in the target, e.g. {', '.join(missing[:5])}")
    twice = [o for o, entries in ours.items() if len(entries) > 1]
    if twice:
        problems.append(f"{len(twice)} people have more than one target account, e.g. {', '.join(twice[:5])}")
    if cutover_done:
        still = [src[i["old_account"].lower()]["sAMAccountName"][0] for i in identities if is_enabled(src[i["old_account"].lower()])]
        if still:
            problems.append(f"{len(still)} source accounts still enabled, e.g. {', '.join(still[:5])}")
        problems += probe(r, want_disabled=True)
    posix = r.target.schema_has("uidNumber", "gidNumber", "unixHomeDirectory")
    wanted = r.desired_all(identities, src, tgt, posix)
    recorded = read_record(r.module.params.get("record_file"))
    sample = random.Random(len(identities)).sample(identities, min(r.module.params["sample"], len(identities)))
    differ = []
    for i in sample:
        have = ours.get(i["old_account"].lower(), [None])[0]
        if have is None:
            continue
        wrong = [c[1] for c in differences(wanted[i["old_account"].lower()][1], have)]
        if have["sAMAccountName"][0] != i["sam_account_name"]:
            wrong.append("sAMAccountName")
        if cutover_done:
            should = i["old_account"].lower() in recorded if recorded is not None else i["enabled"]
            if is_enabled(have) != should:
                wrong.append("userAccountControl")
        if wrong:
            differ.append(f"{i['sam_account_name']}: {', '.join(wrong)} differ from the mapping")
    problems += differ[:5]
    counts = {"accounts_verified": len(identities) - len(missing), "accounts_sampled": len(sample), "probes": len(r.module.params.get("probes") or [])}
    if problems:
        r.module.fail_json(msg="; ".join(problems[:10]), eendracht_counts=counts)
    return False, counts


def verify_source(r):
    src = r.source_users()
    identities = [i for i in r.mapped(src) if i["old_account"].lower() in src]
    recorded = read_record(r.module.params.get("record_file"))
    should = [i["old_account"].lower() for i in identities if (i["old_account"].lower() in recorded if recorded is not None else i["enabled"])]
    disabled = [src[o]["sAMAccountName"][0] for o in should if not is_enabled(src[o])]
    enabled_target = [e["sAMAccountName"][0] for entries in r.ours(r.target_users()).values() for e in entries if is_enabled(e)]
    problems = []
    if disabled:
        problems.append(f"{len(disabled)} source accounts still disabled, e.g. {', '.join(disabled[:5])}")
    if enabled_target:
        problems.append(f"{len(enabled_target)} target accounts of {r.muni} still enabled, e.g. {', '.join(enabled_target[:5])}")
    problems += probe(r, want_disabled=False)
    counts = {"source_accounts_in_service": len(should) - len(disabled)}
    if problems:
        r.module.fail_json(msg="; ".join(problems), eendracht_counts=counts)
    return False, counts
