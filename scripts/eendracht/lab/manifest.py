"""The manifest: which programme, scale and seed a lab was built from, and what it runs.

A second `up` compares against it (same: nothing to do; different: refused), and `status`
and `down` work from it and the pid records alone, without the programme.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from eendracht.lab.services import Service


def fingerprint(programme_root: Path) -> str:
    """A digest of every file of the programme folder (names and contents)."""
    digest = hashlib.sha256()
    for path in sorted(p for p in programme_root.rglob("*") if p.is_file()):
        digest.update(str(path.relative_to(programme_root)).encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


@dataclass
class Manifest:
    programme: str
    fingerprint: str
    scale: str
    seed: int
    octet: int
    started: str
    services: list[Service] = field(default_factory=list)
    seeded: dict[str, Any] = field(default_factory=dict)
    complete: bool = False  # set once every service answered and outputs were written
    fallback: str = ""  # the fallback site's replication mode; "" when the lab has none

    def same_lab(self, other: Manifest) -> bool:
        """Same programme, scale, seed and whether it has a fallback site (its replication
        mode may change on a running lab)."""
        return (self.programme, self.fingerprint, self.scale, self.seed, bool(self.fallback)) == (
            other.programme,
            other.fingerprint,
            other.scale,
            other.seed,
            bool(other.fallback),
        )

    def describe(self) -> str:
        site = f", fallback site {self.fallback}" if self.fallback else ""
        return f"{self.programme} (scale {self.scale}, seed {self.seed}{site})"

    def write(self, path: Path) -> None:
        body = asdict(self)
        body["services"] = [asdict(s) for s in self.services]
        path.write_text(json.dumps(body, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")

    @classmethod
    def read(cls, path: Path) -> Manifest | None:
        if not path.exists():
            return None
        body = json.loads(path.read_text(encoding="utf-8"))
        body["services"] = [Service.from_json(s) for s in body.get("services", [])]
        return cls(**body)
