#!/usr/bin/python
"""A site's PostgreSQL in a fallback drill: promote, rebuild as a standby, wait for catch-up."""

from __future__ import annotations

DOCUMENTATION = r"""
module: eendracht_pg_site
short_description: Promote a standby, rebuild a failed primary as a standby, wait until a standby caught up
description:
  - Uses psql and pg_rewind; passwords are read by libpq from a pgpass file, never from a command line.
  - O(state=promoted) promotes the server at O(server) if it is still in recovery (C(pg_promote)) and waits
    until it accepts writes. Runs anywhere that reaches the server.
  - O(state=rebuilt) runs on the database host of a failed primary: if the server does not answer as a standby,
    C(pg_rewind) rewinds O(data_dir) to the timeline of O(source) (finishing crash recovery first, as
    pg_rewind does since PostgreSQL 13) and writes the recovery configuration (standby.signal,
    primary_conninfo naming O(application_name)), as O(os_user). Start the server afterwards.
  - O(state=caught_up) waits until the standby called O(application_name) streams from O(server) with nothing
    left to replay, and reports its synchronous state.
  - O(state=mode) makes the server at O(server) wait for the standby O(application_name) at every commit
    (O(replication=synchronous)) or not (C(synchronous_standby_names)), and reloads it.
  - O(state=status) only reports.
options:
  state: {description: what to do, type: str, choices: [promoted, rebuilt, caught_up, mode, status], required: true}
  replication: {description: "mode: synchronous or asynchronous", type: str, choices: [synchronous, asynchronous], default: asynchronous}
  server: {description: "the server acted on or asked: host, port, user", type: dict, required: true}
  passfile: {description: pgpass file of the drill's connections, type: path, required: true}
  source: {description: "rebuilt: the server to rewind from (host, port, user)", type: dict, default: {}}
  data_dir: {description: "rebuilt: the data directory on this host", type: path, default: ""}
  bin_dir: {description: "rebuilt: PostgreSQL's programs on this host", type: path, default: ""}
  os_user: {description: "rebuilt: the owner of data_dir", type: str, default: postgres}
  replication_passfile: {description: "rebuilt: pgpass readable by os_user, for streaming", type: path, default: ""}
  application_name: {description: the standby's name in pg_stat_replication, type: str, default: ""}
  timeout: {description: seconds to wait, type: int, default: 120}
author: eendracht
"""

RETURN = r"""
eendracht_counts:
  description: promoted, rewound, lag_bytes, wait_ms
  type: dict
  returned: always
sync_state:
  description: caught_up/status - sync, async, or "" when the standby is not streaming
  type: str
  returned: always
"""

import os
import re
import subprocess
import time

from ansible.module_utils.basic import AnsibleModule


class Pg:
    def __init__(self, module):
        self.module = module
        self.env = {**os.environ, "PGPASSFILE": module.params["passfile"], "PGCONNECT_TIMEOUT": "3"}

    def query(self, server, sql, fail=True):
        argv = ["psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h", server["host"],
                "-p", str(server.get("port", 5432)), "-U", server.get("user", "postgres"), "-d", "postgres", "-c", sql]
        done = subprocess.run(argv, capture_output=True, text=True, env=self.env, check=False, timeout=30)
        if done.returncode != 0:
            if fail:
                self.module.fail_json(msg=f"psql on {server['host']}: {done.stderr.strip()[-300:]}")
            return None
        return [line.split("|") for line in done.stdout.splitlines() if line]


def in_recovery(pg, server, fail=True):
    rows = pg.query(server, "SELECT pg_is_in_recovery()", fail=fail)
    return None if rows is None else rows[0][0] == "t"


def promoted(module, pg, server):
    began = time.monotonic()
    if not in_recovery(pg, server):
        return False, 0
    if module.check_mode:
        return True, 0
    pg.query(server, f"SELECT pg_promote(true, {int(module.params['timeout'])})")
    deadline = began + module.params["timeout"]
    while in_recovery(pg, server):
        if time.monotonic() > deadline:
            module.fail_json(msg=f"{server['host']} is still in recovery after {module.params['timeout']} s")
        time.sleep(0.1)
    return True, int((time.monotonic() - began) * 1000)


def conninfo(server, passfile, application_name):
    return (f"host={server['host']} port={server.get('port', 5432)} user={server.get('user', 'postgres')} "
            f"passfile={passfile} application_name={application_name} connect_timeout=3")


def rebuilt(module, pg, server):
    p = module.params
    if in_recovery(pg, server, fail=False):
        return False  # already a standby (a resumed drill)
    if pg.query(server, "SELECT 1", fail=False) is not None:
        module.fail_json(msg=f"{server['host']} runs as a primary: stop it before it is rebuilt")
    if module.check_mode:
        return True
    # PostgreSQL 15's pg_rewind reads the source's timeline from its last checkpoint: a standby
    # promoted moments ago still shows the old one until its first checkpoint is written.
    pg.query(p["source"], "CHECKPOINT")
    argv = ["runuser", "-u", p["os_user"], "--", os.path.join(p["bin_dir"], "pg_rewind"),
            "--target-pgdata", p["data_dir"],
            "--source-server", conninfo(p["source"], p["replication_passfile"], p["application_name"]),
            "--write-recovery-conf", "--no-sync", "--progress"]
    done = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=p["timeout"])
    if done.returncode != 0:
        module.fail_json(msg=f"pg_rewind: {done.stderr.strip()[-500:]}")
    drop_diverged_wal(module, done.stderr + done.stdout)
    return True


def drop_diverged_wal(module, output):
    """pg_rewind leaves the target's own WAL of the old timeline in pg_wal; recovery would
    replay it past the point where the source's new timeline forked, and wait there forever.
    The segments from the divergence on are removed: the source streams the old timeline up
    to the fork, then the new one."""
    found = re.search(r"diverged at WAL location ([0-9A-F]+)/([0-9A-F]+) on timeline (\d+)", output)
    if not found:
        return  # no rewind was needed
    lsn = (int(found.group(1), 16) << 32) | int(found.group(2), 16)
    timeline = int(found.group(3))
    control = subprocess.run(
        [os.path.join(module.params["bin_dir"], "pg_controldata"), module.params["data_dir"]],
        capture_output=True, text=True, check=True, timeout=30,
    ).stdout
    segment_size = int(re.search(r"Bytes per WAL segment:\s+(\d+)", control).group(1))
    per_xlogid = 0x100000000 // segment_size
    first = lsn // segment_size
    wal = os.path.join(module.params["data_dir"], "pg_wal")
    for name in os.listdir(wal):
        if re.fullmatch(r"[0-9A-F]{24}", name) and int(name[:8], 16) == timeline:
            segno = int(name[8:16], 16) * per_xlogid + int(name[16:24], 16)
            if segno >= first:
                os.unlink(os.path.join(wal, name))


def replication(pg, server, name):
    rows = pg.query(
        server,
        "SELECT state, sync_state, pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn)::bigint "
        f"FROM pg_stat_replication WHERE application_name = '{name}'",
        fail=False,
    )
    if not rows:
        return None
    state, sync_state, lag = rows[0]
    return state, sync_state, int(lag or 0)


def caught_up(module, pg, server):
    began = time.monotonic()
    deadline = began + module.params["timeout"]
    name = module.params["application_name"]
    while True:
        found = replication(pg, server, name)
        if found is not None and found[0] == "streaming" and found[2] == 0:
            return found[1], int((time.monotonic() - began) * 1000)
        if time.monotonic() > deadline:
            module.fail_json(msg=f"standby {name} has not caught up with {server['host']} in "
                                 f"{module.params['timeout']} s (replication: {found or 'not connected'})")
        time.sleep(0.2)


def mode(module, pg, server):
    wanted = module.params["application_name"] if module.params["replication"] == "synchronous" else ""
    rows = pg.query(server, "SHOW synchronous_standby_names")
    current = rows[0][0] if rows else ""  # psql prints nothing for an empty setting
    if current == wanted:
        return False
    if not module.check_mode:
        pg.query(server, f"ALTER SYSTEM SET synchronous_standby_names = '{wanted}'")
        pg.query(server, "SELECT pg_reload_conf()")
    return True


def main():
    module = AnsibleModule(
        argument_spec=dict(
            state=dict(type="str", required=True, choices=["promoted", "rebuilt", "caught_up", "mode", "status"]),
            replication=dict(type="str", default="asynchronous", choices=["synchronous", "asynchronous"]),
            server=dict(type="dict", required=True),
            passfile=dict(type="path", required=True, no_log=False),
            source=dict(type="dict", default={}),
            data_dir=dict(type="path", default=""),
            bin_dir=dict(type="path", default=""),
            os_user=dict(type="str", default="postgres"),
            replication_passfile=dict(type="path", default="", no_log=False),
            application_name=dict(type="str", default=""),
            timeout=dict(type="int", default=120),
        ),
        supports_check_mode=True,
    )
    pg = Pg(module)
    state = module.params["state"]
    server = module.params["server"]
    counts = {"promoted": 0, "rewound": 0, "lag_bytes": 0, "wait_ms": 0}
    changed, sync_state = False, ""
    if state == "promoted":
        changed, counts["wait_ms"] = promoted(module, pg, server)
        counts["promoted"] = int(changed)
    elif state == "rebuilt":
        changed = rebuilt(module, pg, server)
        counts["rewound"] = int(changed)
    elif state == "mode":
        changed = mode(module, pg, server)
    elif state == "caught_up":
        if not module.check_mode:
            sync_state, counts["wait_ms"] = caught_up(module, pg, server)
    else:
        found = replication(pg, server, module.params["application_name"])
        if found is not None:
            sync_state, counts["lag_bytes"] = found[1], found[2]
    module.exit_json(changed=changed, sync_state=sync_state, eendracht_counts=counts)


if __name__ == "__main__":
    main()
