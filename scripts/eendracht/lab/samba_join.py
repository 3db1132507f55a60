"""A second DC for a lab domain (the fallback site), joined to the first by Samba's own
`samba-tool domain join <realm> DC`: it replicates the domain, configuration, schema and the
AD-integrated DNS partitions both ways, so it serves LDAPS, Kerberos and DNS on its own when
the first is stopped.

The order: provision the primary (samba.provision), `prepare_primary` (replication and the KCC
on, `samba.REPLICATING_SERVICES`, and its partner files), start it, `join`, start the replica,
`settle`. A DC's argv (samba_run.argv, `service`) names the partner files only if they exist
when it is computed: compute it after `prepare_primary` / `join`. The Administrator password
reaches samba-tool only through PASSWD_FILE (the file's name, not the password).
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import time
import uuid
from pathlib import Path
from typing import Any

import dns.exception
import dns.message
import dns.query

from eendracht.lab import ad_controllers, samba, samba_run
from eendracht.lab.errors import LabError
from eendracht.lab.net import require_loopback
from eendracht.lab.paths import LabPaths, write_secret
from eendracht.lab.plan import DomainController
from eendracht.lab.procs import run_bounded
from eendracht.lab.samba_tls import _openssl
from eendracht.lab.services import Service

TIMEOUT = 180.0
REPLICA_HOST = "dc2"
# The service class of the DRS replication interface: SPN <class>/<NTDS GUID>/<DNS domain>.
DRS_SPN = "E3514235-4B06-11D1-AB04-00C04FC2DCD2"
# Lab speed: a change is announced to the partner within a second or two (default 5 s), and
# a partner that missed one pulls anyway every minute (default 5 min).
REPLICATION_OPTIONS = (
    "dreplsrv:notify_interval = 1",
    "dreplsrv:periodic_startup_interval = 2",
    "dreplsrv:periodic_interval = 60",
    "kccsrv:periodic_interval = 60",
)


def replica_of(
    paths: LabPaths, primary: DomainController, replica_address: str, name: str = "fallback"
) -> samba.Domain:
    """The second DC of `primary`'s domain: same realm, its own host name, address and folder."""
    return samba.Domain(
        primary.realm,
        primary.netbios,
        REPLICA_HOST,
        require_loopback(replica_address),
        paths.lab / "ad" / name,
    )


def conf_text(domain: samba.Domain) -> str:
    return samba.smb_conf_text(domain, REPLICATION_OPTIONS, replicating=True)


def _write_if_changed(path: Path, text: str) -> bool:
    if path.is_file() and path.read_text() == text:
        return False
    path.write_text(text)
    return True


def partner_files(domain: samba.Domain, partner: samba.Domain) -> bool:
    """The resolv.conf and krb5.conf samba_run gives a replicating DC: both name the partner
    only. A lab DC runs as one process, so a lookup it makes of its own DNS or KDC would
    wait for itself; the partner's DNS holds every DC's records, and the partner's KDC gives
    the ticket for the partner. True if either file changed."""
    resolv = f"nameserver {partner.address}\noptions timeout:1 attempts:2\n"
    krb5 = (
        f"[libdefaults]\n\tdefault_realm = {domain.realm}\n\tdns_lookup_kdc = false\n"
        f"\tdns_lookup_realm = false\n\trdns = false\n\n[realms]\n\t{domain.realm} = {{\n"
        f"\t\tkdc = {partner.address}\n\t}}\n"
    )
    changed = _write_if_changed(samba_run.resolv_conf_path(domain), resolv)
    return _write_if_changed(samba_run.daemon_krb5_conf_path(domain), krb5) or changed


def prepare_primary(primary: samba.Domain, replica: samba.Domain) -> bool:
    """Make the (provisioned) primary a replicating DC: replication and the KCC on, its
    partner files (`partner_files`). True if anything changed: a running primary must then
    be restarted to replicate inbound."""
    conf = _write_if_changed(primary.smb_conf, conf_text(primary))
    return partner_files(primary, replica) or conf


def _env(domain: samba.Domain) -> dict[str, str]:
    """samba-tool reads the Administrator password from the file PASSWD_FILE names."""
    return {**os.environ, "PASSWD_FILE": str(domain.admin_password_file)}


def _tool(
    argv: list[str], env: dict[str, str], what: str, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    return run_bounded([samba.SAMBA_TOOL, *argv], env, what, TIMEOUT, cwd=cwd)


def _complaint(done: subprocess.CompletedProcess[str], secret: str) -> str:
    """samba-tool's ERROR line (a traceback follows it), else the last lines; no secret."""
    lines = [ln.strip() for ln in (done.stderr or done.stdout).splitlines() if ln.strip()]
    errors = [ln for ln in lines if ln.startswith("ERROR")]
    text = " | ".join(errors[:1] or lines[-4:])
    return text.replace(secret, "***") if secret else text


def _certificate(primary: samba.Domain, replica: samba.Domain) -> None:
    """The replica's LDAPS certificate, signed by the primary's lab CA: a client that trusts
    the primary (its ca_file) verifies the fallback DC too."""
    tls = replica.private / "tls"
    tls.mkdir(parents=True, exist_ok=True, mode=0o700)
    source = primary.private / "tls"
    shutil.copyfile(source / "ca.pem", tls / "ca.pem")
    key, csr, ext, cert = (tls / n for n in ("key.pem", "dc.csr", "ext.cnf", "cert.pem"))
    ext.write_text(
        f"subjectAltName=DNS:{replica.fqdn},IP:{replica.address}\n"
        "extendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n"
    )
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]
    _openssl(
        ["req", "-new", *ec, "-keyout", str(key), "-out", str(csr), "-subj", f"/CN={replica.fqdn}"],
        "making the replica's key",
    )
    _openssl(
        [
            "x509", "-req", "-in", str(csr), "-CA", str(source / "ca.pem"),
            "-CAkey", str(source / "ca-key.pem"), "-CAcreateserial",
            "-CAserial", str(tls / "ca.srl"), "-out", str(cert), "-days", "3650",
            "-extfile", str(ext),
        ],
        "signing the replica's certificate",
    )  # fmt: skip
    key.chmod(0o600)
    csr.unlink()
    ext.unlink()


def joined(replica: samba.Domain) -> bool:
    return replica.sam_ldb.exists() and (replica.directory / "joined").exists()


def join(primary: samba.Domain, replica: samba.Domain) -> float:
    """Join `replica` to the running `primary` as an additional DC with the internal DNS;
    returns the seconds it took (0 if it was joined already)."""
    if joined(replica):
        return 0.0
    if replica.realm != primary.realm or replica.address == primary.address:
        raise LabError(f"{replica.fqdn} at {replica.address} cannot be a replica of {primary.fqdn}")
    require_loopback(replica.address)
    if not samba_run.answers(primary):
        raise LabError(f"the DC of {primary.realm} does not answer LDAPS; start it first")
    began = time.monotonic()
    if replica.directory.exists():  # a join that failed half-way: start over
        shutil.rmtree(replica.directory)
    target = replica.directory
    (target / "etc").mkdir(parents=True)
    for sub in ("run", "log", "lock", "cache", "usershares", "state", "private"):
        (target / sub).mkdir(exist_ok=True)
    replica.smb_conf.touch()
    password = primary.admin_password_file.read_text(encoding="utf-8")
    done = _tool(
        [
            "domain", "join", replica.dns_domain, "DC",
            f"--server={primary.address}", f"-U{primary.netbios}\\Administrator",
            "--use-kerberos=off", "--dns-backend=SAMBA_INTERNAL",
            f"--targetdir={target}", "-s", str(replica.smb_conf),
            f"--option=netbios name = {replica.host_name.upper()}",
            *(f"--option={o}" for o in samba._dir_options(target, target / "run" / "winbindd")),
            f"--option=interfaces = {replica.address}/8",
            "--option=bind interfaces only = yes",
        ],
        _env(primary),
        f"joining {replica.fqdn} to {primary.realm}",
        cwd=target,
    )  # fmt: skip
    if done.returncode != 0:
        raise LabError(
            f"joining {replica.fqdn} to {primary.realm} failed: {_complaint(done, password)}"
        )
    (target / "join.out").write_text(done.stdout.replace(password, "***"))
    replica.smb_conf.write_text(conf_text(replica))
    partner_files(replica, primary)
    prepare_primary(primary, replica)
    write_secret(replica.admin_password_file, password)
    _certificate(primary, replica)
    register(primary, replica)
    samba_run.client_files(replica)
    (target / "joined").write_text(f"{primary.fqdn} {primary.address}\n")
    return time.monotonic() - began


def admin_ldap(
    domain: samba.Domain, tool: str, args: list[str], stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    """ldapsearch/ldapmodify over LDAPS as Administrator (password from its file, -y)."""
    try:
        return subprocess.run(
            [tool, "-x", "-H", f"ldaps://{domain.address}", "-o", "nettimeout=5",
             "-o", "ldif-wrap=no", "-D", domain.admin_principal,
             "-y", str(domain.admin_password_file), *args],
            env=samba_run.ldaps_env(domain), input=stdin, capture_output=True, text=True,
            timeout=30, check=False,
        )  # fmt: skip
    except subprocess.TimeoutExpired:
        return subprocess.CompletedProcess([tool], 255, "", f"{tool}: no answer within 30 s")


def dsas(domain: samba.Domain) -> dict[str, tuple[str, set[str]]]:
    """Host name (upper case) -> (NTDS Settings GUID, servicePrincipalName of its account)
    of every DC of the domain, read from `domain` over LDAPS."""
    done = admin_ldap(
        domain, "ldapsearch",
        ["-LLL", "-b", f"CN=Sites,CN=Configuration,{domain.base_dn}", "(objectClass=nTDSDSA)",
         "objectGUID"],
    )  # fmt: skip
    if done.returncode != 0:
        raise LabError(f"reading the DCs of {domain.realm} failed: {done.stderr.strip()}")
    out: dict[str, tuple[str, set[str]]] = {}
    for block in done.stdout.strip().split("\n\n"):
        lines = block.splitlines()
        dn = next((ln[4:] for ln in lines if ln.startswith("dn: ")), "")
        raw = next((ln[13:] for ln in lines if ln.startswith("objectGUID:: ")), "")
        if dn and raw:
            host = dn.split(",")[1].removeprefix("CN=").upper()
            out[host] = (str(uuid.UUID(bytes_le=base64.b64decode(raw))), set())
    for host, (_, spns) in out.items():
        done = admin_ldap(
            domain, "ldapsearch",
            ["-LLL", "-b", f"CN={host},OU=Domain Controllers,{domain.base_dn}", "-s", "base",
             "servicePrincipalName"],
        )  # fmt: skip
        spns.update(
            ln.split(": ", 1)[1] for ln in done.stdout.splitlines()
            if ln.startswith("servicePrincipalName: ")
        )  # fmt: skip
    return out


def _dns_record(primary: samba.Domain, zone: str, name: str, rtype: str, value: str) -> None:
    """Add a record to an AD-integrated zone on the primary (RPC, Administrator's password
    from its file) unless the primary already answers it."""
    fqdn = f"{name}.{zone}"
    try:
        reply, _ = dns.query.udp_with_fallback(
            dns.message.make_query(fqdn, rtype), primary.address, timeout=5.0
        )
        if any(value.rstrip(".").lower() in rr.to_text().rstrip(".").lower()
               for rrset in reply.answer for rr in rrset):  # fmt: skip
            return
    except (dns.exception.DNSException, OSError):
        pass
    done = _tool(
        ["dns", "add", primary.address, zone, name, rtype, value,
         f"-U{primary.netbios}\\Administrator", "--use-kerberos=off", "-s", str(primary.smb_conf)],
        _env(primary), f"adding {fqdn} {rtype}",
    )  # fmt: skip
    if done.returncode != 0:
        raise LabError(
            f"adding {fqdn} {rtype} {value} on {primary.fqdn} failed: {_complaint(done, '')}"
        )


def register(primary: samba.Domain, replica: samba.Domain) -> None:
    """What the DCs' own DNS and SPN updates would do (the lab runs them without, and the join
    registers no loopback address): each DC's replication SPN on its account, the replica's
    A record, and each DC's <NTDS GUID>._msdcs alias, by which its partner finds it."""
    for host, (guid, spns) in dsas(primary).items():
        spn = f"{DRS_SPN}/{guid}/{primary.dns_domain}"
        if spn not in spns:
            ldif = (
                f"dn: CN={host},OU=Domain Controllers,{primary.base_dn}\nchangetype: modify\n"
                f"add: servicePrincipalName\nservicePrincipalName: {spn}\n-\n"
            )
            done = admin_ldap(primary, "ldapmodify", [], stdin=ldif)
            if done.returncode != 0:
                raise LabError(f"adding the SPN {spn} failed: {done.stderr.strip()}")
        fqdn = f"{host.lower()}.{primary.dns_domain}"
        _dns_record(primary, f"_msdcs.{primary.dns_domain}", guid, "CNAME", fqdn)
    _dns_record(primary, primary.dns_domain, replica.host_name, "A", replica.address)


def service(paths: LabPaths, replica_dc: DomainController, name: str = "fallback") -> Service:
    """The replica as `lab up` starts and probes it (like `ad_controllers.services`)."""
    return ad_controllers.dc_service(name, replica_of(paths, replica_dc, replica_dc.address, name))


def details(replica: samba.Domain) -> dict[str, str]:
    """Where the replica is and the files a client needs (like `ad_controllers.details`)."""
    return {
        "realm": replica.realm,
        "netbios": replica.netbios,
        "address": replica.address,
        "host_name": replica.fqdn,
        "ldaps_uri": f"ldaps://{replica.address}",
        "base_dn": replica.base_dn,
        "admin_principal": replica.admin_principal,
        "admin_password_file": str(replica.admin_password_file),
        "ca_file": str(replica.ca_cert),
        "krb5_conf": str(samba_run.krb5_conf_path(replica)),
        "directory": str(replica.directory),
    }


def showrepl(domain: samba.Domain) -> dict[str, Any]:
    done = _tool(
        ["drs", "showrepl", domain.address, "--json", f"-U{domain.netbios}\\Administrator",
         "--use-kerberos=off", "-s", str(domain.smb_conf)],
        _env(domain),
        f"asking {domain.fqdn} for its replication",
    )  # fmt: skip
    if done.returncode != 0:
        raise LabError(f"{domain.fqdn} did not show its replication: {_complaint(done, '')}")
    out: dict[str, Any] = json.loads(done.stdout)
    return out


def _marker_dn(domain: samba.Domain) -> str:
    return f"CN=eendracht-replication-{domain.host_name},CN=Users,{domain.base_dn}"


def _write_marker(domain: samba.Domain, token: str) -> None:
    """The DC's own marker (a contact whose description is `token`): each DC writes only its
    own, so a marker not yet replicated to the other side is never modified there."""
    dn = _marker_dn(domain)
    done = admin_ldap(
        domain, "ldapmodify",
        [], stdin=f"dn: {dn}\nchangetype: modify\nreplace: description\ndescription: {token}\n-\n",
    )  # fmt: skip
    if done.returncode == 32:  # no such object: the first check on this DC
        done = admin_ldap(
            domain, "ldapadd", [], stdin=f"dn: {dn}\nobjectClass: contact\ndescription: {token}\n"
        )
    if done.returncode != 0:
        raise LabError(
            f"writing the replication marker on {domain.fqdn} failed: {done.stderr.strip()}"
        )


def _has_marker(domain: samba.Domain, token: str) -> bool:
    done = admin_ldap(
        domain, "ldapsearch", ["-LLL", "-b", f"CN=Users,{domain.base_dn}", f"(description={token})", "1.1"]
    )  # fmt: skip
    return done.returncode == 0 and "dn: " in done.stdout


def replication_latency(source: samba.Domain, target: samba.Domain, timeout: float = 20.0) -> float:
    """Seconds until a change written on `source` is read on `target` (both over LDAPS);
    LabError if it is not there within `timeout`."""
    token = f"{source.host_name}-{time.time_ns()}"
    _write_marker(source, token)
    began = time.monotonic()
    while not _has_marker(target, token):
        if time.monotonic() - began > timeout:
            raise LabError(
                f"a change on {source.fqdn} did not reach {target.fqdn} within {timeout:.0f} s"
            )
        time.sleep(0.1)
    return time.monotonic() - began


def inbound_failures(here: samba.Domain, there: samba.Domain) -> list[str]:
    """The partitions `here` does not (successfully) replicate in from `there`, as its
    `drs showrepl` says (LabError if it does not answer)."""
    shown = showrepl(here)
    wanted = set(_partitions(here))
    ok = set()
    bad = []
    suffix = "\\" + there.host_name.upper()
    for n in shown.get("repsFrom", []):
        if not isinstance(n, dict) or not str(n.get("DSA", "")).upper().endswith(suffix):
            continue
        if n.get("consecutive failures"):
            bad.append(
                f"{n['NC dn']}: {n.get('consecutive failures')} failures, {n.get('last attempt message')}"
            )
        else:
            ok.add(str(n["NC dn"]))
    return bad + [
        f"{nc}: no inbound neighbour" for nc in sorted(wanted - ok - {b.split(":")[0] for b in bad})
    ]


def settle(primary: samba.Domain, replica: samba.Domain) -> float:
    """Once both run after a join: the KCC of each makes its inbound connection from the other
    now (not at its next run, up to a minute away), and each pulls every partition from the
    other once, which also makes it the other's notification partner; from then on a change
    reaches the other side in about a second. Returns the seconds it took."""
    began = time.monotonic()
    # The replica first: it fetches what `register` added on the primary after the join (its
    # own alias among it), which the primary then finds in the replica's DNS.
    for here, there in ((replica, primary), (primary, replica)):
        done = _tool(
            ["drs", "kcc", here.address, f"-U{here.netbios}\\Administrator",
             "--use-kerberos=off", "-s", str(here.smb_conf)],
            _env(here), f"running the KCC of {here.fqdn}",
        )  # fmt: skip
        if done.returncode != 0:
            raise LabError(f"the KCC of {here.fqdn} failed: {_complaint(done, '')}")
        for nc in _partitions(here):
            done = _tool(
                ["drs", "replicate", here.address, there.host_name.upper(), nc,
                 f"-U{here.netbios}\\Administrator", "--use-kerberos=off",
                 "-s", str(here.smb_conf)],
                _env(here), f"replicating {nc} from {there.fqdn} to {here.fqdn}",
            )  # fmt: skip
            if done.returncode != 0:
                raise LabError(
                    f"replicating {nc} from {there.fqdn} to {here.fqdn} failed: "
                    + _complaint(done, "")
                )
    return time.monotonic() - began


def _partitions(domain: samba.Domain) -> list[str]:
    base = domain.base_dn
    return [base, f"CN=Configuration,{base}", f"CN=Schema,CN=Configuration,{base}",
            f"DC=DomainDnsZones,{base}", f"DC=ForestDnsZones,{base}"]  # fmt: skip


def replication_status(
    primary: samba.Domain, replica: samba.Domain, timeout: float = 20.0
) -> tuple[bool, str]:
    """Whether replication works both ways: each DC shows every partition inbound from the
    other without failures (`drs showrepl`), and a change written on each is read on the
    other within `timeout`. (False, why) at the first thing that does not hold."""
    try:
        for here, there in ((primary, replica), (replica, primary)):
            failures = inbound_failures(here, there)
            if failures:
                return False, f"{here.fqdn} from {there.fqdn}: " + "; ".join(failures)
        there_and_back = [replication_latency(primary, replica, timeout),
                          replication_latency(replica, primary, timeout)]  # fmt: skip
    except LabError as exc:
        return False, str(exc)
    return True, (
        f"{primary.fqdn} -> {replica.fqdn} {there_and_back[0]:.1f} s, "
        f"{replica.fqdn} -> {primary.fqdn} {there_and_back[1]:.1f} s"
    )
