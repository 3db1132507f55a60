"""Which journals of a programme are under a state root, each with a stable URL key.

- `<state>/waves/<environment>/<programme>/<municipality>/journal.sqlite`: a wave (and its
  rollbacks and check runs) against an environment;
- `<state>/lab/waves/<programme>/<municipality>/journal.sqlite`: a wave on the lab, also the
  one a rehearsal is running;
- `<state>/rehearsals/<programme>-<municipality>-<stamp>/journal.sqlite`: a rehearsal kept.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from eendracht.wave.paths import JOURNAL, environments_waves, lab_waves, rehearsals_dir

_STAMP = re.compile(r"-(\d{8}T\d{6}Z)$")
_SAFE = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass(frozen=True)
class Source:
    key: str  # the page's URL path below /wave/
    kind: str  # wave | lab | rehearsal
    environment: str  # the environment's name, "lab", or the rehearsal's stamp
    municipality: str
    journal: Path

    @property
    def folder(self) -> Path:
        return self.journal.parent


def _key(*parts: str) -> str:
    return "/".join(_SAFE.sub("_", p) for p in parts)


def find_sources(state: Path, programme: str, municipalities: set[str]) -> list[Source]:
    """Every journal of `programme` under `state`, in a stable order (waves, lab, rehearsals
    newest first). Only municipalities of the programme are served."""
    out: list[Source] = []
    waves = environments_waves(state)
    if waves.is_dir():
        for env in sorted(p for p in waves.iterdir() if p.is_dir()):
            for muni in sorted((env / programme).glob(f"*/{JOURNAL}")):
                name = muni.parent.name
                if name in municipalities:
                    out.append(Source(_key("w", env.name, name), "wave", env.name, name, muni))
    for muni in sorted((lab_waves(state) / programme).glob(f"*/{JOURNAL}")):
        name = muni.parent.name
        if name in municipalities:
            out.append(Source(_key("lab", name), "lab", "lab", name, muni))
    rehearsals = rehearsals_dir(state)
    if rehearsals.is_dir():
        folders = sorted(rehearsals.glob(f"{programme}-*/{JOURNAL}"), reverse=True)
        for journal in folders:
            folder = journal.parent.name
            stamp = _STAMP.search(folder)
            name = folder[len(programme) + 1 : stamp.start()] if stamp else ""
            if stamp and name in municipalities:
                out.append(Source(_key("r", folder), "rehearsal", stamp.group(1), name, journal))
    return out
