"""Running a lab DC: start it like the lab's other daemons, wait for LDAPS, stop all it forked.

Samba's root process forks smbd and winbindd (through "tfork waiter" processes), and they fork
their own helpers; all of them stay in the session `procs.spawn` opens, so stopping kills
the recorded pid, its descendants, and whatever is still left in that session.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from eendracht.lab import procs
from eendracht.lab.errors import LabError
from eendracht.lab.samba import RUN_SAMBA, Domain

SAMBA = "/usr/sbin/samba"
SERVICE = "samba-dc"
LOG_SAMBA = "/var/log/samba"
PORTS = {"ldap": 389, "ldaps": 636, "kerberos": 88, "dns": 53, "kpasswd": 464, "smb": 445}


@dataclass(frozen=True)
class Running:
    pid: int
    seconds: float  # from spawn until LDAPS answered a bind


@dataclass(frozen=True)
class Memory:
    processes: int
    rss_kib: int  # summed RSS: counts shared pages once per process
    pss_kib: int  # summed proportional set size: the memory the DC really costs


@dataclass(frozen=True)
class ClientFiles:
    krb5_conf: Path
    ca_cert: Path
    admin_password_file: Path


def argv(domain: Domain) -> list[str]:
    """samba in a mount namespace of its own, where the DC's run/ is /run/samba (see
    smb_conf_text) and its log/ is /var/log/samba (samba-dcerpcd, which smbd starts on
    demand, logs there whatever smb.conf says); unshare and sh exec, so the recorded pid is
    samba's. Single process model: the default (a process per service) costs ~1 GiB.

    A DC that replicates (see samba_join) has etc/resolv.conf and etc/krb5.conf in its
    folder: the first becomes its /etc/resolv.conf, the second its KRB5_CONFIG, so that it
    finds its partner (<NTDS GUID>._msdcs.<forest>) and a KDC for the partner's ticket."""
    partner = [resolv_conf_path(domain), daemon_krb5_conf_path(domain)]
    files = [str(p) for p in partner] if all(p.is_file() for p in partner) else []
    mounts = f'mount --bind "$0" {RUN_SAMBA} && mount --bind "$1" {LOG_SAMBA}'
    shift = "shift"
    if files:
        mounts += ' && mount --bind "$2" /etc/resolv.conf && export KRB5_CONFIG="$3"'
        shift = "shift 3"
    return [
        "unshare", "--mount", "--propagation", "private", "--",
        "/bin/sh", "-c",
        f'{mounts} && {shift} && exec "$@"',
        str(domain.directory / "run"), str(domain.directory / "log"), *files,
        SAMBA, "--foreground", "--no-process-group", "--debug-stdout",
        "-s", str(domain.smb_conf), "-M", "single",
    ]  # fmt: skip


def resolv_conf_path(domain: Domain) -> Path:
    return domain.directory / "etc" / "resolv.conf"


def daemon_krb5_conf_path(domain: Domain) -> Path:
    return domain.directory / "etc" / "krb5.conf"


def pids_dir(domain: Domain) -> Path:
    return domain.directory / "pids"


def log_file(domain: Domain) -> Path:
    return domain.directory / "log" / "samba.out"


def ldaps_env(domain: Domain) -> dict[str, str]:
    return {
        **os.environ,
        "LDAPTLS_CACERT": str(domain.ca_cert),
        "LDAPTLS_REQCERT": "demand",
    }


def answers(domain: Domain) -> bool:
    """LDAPS answers a simple bind as Administrator (Samba has no WhoAmI: a base search)."""
    try:
        done = subprocess.run(
            [
                "ldapsearch", "-x", "-LLL", "-H", f"ldaps://{domain.address}",
                "-D", domain.admin_principal, "-y", str(domain.admin_password_file),
                "-o", "nettimeout=2", "-b", "", "-s", "base", "dnsHostName",
            ],
            env=ldaps_env(domain),
            capture_output=True,
            check=False,
            timeout=5,
        )  # fmt: skip
    except subprocess.TimeoutExpired:
        return False
    return done.returncode == 0


def _recorded(domain: Domain) -> procs.Recorded | None:
    return next((r for r in procs.recorded(pids_dir(domain)) if r.name == SERVICE), None)


def prepare_mount_points() -> None:
    """/run/samba and /var/log/samba, which each DC's mount namespace covers with its own
    folders (Samba's package makes both; made here if missing)."""
    for mount_point in (RUN_SAMBA, LOG_SAMBA):
        Path(mount_point).mkdir(mode=0o755, parents=True, exist_ok=True)


def start(domain: Domain, timeout: float = 60.0) -> Running:
    rec = _recorded(domain)
    if rec is not None and procs.is_running(rec):
        raise LabError(f"the DC of {domain.realm} already runs (pid {rec.pid})")
    prepare_mount_points()
    began = time.monotonic()
    rec = procs.spawn(
        SERVICE, argv(domain), pids_dir(domain), log_file(domain), cwd=domain.directory
    )
    delay = 0.1
    while not answers(domain):
        if not procs.is_running(rec):
            tail = log_file(domain).read_text(errors="replace").strip().splitlines()[-3:]
            stop(domain)
            raise LabError(f"samba for {domain.realm} stopped while starting: {' | '.join(tail)}")
        if time.monotonic() - began > timeout:
            stop(domain)
            raise LabError(f"samba for {domain.realm} did not answer LDAPS within {timeout:.0f} s")
        time.sleep(delay)
        delay = min(0.5, delay * 1.5)
    return Running(rec.pid, time.monotonic() - began)


def sessions() -> dict[int, list[int]]:
    """Session id -> the live (not zombie) pids in it, from /proc."""
    out: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError, ValueError, IndexError):
            raw = (entry / "stat").read_text()
            fields = raw[raw.rindex(")") + 2 :].split()
            if fields[0] not in ("Z", "X"):
                out.setdefault(int(fields[3]), []).append(int(entry.name))
    return out


def _session(sid: int) -> list[int]:
    return sessions().get(sid, [])


def processes(domain: Domain) -> list[int]:
    """Pids of this DC: its session (a session id is the recorded pid) and any process whose
    command line names its folder (smbd and winbindd name the smb.conf)."""
    rec = _recorded(domain)
    found = set(procs.processes_referencing(str(domain.directory)))
    if rec is not None and procs.is_running(rec):
        found.update(_session(rec.pid))
    return sorted(found)


def stop(domain: Domain, timeout: float = 10.0) -> list[int]:
    """Stop the DC and everything it forked; returns pids still alive (should be none)."""
    rec = _recorded(domain)
    session = _session(rec.pid) if rec is not None and procs.is_running(rec) else []
    if rec is not None:
        procs.stop_all([rec], pids_dir(domain), timeout=timeout)
    leftovers = set(session) | set(procs.processes_referencing(str(domain.directory)))
    for pid in leftovers:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 5
    alive = [p for p in leftovers if Path(f"/proc/{p}").exists()]
    while alive and time.monotonic() < deadline:
        for pid in alive:
            with contextlib.suppress(ChildProcessError, OSError):
                os.waitpid(pid, os.WNOHANG)
        time.sleep(0.05)
        alive = [p for p in alive if _state(p) not in (None, "Z", "X")]
    return alive


def _state(pid: int) -> str | None:
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return raw[raw.rindex(")") + 2 :].split()[0]


def _status_kib(pid: int, field: str, source: str = "status") -> int:
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/{source}").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def memory(domain: Domain) -> Memory:
    pids = processes(domain)
    return Memory(
        len(pids),
        sum(_status_kib(p, "VmRSS") for p in pids),
        sum(_status_kib(p, "Pss", "smaps_rollup") for p in pids),
    )


def client_files(domain: Domain) -> ClientFiles:
    """A krb5.conf for the realm (KDC at the DC's address, no DNS or reverse lookups) under
    the DC's folder, with the CA certificate of LDAPS and the Administrator password file."""
    realm, host = domain.realm, domain.address
    text = f"""\
[libdefaults]
	default_realm = {realm}
	dns_lookup_kdc = false
	dns_lookup_realm = false
	rdns = false
	dns_canonicalize_hostname = false
	udp_preference_limit = 1

[realms]
	{realm} = {{
		kdc = {host}
		admin_server = {host}
		kpasswd_server = {host}
	}}

[domain_realm]
	.{domain.dns_domain} = {realm}
	{domain.dns_domain} = {realm}
"""
    path = krb5_conf_path(domain)
    path.write_text(text)
    return ClientFiles(path, domain.ca_cert, domain.admin_password_file)


def krb5_conf_path(domain: Domain) -> Path:
    return domain.directory / "krb5.conf"
