"""The environment a wave runs against, as `environment.yml` describes it.

The programme says *what* moves; the environment says *where* it is: the services of each
municipality (directory, DNS, databases, application endpoints), the target's credentials,
and where each secret is kept. Secrets are never values here, only references: a file
(mode 0600) or a key in the environment's Ansible Vault.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

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


class SourceDirectory(Model):
    """The municipality's directory: people are read from it, its accounts are disabled."""

    uri: Text
    base_dn: Text
    bind_dn: Text
    password: SecretRef
    people_dn: str = ""  # where the people are, when not directly under base_dn

    @field_validator("uri")
    @classmethod
    def _uri(cls, value: str) -> str:
        if not value.startswith(("ldap://", "ldaps://")):
            raise ValueError(f"not an LDAP URI (ldap:// or ldaps://): {value!r}")
        return value


class TargetDirectory(Model):
    """The migration account in the target directory (its URI is the stack output)."""

    bind_dn: Text
    password: SecretRef
    people_dn: str = ""  # default ou=medewerkers,<directory_base_dn>
    groups_dn: str = ""  # default ou=groepen,<directory_base_dn>


class DnsServer(Model):
    """The authoritative server of the municipality's zones that takes signed updates."""

    server: Text
    port: Port = 53
    tsig_key: SecretRef


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
    databases: SourceDatabases | None = None
    applications: dict[str, ApplicationEndpoints] = Field(default_factory=dict)


class Target(Model):
    directory: TargetDirectory
    databases: TargetDatabases | None = None


class EnvironmentSpec(Model):
    name: Slug  # also names the journal folder: <state>/waves/<name>/<programme>/<municipality>
    programme: Slug  # the programme this environment serves
    description: str = ""
    waves_dir: str = ""  # journals of this environment's waves; default <state>/waves/<name>
    vault_password_file: str = ""  # needed only when a secret is a vault key
    postgres_passfile: SecretRef | None = None  # pgpass for the source and target servers
    target: Target
    municipalities: dict[str, MunicipalityServices] = Field(default_factory=dict)
