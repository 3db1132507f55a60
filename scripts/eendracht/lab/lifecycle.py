"""`lab up`, `lab status`, `lab down`: start and seed the services, report on them, stop them."""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eendracht.environment.vault import VaultKey
from eendracht.lab import environment, fallback_site, postgres
from eendracht.lab.build import Progress, build, full_plan
from eendracht.lab.errors import LabError
from eendracht.lab.manifest import Manifest, fingerprint
from eendracht.lab.paths import LabPaths
from eendracht.lab.plan import REPLICATION_MODES, plan_lab
from eendracht.lab.procs import is_running, recorded
from eendracht.lab.running import refresh, teardown, wait_answering
from eendracht.lab.services import Service
from eendracht.programme.loader import load_programme
from eendracht.state import usable_state_root

SCALES = ("small", "full")
DEFAULT_SEED = 1795  # the Batavian Republic, whose motto was "Eendracht maakt macht"


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
    def environment(self) -> Path:
        return LabPaths(self.state).environment

    @property
    def all_answer(self) -> bool:
        """Every service answers; one at capacity 0 (on demand) only counts while it runs."""
        return bool(self.services) and all(
            s.running and s.answers for s in self.services if s.expected
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "state": str(self.state),
            "programme": self.programme,
            "scale": self.scale,
            "seed": self.seed,
            "changed": self.changed,
            "message": self.message,
            "up": self.all_answer,
            "environment": str(self.environment) if self.environment.is_dir() else None,
            "elapsed_seconds": round(self.elapsed, 2),
            "seeded": self.seeded,
            "services": [s.public() for s in self.services],
        }


def _quiet(_: str) -> None:
    return None


@contextlib.contextmanager
def locked(paths: LabPaths, timeout: float = 120.0) -> Iterator[None]:
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


def lab_up(
    programme_path: Path | str,
    scale: str = "small",
    state: Path | str | None = None,
    seed: int = DEFAULT_SEED,
    progress: Progress = _quiet,
    vault: VaultKey | None = None,
    fallback: str = "",
) -> LabInfo:
    """Start and seed the lab for a programme, or confirm the running one is the same.

    `vault` opens a programme's vaulted files (in memory only). `fallback` (synchronous or
    asynchronous) adds the fallback site; on a lab that has one it switches the mode.

    Raises ProblemsFound for a bad programme (nothing started) and LabError for anything the
    lab cannot do (a different lab already running, an address in use, a daemon that fails).
    """
    began = time.monotonic()
    if scale not in SCALES:
        raise LabError(f"scale must be one of {', '.join(SCALES)}, not {scale!r}")
    if fallback and fallback not in REPLICATION_MODES:
        raise LabError(
            f"--fallback must be one of {', '.join(REPLICATION_MODES)}, not {fallback!r}"
        )
    usable_state_root(state)  # StateRootError before anything is written
    programme = load_programme(programme_path, vault)
    paths = LabPaths.of(state)
    root = Path(programme.root).resolve()
    wanted = Manifest(
        programme=str(root),
        fingerprint=fingerprint(root),
        scale=scale,
        seed=seed,
        octet=0,
        started=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        fallback=fallback,
    )
    with locked(paths):
        current = Manifest.read(paths.manifest)
        if current is not None and not current.complete:
            progress("removing what a previous, unfinished `lab up` left")
            teardown(paths)
            current = None
        if current is not None and current.fallback and not fallback:
            wanted.fallback = current.fallback  # `up` without --fallback keeps the site it has
        if current is not None and not current.same_lab(wanted):
            raise LabError(
                f"a lab of {current.describe()} already runs in {paths.lab}; it is left as it "
                f"is. Stop it first with `eendracht lab down`, or use another EENDRACHT_STATE."
            )
        if current is not None:
            restarted = refresh(paths, current)
            wait_answering(paths, [s for s in current.services if s.expected])
            switched = bool(fallback) and fallback != current.fallback
            if switched:
                fallback_site.set_replication(
                    paths,
                    postgres.cluster(paths, "target", plan_lab(programme, current.octet).pg_target),
                    fallback,
                )
                current.fallback = fallback
            if restarted or switched:
                current.write(paths.manifest)
            if restarted:
                message = f"lab was up; restarted {len(restarted)}: {', '.join(restarted)}"
            elif switched:
                message = f"lab up for {current.describe()}: replication switched to {fallback}"
            else:
                message = f"lab already up for {current.describe()}: nothing changed"
            if switched or not paths.environment.exists() or not paths.details.exists():
                plan = full_plan(programme, current.octet, current.fallback)
                environment.write_environment(paths, plan, programme, scale, seed)
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
            teardown(paths)
        try:
            manifest, plan = build(programme, paths, wanted, progress)
            progress("the lab's environment: hosts, stack outputs, services")
            environment.write_environment(paths, plan, programme, scale, seed)
            manifest.complete = True
            manifest.write(paths.manifest)
        except BaseException:
            if not os.environ.get("EENDRACHT_LAB_KEEP_FAILED"):
                teardown(paths)
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
        leftovers = recorded(paths.pids)
        running = [r.name for r in leftovers if is_running(r)]
        message = "no lab" + (f" (but running: {', '.join(running)})" if running else "")
        return LabInfo(paths.state, "", "", 0, False, message)
    records = {r.name: r for r in recorded(paths.pids)}
    for s in manifest.services:
        rec = records.get(s.name)
        s.running = rec is not None and is_running(rec)
        s.pid = rec.pid if rec else None
        s.answers = s.running and s.check()
    down = [s.name for s in manifest.services if not (s.running and s.answers) and s.expected]
    if not manifest.complete:
        message = f"lab for {manifest.describe()} is unfinished: `lab up` again or `lab down`"
        for s in manifest.services:
            s.answers = False
    elif down:
        message = f"lab for {manifest.describe()}: not answering: {', '.join(down)}"
    else:
        message = f"lab up for {manifest.describe()}: {len(manifest.services)} services answer"
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
    with locked(paths):
        stopped = teardown(paths)
    paths.lock.unlink(missing_ok=True)
    return stopped
