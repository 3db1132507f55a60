"""Running lab processes: start one, wait until all answer, start again what died, stop all."""

from __future__ import annotations

import shutil
import signal
import time

from eendracht.lab import aliases, claims, net, procs
from eendracht.lab.errors import LabError
from eendracht.lab.manifest import Manifest
from eendracht.lab.paths import LabPaths
from eendracht.lab.services import Service
from eendracht.module_utils import thaw_tree

START_TIMEOUT = 60.0
ALIASES_FILE = "loopback-aliases"
HTTP_PREFIXES = (
    "app-", "target-app-", "national-", "integration-hub", "fallback-app-", "fallback-hub",
    "file-replication",
)  # fmt: skip


def spawn(paths: LabPaths, service: Service) -> None:
    net.require_loopback(service.address)
    rec = procs.spawn(
        service.name,
        service.argv,
        paths.pids,
        paths.logs / f"{service.name}.log",
        user=service.user or None,
        cwd=paths.lab,
    )
    service.pid = rec.pid
    service.running = True


def _log_tail(paths: LabPaths, name: str) -> str:
    log = paths.logs / f"{name}.log"
    try:
        lines = log.read_text(errors="replace").strip().splitlines()[-3:]
    except OSError:
        return ""
    return " | ".join(lines)


def wait_answering(
    paths: LabPaths, services: list[Service], timeout: float = START_TIMEOUT
) -> None:
    records = {r.name: r for r in procs.recorded(paths.pids)}
    pending = list(services)
    deadline = time.monotonic() + timeout
    delay = 0.05
    while pending:
        for s in list(pending):
            rec = records.get(s.name)
            if rec is None or not procs.is_running(rec):
                s.running = False
                raise LabError(f"{s.name} stopped while starting: {_log_tail(paths, s.name)}")
            if s.check():
                pending.remove(s)
        if not pending:
            return
        if time.monotonic() > deadline:
            names = ", ".join(s.name for s in pending)
            raise LabError(f"no answer within {timeout:.0f} s from: {names}")
        time.sleep(delay)
        delay = min(0.5, delay * 1.5)


def teardown(paths: LabPaths) -> list[str]:
    records = procs.recorded(paths.pids)
    # HTTP services first (they call the others); PostgreSQL with a fast shutdown (SIGINT).
    http = [r for r in records if r.name.startswith(HTTP_PREFIXES)]
    pg = [r for r in records if r.name.startswith("postgres-")]
    rest = [r for r in records if r not in http and r not in pg]
    stopped = procs.stop_all(http, paths.pids)
    stopped += procs.stop_all(pg, paths.pids, sig=signal.SIGINT)
    stopped += procs.stop_all(rest, paths.pids)
    aliases.remove_recorded(paths.lab / ALIASES_FILE)
    manifest = Manifest.read(paths.manifest)
    if manifest is not None and manifest.octet:
        claims.release(manifest.octet, paths.state)
    if paths.lab.exists():
        try:
            shutil.rmtree(paths.lab)
        except PermissionError:
            thaw_tree(paths.lab)  # a frozen share the migration did not thaw
            shutil.rmtree(paths.lab)
    return stopped


def refresh(paths: LabPaths, manifest: Manifest) -> list[str]:
    """Start again whatever service of the manifest is not running; returns their names."""
    records = {r.name: r for r in procs.recorded(paths.pids)}
    restarted = []
    for s in manifest.services:
        rec = records.get(s.name)
        if rec is not None and procs.is_running(rec):
            s.pid, s.running = rec.pid, True
            continue
        if s.on_demand:
            s.running = False
            continue
        spawn(paths, s)
        restarted.append(s.name)
    return restarted
