"""Does a lab service answer? Each probe speaks the service's own protocol."""

from __future__ import annotations

import json
import random
import socket
import struct
import subprocess
import urllib.error
import urllib.request
from pathlib import Path

from eendracht.lab import dovecot, samba, samba_run
from eendracht.lab.net import require_loopback


def replicator_answers(status_file: Path) -> tuple[bool, str]:
    """The file replication's last round succeeded (its status file, written each round)."""
    try:
        status = json.loads(status_file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False, "no round yet"
    if status.get("error"):
        return False, str(status["error"])[:200]
    return status.get("last_ok") is not None, f"{status.get('rounds', 0)} rounds"


def ssh_answers(address: str, port: int) -> bool:
    try:
        with socket.create_connection((require_loopback(address), port), timeout=1.0) as s:
            return s.recv(64).startswith(b"SSH-2.0-")
    except OSError:
        return False


def ldap_answers(uri: str, bind_dn: str, password_file: Path) -> bool:
    done = subprocess.run(
        [
            "ldapwhoami",
            "-x",
            "-H",
            uri,
            "-D",
            bind_dn,
            "-y",
            str(password_file),
            "-o",
            "nettimeout=2",
        ],
        capture_output=True,
        check=False,
        timeout=5,
    )
    return done.returncode == 0


def _dns_query(zone: str) -> bytes:
    qid = random.randrange(65536)
    header = struct.pack(">HHHHHH", qid, 0x0000, 1, 0, 0, 0)
    qname = b"".join(bytes([len(p)]) + p.encode() for p in zone.rstrip(".").split(".")) + b"\0"
    return header + qname + struct.pack(">HH", 6, 1)  # SOA, IN


def dns_answers(address: str, port: int, zone: str) -> bool:
    """An authoritative answer (AA set, NOERROR) for the zone's SOA over UDP."""
    query = _dns_query(zone)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(1.0)
        try:
            s.sendto(query, (require_loopback(address), port))
            reply = s.recv(4096)
        except OSError:
            return False
    if len(reply) < 12 or reply[:2] != query[:2]:
        return False
    flags = struct.unpack(">H", reply[2:4])[0]
    return bool(flags & 0x0400) and flags & 0x000F == 0


def postgres_answers(address: str, port: int) -> bool:
    done = subprocess.run(
        ["pg_isready", "-q", "-h", require_loopback(address), "-p", str(port), "-t", "2"],
        capture_output=True,
        check=False,
        timeout=5,
    )
    return done.returncode == 0


def http_status(url: str) -> int | None:
    """The HTTP status of a GET (any status means the service answers), None if no answer."""
    try:
        with urllib.request.urlopen(url, timeout=3.0) as resp:
            return int(resp.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)
    except (urllib.error.URLError, OSError):
        return None


def domain_controller_answers(address: str, probe: dict[str, str]) -> bool:
    """An AD DC answers when an LDAPS bind as its Administrator is accepted."""
    domain = samba.Domain(
        probe["realm"], probe["netbios"], probe["host_name"], require_loopback(address),
        Path(probe["directory"]),
    )  # fmt: skip
    return samba_run.answers(domain)


def imap_answers(name: str, address: str, probe: dict[str, str]) -> bool:
    """An IMAP server answers when a LOGIN over IMAPS as its first mailbox is accepted."""
    if not probe.get("account"):
        return False
    user = dovecot.MailUser(probe["account"], "", "")
    server = dovecot.MailServer(
        name.removeprefix("imap-"), require_loopback(address), Path(probe["root"]), (user,)
    )
    return dovecot.answers(server)
