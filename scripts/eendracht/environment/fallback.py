"""The fallback site of an environment (`fallback:` in environment.yml), what a drill needs.

Two sites, each the same shape: a PostgreSQL cluster on a server the drill can reach by SSH
(promote, rewind), a file target, the integration hub and the moved applications. The
primary is the target site of every wave; the fallback holds a standby of its cluster and a
mirror of its files, and runs its applications only after a failover. Traffic Manager
(priority routing) is a DNS server whose records the drill switches. How a site's services
are taken down or brought up is the environment's own business: `control` names commands the
controller runs (systemctl over SSH, `az vm`, ...), with the site and the group appended.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from eendracht.environment.models import Endpoint, Model, Port, SecretRef, Text

Replication = Literal["synchronous", "asynchronous"]
SITES = ("primary", "fallback")
# The groups a control command is given: the drill takes a site down as a whole (outage),
# and brings its parts back in order (the database is rebuilt before it starts).
GROUPS = ("infrastructure", "database", "applications", "replication", "all")

Argv = Annotated[tuple[Text, ...], Field(min_length=1, max_length=40)]


class SiteControl(Model):
    """argv of each command; the drill appends the site and the group (see GROUPS)."""

    outage: Argv  # the site becomes unavailable as in a real outage (no clean shutdown)
    stop: Argv  # a clean stop (fail-back's switchover)
    start: Argv


class SiteDatabase(Model):
    host: Text  # the inventory host of the database server (pg_rewind runs there)
    address: Text
    port: Port = 5432
    user: Text = "postgres"  # the superuser the drill connects as (postgres_passfile)
    data_dir: Text  # the cluster's data directory on `host`
    bin_dir: Text  # PostgreSQL's programs on `host` (pg_rewind)
    os_user: Text = "postgres"  # who owns `data_dir`
    replication_passfile: Text  # on `host`, readable by os_user: how it streams from the other
    application_name: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,62}$")]


class SiteFiles(Model):
    host: Text  # inventory host of the file target
    path: Text  # its share root


class Site(Model):
    database: SiteDatabase
    files: SiteFiles
    hub: Endpoint  # url, health
    # municipality -> application -> endpoint; the primary's are the wave targets'
    applications: dict[str, dict[str, Endpoint]] = Field(default_factory=dict)
    directory: str = ""  # LDAPS URI of the site's domain controller, when it has one
    directory_ca_file: str = ""


class Profile(Model):
    municipality: str = ""
    application: str = ""  # empty: the integration hub
    primary: Text  # the address of the primary endpoint (priority 1)
    fallback: Text  # the fallback endpoint's (priority 2)


class TrafficManager(Model):
    server: Text
    port: Port = 53
    tsig_key: SecretRef
    zone: Text
    ttl: Annotated[int, Field(ge=5, le=3600)] = 30
    profiles: dict[Text, Profile] = Field(min_length=1)


class FileReplication(Model):
    interval_seconds: Annotated[float, Field(gt=0, le=3600)]
    status_file: str = ""  # on the controller: JSON the replication writes each round
    ssh_user: Text = "root"  # how one site's file server logs on to the other's
    ssh_key: Text  # its key, a path on the file servers (the replication's own)


class Fallback(Model):
    replication: Replication
    control: SiteControl
    primary: Site
    fallback: Site
    traffic_manager: TrafficManager
    files: FileReplication

    @model_validator(mode="after")
    def _apart(self) -> Fallback:
        a, b = self.primary.database, self.fallback.database
        if (a.address, a.port) == (b.address, b.port):
            raise ValueError("the primary and the fallback database must be two servers")
        if a.application_name == b.application_name:
            raise ValueError("the two databases need different application_name values")
        return self
