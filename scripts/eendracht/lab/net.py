"""Loopback addresses for lab services: allocated per state root, and only ever loopback."""

from __future__ import annotations

import ipaddress
import socket
import zlib
from pathlib import Path

from eendracht.lab.errors import LabError

# Third octet per kind of service: 127.<lab>.<kind>.<n>.
KIND_OCTET = {
    "fileserver": 1,
    "directory": 2,
    "dns": 3,
    "database": 4,
    "application": 5,
    "national": 6,
    "target-application": 7,
}
FIRST_LAB_OCTET = 100
LAB_OCTETS = 100


def require_loopback(address: str) -> str:
    """The address, if it is an IPv4 loopback address; LabError for anything else."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        raise LabError(
            f"{address!r} is not an IP address; the lab listens on loopback only"
        ) from None
    if ip.version != 4 or not ip.is_loopback:
        raise LabError(f"{address} is not in 127.0.0.0/8; the lab refuses to listen on it")
    return str(ip)


def lab_octet(state: Path, attempt: int = 0) -> int:
    """A second octet derived from the state root, so labs in different states rarely collide."""
    base = zlib.crc32(str(state).encode()) % LAB_OCTETS
    return FIRST_LAB_OCTET + (base + attempt) % LAB_OCTETS


def address(octet: int, kind: str, n: int) -> str:
    if not 1 <= n <= 254:
        raise LabError(f"too many {kind} services for one lab ({n}); at most 254")
    return require_loopback(f"127.{octet}.{KIND_OCTET[kind]}.{n}")


def tcp_free(addr: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((require_loopback(addr), port))
        except OSError:
            return False
    return True


def udp_free(addr: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.bind((require_loopback(addr), port))
        except OSError:
            return False
    return True


def tcp_answers(addr: str, port: int, timeout: float = 1.0) -> bool:
    try:
        with socket.create_connection((addr, port), timeout=timeout):
            return True
    except OSError:
        return False
