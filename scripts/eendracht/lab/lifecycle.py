"""`lab up`, `lab status`, `lab down`: start and seed the services, report on them, stop them."""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import os
import shutil
import signal
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eendracht.lab import aliases, apps, inventory, named, net, postgres, procs, slapd, sshd
from eendracht.lab.errors import LabError
from eendracht.lab.manifest import Manifest, fingerprint
from eendracht.lab.paths import LabPaths
from eendracht.lab.people import LabPerson, colliding_names, lab_people
from eendracht.lab.plan import DNS_PORT, HUB_PORT, TARGET, TARGET_FILES, LabPlan, plan_lab
from eendracht.lab.residents import residents
from eendracht.lab.services import Service
from eendracht.lab.sharetree import TreeFigures, budgets, seed_share, share_root
from eendracht.programme import models as m
from eendracht.programme.loader import load_programme

SCALES = ("small", "full")
DEFAULT_SEED = 1795  # the year the Batavian Republic merged the provinces: eendracht
START_TIMEOUT = 60.0
ALIASES_FILE = "loopback-aliases"
HTTP_PREFIXES = ("app-", "target-app-", "national-", "integration-hub")
Progress = Callable[[str], None]


@dataclass
class LabInfo:
    state: Path
    programme: str
    scale: str
    seed: int
    changed: bool
    message: str
    services: list[Service] = field(default_factory=list)
    seeded: dict[str, Any] = field(default_factory=dict)
    elapsed: float = 0.0

    @property
    def lab(self) -> Path:
        return self.state / "lab"

    @property
    def inventory(self) -> Path:
        return LabPaths(self.state).inventory

    @property
    def outputs(self) -> Path:
        return LabPaths(self.state).outputs

    @property
    def all_answer(self) -> bool:
        return bool(self.services) and all(s.running and s.answers for s in self.services)

    def to_json(self) -> dict[str, Any]:
        return {
            "state": str(self.state),
            "programme": self.programme,
            "scale": self.scale,
            "seed": self.seed,
            "changed": self.changed,
            "message": self.message,
            "up": self.all_answer,
            "inventory": str(self.inventory),
            "outputs": str(self.outputs),
            "elapsed_seconds": round(self.elapsed, 2),
            "seeded": self.seeded,
            "services": [s.public() for s in self.services],
        }


def _quiet(_: str) -> None:
    return None


@contextlib.contextmanager
def _locked(paths: LabPaths, timeout: float = 120.0) -> Iterator[None]:
    """One lab command at a time per state root."""
    paths.state.mkdir(parents=True, exist_ok=True)
    with open(paths.lock, "w") as fh:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise LabError(f"another lab command holds {paths.lock}") from None
                time.sleep(0.2)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


# --- planning ----------------------------------------------------------------------


def _free_plan(programme: m.Programme, paths: LabPaths) -> LabPlan:
    for attempt in range(net.LAB_OCTETS):
        plan = plan_lab(programme, net.lab_octet(paths.state, attempt))
        listeners = plan.listeners()
        free = all(
            (net.udp_free if proto == "udp" else net.tcp_free)(addr, port)
            for _, addr, port, proto in listeners
        )
        if free:
            return plan
    raise LabError("no free range of loopback addresses for the lab (127.100-199.x.x all busy)")


def _services(paths: LabPaths, plan: LabPlan, programme: m.Programme) -> list[Service]:
    """Every daemon except the HTTP ones (those need their databases first)."""
    out = []
    for f in plan.fileservers:
        config = sshd.host_dir(paths, f) / "sshd_config"
        out.append(
            Service(
                f"sshd-{f.host}",
                "fileserver",
                f.address,
                f.port,
                sshd.argv(config),
                credentials_file=str(paths.private_key),
            )
        )
    for d in plan.directories.values():
        config = slapd.folder(paths, d) / "slapd.conf"
        out.append(
            Service(
                f"slapd-{d.name}",
                "directory",
                d.address,
                d.port,
                slapd.argv(d, config),
                credentials_file=str(slapd.password_file(paths, d)),
                probe={"uri": d.uri, "bind_dn": d.bind_dn, "base_dn": d.suffix},
            )
        )
    out.append(
        Service(
            "named",
            "dns",
            plan.dns_address,
            DNS_PORT,
            named.argv(paths.dns / "named.conf"),
            credentials_file=str(named.tsig_key_file(paths)),
            probe={"zone": programme.settings.organisation.mail_domain},
        )
    )
    for side, address in (("source", plan.pg_source), ("target", plan.pg_target)):
        c = postgres.cluster(paths, side, address)
        out.append(
            Service(
                f"postgres-{side}",
                "database",
                c.address,
                c.port,
                postgres.argv(c),
                credentials_file=str(postgres.password_file(paths)),
                user=postgres.PG_USER,
            )
        )
    return out


def _http_services(
    paths: LabPaths, configs: list[tuple[str, Path]], plan: LabPlan
) -> list[Service]:
    where: dict[str, tuple[str, int, str]] = {}
    for n in plan.national:
        where[f"national-{n.name}"] = (n.address, n.port, "national")
    for a in plan.apps:
        where[f"app-{a.municipality}-{a.name}"] = (a.address, a.port, "application")
    for a in plan.target_apps:
        where[f"target-app-{a.municipality}-{a.name}"] = (a.address, a.port, "target-application")
    where["integration-hub"] = (plan.hub_address, HUB_PORT, "hub")
    out = []
    for name, config in configs:
        address, port, kind = where[name]
        out.append(
            Service(
                name,
                kind,
                address,
                port,
                apps.argv(config),
                probe={"url": f"http://{address}:{port}/health", "config": str(config)},
            )
        )
    return out


# --- starting ----------------------------------------------------------------------


def _spawn(paths: LabPaths, service: Service) -> None:
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


def _wait_answering(
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


def _seed_files(
    paths: LabPaths,
    plan: LabPlan,
    programme: m.Programme,
    people: dict[str, list[LabPerson]],
    scale: str,
    seed: int,
) -> dict[str, Any]:
    total = TreeFigures()
    per_share: dict[str, int] = {}
    every_share = [s for mu in programme.municipalities.values() for s in mu.shares]
    share_budgets = budgets(every_share, scale)
    for f in plan.fileservers:
        root = paths.host_root(f.host)
        root.mkdir(parents=True, exist_ok=True)
        if f.host == TARGET_FILES:
            inventory.target_share_root(paths).mkdir(parents=True, exist_ok=True)
            continue
        muni = programme.municipalities[f.group]
        for share in muni.shares:
            if share.server != f.host:
                continue
            gid = (
                20001 + muni.info.departments.index(share.department)
                if share.department in muni.info.departments
                else 20001
            )
            figures = seed_share(
                share_root(root, share),
                share,
                people[f.group],
                share_budgets[(share.server, share.name)],
                seed,
                gid,
            )
            per_share[f"{f.group}/{share.name}"] = figures.files
            total.add(figures)
    return {
        "files": total.files,
        "bytes": total.bytes,
        "directories": total.directories,
        "symlinks": total.symlinks,
        "hardlinks": total.hardlinks,
        "empty_files": total.empty,
        "files_per_share": per_share,
        "deepest_paths": total.paths,
    }


def _fresh(
    programme: m.Programme, paths: LabPaths, wanted: Manifest, progress: Progress
) -> tuple[Manifest, LabPlan]:
    scale, seed = wanted.scale, wanted.seed
    postgres.require_traversable(paths.state)
    plan = _free_plan(programme, paths)
    wanted.octet = plan.octet
    for d in (paths.lab, paths.pids, paths.logs):
        d.mkdir(parents=True, exist_ok=True)
    paths.lab.chmod(0o755)
    people = lab_people(programme, scale, seed)
    inhabitants = {n: mu.info.inhabitants for n, mu in programme.municipalities.items()}
    resident_lists = {n: residents(mu, scale, seed) for n, mu in programme.municipalities.items()}

    with ThreadPoolExecutor(max_workers=2) as pool:
        # initdb is the slowest step; it runs while the file trees and directories are seeded.
        pg_source = postgres.cluster(paths, "source", plan.pg_source)
        pg_target = postgres.cluster(paths, "target", plan.pg_target)
        pg_ready = pool.submit(postgres.prepare, paths, pg_source, pg_target)
        progress("keys and sshd configurations")
        sshd.ensure_client_key(paths)
        for f in plan.fileservers:
            sshd.prepare(paths, f)
        progress("share trees")
        files = _seed_files(paths, plan, programme, people, scale, seed)
        progress("directories")
        for name, directory in plan.directories.items():
            if name == TARGET:
                slapd.prepare(paths, directory, [], [])
            else:
                departments = programme.municipalities[name].info.departments
                slapd.prepare(paths, directory, people[name], list(departments))
        progress("DNS zones")
        serial = int(dt.date.today().strftime("%Y%m%d")) * 100 + 1
        named.prepare(paths, plan.zones, plan.dns_address, serial)
        pg_ready.result()

    daemons = _services(paths, plan, programme)
    wanted.services = daemons
    wanted.write(paths.manifest)  # before starting: `down` can always find what was meant
    progress("starting sshd, slapd, named, postgres")
    aliases.add(plan.dns_address, paths.lab / ALIASES_FILE)
    for s in daemons:
        _spawn(paths, s)
    wanted.write(paths.manifest)
    _wait_answering(paths, [s for s in daemons if s.kind == "database"])

    progress("application databases")
    databases: dict[str, dict[str, int]] = {}
    for app in plan.apps:
        for db in app.databases:
            name = postgres.source_db_name(app.municipality, db)
            databases[name] = postgres.seed_database(
                paths, pg_source, app, name, resident_lists[app.municipality], scale, seed
            )
    configs = apps.write_configs(paths, plan, resident_lists, inhabitants)
    http = _http_services(paths, configs, plan)
    wanted.services = daemons + http
    progress("application and national-service processes")
    for s in http:
        _spawn(paths, s)
    wanted.write(paths.manifest)
    _wait_answering(paths, wanted.services)
    stray = net.outside_loopback([s.pid for s in wanted.services if s.pid])
    if stray:
        listed = ", ".join(f"{proto} {where}" for proto, where in stray)
        raise LabError(f"a lab daemon listens outside 127.0.0.0/8 ({listed}); refused")

    wanted.seeded = {
        "people": {n: len(ps) for n, ps in people.items()},
        "disabled_accounts": {n: sum(not p.enabled for p in ps) for n, ps in people.items()},
        "colliding_names": colliding_names(people),
        "groups": {n: len({p.department for p in ps}) for n, ps in people.items()},
        "residents": {n: len(rs) for n, rs in resident_lists.items()},
        "shares": files,
        "zones": {z.name: len(z.records) for z in plan.zones},
        "databases": databases,
    }
    return wanted, plan


def _teardown(paths: LabPaths) -> list[str]:
    records = procs.recorded(paths.pids)
    # HTTP services first (they call the others); PostgreSQL with a fast shutdown (SIGINT).
    http = [r for r in records if r.name.startswith(HTTP_PREFIXES)]
    pg = [r for r in records if r.name.startswith("postgres-")]
    rest = [r for r in records if r not in http and r not in pg]
    stopped = procs.stop_all(http, paths.pids)
    stopped += procs.stop_all(pg, paths.pids, sig=signal.SIGINT)
    stopped += procs.stop_all(rest, paths.pids)
    aliases.remove_recorded(paths.lab / ALIASES_FILE)
    if paths.lab.exists():
        shutil.rmtree(paths.lab)
    return stopped


def _refresh(paths: LabPaths, manifest: Manifest) -> list[str]:
    """Start again whatever service of the manifest is not running; returns their names."""
    records = {r.name: r for r in procs.recorded(paths.pids)}
    restarted = []
    for s in manifest.services:
        rec = records.get(s.name)
        if rec is not None and procs.is_running(rec):
            s.pid, s.running = rec.pid, True
            continue
        _spawn(paths, s)
        restarted.append(s.name)
    return restarted


def lab_up(
    programme_path: Path | str,
    scale: str = "small",
    state: Path | str | None = None,
    seed: int = DEFAULT_SEED,
    progress: Progress = _quiet,
) -> LabInfo:
    """Start and seed the lab for a programme, or confirm the running one is the same.

    Raises ProblemsFound for a bad programme (nothing started) and LabError for anything the
    lab cannot do (a different lab already running, an address in use, a daemon that fails).
    """
    began = time.monotonic()
    if scale not in SCALES:
        raise LabError(f"scale must be one of {', '.join(SCALES)}, not {scale!r}")
    programme = load_programme(programme_path)
    paths = LabPaths.of(state)
    root = Path(programme.root).resolve()
    wanted = Manifest(
        programme=str(root),
        fingerprint=fingerprint(root),
        scale=scale,
        seed=seed,
        octet=0,
        started=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    )
    with _locked(paths):
        current = Manifest.read(paths.manifest)
        if current is not None and not current.same_lab(wanted):
            raise LabError(
                f"a lab of {current.describe()} already runs in {paths.lab}; it is left as it "
                f"is. Stop it first with `eendracht lab down`, or use another EENDRACHT_STATE."
            )
        if current is not None:
            restarted = _refresh(paths, current)
            _wait_answering(paths, current.services)
            if restarted:
                current.write(paths.manifest)
                message = f"lab was up; restarted {len(restarted)}: {', '.join(restarted)}"
            else:
                message = f"lab already up for {current.describe()}: nothing changed"
            if not paths.outputs.exists() or not paths.inventory.exists():
                plan = plan_lab(programme, current.octet)
                inventory.write_inventory(paths, plan, programme)
                inventory.write_outputs(
                    paths.outputs, inventory.outputs(paths, plan, programme, scale, seed)
                )
            return LabInfo(
                paths.state,
                current.programme,
                scale,
                seed,
                bool(restarted),
                message,
                current.services,
                current.seeded,
                time.monotonic() - began,
            )
        if paths.lab.exists():
            progress("removing what a previous, unfinished `lab up` left")
            _teardown(paths)
        try:
            manifest, plan = _fresh(programme, paths, wanted, progress)
            progress("inventory and outputs")
            inventory.write_inventory(paths, plan, programme)
            inventory.write_outputs(
                paths.outputs, inventory.outputs(paths, plan, programme, scale, seed)
            )
            manifest.write(paths.manifest)
        except BaseException:
            if not os.environ.get("EENDRACHT_LAB_KEEP_FAILED"):
                _teardown(paths)
            raise
    elapsed = time.monotonic() - began
    return LabInfo(
        paths.state,
        manifest.programme,
        scale,
        seed,
        True,
        f"lab up for {manifest.describe()} in {elapsed:.1f} s",
        manifest.services,
        manifest.seeded,
        elapsed,
    )


def lab_status(state: Path | str | None = None) -> LabInfo:
    """What the manifest says runs, whether each process runs and answers. Changes nothing."""
    paths = LabPaths.of(state)
    manifest = Manifest.read(paths.manifest)
    if manifest is None:
        leftovers = procs.recorded(paths.pids)
        running = [r.name for r in leftovers if procs.is_running(r)]
        message = "no lab" + (f" (but running: {', '.join(running)})" if running else "")
        return LabInfo(paths.state, "", "", 0, False, message)
    records = {r.name: r for r in procs.recorded(paths.pids)}
    for s in manifest.services:
        rec = records.get(s.name)
        s.running = rec is not None and procs.is_running(rec)
        s.pid = rec.pid if rec else None
        s.answers = s.running and s.check()
    down = [s.name for s in manifest.services if not (s.running and s.answers)]
    message = (
        f"lab up for {manifest.describe()}: {len(manifest.services)} services answer"
        if not down
        else f"lab for {manifest.describe()}: not answering: {', '.join(down)}"
    )
    return LabInfo(
        paths.state,
        manifest.programme,
        manifest.scale,
        manifest.seed,
        False,
        message,
        manifest.services,
        manifest.seeded,
    )


def lab_down(state: Path | str | None = None) -> list[str]:
    """Stop every recorded process (by pid), wait until gone, remove `<state>/lab/`."""
    paths = LabPaths.of(state)
    with _locked(paths):
        stopped = _teardown(paths)
    paths.lock.unlink(missing_ok=True)
    return stopped
