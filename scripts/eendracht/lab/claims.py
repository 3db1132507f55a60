"""Claims on an address range (`127.<lab>.x.x`), so two labs starting at the same moment in
different states never pick the same range: a file per range under /run, naming its state."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterable
from pathlib import Path

from eendracht.lab import net
from eendracht.lab.errors import LabError

CLAIMS = Path("/run/eendracht-lab")


def _claim_file(octet: int) -> Path:
    return CLAIMS / f"127.{octet}"


def _holder(octet: int) -> Path | None:
    try:
        return Path(_claim_file(octet).read_text(encoding="utf-8").strip())
    except OSError:
        return None


def claim(octet: int, state: Path) -> bool:
    """Claim the range for this state; False if another live lab holds it."""
    CLAIMS.mkdir(mode=0o755, parents=True, exist_ok=True)
    path = _claim_file(octet)
    for _ in range(2):
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            holder = _holder(octet)
            if holder == state:
                return True
            if holder is not None and (holder / "lab").exists():
                return False
            with contextlib.suppress(FileNotFoundError):
                path.unlink()  # stale: its lab is gone
            continue
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(f"{state}\n")
        return True
    return False


def release(octet: int, state: Path) -> None:
    if _holder(octet) == state:
        with contextlib.suppress(FileNotFoundError):
            _claim_file(octet).unlink()


def claim_free(state: Path, listeners: Callable[[int], Iterable[tuple[str, int]]]) -> int:
    """The first lab range (second octet) for this state that is claimed for it and where
    every (address, TCP port) `listeners(octet)` names is free; LabError if none is."""
    for attempt in range(net.LAB_OCTETS):
        octet = net.lab_octet(state, attempt)
        if not claim(octet, state):
            continue
        if all(net.tcp_free(address, port) for address, port in listeners(octet)):
            return octet
        release(octet, state)
    raise LabError("no free range of loopback addresses for the lab (127.100-199.x.x all busy)")
