"""How the lab takes a site's services down and brings them up: the lab's own answer to the
environment's `fallback.control` commands (a real environment names systemctl or `az vm`).

`python -m eendracht.lab.site_control --state S ACTION SITE GROUP`

- outage: every process of the group is killed (SIGKILL, no clean shutdown), as a power cut
  or a lost region leaves it;
- stop: a clean stop (PostgreSQL's fast shutdown: the standby receives the last WAL);
- start: started from the lab's manifest, then waited for until it answers.

Exit 0 when done, 1 with one line on standard error otherwise.
"""

from __future__ import annotations

import argparse
import signal
import sys

from eendracht.environment.fallback import GROUPS, SITES
from eendracht.lab import procs
from eendracht.lab.errors import LabError
from eendracht.lab.lifecycle import locked
from eendracht.lab.manifest import Manifest
from eendracht.lab.paths import LabPaths
from eendracht.lab.plan import FALLBACK_DB, FALLBACK_FILES, TARGET_DB, TARGET_FILES
from eendracht.lab.running import spawn, wait_answering
from eendracht.lab.services import Service

ACTIONS = ("outage", "stop", "start")


def members(site: str, group: str, services: list[Service]) -> list[Service]:
    """The lab services of a site's group, in start order."""
    names = {s.name for s in services}
    if site == "primary":
        wanted = {
            "infrastructure": [f"sshd-{TARGET_FILES}", f"sshd-{TARGET_DB}", "samba-target"],
            "database": ["postgres-target"],
            "applications": [s.name for s in services if s.name.startswith("target-app-")]
            + ["integration-hub"],
            "replication": [],
        }
    else:
        wanted = {
            "infrastructure": [f"sshd-{FALLBACK_FILES}", f"sshd-{FALLBACK_DB}", "samba-fallback"],
            "database": ["postgres-fallback"],
            "applications": [s.name for s in services if s.name.startswith("fallback-app-")]
            + ["fallback-hub"],
            "replication": ["file-replication"],
        }
    order = ["infrastructure", "database", "replication", "applications"]
    chosen = order if group == "all" else [group]
    by_name = {s.name: s for s in services}
    return [by_name[n] for g in chosen for n in wanted[g] if n in names]


def control(paths: LabPaths, action: str, site: str, group: str) -> list[str]:
    """Does it; returns the names of the services acted on."""
    with locked(paths):
        manifest = Manifest.read(paths.manifest)
        if manifest is None or not manifest.complete or not manifest.fallback:
            raise LabError(f"no lab with a fallback site in {paths.lab}")
        chosen = members(site, group, manifest.services)
        if action == "start":
            records = {r.name: r for r in procs.recorded(paths.pids)}
            for s in chosen:
                rec = records.get(s.name)
                if rec is None or not procs.is_running(rec):
                    spawn(paths, s)
            wait_answering(paths, chosen)
            manifest.write(paths.manifest)
            return [s.name for s in chosen]
        records = {r.name: r for r in procs.recorded(paths.pids)}
        targets = [records[s.name] for s in reversed(chosen) if s.name in records]
        if action == "outage":
            procs.stop_all(targets, paths.pids, sig=signal.SIGKILL, timeout=5.0)
        else:
            for rec in targets:  # one after the other: the applications before the database
                sig = signal.SIGINT if rec.name.startswith("postgres-") else signal.SIGTERM
                procs.stop_all([rec], paths.pids, sig=sig, timeout=30.0)
        return [s.name for s in chosen]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="eendracht.lab.site_control")
    parser.add_argument("--state", required=True)
    parser.add_argument("action", choices=ACTIONS)
    parser.add_argument("site", choices=SITES)
    parser.add_argument("group", choices=GROUPS)
    args = parser.parse_args(argv)
    try:
        done = control(LabPaths.of(args.state), args.action, args.site, args.group)
    except LabError as exc:
        print(f"site control: {exc}", file=sys.stderr)
        return 1
    print(f"{args.action} {args.site} {args.group}: {', '.join(done) or 'nothing'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
