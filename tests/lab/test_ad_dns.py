"""AD-integrated zones on the lab's DCs, loaded and changed by GSS-TSIG as the DNS service
account with its keytab, the way the migration's DNS step changes them.

Two DCs (a municipality's with a few people, the new organisation's with none) made and
started the way `lab up` makes them: `ad_controllers.prepare` (which adds the account and
exports its keytab) and `samba_run.start`, on 127.<lab>.8.x of a range claimed like `lab up`
claims one. The mini programme's lab has no DC (no municipality of it runs AD), and the Samba
DC test's DCs are seeded without `prepare`, so neither running lab serves here. A canary watch
looks for the DNS account's and Administrator's passwords in every process's command line
while the zones are loaded.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from eendracht.lab import ad_controllers, ad_dns, claims, samba, samba_run, samba_seed
from eendracht.lab.ad_controllers import domain_of
from eendracht.lab.errors import LabError
from eendracht.lab.net import address
from eendracht.lab.paths import LabPaths
from eendracht.lab.plan import DC_PORTS, TARGET, DomainController, LabPlan, Zone
from eendracht.module_utils import load_module_utils
from eendracht.programme import models as m
from tests.cmdline_watch import CommandLineWatch
from tests.lab.conftest import lab_state_dir

pytestmark = pytest.mark.lab

T = 30  # seconds, for every client call
MUNI = "woudrichem"
ZONE = "ad-dns.lab.test"
SPF = 'v=spf1 mx ip4:192.0.2.2 include:spf.protection.outlook.com -all; a TXT with "quotes"'
dns_batch = load_module_utils("eendracht_dns")


def _record(name: str, rtype: str, value: str, ttl: int = 3600) -> m.Record:
    return m.Record(name=name, type=m.RecordType(rtype), value=value, ttl=ttl)


RECORDS = (
    _record("@", "MX", f"10 mail.{ZONE}."),
    _record("@", "TXT", SPF),
    _record("mail", "A", "192.0.2.2"),
    _record("webmail", "CNAME", f"mail.{ZONE}.", 900),
    _record("_sip._tls", "SRV", f"100 1 443 sip.{ZONE}."),
    _record("www", "A", "192.0.2.4", 1800),
    _record("www", "A", "192.0.2.5", 1800),
)


@dataclass
class AdDns:
    paths: LabPaths
    plan: LabPlan
    dc: DomainController  # the target's: the zones of these tests are on it
    domain: samba.Domain
    loaded: dict[str, int]
    seconds: float
    watch: CommandLineWatch


def _dcs(octet: int) -> dict[str, DomainController]:
    return {
        MUNI: DomainController(MUNI, "woudrichem.local", address(octet, "domain-controller", 1)),
        TARGET: DomainController(
            TARGET, "ad.gemeentealtena.nl", address(octet, "domain-controller", 254)
        ),
    }


@pytest.fixture(scope="module")
def ad() -> Iterator[AdDns]:
    state = lab_state_dir()
    (state / "lab").mkdir()  # a claim counts as live while its state has a lab folder
    octet = claims.claim_free(
        state, lambda o: [(dc.address, p) for dc in _dcs(o).values() for p in DC_PORTS]
    )
    plan = LabPlan(octet=octet, controllers=_dcs(octet))
    paths = LabPaths(state)
    domains = [domain_of(paths, dc) for dc in plan.controllers.values()]
    people = {MUNI: samba_seed.synthetic_people(12, 1795, "woudrichem.nl")}
    secret_files = [
        f for d in domains for f in (d.password_file(samba_seed.DNS_ACCOUNT), d.admin_password_file)
    ]
    # From before the passwords exist (prepare writes them) until the zones are loaded.
    watch = CommandLineWatch(more=lambda: [f.read_bytes() for f in secret_files if f.exists()])
    watch.start()
    try:
        ad_controllers.prepare(paths, plan, people)
        for d in domains:
            samba_run.start(d)
        dc = plan.controllers[TARGET]
        domain = domain_of(paths, dc)
        own = Zone(domain.dns_domain, TARGET, (_record("loaded", "A", "192.0.2.77"),))
        began = time.monotonic()
        loaded = ad_dns.load_zones(paths, dc, [Zone(ZONE, TARGET, RECORDS), own])
        seconds = time.monotonic() - began
        watch.stop()
        yield AdDns(paths, plan, dc, domain, loaded, seconds, watch)
    finally:
        watch.stop()
        for d in domains:
            samba_run.stop(d)
        claims.release(octet, state)
        shutil.rmtree(state, ignore_errors=True)


def _dig(ad: AdDns, rtype: str, name: str, server: str = "") -> list[str]:
    done = subprocess.run(
        ["dig", "+short", "+time=3", "+tries=2", f"@{server or ad.domain.address}", "-p", "53", rtype, name],
        capture_output=True, text=True, timeout=T, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return sorted(done.stdout.split("\n")[:-1])


def _ticket(ad: AdDns, tmp: Path, who: str) -> dict[str, str]:
    """A private ccache with a ticket of the DNS account (keytab) or Administrator (password on
    stdin)."""
    env = {
        **os.environ,
        "KRB5_CONFIG": ad_dns.kerberos(ad.paths, ad.dc)["krb5_conf"],
        "KRB5CCNAME": f"FILE:{tmp / f'{who}.ccache'}",
    }
    if who == "svc":
        argv = [
            "kinit",
            "-k",
            "-t",
            str(ad_dns.keytab_path(ad.paths, ad.dc)),
            ad_dns.principal(ad.dc),
        ]
        done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=T, check=False)
    else:
        with open(ad.domain.admin_password_file, "rb") as stdin:
            done = subprocess.run(
                ["kinit", ad.domain.admin_principal], stdin=stdin, env=env,
                capture_output=True, text=True, timeout=T, check=False,
            )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return env


def _nsupdate(
    ad: AdDns, env: dict[str, str] | None, *lines: str
) -> subprocess.CompletedProcess[str]:
    script = "\n".join([f"server {ad.domain.address} 53", f"zone {ZONE}.", *lines, "send", ""])
    return subprocess.run(
        ["nsupdate", "-t", "10", *(["-g"] if env else [])],
        input=script, env=env, capture_output=True, text=True, timeout=T, check=False,
    )  # fmt: skip


def test_the_zones_exist_and_answer_their_records(ad: AdDns) -> None:
    assert ad.loaded == {ZONE: len(RECORDS), ad.domain.dns_domain: 1}
    assert ad.seconds < 10, ad.seconds
    soa = _dig(ad, "SOA", ZONE)
    assert len(soa) == 1 and soa[0].startswith(f"{ad.domain.fqdn}. "), soa
    assert _dig(ad, "MX", ZONE) == [f"10 mail.{ZONE}."]
    txt = _dig(ad, "TXT", ZONE)
    assert txt == ['"' + SPF.replace('"', '\\"') + '"'], txt
    assert _dig(ad, "A", f"mail.{ZONE}") == ["192.0.2.2"]
    assert _dig(ad, "CNAME", f"webmail.{ZONE}") == [f"mail.{ZONE}."]
    assert _dig(ad, "SRV", f"_sip._tls.{ZONE}") == [f"100 1 443 sip.{ZONE}."]
    assert _dig(ad, "A", f"www.{ZONE}") == ["192.0.2.4", "192.0.2.5"]
    assert _dig(ad, "A", f"loaded.{ad.domain.dns_domain}") == ["192.0.2.77"]
    # The domain's own records are still there beside the loaded one.
    assert _dig(ad, "A", ad.domain.fqdn) == [ad.domain.address]


def test_loading_again_changes_nothing(ad: AdDns) -> None:
    again = ad_dns.load_zones(ad.paths, ad.dc, [Zone(ZONE, TARGET, RECORDS)])
    assert again == {ZONE: len(RECORDS)}
    assert _dig(ad, "A", f"www.{ZONE}") == ["192.0.2.4", "192.0.2.5"]


def test_the_account_changes_a_record_administrator_created(ad: AdDns, tmp_path: Path) -> None:
    admin = _ticket(ad, tmp_path, "admin")
    _nsupdate(ad, admin, f"update add byadmin.{ZONE}. 3600 A 192.0.2.50")
    assert _dig(ad, "A", f"byadmin.{ZONE}") == ["192.0.2.50"]
    svc = _ticket(ad, tmp_path, "svc")
    done = _nsupdate(
        ad, svc, f"update delete byadmin.{ZONE}. A", f"update add byadmin.{ZONE}. 300 A 192.0.2.51"
    )
    assert "REFUSED" not in done.stderr and "SERVFAIL" not in done.stderr, done.stderr
    assert _dig(ad, "A", f"byadmin.{ZONE}") == ["192.0.2.51"]


def test_the_dns_batch_cuts_over_with_the_accounts_kerberos_settings(
    ad: AdDns, tmp_path: Path
) -> None:
    """What the migration gets handed (principal, keytab, krb5.conf, server name) is enough for
    the dns role's batch to cut over a record Administrator created, and to restore it."""
    kerberos = ad_dns.kerberos(ad.paths, ad.dc)
    assert kerberos["principal"] == f"svc-eendracht@{ad.domain.realm}"
    assert kerberos["server_name"] == ad.domain.fqdn
    admin = _ticket(ad, tmp_path, "admin")
    _nsupdate(ad, admin, f"update add portal.{ZONE}. 3600 A 192.0.2.60")
    records = [{"name": "portal", "type": "A", "value": "192.0.2.60", "ttl": 3600,
                "cutover_to": "198.51.100.60"}]  # fmt: skip
    params = {"server": ad.domain.address, "port": 53, "key_file": "", "kerberos": kerberos,
              "record_types": [], "state_file": str(tmp_path / "dns.json"), "outputs": {},
              "timeout": T, "zones": [{"name": ZONE, "cutover_ttl": 300, "records": records}]}  # fmt: skip
    done = dns_batch.run_batch({**params, "state": "cutover"}, False)
    assert done["eendracht_counts"]["records_updated"] == 1, done
    assert _dig(ad, "A", f"portal.{ZONE}") == ["198.51.100.60"]
    restored = dns_batch.run_batch({**params, "state": "restored"}, False)
    assert restored["eendracht_counts"]["records_updated"] == 1, restored
    assert _dig(ad, "A", f"portal.{ZONE}") == ["192.0.2.60"]


def test_an_unsigned_update_is_refused(ad: AdDns) -> None:
    done = _nsupdate(ad, None, f"update add unsigned.{ZONE}. 300 A 192.0.2.99")
    assert done.returncode != 0 and "REFUSED" in done.stderr + done.stdout, done.stderr
    assert _dig(ad, "A", f"unsigned.{ZONE}") == []


def test_dnsadmins_is_what_lets_the_account_change_others_records(
    ad: AdDns, tmp_path: Path
) -> None:
    """Out of DnsAdmins, the account keeps its own records but cannot touch Administrator's."""
    admin = _ticket(ad, tmp_path, "admin")
    _nsupdate(ad, admin, f"update add guarded.{ZONE}. 3600 A 192.0.2.70")

    def membership(action: str) -> None:
        done = subprocess.run(
            ["samba-tool", "group", action, samba_seed.DNS_ADMINS, samba_seed.DNS_ACCOUNT,
             "-H", f"ldap://{ad.domain.address}", "-U", "Administrator", "--use-kerberos=off",
             "-s", str(ad.domain.smb_conf)],
            env={**os.environ, "PASSWD_FILE": str(ad.domain.admin_password_file)},
            stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=T, check=False,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr

    membership("removemembers")
    try:
        outside = _ticket(ad, tmp_path, "svc")  # a new ticket: its PAC lacks DnsAdmins
        _nsupdate(ad, outside, f"update delete guarded.{ZONE}. A",
                  f"update add guarded.{ZONE}. 300 A 192.0.2.71")  # fmt: skip
        assert _dig(ad, "A", f"guarded.{ZONE}") == ["192.0.2.70"]
        _nsupdate(ad, outside, f"update add own.{ZONE}. 300 A 192.0.2.72")
        _nsupdate(ad, outside, f"update delete own.{ZONE}. A", f"update add own.{ZONE}. 300 A 192.0.2.73")  # fmt: skip
        assert _dig(ad, "A", f"own.{ZONE}") == ["192.0.2.73"]
    finally:
        membership("addmembers")
    inside = _ticket(ad, tmp_path, "svc")
    _nsupdate(ad, inside, f"update delete guarded.{ZONE}. A", f"update add guarded.{ZONE}. 300 A 192.0.2.71")  # fmt: skip
    assert _dig(ad, "A", f"guarded.{ZONE}") == ["192.0.2.71"]


def test_missing_records_fail_the_load_naming_the_zone(
    ad: AdDns, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ad_dns, "_nsupdate", lambda *_: "")  # the update never reaches the DC
    zone = Zone("unloaded.lab.test", TARGET, (_record("www", "A", "192.0.2.80"),))
    with pytest.raises(
        LabError, match=r"zone unloaded\.lab\.test on the DC of .*1 of 1 records missing"
    ):
        ad_dns.load_zones(ad.paths, ad.dc, [zone])


def test_keytab_is_private_and_no_password_was_on_a_command_line(ad: AdDns) -> None:
    keytab = ad_dns.keytab_path(ad.paths, ad.dc)
    assert keytab.stat().st_mode & 0o777 == 0o600
    assert ad.domain.password_file(samba_seed.DNS_ACCOUNT).stat().st_mode & 0o777 == 0o600
    listed = subprocess.run(
        ["klist", "-k", str(keytab)], capture_output=True, text=True, timeout=T, check=False
    )
    assert ad_dns.principal(ad.dc) in listed.stdout, listed.stdout + listed.stderr
    assert ad.watch.scans > 5
    assert ad.watch.hits == []


def test_every_dc_has_the_account_and_its_keytab_gives_a_ticket(ad: AdDns, tmp_path: Path) -> None:
    for dc in ad.plan.controllers.values():
        domain = domain_of(ad.paths, dc)
        env = {
            **os.environ,
            "KRB5_CONFIG": str(samba_run.krb5_conf_path(domain)),
            "KRB5CCNAME": f"FILE:{tmp_path / dc.name}",
        }
        keytab = str(ad_dns.keytab_path(ad.paths, dc))
        done = subprocess.run(
            ["kinit", "-k", "-t", keytab, ad_dns.principal(dc)],
            env=env, capture_output=True, text=True, timeout=T, check=False,
        )  # fmt: skip
        assert done.returncode == 0, (dc.name, done.stderr)
    municipality = domain_of(ad.paths, ad.plan.controllers[MUNI])
    assert _dig(ad, "A", f"nothing.{ZONE}", municipality.address) == []  # its zones are its own
