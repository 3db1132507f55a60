"""AD-integrated DNS zones on the lab's DCs, changed the way a migration changes them: by
GSS-TSIG as the DNS service account (`samba_seed.DNS_ACCOUNT`, a DnsAdmins member) with its
keytab.

`ad_controllers.prepare` adds the account to every stopped DC and exports its keytab
(`keytab_path`); once the DCs run, `load_zones` creates each zone on its DC (samba-tool over
RPC) and loads its records in one `nsupdate -g` per zone, then reads them back: Samba applies
a signed update but BIND's nsupdate may not verify the signed reply (exit 2), so the answer
of the DC is what counts. No password is on a command line: samba-tool reads the account's
password file (PASSWD_FILE), nsupdate uses a ticket from the keytab in a private ccache.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import dns.exception
import dns.message
import dns.name
import dns.query
import dns.rdata
import dns.rdataclass
import dns.rdatatype

from eendracht.lab import samba, samba_run, samba_seed
from eendracht.lab.ad_controllers import domain_of
from eendracht.lab.errors import LabError
from eendracht.lab.paths import LabPaths
from eendracht.lab.plan import DNS_PORT_AD, DomainController, LabPlan, Zone
from eendracht.lab.procs import run_bounded

KINIT = "kinit"
NSUPDATE = "nsupdate"
TIMEOUT = 30.0
ALREADY_EXISTS = "WERR_DNS_ERROR_ZONE_ALREADY_EXISTS"


def principal(dc: DomainController) -> str:
    return f"{samba_seed.DNS_ACCOUNT}@{dc.realm}"


def keytab_path(paths: LabPaths, dc: DomainController) -> Path:
    """The DNS account's keytab (0600), written by `ad_controllers.prepare`."""
    return samba_seed.dns_keytab_file(domain_of(paths, dc))


def kerberos(paths: LabPaths, dc: DomainController) -> dict[str, str]:
    """The dns role's `kerberos` settings for this DC's zones."""
    domain = domain_of(paths, dc)
    return {
        "principal": principal(dc),
        "keytab": str(keytab_path(paths, dc)),
        "krb5_conf": str(samba_run.krb5_conf_path(domain)),
        "server_name": domain.fqdn,
    }


def zones_of(plan: LabPlan, name: str) -> list[Zone]:
    """The zones whose owner has a DC of its own (municipality or "target")."""
    return [z for z in plan.zones if z.owner == name]


def load_all(paths: LabPaths, plan: LabPlan) -> dict[str, dict[str, int]]:
    """Every zone onto its owner's DC (owners without a DC keep theirs on named only), the DCs
    side by side; returns DC name -> records per zone. The DCs must be running."""
    wanted = {name: zones for name in plan.controllers if (zones := zones_of(plan, name))}
    with ThreadPoolExecutor(max_workers=max(1, min(4, len(wanted)))) as pool:
        futures = {
            name: pool.submit(load_zones, paths, plan.controllers[name], zones)
            for name, zones in wanted.items()
        }
        return {name: future.result() for name, future in futures.items()}


def _env(domain: samba.Domain, ccache: Path) -> dict[str, str]:
    return {
        **os.environ,
        "KRB5_CONFIG": str(samba_run.krb5_conf_path(domain)),
        "KRB5CCNAME": f"FILE:{ccache}",
    }


def _run(
    argv: Sequence[str], env: Mapping[str, str], what: str, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    return run_bounded(argv, env, what, TIMEOUT, stdin=stdin)


def _kinit(dc: DomainController, keytab: Path, env: Mapping[str, str]) -> None:
    done = _run([KINIT, "-k", "-t", str(keytab), principal(dc)], env, "kinit")
    if done.returncode != 0:
        raise LabError(
            f"no ticket for {principal(dc)} from {keytab}: {done.stderr.strip() or done.stdout.strip()}"
        )


def create_zone(domain: samba.Domain, zone: str) -> bool:
    """Create an AD-integrated zone on the running DC as the DNS account (NTLM, the password
    read from its file by samba-tool itself); False if it already exists."""
    if zone.lower().rstrip(".") == domain.dns_domain:
        return False  # the domain's own zone, made by the provision
    env = {**os.environ, "PASSWD_FILE": str(domain.password_file(samba_seed.DNS_ACCOUNT))}
    done = _run(
        [samba.SAMBA_TOOL, "dns", "zonecreate", domain.address, zone,
         "-U", f"{domain.netbios}\\{samba_seed.DNS_ACCOUNT}", "--use-kerberos=off",
         "-s", str(domain.smb_conf)],
        env, f"creating the zone {zone} on {domain.realm}",
    )  # fmt: skip
    if done.returncode == 0:
        return True
    if ALREADY_EXISTS in done.stderr + done.stdout:
        return False
    detail = " | ".join((done.stderr or done.stdout).strip().splitlines()[-3:])
    raise LabError(f"creating the zone {zone} on the DC of {domain.realm} failed: {detail}")


def owner_name(zone: str, name: str) -> str:
    return f"{zone}." if name == "@" else f"{name}.{zone}."


def rdata_text(rtype: str, value: str) -> str:
    """A record's value as nsupdate and zone files take it (TXT quoted, in 255-byte strings)."""
    if rtype == "TXT" and not value.startswith('"'):
        chunks = [value[i : i + 255] for i in range(0, len(value), 255)] or [""]
        return " ".join('"' + c.replace("\\", "\\\\").replace('"', '\\"') + '"' for c in chunks)
    return value


def update_script(domain: samba.Domain, zone: Zone) -> str:
    lines = [f"server {domain.address} {DNS_PORT_AD}", f"zone {zone.name}."]
    for r in zone.records:
        rtype = r.type.value
        lines.append(
            f"update add {owner_name(zone.name, r.name)} {r.ttl} IN {rtype} {rdata_text(rtype, r.value)}"
        )
    return "\n".join([*lines, "send", ""])


def _nsupdate(domain: samba.Domain, zone: Zone, env: Mapping[str, str]) -> str:
    """One signed update with every record of the zone; returns nsupdate's complaint (if any),
    which may be only that it could not verify the reply's signature."""
    done = _run(
        [NSUPDATE, "-g", "-t", "10"],
        env,
        f"loading the zone {zone.name} into the DC of {domain.realm}",
        update_script(domain, zone),
    )
    return (done.stderr + done.stdout).strip()


def missing_records(domain: samba.Domain, zone: Zone) -> list[str]:
    """Records of the zone the DC does not answer (name type value), asked one name and type
    at a time (Samba answers no AXFR)."""
    wanted: dict[tuple[str, str], list[dns.rdata.Rdata]] = {}
    origin = dns.name.from_text(zone.name)
    for r in zone.records:
        rtype = r.type.value
        rdata = dns.rdata.from_text(
            dns.rdataclass.IN, rtype, rdata_text(rtype, r.value), origin=origin, relativize=False
        )
        wanted.setdefault((owner_name(zone.name, r.name), rtype), []).append(rdata)
    missing = []
    for (name, rtype), expected in wanted.items():
        query = dns.message.make_query(name, rtype)
        try:
            reply, _ = dns.query.udp_with_fallback(
                query, domain.address, timeout=5.0, port=DNS_PORT_AD
            )
        except (dns.exception.DNSException, OSError) as exc:
            raise LabError(
                f"the DC of {domain.realm} did not answer for {name} {rtype}: {exc}"
            ) from exc
        answered: set[dns.rdata.Rdata] = set()
        for rrset in reply.answer:
            if rrset.rdtype == dns.rdatatype.from_text(rtype):
                answered.update(rrset)
        missing += [f"{name} {rtype} {rd.to_text()}" for rd in expected if rd not in answered]
    return missing


def load_zones(paths: LabPaths, dc: DomainController, zones: Iterable[Zone]) -> dict[str, int]:
    """Create each zone on the running DC (AD-integrated) and load its records as the DNS
    account (GSS-TSIG, ticket from its keytab); returns records per zone. Raises LabError
    naming the zone whose records the DC does not all answer afterwards."""
    domain = domain_of(paths, dc)
    keytab = keytab_path(paths, dc)
    out: dict[str, int] = {}
    with tempfile.TemporaryDirectory(prefix="eendracht-ad-dns-") as private:  # 0700
        env = _env(domain, Path(private) / "ccache")
        _kinit(dc, keytab, env)
        for zone in zones:
            create_zone(domain, zone.name)
            complaint = _nsupdate(domain, zone, env) if zone.records else ""
            missing = missing_records(domain, zone)
            if missing:
                shown = ", ".join(missing[:5]) + (
                    f" and {len(missing) - 5} more" if len(missing) > 5 else ""
                )
                raise LabError(
                    f"zone {zone.name} on the DC of {dc.realm}: {len(missing)} of "
                    f"{len(zone.records)} records missing after the update ({shown})"
                    + (f"; nsupdate said: {complaint}" if complaint else "")
                )
            out[zone.name] = len(zone.records)
    return out
