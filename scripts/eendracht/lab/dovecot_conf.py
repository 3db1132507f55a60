"""The text of a lab Dovecot's files: its configuration and its passwd-file.

Every path is under the server's own folder; nothing uses /etc/dovecot or /var/run/dovecot.
Mail processes run as the Debian `dovecot` user (mail_uid), so first/last_valid_uid are
pinned to that one uid: a passwd-file entry with any other uid is refused by Dovecot itself.
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

    def home(self, account: str) -> Path:
        return self.mail / account


def config_text(
    name: str, address: str, imap_port: int, imaps_port: int, p: ConfigPaths, ids: MailIds
) -> str:
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

passdb {{
  driver = passwd-file
  args = {p.users}
}}
userdb {{
  driver = passwd-file
  args = {p.users}
}}

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
  quota = count:User quota
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
