"""A second DC at the fallback site, joined to the first by real AD replication.

The primary (HEUSDEN.LAB, dc1) on 127.<lab>.8.1, the replica (dc2) on 127.<lab>.10.1 of a
claimed range. Objects replicate both ways, the replica answers Kerberos and the replicated
AD-integrated DNS, and it goes on serving when the primary stops. A canary Administrator
password is watched for in every command line from before provisioning to the last stop.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from eendracht.lab import ad_controllers, claims, net, samba, samba_join, samba_run, samba_seed
from eendracht.lab.paths import LabPaths, write_secret
from eendracht.lab.plan import DomainController
from tests.cmdline_watch import CommandLineWatch

pytestmark = pytest.mark.lab

TOOLS = ["samba", "samba-tool", "ldbmodify", "ldapsearch", "ldapadd", "kinit", "dig",
         "nsupdate", "openssl", "unshare"]  # fmt: skip
T = 30  # seconds, for every client call
REPLICATED = 20.0  # seconds a change may take to reach the other DC


@dataclass
class Pair:
    state: Path
    primary: samba.Domain
    replica: samba.Domain
    canary: str
    watch: CommandLineWatch
    figures: dict[str, object] = field(default_factory=dict)


@pytest.fixture(scope="module")
def pair() -> Iterator[Pair]:
    missing = [t for t in TOOLS if shutil.which(t) is None]
    if missing:
        pytest.skip(f"missing tools for the fallback DC test: {', '.join(missing)}")
    state = Path(tempfile.mkdtemp(prefix="eendracht-samba-fallback-", dir="/tmp"))
    (state / "lab").mkdir()  # a claim counts as live while its state has a lab folder
    octet = claims.claim_free(
        state,
        lambda o: [(f"127.{o}.{k}.1", p) for k in (8, 10) for p in samba_run.PORTS.values()],
    )
    canary = f"Kanarie-{os.urandom(6).hex()}-Aa1"
    watch = CommandLineWatch(canary.encode())
    watch.start()
    paths = LabPaths(state)
    dc = DomainController("target", "heusden.lab", f"127.{octet}.8.1")
    primary = ad_controllers.domain_of(paths, dc)
    replica = samba_join.replica_of(paths, dc, f"127.{octet}.10.1")
    pair = Pair(state, primary, replica, canary, watch)
    try:
        admin = write_secret(state / "admin.password", canary)
        began = time.monotonic()
        provisioned = samba.provision(primary, state / "cache", admin)
        pair.figures["provision the primary (s)"] = provisioned.seconds
        samba_seed.add_dns_account(primary)
        assert samba_join.prepare_primary(primary, replica)
        started = samba_run.start(primary)
        pair.figures["primary start until LDAPS (s)"] = started.seconds
        samba_run.client_files(primary)
        pair.figures["join (s)"] = samba_join.join(primary, replica)
        started = samba_run.start(replica)
        pair.figures["replica start until LDAPS (s)"] = started.seconds
        pair.figures["settle: KCC and one pull each way (s)"] = samba_join.settle(primary, replica)
        pair.figures["set-up in all (s)"] = time.monotonic() - began
        yield pair
    finally:
        for d in (replica, primary):
            samba_run.stop(d)
        watch.stop()
        claims.release(octet, state)
        shutil.rmtree(state, ignore_errors=True)


def _dns(d: samba.Domain, base: str, flt: str) -> list[str]:
    done = samba_join.admin_ldap(d, "ldapsearch", ["-LLL", "-b", base, flt, "1.1"])
    assert done.returncode == 0, done.stderr
    return [ln[4:] for ln in done.stdout.splitlines() if ln.startswith("dn: ")]


def _add_user(d: samba.Domain, sam: str, password: str) -> None:
    ldif = (
        f"dn: CN={sam},CN=Users,{d.base_dn}\nobjectClass: user\nsAMAccountName: {sam}\n"
        f"userPrincipalName: {sam}@{d.dns_domain}\nuserAccountControl: 512\n"
        f"unicodePwd:: {samba.unicode_pwd(password)}\n"
    )
    done = samba_join.admin_ldap(d, "ldapadd", [], stdin=ldif)  # the password only on stdin
    assert done.returncode == 0, done.stderr


def _wait_for(d: samba.Domain, flt: str, timeout: float = REPLICATED) -> float:
    began = time.monotonic()
    while not _dns(d, d.base_dn, flt):
        assert time.monotonic() - began < timeout, f"{flt} not on {d.fqdn} within {timeout} s"
        time.sleep(0.1)
    return time.monotonic() - began


def _kinit(d: samba.Domain, tmp: Path, principal: str, password_file: Path) -> dict[str, str]:
    env = {
        **os.environ,
        "KRB5_CONFIG": str(samba_run.client_files(d).krb5_conf),  # the KDC at d's address only
        "KRB5CCNAME": f"FILE:{tmp / 'ccache'}",
    }
    with open(password_file, "rb") as stdin:
        done = subprocess.run(
            ["kinit", principal], stdin=stdin, env=env, capture_output=True, text=True,
            timeout=T, check=False,
        )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return env


def _dig(d: samba.Domain, *query: str) -> str:
    done = subprocess.run(
        ["dig", "+short", "+time=3", "+tries=2", f"@{d.address}", *query],
        capture_output=True, text=True, timeout=T, check=False,
    )  # fmt: skip
    return done.stdout.strip()


def test_join_again_does_nothing(pair: Pair) -> None:
    assert samba_join.joined(pair.replica)
    assert samba_join.join(pair.primary, pair.replica) == 0.0


def test_replica_listens_on_its_loopback_address_only(pair: Pair) -> None:
    pids = samba_run.processes(pair.replica)
    assert pids and net.outside_loopback(pids) == []
    bound = {where for proto, where in net.listening(pids) if proto == "tcp"}
    for port in (53, 88, 389, 636):
        assert f"{pair.replica.address}:{port}" in bound
    assert all(w.startswith(pair.replica.address + ":") for w in bound)


def test_a_user_made_on_the_primary_reaches_the_replica(pair: Pair, tmp_path: Path) -> None:
    password = samba_seed.new_password()
    pair.watch.secrets.add(password.encode())
    _add_user(pair.primary, "fb-from-primary", password)
    seconds = _wait_for(pair.replica, "(sAMAccountName=fb-from-primary)")
    pair.figures["replication primary -> replica, a new user (s)"] = seconds
    # Its keys came along: the replica's KDC gives the user a ticket.
    pw = write_secret(tmp_path / "user.password", password)
    _kinit(pair.replica, tmp_path, f"fb-from-primary@{pair.replica.realm}", pw)


def test_a_user_made_on_the_replica_reaches_the_primary(pair: Pair) -> None:
    password = samba_seed.new_password()
    pair.watch.secrets.add(password.encode())
    _add_user(pair.replica, "fb-from-replica", password)
    seconds = _wait_for(pair.primary, "(sAMAccountName=fb-from-replica)")
    pair.figures["replication replica -> primary, a new user (s)"] = seconds


def test_the_replica_answers_kerberos(pair: Pair, tmp_path: Path) -> None:
    env = _kinit(
        pair.replica, tmp_path, pair.replica.admin_principal, pair.replica.admin_password_file
    )
    klist = subprocess.run(
        ["klist"], env=env, capture_output=True, text=True, timeout=T, check=False
    )
    assert f"krbtgt/{pair.replica.realm}@{pair.replica.realm}" in klist.stdout


def test_the_zones_are_ad_integrated_and_replicated(pair: Pair, tmp_path: Path) -> None:
    p, r = pair.primary, pair.replica
    zones = f"DC=DomainDnsZones,{r.base_dn}"
    assert _dns(r, zones, f"(&(objectClass=dnsZone)(name={r.dns_domain}))")
    assert _dig(r, "A", p.fqdn) == p.address
    assert _dig(r, "A", r.fqdn) == r.address
    assert _dig(p, "A", r.fqdn) == r.address
    assert _dig(r, "SRV", f"_ldap._tcp.{r.dns_domain}")
    # A record added on the primary after the join, signed (GSS-TSIG) as the DNS account.
    env = {
        **os.environ,
        "KRB5_CONFIG": str(samba_run.client_files(p).krb5_conf),
        "KRB5CCNAME": f"FILE:{tmp_path / 'ccache'}",
    }
    keytab = samba_seed.dns_keytab_file(p)
    principal = f"{samba_seed.DNS_ACCOUNT}@{p.realm}"
    done = subprocess.run(
        ["kinit", "-k", "-t", str(keytab), principal], env=env, capture_output=True,
        text=True, timeout=T, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    script = (
        f"server {p.address}\nzone {p.dns_domain}\n"
        f"update add after-join.{p.dns_domain} 300 A 127.0.0.77\nsend\n"
    )
    signed = subprocess.run(
        ["nsupdate", "-g", "-t", "10"], input=script, env=env, capture_output=True,
        text=True, timeout=T, check=False,
    )  # fmt: skip
    assert "REFUSED" not in signed.stderr, signed.stderr
    assert _dig(p, "A", f"after-join.{p.dns_domain}") == "127.0.0.77", signed.stderr
    began = time.monotonic()
    while _dig(r, "A", f"after-join.{r.dns_domain}") != "127.0.0.77":
        assert time.monotonic() - began < REPLICATED, "the record did not reach the replica"
        time.sleep(0.2)
    pair.figures["replication of a DNS record, primary -> replica (s)"] = time.monotonic() - began
    assert _dns(r, zones, "(&(objectClass=dnsNode)(name=after-join))")


def test_replication_status_while_both_run(pair: Pair) -> None:
    ok, why = samba_join.replication_status(pair.primary, pair.replica)
    assert ok, why
    pair.figures["replication_status"] = why
    pair.figures["memory of the primary"] = samba_run.memory(pair.primary)
    pair.figures["memory of the replica"] = samba_run.memory(pair.replica)


def test_the_replica_serves_while_the_primary_is_down(pair: Pair, tmp_path: Path) -> None:
    p, r = pair.primary, pair.replica
    assert samba_run.stop(p) == []
    try:
        assert not samba_run.answers(p)
        began = time.monotonic()
        assert samba_run.answers(r)  # LDAPS bind, with the primary's CA (the same lab CA)
        assert _dig(r, "A", f"after-join.{r.dns_domain}") == "127.0.0.77"
        assert _dig(r, "A", p.fqdn) == p.address
        _kinit(r, tmp_path, r.admin_principal, r.admin_password_file)
        pair.figures["replica: LDAPS + DNS + Kerberos with the primary down (s)"] = (
            time.monotonic() - began
        )
        began = time.monotonic()
        ok, why = samba_join.replication_status(p, r, timeout=5)
        pair.figures["replication_status with the primary down (s)"] = time.monotonic() - began
        assert not ok and why, why
        _add_user(r, "fb-while-down", samba_seed.new_password())
    finally:
        samba_run.start(p)
    # Back up: what was made on the replica meanwhile reaches it.
    seconds = _wait_for(p, "(sAMAccountName=fb-while-down)", timeout=90)
    pair.figures["catch-up after the primary's restart (s)"] = seconds
    ok, why = samba_join.replication_status(p, r)
    assert ok, why


def test_secrets_stay_off_command_lines(pair: Pair) -> None:
    assert pair.watch.scans > 10
    assert pair.watch.hits == []
    for d in (pair.primary, pair.replica):
        for path in d.directory.rglob("*"):
            if path.is_file() and "secrets" not in path.parts and path.suffix in (".out", ".conf"):
                assert pair.canary not in path.read_text(errors="replace"), path


def test_stop_leaves_nothing(pair: Pair, capsys: pytest.CaptureFixture[str]) -> None:
    with capsys.disabled():
        print("\nSamba fallback DC figures:")
        for key, value in pair.figures.items():
            print(f"  {key}: {round(value, 2) if isinstance(value, float) else value}")
    for d in (pair.replica, pair.primary):
        assert samba_run.stop(d) == []
        assert samba_run.processes(d) == []
        assert not samba_run.answers(d)
