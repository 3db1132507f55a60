"""The text of a lab Dovecot's files: its configuration, its passwd-file and, for the target,
its LDAP settings.

Every path is under the server's own folder; nothing uses /etc/dovecot or /var/run/dovecot.
Mail processes run as the Debian `dovecot` user (mail_uid), so first/last_valid_uid are
pinned to that one uid: a passwd-file entry with any other uid is refused by Dovecot itself.

The target Dovecot knows its people from the new organisation's directory, as a Dovecot in an
AD shop does: `passdb ldap` with auth_bind (the directory checks the password, so a disabled
AD account cannot log in) and `userdb ldap` (a user exists for doveadm as soon as the identity
step created the account, disabled or not). Its function mailboxes are not directory persons
and stay in the passwd-file, the first passdb/userdb.
"""

from __future__ import annotations

import base64
import hashlib
import os
import pwd
from dataclasses import dataclass
from pathlib import Path

INTERNAL_USER = "dovecot"
LOGIN_USER = "dovenull"


@dataclass(frozen=True)
class MailIds:
    uid: int
    gid: int

    @classmethod
    def of_mail_user(cls) -> MailIds:
        entry = pwd.getpwnam(INTERNAL_USER)
        return cls(entry.pw_uid, entry.pw_gid)


def ssha512(password: str, salt: bytes | None = None) -> str:
    """{SSHA512}: base64(sha512(password + salt) + salt), a scheme Dovecot's passdb verifies."""
    salt = os.urandom(16) if salt is None else salt
    digest = hashlib.sha512(password.encode() + salt).digest()
    return "{SSHA512}" + base64.b64encode(digest + salt).decode()


@dataclass(frozen=True)
class LdapUsers:
    """Where a Dovecot finds its people in a directory, and how a person's name is matched.

    `name_attribute` is the login: userPrincipalName (AD) or uid (OpenLDAP); `persons` the
    filter of person entries; `login_condition` a further filter a login must meet (OpenLDAP
    has no disabled state the bind itself refuses; AD's bind refuses a disabled account)."""

    uri: str  # ldaps://<DC address> or ldap://<slapd address>:<port>
    base_dn: str
    bind_dn: str
    password_file: Path  # 0600; its text goes only into the 0600 LDAP settings file
    name_attribute: str
    persons: str
    ca_file: Path | None = None  # verify the server against it (LDAPS)
    login_condition: str = ""

    @property
    def by_address(self) -> bool:
        """Names are user@domain (a UPN): homes are <mail>/<domain>/<local>."""
        return self.name_attribute.lower() == "userprincipalname"

    def user_filter(self) -> str:
        return f"(&{self.persons}({self.name_attribute}=%u))"

    def pass_filter(self) -> str:
        return f"(&{self.persons}({self.name_attribute}=%u){self.login_condition})"


def home_of(mail: Path, name: str) -> Path:
    """A target user's home, as the LDAP userdb's home template makes it (lower case):
    <mail>/<domain>/<local> for user@domain, <mail>/<name> otherwise."""
    name = name.lower()
    if "@" in name:
        local, domain = name.rsplit("@", 1)
        return mail / domain / local
    return mail / name


def passwd_line(account: str, hashed: str, ids: MailIds, home: Path, quota_kib: int | None) -> str:
    if any(c in account for c in ":\n\t ") or not account:
        raise ValueError(f"{account!r} cannot be a Dovecot passwd-file user name")
    extra = f"userdb_quota_rule=*:storage={quota_kib}k" if quota_kib is not None else ""
    return f"{account}:{hashed}:{ids.uid}:{ids.gid}::{home}::{extra}\n"


def quoted(value: str, expanded: bool = True) -> str:
    """A Dovecot config value in double quotes; `%` doubled for settings that are %-expanded
    when used (imapc_user is, imapc_password is not)."""
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    escaped = escaped.replace("%", "%%") if expanded else escaped
    if "\n" in value or "\r" in value:
        raise ValueError("a Dovecot setting cannot hold a line break")
    return f'"{escaped}"'


@dataclass(frozen=True)
class ConfigPaths:
    root: Path

    @property
    def config(self) -> Path:
        return self.root / "dovecot.conf"

    @property
    def users(self) -> Path:
        return self.root / "users"

    @property
    def masters(self) -> Path:
        return self.root / "masters"

    @property
    def base_dir(self) -> Path:
        return self.root / "run"

    @property
    def state_dir(self) -> Path:
        return self.root / "state"

    @property
    def log(self) -> Path:
        return self.root / "logs" / "dovecot.log"

    @property
    def mail(self) -> Path:
        return self.root / "mail"

    @property
    def secrets(self) -> Path:
        return self.root / "secrets"

    @property
    def cert(self) -> Path:
        return self.root / "tls" / "cert.pem"

    @property
    def key(self) -> Path:
        return self.root / "tls" / "key.pem"

    @property
    def shared_dict(self) -> Path:
        # Written by mail processes (the mail uid), so in a folder of its own that they own.
        return self.root / "shared" / "shared-mailboxes.db"

    @property
    def moves(self) -> Path:
        return self.root / "moves"

    @property
    def ldap_conf(self) -> Path:
        # Holds the directory's bind password: 0600 root, read by the auth process while it
        # still runs as root (Dovecot reads passdb/userdb args before dropping privileges).
        return self.root / "dovecot-ldap.conf.ext"

    @property
    def directory_ca(self) -> Path:
        # A copy of the directory's CA: the DC keeps its own in a root-only folder, and
        # libldap loads it at the first connection, after the auth process became `dovecot`.
        return self.root / "tls" / "directory-ca.pem"

    def home(self, account: str) -> Path:
        """Where `account`'s mail lives: <mail>/<account>, or for a name with a domain (a
        target UPN) <mail>/<domain>/<local>, as the target's LDAP userdb puts it."""
        return home_of(self.mail, account) if "@" in account else self.mail / account


def ldap_conf_text(users: LdapUsers, p: ConfigPaths, ids: MailIds, password: str) -> str:
    """The LDAP settings file both the passdb and the userdb read (one connection)."""
    if any(c in password for c in "\n\r\0"):
        raise ValueError("a directory password cannot hold a line break")
    home = f"{p.mail}/%Ld/%Ln" if users.by_address else f"{p.mail}/%Lu"
    tls = (
        [f"tls_ca_cert_file = {p.directory_ca}", "tls_require_cert = demand"]
        if users.ca_file is not None
        else []
    )
    lines = [
        "# eendracht lab: the target's people, from the new organisation's directory",
        f"uris = {users.uri}",
        *tls,
        "ldap_version = 3",
        f"dn = {users.bind_dn}",
        f"dnpass = {quoted(password, expanded=False)}",
        f"base = {users.base_dn}",
        "scope = subtree",
        "deref = never",
        # The user's own bind checks the password: AD refuses a disabled account's bind.
        "auth_bind = yes",
        f"pass_filter = {users.pass_filter()}",
        "pass_attrs =",
        f"user_filter = {users.user_filter()}",
        f"user_attrs = =home={home}, =uid={ids.uid}, =gid={ids.gid}",
        f"iterate_filter = (&{users.persons}({users.name_attribute}=*))",
        f"iterate_attrs = {users.name_attribute}=user",
    ]
    return "\n".join(lines) + "\n"


def _auth_text(p: ConfigPaths, directory: bool, masters: bool) -> str:
    """passdb/userdb: the passwd-file; for a target with a directory, the directory after it;
    with `masters`, master users first (SASL PLAIN with the mailbox as authorization identity:
    the migration's admin reads every mailbox, disabled accounts too, as Exchange's FullAccess)."""
    master = (
        f"""\
passdb {{
  driver = passwd-file
  master = yes
  args = {p.masters}
}}
"""
        if masters
        else ""
    )
    local = (
        master
        + f"""\
passdb {{
  driver = passwd-file
  args = {p.users}
}}
userdb {{
  driver = passwd-file
  args = {p.users}
}}
"""
    )
    if not directory:
        return local
    return f"""\
# One name per person whatever its case (AD matches names case-insensitively).
auth_username_format = %Lu
# Each refused login says why in the log (never with its password): a disabled account, a
# wrong password and an unknown name look the same to the client.
auth_verbose = yes
# Function mailboxes (not persons in the directory) and postmaster.
{local}# The new organisation's people.
passdb {{
  driver = ldap
  args = {p.ldap_conf}
}}
userdb {{
  driver = ldap
  args = {p.ldap_conf}
}}
"""


def _acl_user(masters: bool) -> str:
    # A master user's ACL rights are by default its own (none in another's mailbox); the
    # migration's admin acts as the mailbox's owner, like Exchange's FullAccess.
    return "  acl_user = %u\n" if masters else ""


def config_text(
    name: str,
    address: str,
    imap_port: int,
    imaps_port: int,
    p: ConfigPaths,
    ids: MailIds,
    directory: bool = False,
    masters: bool = False,
) -> str:
    """The dovecot.conf; `directory`: also find users through `p.ldap_conf` (see
    `ldap_conf_text`), after the passwd-file; `masters`: master users in `p.masters`."""
    return f"""\
# eendracht lab: IMAP server {name} (dovecot -c {p.config} -F)
instance_name = eendracht-{name}
base_dir = {p.base_dir}
state_dir = {p.state_dir}
listen = {address}
protocols = imap
log_path = {p.log}
default_internal_user = {INTERNAL_USER}
default_login_user = {LOGIN_USER}
mail_uid = {ids.uid}
mail_gid = {ids.gid}
first_valid_uid = {ids.uid}
last_valid_uid = {ids.uid}
first_valid_gid = {ids.gid}
last_valid_gid = {ids.gid}
mail_location = maildir:~/Maildir
mail_plugins = $mail_plugins acl quota

ssl = yes
ssl_cert = <{p.cert}
ssl_key = <{p.key}
ssl_min_protocol = TLSv1.2
# Loopback only: plain IMAP LOGIN is allowed next to IMAPS, as on many old mail servers.
disable_plaintext_auth = no
auth_mechanisms = plain login

{_auth_text(p, directory, masters)}
namespace inbox {{
  type = private
  separator = /
  prefix =
  inbox = yes
}}
# Function mailboxes (secretariaat) are read by colleagues under shared/<owner>/,
# with the owner's dovecot-acl files saying who may read.
namespace shared {{
  type = shared
  separator = /
  prefix = shared/%%u/
  location = maildir:%%h/Maildir:INDEXPVT=~/Maildir/shared/%%u
  subscriptions = no
  list = children
}}

protocol imap {{
  mail_plugins = $mail_plugins imap_acl imap_quota
}}

plugin {{
  acl = vfile
  acl_shared_dict = file:{p.shared_dict}
{_acl_user(masters)}  quota = count:User quota
  quota_vsizes = yes
  quota_rule = *:storage=0
}}

service imap-login {{
  inet_listener imap {{
    address = {address}
    port = {imap_port}
  }}
  inet_listener imaps {{
    address = {address}
    port = {imaps_port}
    ssl = yes
  }}
}}
"""
