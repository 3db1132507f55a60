"""Whether a host name or address is this machine's loopback (127.0.0.0/8, ::1, localhost):
what may be reached over plain HTTP and served without TLS."""

from __future__ import annotations

import ipaddress


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
