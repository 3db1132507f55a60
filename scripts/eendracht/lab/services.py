"""The services of a running lab as the manifest records them, and whether each one answers."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from eendracht.lab import probes


@dataclass
class Service:
    name: str  # also the name of its pid record
    kind: str  # fileserver, directory, domain-controller, dns, database, mail, application, ...
    address: str
    port: int
    argv: list[str]
    credentials_file: str = ""  # a file holding the secret; the secret itself is never shown
    probe: dict[str, str] = field(default_factory=dict)
    user: str = ""  # run as this OS user (PostgreSQL), else root
    pid: int | None = None
    running: bool = False
    answers: bool = False
    detail: str = ""  # e.g. the HTTP status of a health endpoint (503: database not there yet)
    # At capacity 0 until a failover starts it (the fallback site's applications and hub):
    # `lab up` neither starts nor waits for it, and it counts only while it runs.
    on_demand: bool = False

    @property
    def expected(self) -> bool:
        """Whether it should answer now: always, or while it runs if it is on demand."""
        return self.running or not self.on_demand

    def check(self) -> bool:
        p = self.probe
        if self.kind == "fileserver":
            ok = probes.ssh_answers(self.address, self.port)
        elif self.kind == "directory":
            ok = probes.ldap_answers(p["uri"], p["bind_dn"], Path(self.credentials_file))
        elif self.kind == "dns":
            ok = probes.dns_answers(self.address, self.port, p["zone"])
        elif self.kind == "database":
            ok = probes.postgres_answers(self.address, self.port)
        elif self.kind == "domain-controller":
            ok = probes.domain_controller_answers(self.address, p)
        elif self.kind == "mail":
            ok = probes.imap_answers(self.name, self.address, p)
        elif self.kind == "replicator":
            ok, self.detail = probes.replicator_answers(Path(p["status_file"]))
        else:
            status = probes.http_status(p["url"])
            ok = status is not None
            self.detail = f"HTTP {status}" if ok else ""
        self.answers = ok
        return ok

    def public(self) -> dict[str, Any]:
        """What `--json` shows: where it is and which file holds its credentials."""
        body = asdict(self)
        del body["argv"], body["user"]
        return body

    @classmethod
    def from_json(cls, body: dict[str, Any]) -> Service:
        keep = {k: v for k, v in body.items() if k in cls.__dataclass_fields__}
        return cls(**keep)
