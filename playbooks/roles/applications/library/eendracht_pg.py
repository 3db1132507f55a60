#!/usr/bin/python
"""PostgreSQL for a migration weekend: stop writes, move a database, compare row counts."""

from __future__ import annotations

DOCUMENTATION = r"""
module: eendracht_pg
short_description: Stop writes on, move, or export a PostgreSQL database with the client tools
description:
  - Uses psql, pg_dump and pg_restore; the password is read by libpq from O(passfile) (a
    pgpass file), never passed on a command line. community.postgresql needs psycopg, which
    the toolkit does not ship; these are the same operations through the real clients.
  - O(state=read_only) / O(state=writable) sets C(default_transaction_read_only) on the source
    database and ends open sessions, so every new transaction is read-only (writes stopped).
  - O(state=moved) dumps the source (C(pg_dump -Fc)), recreates the target database, restores
    it and compares the row count of every table; a database already restored and equal is
    left alone (its comment records the restore), so a resumed move never doubles data.
  - O(state=exported) writes a dump file for a SaaS supplier (hand-over).
  - O(state=connect) only connects.
options:
  state: {description: what to do, type: str, choices: [read_only, writable, moved, exported, connect], required: true}
  source: {description: "source: host, port, user, db", type: dict, required: true}
  target: {description: "target: host, port, user, db (moved)", type: dict}
  passfile: {description: pgpass file holding the passwords, type: path, required: true}
  dump_dir: {description: where dumps are written, type: path}
  timeout: {description: seconds each psql, pg_dump or pg_restore run may take before the module fails, type: int, default: 3600}
author: eendracht
"""

RETURN = r"""
eendracht_counts:
  description: databases_restored, rows_compared, bytes_dumped
  type: dict
  returned: always
"""

import os
import subprocess

from ansible.module_utils.basic import AnsibleModule

MARK = "eendracht: restored from "


class Pg:
    def __init__(self, module, passfile):
        self.module = module
        self.env = {**os.environ, "PGPASSFILE": passfile, "PGCONNECT_TIMEOUT": "10"}
        self.timeout = module.params["timeout"]

    def run(self, argv, what, input_text=None):
        try:
            done = subprocess.run(
                argv, capture_output=True, text=True, env=self.env, input=input_text, check=False, timeout=self.timeout
            )
        except subprocess.TimeoutExpired:
            self.module.fail_json(msg=f"{what} timed out after {self.timeout} s")
        if done.returncode != 0:
            self.module.fail_json(msg=f"{what} failed: {done.stderr.strip()[-500:]}")
        return done.stdout

    def conn(self, side, db=None):
        return ["-h", side["host"], "-p", str(side.get("port", 5432)), "-U", side["user"], "-d", db or side["db"]]

    def query(self, side, sql, db=None):
        out = self.run(["psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", *self.conn(side, db), "-c", sql], f"psql on {side['host']}")
        return [line.split("|") for line in out.splitlines() if line]


def quote_ident(name):
    return '"' + name.replace('"', '""') + '"'


def quote_literal(text):
    return "'" + text.replace("'", "''") + "'"


def read_only(pg, side):
    rows = pg.query(side, "SELECT current_setting('default_transaction_read_only')")
    return rows[0][0] == "on"


def set_read_only(module, pg, side, wanted):
    # A fresh session reads the database default; the current one may still be writable.
    rows = pg.query(
        side,
        "SELECT coalesce((SELECT 'on' FROM pg_db_role_setting s JOIN pg_database d ON d.oid = s.setdatabase "
        f"WHERE d.datname = {quote_literal(side['db'])} AND s.setrole = 0 "
        "AND 'default_transaction_read_only=on' = ANY(s.setconfig)), 'off')",
        db="postgres",
    )
    current = rows[0][0] == "on"
    if current == wanted:
        return False
    if not module.check_mode:
        value = "on" if wanted else "off"
        pg.query(side, f"ALTER DATABASE {quote_ident(side['db'])} SET default_transaction_read_only = {value}", db="postgres")
        pg.query(
            side,
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            f"WHERE datname = {quote_literal(side['db'])} AND pid <> pg_backend_pid()",
            db="postgres",
        )
    return True


def row_counts(pg, side, db=None):
    tables = pg.query(
        side,
        "SELECT quote_ident(schemaname) || '.' || quote_ident(relname) FROM pg_stat_user_tables ORDER BY 1",
        db=db,
    )
    if not tables:
        return {}
    sql = " UNION ALL ".join(f"SELECT {quote_literal(t[0])}, count(*) FROM {t[0]}" for t in tables)
    return {name: int(count) for name, count in pg.query(side, sql, db=db)}


def target_mark(pg, target):
    rows = pg.query(
        target,
        "SELECT coalesce(shobj_description(oid, 'pg_database'), '') FROM pg_database "
        f"WHERE datname = {quote_literal(target['db'])}",
        db="postgres",
    )
    return rows[0][0] if rows else None


def move(module, pg, source, target, dump_dir):
    expected_mark = f"{MARK}{source['host']}:{source.get('port', 5432)}/{source['db']}"
    want = row_counts(pg, source)
    if target_mark(pg, target) == expected_mark and row_counts(pg, target) == want:
        return False, {"databases_restored": 0, "rows_compared": sum(want.values())}
    if module.check_mode:
        return True, {}
    os.makedirs(dump_dir, exist_ok=True)
    dump = os.path.join(dump_dir, f"{source['db']}.dump")
    pg.run(["pg_dump", "-Fc", "--no-owner", "--no-acl", "-f", dump + ".tmp", *pg.conn(source)], f"pg_dump of {source['db']}")
    os.replace(dump + ".tmp", dump)
    name = quote_ident(target["db"])
    pg.query(target, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)", db="postgres")
    pg.query(target, f"CREATE DATABASE {name}", db="postgres")
    pg.run(["pg_restore", "--no-owner", "--no-acl", "--exit-on-error", *pg.conn(target), dump], f"pg_restore of {target['db']}")
    have = row_counts(pg, target)
    if have != want:
        diff = sorted(t for t in set(want) | set(have) if want.get(t) != have.get(t))
        module.fail_json(msg=f"row counts differ after restoring {target['db']}: {', '.join(diff[:10])}")
    # Marked last: only a complete, verified restore is skipped when a wave resumes.
    pg.query(target, f"COMMENT ON DATABASE {name} IS {quote_literal(expected_mark)}", db="postgres")
    counts = {"databases_restored": 1, "rows_compared": sum(want.values()), "bytes_dumped": os.path.getsize(dump)}
    return True, counts


def main():
    module = AnsibleModule(
        argument_spec={
            "state": {"type": "str", "required": True, "choices": ["read_only", "writable", "moved", "exported", "connect"]},
            "source": {"type": "dict", "required": True},
            "target": {"type": "dict"},
            "passfile": {"type": "path", "required": True, "no_log": False},
            "dump_dir": {"type": "path"},
            "timeout": {"type": "int", "default": 3600},
        },
        required_if=[("state", "moved", ("target", "dump_dir")), ("state", "exported", ("dump_dir",))],
        supports_check_mode=True,
    )
    p = module.params
    pg = Pg(module, p["passfile"])
    state = p["state"]
    counts = {}
    if state in ("read_only", "writable"):
        changed = set_read_only(module, pg, p["source"], state == "read_only")
        if not module.check_mode and read_only(pg, p["source"]) != (state == "read_only"):
            module.fail_json(msg=f"{p['source']['db']} is not {state} after the change")
    elif state == "moved":
        changed, counts = move(module, pg, p["source"], p["target"], p["dump_dir"])
    elif state == "exported":
        dump = os.path.join(p["dump_dir"], f"{p['source']['db']}.dump")
        changed = not os.path.exists(dump)
        if changed and not module.check_mode:
            os.makedirs(p["dump_dir"], exist_ok=True)
            pg.run(["pg_dump", "-Fc", "--no-owner", "-f", dump + ".tmp", *pg.conn(p["source"])], "pg_dump")
            os.replace(dump + ".tmp", dump)
        counts = {"databases_exported": 1}
    else:
        pg.query(p["source"], "SELECT 1")
        changed = False
    module.exit_json(changed=changed, eendracht_counts=counts)


if __name__ == "__main__":
    main()
