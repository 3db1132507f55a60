"""Loopback addresses for lab services: allocated per state root, and only ever loopback."""

from __future__ import annotations

import ipaddress
import os
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
    "domain-controller": 8,
    "mail": 9,
    "fallback": 10,  # the fallback site (uitwijklocatie): 127.<lab>.10.<service>
    "traffic-manager": 11,
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


def _socket_inodes(pid: int) -> set[str]:
    inodes: set[str] = set()
    fd_dir = Path(f"/proc/{pid}/fd")
    try:
        entries = list(fd_dir.iterdir())
    except OSError:
        return inodes
    for fd in entries:
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    return inodes


def _decode(hex_address: str) -> str:
    addr_hex, port_hex = hex_address.split(":")
    raw = bytes.fromhex(addr_hex)
    if len(raw) == 4:
        ip: ipaddress.IPv4Address | ipaddress.IPv6Address = ipaddress.IPv4Address(raw[::-1])
    else:
        # /proc prints IPv6 as four little-endian 32-bit words.
        words = b"".join(raw[i : i + 4][::-1] for i in range(0, 16, 4))
        ip = ipaddress.IPv6Address(words)
    return f"{ip}:{int(port_hex, 16)}"


def listening(pids: list[int]) -> list[tuple[str, str]]:
    """(protocol, address:port) of every listening TCP or bound UDP socket of these pids."""
    inodes: set[str] = set().union(*(_socket_inodes(p) for p in pids)) if pids else set()
    out = []
    for proto, state in (("tcp", "0A"), ("tcp6", "0A"), ("udp", "07"), ("udp6", "07")):
        try:
            lines = Path(f"/proc/net/{proto}").read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if fields[3] == state and fields[9] in inodes:
                out.append((proto, _decode(fields[1])))
    return out


def outside_loopback(pids: list[int]) -> list[tuple[str, str]]:
    """Listeners of these pids that are not on an IPv4 loopback address (should be none)."""
    bad = []
    for proto, where in listening(pids):
        host = where.rsplit(":", 1)[0]
        if proto.endswith("6") or not ipaddress.ip_address(host).is_loopback:
            bad.append((proto, where))
    return bad
