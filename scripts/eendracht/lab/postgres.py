"""Application data: two PostgreSQL clusters, the municipalities' database server (source) and
the consolidated environment's (target, empty until the migration restores into it).

PostgreSQL refuses to run as root, so the clusters belong to the `postgres` user; the lab's
state folders above them must therefore be traversable by that user.
"""

from __future__ import annotations

import os
import pwd
import random
import secrets
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from eendracht.lab.errors import LabError
from eendracht.lab.paths import LabPaths, write_secret
from eendracht.lab.plan import PG_PORT, AppService
from eendracht.lab.procs import run
from eendracht.lab.residents import Resident

PG_ROOT = Path("/usr/lib/postgresql")
PG_USER = "postgres"
SUPERUSER = "postgres"
SIDES = ("source", "target")
STANDBY = "fallback"  # the fallback site's cluster: a standby of the target one
ZAAKTYPEN = [
    "Aanvraag omgevingsvergunning",
    "Melding openbare ruimte",
    "Bezwaarschrift",
    "Aanvraag bijstand",
    "Verhuizing binnen gemeente",
    "Klacht",
    "Subsidieaanvraag",
]


@dataclass(frozen=True)
class Cluster:
    side: str
    address: str
    port: int
    data: Path
    sockets: Path


def pg_bin() -> Path:
    """The server binaries of the newest PostgreSQL the Debian packages installed."""
    versions = sorted(
        (p for p in PG_ROOT.glob("*/bin") if (p / "postgres").exists() and p.parent.name.isdigit()),
        key=lambda p: int(p.parent.name),
    )
    if not versions:
        raise LabError(f"no PostgreSQL server under {PG_ROOT}: install postgresql (`make setup`)")
    return versions[-1]


def cluster(paths: LabPaths, side: str, address: str) -> Cluster:
    base = paths.postgres / side
    return Cluster(side, address, PG_PORT, base / "data", base / "run")


def password_file(paths: LabPaths) -> Path:
    return paths.postgres / "superuser.password"


def pgpass_file(paths: LabPaths) -> Path:
    return paths.postgres / "pgpass"


def source_db_name(municipality: str, db: str) -> str:
    return f"{municipality}_{db}".replace("-", "_")


def pg_ids() -> tuple[int, int]:
    try:
        entry = pwd.getpwnam(PG_USER)
    except KeyError:
        raise LabError(
            "user 'postgres' does not exist: install postgresql (`make setup`)"
        ) from None
    return entry.pw_uid, entry.pw_gid


def require_traversable(path: Path) -> None:
    """PostgreSQL runs as `postgres`: every folder above its data must let others pass."""
    for parent in [path, *path.parents]:
        if parent.exists() and not os.stat(parent).st_mode & 0o001:
            raise LabError(
                f"{parent} is not traversable by the postgres user (mode "
                f"{oct(os.stat(parent).st_mode & 0o777)}); choose another EENDRACHT_STATE or "
                f"`chmod o+x {parent}`"
            )


def chown_tree(root: Path, uid: int, gid: int) -> None:
    os.chown(root, uid, gid)
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            os.lchown(os.path.join(dirpath, name), uid, gid)


def prepare(paths: LabPaths, source: Cluster, target: Cluster) -> None:
    """initdb once, copy it for the target, superuser password in files (0600)."""
    uid, gid = pg_ids()
    paths.postgres.mkdir(parents=True, exist_ok=True)
    paths.postgres.chmod(0o755)
    require_traversable(paths.postgres)
    pw_file = password_file(paths)
    password = pw_file.read_text() if pw_file.exists() else secrets.token_urlsafe(18)
    write_secret(pw_file, password)
    write_secret(
        pgpass_file(paths),
        "".join(f"{c.address}:{c.port}:*:{SUPERUSER}:{password}\n" for c in (source, target)),
    )
    for c in (source, target):
        c.data.parent.mkdir(parents=True, exist_ok=True)
        c.sockets.mkdir(parents=True, exist_ok=True)
        os.chown(c.sockets, uid, gid)
    if not (source.data / "PG_VERSION").exists():
        source.data.mkdir(mode=0o700, exist_ok=True)
        os.chown(source.data, uid, gid)
        init_pw = source.data.parent / "initdb.pw"
        write_secret(init_pw, password)
        os.chown(init_pw, uid, gid)
        try:
            run(
                [
                    str(pg_bin() / "initdb"),
                    "-D",
                    str(source.data),
                    "-U",
                    SUPERUSER,
                    "--pwfile",
                    str(init_pw),
                    "--auth-host=scram-sha-256",
                    "--auth-local=peer",
                    "-E",
                    "UTF8",
                    "--locale=C.UTF-8",
                    "--no-sync",
                    "--no-instructions",
                ],
                "initdb",
                user=PG_USER,
                cwd=str(source.data.parent),
            )
        finally:
            init_pw.unlink(missing_ok=True)
        with open(source.data / "pg_hba.conf", "a", encoding="utf-8") as hba:
            hba.write("host all all 127.0.0.0/8 scram-sha-256\n")
            hba.write("host replication all 127.0.0.0/8 scram-sha-256\n")
    if not (target.data / "PG_VERSION").exists():
        # A copy of a fresh cluster is a fresh cluster: cheaper than a second initdb.
        shutil.copytree(source.data, target.data, symlinks=True)
        chown_tree(target.data, uid, gid)
    for c in (source, target):
        c.data.chmod(0o700)


REPLICATED_SETTINGS = (
    "# eendracht lab: a cluster with a standby at the fallback site\n"
    "full_page_writes = on\n"
    "wal_log_hints = on\n"
    "wal_keep_size = 256MB\n"
    # A standby needs at least its primary's; pg_rewind's recovery records the file's.
    "max_connections = 60\n"
    "shared_buffers = 16MB\n"
)


def write_replicated_settings(c: Cluster) -> None:
    """The settings pg_rewind needs to rebuild a failed primary (full-page writes, hint bits
    logged) in the cluster's own configuration: pg_rewind's crash recovery runs the server
    without the command line's options. A base backup copies them to the standby."""
    conf = c.data / "postgresql.conf"
    text = conf.read_text(encoding="utf-8")
    if REPLICATED_SETTINGS not in text:
        conf.write_text(text + REPLICATED_SETTINGS, encoding="utf-8")


def argv(c: Cluster, replicated: bool = False) -> list[str]:
    """`replicated`: the target cluster of a lab with a fallback site and its standby. Those
    keep commits synchronous (a synchronous standby is only as good as that); their durable
    settings are in their configuration (write_replicated_settings)."""
    durable = ["-c", f"cluster_name={c.side}"]
    fast = ["-c", "synchronous_commit=off", "-c", "full_page_writes=off"]
    return [
        str(pg_bin() / "postgres"),
        "-D",
        str(c.data),
        "-c",
        f"listen_addresses={c.address}",
        "-c",
        f"port={c.port}",
        "-c",
        f"unix_socket_directories={c.sockets}",
        "-c",
        "shared_buffers=16MB",
        "-c",
        "max_connections=60",
        # A rehearsal lab: losing it in a power cut costs a `lab up`, nothing more.
        "-c",
        "fsync=off",
        *(durable if replicated else fast),
        "-c",
        "logging_collector=off",
    ]


def psql(paths: LabPaths, c: Cluster, db: str, *args: str, stdin: str | None = None) -> str:
    env = {**os.environ, "PGPASSFILE": str(pgpass_file(paths)), "PGCONNECT_TIMEOUT": "5"}
    return run(
        [
            "psql",
            "-X",
            "-q",
            "-v",
            "ON_ERROR_STOP=1",
            "-h",
            c.address,
            "-p",
            str(c.port),
            "-U",
            SUPERUSER,
            "-d",
            db,
            *args,
        ],
        f"psql on {c.side} database {db}",
        env=env,
        input=stdin,
    )


def _copy(table: str, columns: str, rows: Sequence[tuple[object, ...]]) -> str:
    body = "".join("\t".join("\\N" if v is None else str(v) for v in row) + "\n" for row in rows)
    return f"COPY {table} ({columns}) FROM stdin;\n{body}\\.\n"


def seed_sql(
    app: AppService, db: str, people: list[Resident], scale: str, seed: int
) -> tuple[str, dict[str, int]]:
    """The schema and rows of one application database, and the row count per table."""
    rng = random.Random(f"{seed}:db:{app.municipality}:{app.name}:{db}")
    n_zaken = rng.randint(40, 80) if scale == "small" else rng.randint(2000, 6000)
    n_docs = n_zaken * rng.randint(2, 3)
    chosen = people[:]
    personen = [
        (r.bsn, r.given_name, r.prefix or None, r.surname, r.birth_date.isoformat()) for r in chosen
    ]
    zaken = []
    for i in range(1, n_zaken + 1):
        year = rng.randint(2019, 2025)
        zaken.append(
            (
                i,
                f"ZAAK-{year}-{i:06d}",
                rng.choice(ZAAKTYPEN),
                f"{rng.choice(ZAAKTYPEN)} ({app.display_name})",
                rng.choice(chosen).bsn,
                f"{year}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
                rng.choice(["ontvangen", "in behandeling", "afgehandeld"]),
            )
        )
    documenten = []
    for i in range(1, n_docs + 1):
        zaak = rng.randint(1, n_zaken)
        documenten.append(
            (
                i,
                zaak,
                f"Document {i} bij zaak {zaak}",
                f"document-{i:06d}.pdf",
                rng.randint(800, 900000),
            )
        )
    sql = f"""
CREATE TABLE personen (bsn char(9) PRIMARY KEY, voornamen text NOT NULL, voorvoegsel text,
  geslachtsnaam text NOT NULL, geboortedatum date NOT NULL);
CREATE TABLE zaken (id integer PRIMARY KEY, identificatie text UNIQUE NOT NULL,
  zaaktype text NOT NULL, omschrijving text NOT NULL, bsn char(9) REFERENCES personen,
  startdatum date NOT NULL, status text NOT NULL);
CREATE TABLE documenten (id integer PRIMARY KEY, zaak_id integer NOT NULL REFERENCES zaken,
  titel text NOT NULL, bestandsnaam text NOT NULL, bytes integer NOT NULL);
COMMENT ON DATABASE {db} IS 'eendracht lab: {app.display_name} ({app.municipality})';
{_copy("personen", "bsn, voornamen, voorvoegsel, geslachtsnaam, geboortedatum", personen)}
{_copy("zaken", "id, identificatie, zaaktype, omschrijving, bsn, startdatum, status", zaken)}
{_copy("documenten", "id, zaak_id, titel, bestandsnaam, bytes", documenten)}
ANALYZE;
"""
    return sql, {"personen": len(personen), "zaken": len(zaken), "documenten": len(documenten)}


def seed_database(
    paths: LabPaths,
    c: Cluster,
    app: AppService,
    db: str,
    people: list[Resident],
    scale: str,
    seed: int,
) -> dict[str, int]:
    sql, counts = seed_sql(app, db, people, scale, seed)
    psql(paths, c, "postgres", "-c", f"CREATE DATABASE {db} TEMPLATE template0 ENCODING 'UTF8'")
    psql(paths, c, db, "-f", "-", stdin=sql)
    return counts
