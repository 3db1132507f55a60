"""The environment a wave runs against, as `environment.yml` describes it.

The programme says *what* moves; the environment says *where* it is: the services of each
municipality (directory, DNS, databases, application endpoints), the target's credentials,
and where each secret is kept. Secrets are never values here, only references: a file
(mode 0600) or a key in the environment's Ansible Vault.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from eendracht.notify.events import EventKind
from eendracht.programme.models import Slug

Port = Annotated[int, Field(ge=1, le=65535)]
Text = Annotated[str, Field(min_length=1, max_length=500)]


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class SecretRef(Model):
    """Where a secret is: exactly one of a file or a key of the environment's vault."""

    file: str = ""
    vault: str = ""

    @model_validator(mode="after")
    def _one(self) -> SecretRef:
        if bool(self.file) == bool(self.vault):
            raise ValueError("give exactly one of `file` (a path) or `vault` (a key)")
        return self


DirectoryKind = Literal["openldap", "active_directory"]


class BindProbe(Model):
    """A source account whose password is known (a test account): after cutover its bind must
    be refused as disabled, after rollback it must succeed again."""

    account: Text  # sAMAccountName, UPN or DN
    password: SecretRef


class SourceDirectory(Model):
    """The municipality's directory: people are read from it, its accounts are disabled."""

    kind: DirectoryKind = "openldap"
    uri: Text
    base_dn: Text
    bind_dn: Text  # a DN, or on Active Directory also a UPN
    password: SecretRef
    people_dn: str = ""  # where the people are, when not directly under base_dn
    groups_dn: str = ""  # Active Directory: where its groups are read; default base_dn
    ca_file: str = ""  # the CA that signed the LDAPS certificate; default the system's
    probes: tuple[BindProbe, ...] = ()

    @field_validator("uri")
    @classmethod
    def _uri(cls, value: str) -> str:
        if not value.startswith(("ldap://", "ldaps://")):
            raise ValueError(f"not an LDAP URI (ldap:// or ldaps://): {value!r}")
        return value

    @model_validator(mode="after")
    def _ldaps_for_ad(self) -> SourceDirectory:
        if self.kind == "active_directory" and not self.uri.startswith("ldaps://"):
            raise ValueError("an Active Directory source is read over LDAPS (ldaps://)")
        return self


class TargetDirectory(Model):
    """The migration account in the target directory (its URI is the stack output)."""

    kind: DirectoryKind = "openldap"
    bind_dn: Text
    password: SecretRef
    people_dn: str = ""  # default ou=medewerkers,<directory_base_dn> (AD: OU=Medewerkers,...)
    groups_dn: str = ""  # default ou=groepen,<directory_base_dn> (AD: OU=Groepen,...)
    ca_file: str = ""  # the CA of the LDAPS certificate (AD: passwords are set over LDAPS)


class Kerberos(Model):
    """A service account's Kerberos credentials for GSS-TSIG (AD-integrated zones)."""

    principal: Text  # e.g. svc-eendracht@WOUDRICHEM.LOCAL
    keytab: SecretRef
    krb5_conf: str = ""  # default the system's /etc/krb5.conf
    server_name: str = ""  # the DC's host name (its DNS/<name> principal); default `server`


class DnsServer(Model):
    """The authoritative server of the municipality's zones that takes signed updates: a TSIG
    key (BIND) or a Kerberos service account (AD-integrated zones, GSS-TSIG)."""

    server: Text
    port: Port = 53
    tsig_key: SecretRef | None = None
    kerberos: Kerberos | None = None

    @model_validator(mode="after")
    def _one_key(self) -> DnsServer:
        if (self.tsig_key is None) == (self.kerberos is None):
            raise ValueError(
                "give exactly one of `tsig_key` (BIND) or `kerberos` (AD-integrated zones)"
            )
        return self


class ImapLogin(Model):
    """How the migration logs on to an IMAP server: per mailbox, a 0600 file
    `<login>.password` in `password_dir` (as Exchange Online's IMAP migration CSV has a
    password per mailbox), or one master/admin user that may log on as every mailbox."""

    host: Text
    port: Port = 993
    tls: Literal["imaps", "starttls"] = "imaps"
    ca_file: str = ""
    login: Literal["name", "address"] = "name"  # the old account name, or the mail address
    password_dir: str = ""
    master_user: str = ""
    master_password: SecretRef | None = None

    @model_validator(mode="after")
    def _one_login(self) -> ImapLogin:
        if bool(self.password_dir) == bool(self.master_user):
            raise ValueError("give exactly one of `password_dir` or `master_user`")
        if self.master_user and self.master_password is None:
            raise ValueError("`master_user` needs `master_password`")
        return self


class TargetMail(Model):
    """The new organisation's mail: a Dovecot the mailboxes move into over IMAP, or Exchange
    Online (the migration batches are written as files to import)."""

    kind: Literal["dovecot", "exchange_online"]
    server: str = ""  # dovecot: the inventory host the moves run on (the mail server)
    config: str = ""  # dovecot: its dovecot.conf on that host
    user_field: Literal["username", "mail", "upn"] = "username"  # names the target user
    shared_user: str = ""  # a function mailbox's target user: {local}, {municipality}, {domain}
    work_dir: str = ""  # dovecot: where the moves keep their 0600 includes on `server`
    imap: ImapLogin | None = None  # dovecot: where verification reads the moved mailboxes

    @model_validator(mode="after")
    def _dovecot(self) -> TargetMail:
        if self.kind == "dovecot" and not (self.server and self.config and self.imap):
            raise ValueError("a dovecot target needs `server`, `config` and `imap`")
        return self


class SourceDatabases(Model):
    """The municipality's PostgreSQL server; `names` maps a programme database to its real name."""

    host: Text
    port: Port = 5432
    user: Text
    names: dict[str, Text] = Field(default_factory=dict)


class TargetDatabases(Model):
    """The target PostgreSQL server (its host is the stack output database_server_fqdn)."""

    port: Port = 5432
    user: Text


class Endpoint(Model):
    """Where an application answers, and the configuration file that repoints it."""

    url: Text
    health: str = ""  # full URL; default: url + the programme's health path
    config: str = ""  # JSON configuration the wave repoints (maintenance, koppelingen)
    reload_pid_file: str = ""  # process told to reload its configuration (SIGHUP)


class ApplicationEndpoints(Model):
    source: Endpoint | None = None
    target: Endpoint | None = None


class MunicipalityServices(Model):
    directory: SourceDirectory | None = None
    dns: DnsServer | None = None
    mail: ImapLogin | None = None
    databases: SourceDatabases | None = None
    applications: dict[str, ApplicationEndpoints] = Field(default_factory=dict)


class Target(Model):
    directory: TargetDirectory
    databases: TargetDatabases | None = None
    mail: TargetMail | None = None


class WebhookUrl(Model):
    """Where a webhook URL is kept: its path and query are its credential, so it is a secret —
    a file (0600, the URL on its first line), an environment variable (a pipeline's secret),
    or a key of the environment's vault."""

    file: str = ""
    env: str = ""
    vault: str = ""

    @field_validator("env")
    @classmethod
    def _variable(cls, value: str) -> str:
        if value and not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]{0,199}", value):
            raise ValueError("not the name of an environment variable")
        return value

    @model_validator(mode="after")
    def _one(self) -> WebhookUrl:
        if sum(map(bool, (self.file, self.env, self.vault))) != 1:
            raise ValueError(
                "give exactly one of `file` (a path), `env` (a variable) or `vault` (a key)"
            )
        return self


class NotificationChannel(Model):
    """One audience: where its webhook is, what kind it is, and which events it wants."""

    kind: Literal["teams", "slack", "mattermost", "json"]
    url: WebhookUrl
    events: tuple[EventKind, ...] = ()  # default: every event

    @field_validator("events")
    @classmethod
    def _no_repeats(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if len(set(value)) != len(value):
            raise ValueError("an event is named twice")
        return value


class Notifications(Model):
    """Webhooks told about a wave's phases, failures, the gate and rollbacks (never blocking
    it: docs/notifications.md)."""

    channels: dict[Slug, NotificationChannel] = Field(default_factory=dict, max_length=20)
    timeout_seconds: Annotated[float, Field(gt=0, le=60)] = 5.0  # one HTTP request
    attempts: Annotated[int, Field(ge=1, le=10)] = 5  # per event and channel
    event_seconds: Annotated[float, Field(gt=0, le=600)] = 30.0  # per event and channel
    drain_seconds: Annotated[float, Field(ge=0, le=60)] = 5.0  # the end of a run waits at most


class EnvironmentSpec(Model):
    name: Slug  # also names the journal folder: <state>/waves/<name>/<programme>/<municipality>
    programme: Slug  # the programme this environment serves
    description: str = ""
    waves_dir: str = ""  # journals of this environment's waves; default <state>/waves/<name>
    vault_password_file: str = ""  # needed only when a secret is a vault key
    postgres_passfile: SecretRef | None = None  # pgpass for the source and target servers
    target: Target
    municipalities: dict[str, MunicipalityServices] = Field(default_factory=dict)
    notifications: Notifications = Notifications()
    fallback: Fallback | None = None  # the fallback site a drill fails over to


from eendracht.environment.fallback import Fallback  # noqa: E402  (it builds on the models above)

EnvironmentSpec.model_rebuild()
