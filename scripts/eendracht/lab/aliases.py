"""Loopback aliases for daemons that only listen on interface addresses (BIND's named).

Linux delivers all of 127.0.0.0/8 to `lo`, so most daemons bind any 127.x.y.z directly. named
instead listens only on addresses it finds on an interface; the lab adds its address to `lo`
as a /32 (no routing changes: 127/8 is local already), records it, and removes it on `down`.
"""

from __future__ import annotations

import contextlib
import subprocess
from pathlib import Path

from eendracht.lab.errors import LabError
from eendracht.lab.net import require_loopback


def _present(address: str) -> bool:
    out = subprocess.run(
        ["ip", "-4", "-o", "addr", "show", "dev", "lo"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout
    return f" {address}/" in out


def add(address: str, record: Path) -> None:
    address = require_loopback(address)
    if _present(address):
        return
    done = subprocess.run(
        ["ip", "addr", "add", f"{address}/32", "dev", "lo"],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise LabError(
            f"cannot add {address}/32 to lo for named ({done.stderr.strip()}); "
            "the lab needs root (CAP_NET_ADMIN) for its DNS server"
        )
    with open(record, "a", encoding="utf-8") as fh:
        fh.write(address + "\n")


def remove_recorded(record: Path) -> list[str]:
    """Remove the aliases this lab added (and only those); returns them."""
    if not record.exists():
        return []
    removed = []
    for line in record.read_text(encoding="utf-8").split():
        with contextlib.suppress(LabError):
            address = require_loopback(line)
            subprocess.run(
                ["ip", "addr", "del", f"{address}/32", "dev", "lo"],
                capture_output=True,
                check=False,
            )
            removed.append(address)
    record.unlink()
    return removed
