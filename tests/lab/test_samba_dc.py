"""The lab's Samba AD DC, spoken to by each service's own client on its 127.x address.

Two DCs at most (HEUSDEN fresh with 1,000 users, ALTENA small), on 127.<lab>.8.x of a range
claimed like `lab up` claims one. A canary Administrator password is watched for in every
process's command line from before provisioning until the DCs are stopped.
"""

from __future__ import annotations

import base64
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from eendracht.lab import claims, net, samba, samba_run, samba_seed
from eendracht.lab.errors import LabError
from eendracht.lab.paths import write_secret
from eendracht.module_utils import load_module_utils
from tests.cmdline_watch import CommandLineWatch

pytestmark = pytest.mark.lab

TOOLS = ["samba", "samba-tool", "ldbadd", "ldbmodify", "ldapsearch", "ldapmodify", "kinit",
         "klist", "smbclient", "dig", "nsupdate", "openssl", "unshare"]  # fmt: skip
OUTSIDE = [
    Path("/run/samba"),
    Path("/var/lib/samba"),
    Path("/var/cache/samba"),
    Path("/var/log/samba"),
]
USERS = 1000
T = 30  # seconds, for every client call
dns_batch = load_module_utils("eendracht_dns")


@dataclass
class Lab:
    state: Path
    a: samba.Domain
    b: samba.Domain
    data_a: samba_seed.SeedData
    data_b: samba_seed.SeedData
    canary: str
    watch: CommandLineWatch
    figures: dict[str, object] = field(default_factory=dict)
    outside_before: dict[Path, set[str]] = field(default_factory=dict)


def _listing() -> dict[Path, set[str]]:
    return {p: {str(f) for f in p.rglob("*")} if p.is_dir() else set() for p in OUTSIDE}


def _claim(state: Path) -> int:
    return claims.claim_free(
        state, lambda o: [(f"127.{o}.8.{n}", p) for n in (1, 2) for p in samba_run.PORTS.values()]
    )


@pytest.fixture(scope="module")
def lab() -> Iterator[Lab]:
    missing = [t for t in TOOLS if shutil.which(t) is None]
    if missing:
        pytest.fail(f"missing tools for the Samba DC test: {', '.join(missing)}")
    state = Path(tempfile.mkdtemp(prefix="eendracht-samba-test-", dir="/tmp"))
    (state / "lab").mkdir()  # a claim counts as live while its state has a lab folder
    octet = _claim(state)
    canary = f"Kanarie-{os.urandom(6).hex()}-Aa1"
    watch = CommandLineWatch(canary.encode())
    watch.start()
    admin = write_secret(state / "admin.password", canary)
    a = samba.Domain("HEUSDEN.LAB", "HEUSDEN", "dc1", f"127.{octet}.8.1", state / "heusden")
    b = samba.Domain("ALTENA.LAB", "ALTENA", "dc1", f"127.{octet}.8.2", state / "altena")
    data_a = samba_seed.from_people(samba_seed.synthetic_people(USERS, 1795, "heusden.nl"))
    data_b = samba_seed.from_people(samba_seed.synthetic_people(20, 1795, "altena.nl"))
    lab = Lab(state, a, b, data_a, data_b, canary, watch, outside_before=_listing())
    try:
        began = time.monotonic()
        fresh = samba.provision_all([(a, admin), (b, admin)], state / "cache")
        lab.figures["provision 2 domains in parallel, fresh (s)"] = time.monotonic() - began
        lab.figures["provision fresh, each (s)"] = [round(p.seconds, 2) for p in fresh]
        assert not any(p.reused for p in fresh)
        again = samba.Domain(a.realm, a.netbios, a.host_name, a.address, state / "reuse")
        reused = samba.provision(again, state / "cache", admin)
        assert reused.reused
        lab.figures["provision reused from cache (s)"] = reused.seconds
        with pytest.raises(LabError) as failed:  # a failing password change names no secret
            samba.set_password_offline(again, f"CN=nobody,{again.base_dn}", admin)
        lab.figures["error text"] = str(failed.value)
        shutil.rmtree(again.directory)
        seeded = samba_seed.seed(a, data_a)
        lab.figures[f"seed {seeded.users} users, {seeded.groups} groups (s)"] = seeded.seconds
        samba_seed.seed(b, data_b)
        for d, data in ((a, data_a), (b, data_b)):
            watch.secrets.update(d.password_file(u.sam).read_bytes() for u in data.users[:50])
        started = [samba_run.start(d) for d in (a, b)]
        lab.figures["DC start until LDAPS bind (s)"] = [round(r.seconds, 2) for r in started]
        lab.figures["memory of one DC"] = samba_run.memory(a)
        for d in (a, b):
            samba_run.client_files(d)
        yield lab
    finally:
        for d in (a, b):
            samba_run.stop(d)
        watch.stop()
        claims.release(octet, state)
        shutil.rmtree(state, ignore_errors=True)


def _ldap(
    domain: samba.Domain, tool: str, args: list[str], stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [tool, "-x", "-H", f"ldaps://{domain.address}", "-o", "nettimeout=5", "-o", "ldif-wrap=no", *args],
        env=samba_run.ldaps_env(domain), input=stdin, capture_output=True, text=True, timeout=T, check=False,
    )  # fmt: skip


def search(
    domain: samba.Domain, flt: str, *attrs: str, bind: tuple[str, Path] | None = None
) -> list[dict[str, list[str]]]:
    who, pw = bind or (domain.admin_principal, domain.admin_password_file)
    done = _ldap(
        domain,
        "ldapsearch",
        [
            "-LLL",
            "-E",
            "pr=500/noprompt",
            "-D",
            who,
            "-y",
            str(pw),
            "-b",
            domain.base_dn,
            flt,
            *attrs,
        ],
    )
    assert done.returncode == 0, done.stderr
    entries: list[dict[str, list[str]]] = []
    for block in done.stdout.strip().split("\n\n"):
        entry: dict[str, list[str]] = {}
        for line in block.splitlines():
            if line.startswith("#") or ":" not in line:
                continue
            key, _, value = line.partition(":")
            value = (
                base64.b64decode(value[2:]).decode() if value.startswith(": ") else value.strip()
            )
            entry.setdefault(key, []).append(value)
        if entry.get("dn"):
            entries.append(entry)
    return entries


def test_seeded_users_over_ldaps(lab: Lab) -> None:
    (jan,) = search(
        lab.a,
        "(sAMAccountName=jdevries)",
        "displayName",
        "proxyAddresses",
        "sn",
        "userPrincipalName",
    )
    assert jan["displayName"] == ["Jan de Vries"] and jan["sn"] == ["de Vries"]
    assert sorted(jan["proxyAddresses"]) == [
        "SMTP:jan.devries@heusden.nl",
        "smtp:jdevries@heusden.nl",
    ]
    assert jan["userPrincipalName"] == ["jdevries@heusden.lab"]
    names = [
        e["displayName"][0]
        for e in search(lab.a, "(objectClass=user)", "displayName")
        if "displayName" in e
    ]
    assert any(c in n for n in names for c in "é") and any("ö" in n or "Ö" in n for n in names)
    assert any("ï" in n for n in names) and any(" van der " in n for n in names)
    managed = search(lab.a, "(&(manager=*)(department=ICT))", "manager")
    assert managed and all(m["manager"][0].endswith(lab.a.base_dn) for m in managed)
    leavers = search(lab.a, "(&(userAccountControl=514)(department=*))", "1.1")
    assert len(leavers) == sum(not u.enabled for u in lab.data_a.users) > 0
    (svc,) = search(lab.a, "(sAMAccountName=svc-backup)", "userAccountControl")
    assert svc["userAccountControl"] == ["66048"]  # enabled, password never expires
    assert (
        len(search(lab.a, "(&(objectClass=user)(objectCategory=person)(uidNumber=*))", "1.1"))
        == USERS + 3
    )


def test_same_person_in_both_domains(lab: Lab) -> None:
    for d in (lab.a, lab.b):
        (e,) = search(d, "(displayName=Daniëlle van den Berg)", "mail")
        assert e["mail"][0].endswith("@" + d.realm.split(".")[0].lower() + ".nl")


def test_nested_groups(lab: Lab) -> None:
    (alle,) = search(lab.a, "(cn=GG-Alle-medewerkers)", "member")
    assert f"CN=GG-Burgerzaken,OU=Groepen,{lab.a.base_dn}" in alle["member"]
    (jan,) = search(lab.a, "(sAMAccountName=jdevries)", "memberOf")
    assert f"CN=GG-Burgerzaken,OU=Groepen,{lab.a.base_dn}" in jan["memberOf"]
    org = f"CN=GG-Organisatie,OU=Groepen,{lab.a.base_dn}"
    chain = search(lab.a, f"(&(objectClass=user)(memberOf:1.2.840.113556.1.4.1941:={org}))", "1.1")
    direct = search(lab.a, f"(&(objectClass=user)(memberOf={org}))", "1.1")
    assert not direct and len(chain) == USERS  # every person, two levels down, no service account


def test_user_bind_disable_enable(lab: Lab) -> None:
    user = next(u for u in lab.data_a.users if u.enabled and not u.service and u.manager)
    bind = (f"{user.sam}@{lab.a.dns_domain}", lab.a.password_file(user.sam))
    (entry,) = search(lab.a, f"(sAMAccountName={user.sam})", "1.1", bind=bind)
    dn = entry["dn"][0]

    def set_uac(value: int) -> None:
        ldif = f"dn: {dn}\nchangetype: modify\nreplace: userAccountControl\nuserAccountControl: {value}\n-\n"
        if not dn.isascii():
            ldif = ldif.replace(f"dn: {dn}", "dn:: " + base64.b64encode(dn.encode()).decode())
        done = _ldap(
            lab.a,
            "ldapmodify",
            ["-D", lab.a.admin_principal, "-y", str(lab.a.admin_password_file)],
            stdin=ldif,
        )
        assert done.returncode == 0, done.stderr

    set_uac(514)
    done = _ldap(
        lab.a, "ldapsearch", ["-D", bind[0], "-y", str(bind[1]), "-b", "", "-s", "base", "1.1"]
    )
    assert done.returncode == 49 and "data 533" in done.stderr, done.stderr
    set_uac(512)
    assert search(lab.a, f"(sAMAccountName={user.sam})", "1.1", bind=bind)


def _kinit(lab: Lab, tmp: Path, principal: str, password_file: Path) -> dict[str, str]:
    env = {
        **os.environ,
        "KRB5_CONFIG": str(lab.a.directory / "krb5.conf"),
        "KRB5CCNAME": f"FILE:{tmp / 'ccache'}",
    }
    with open(password_file, "rb") as stdin:
        done = subprocess.run(
            ["kinit", principal],
            stdin=stdin,
            env=env,
            capture_output=True,
            text=True,
            timeout=T,
            check=False,
        )
    assert done.returncode == 0, done.stderr
    return env


def test_kerberos(lab: Lab, tmp_path: Path) -> None:
    env = _kinit(lab, tmp_path, "jdevries@HEUSDEN.LAB", lab.a.password_file("jdevries"))
    klist = subprocess.run(
        ["klist"], env=env, capture_output=True, text=True, timeout=T, check=False
    )
    assert "Default principal: jdevries@HEUSDEN.LAB" in klist.stdout
    assert f"krbtgt/{lab.a.realm}@{lab.a.realm}" in klist.stdout


def _dig(lab: Lab, *query: str) -> str:
    done = subprocess.run(
        ["dig", "+short", "+time=3", "+tries=2", f"@{lab.a.address}", *query],
        capture_output=True,
        text=True,
        timeout=T,
        check=False,
    )
    return done.stdout.strip()


def test_dns_srv(lab: Lab) -> None:
    assert _dig(lab, "SRV", f"_ldap._tcp.{lab.a.dns_domain}") == f"0 100 389 {lab.a.fqdn}."
    assert _dig(lab, "A", lab.a.fqdn) == lab.a.address


def test_the_dns_batch_reads_a_zone_that_cannot_be_transferred_record_by_record(
    lab: Lab,
) -> None:
    """Samba's DNS answers an AXFR with an empty NOERROR: the dns batch's transfer says it
    got nothing (instead of failing the read), and its record-by-record read answers."""
    zone, fqdn = lab.a.dns_domain, f"{lab.a.fqdn}."
    assert dns_batch.zone_transfer(lab.a.address, 53, None, zone, T) is None
    answers = dns_batch.query_all(lab.a.address, 53, [(fqdn, "A"), (f"nx.{zone}.", "A")], T)
    assert answers[(fqdn.lower(), "A")][0] == [lab.a.address]
    assert answers[(f"nx.{zone}.", "A")] == ([], None)


def test_the_dns_batch_cuts_over_and_restores_by_gss_tsig_with_a_keytab(
    lab: Lab, tmp_path: Path
) -> None:
    """The dns role's batch against AD-integrated DNS: a keytab (no kinit, no ticket cache),
    the DC's krb5.conf, updates split where Samba could not sign the answer: originals kept,
    cut over, a re-run changes nothing, restored."""
    d = lab.a
    keytab = tmp_path / "dns.keytab"
    subprocess.run(
        ["samba-tool", "domain", "exportkeytab", str(keytab), f"--principal={d.admin_principal}",
         "-s", str(d.smb_conf)],
        capture_output=True, text=True, timeout=T, check=True,
    )  # fmt: skip
    kerberos = {
        "principal": d.admin_principal,
        "keytab": str(keytab),
        "krb5_conf": str(samba_run.client_files(d).krb5_conf),
        "server_name": d.fqdn,
    }
    before_env = os.environ.get("KRB5_CONFIG")
    zone, count = d.dns_domain, 300
    # Long names: the 300 record sets render to ~19 KB, more than Samba can sign an answer to
    # (16 KiB), so the batch must send them in two messages.
    names = [f"gss-a-rather-long-record-name-{i:03d}" for i in range(count)]
    params = {"server": d.address, "port": 53, "key_file": "", "kerberos": kerberos,
              "record_types": [], "state_file": str(tmp_path / "dns.json"), "outputs": {},
              "timeout": T}  # fmt: skip
    key = dns_batch.signing_key(params)
    assert key.algorithm == dns_batch.dns.tsig.GSS_TSIG
    groups = [dns_batch.rrset_lines(f"{n}.{zone}.", "A", 3600, [f"10.50.{i // 250}.{i % 250 + 1}"])
              for i, n in enumerate(names)]  # fmt: skip
    dns_batch.send_updates(d.address, 53, key, {zone: groups}, T)  # the originals
    records = [{"name": n, "type": "A", "value": f"10.50.{i // 250}.{i % 250 + 1}", "ttl": 3600,
                "cutover_to": f"10.60.{i // 250}.{i % 250 + 1}"} for i, n in enumerate(names)]  # fmt: skip
    zones = [{"name": zone, "cutover_ttl": 300, "records": records}]

    done = dns_batch.run_batch({**params, "state": "cutover", "zones": zones}, False)
    assert done["eendracht_counts"]["records_updated"] == count
    assert _dig(lab, "A", f"{names[7]}.{zone}") == "10.60.0.8"
    again = dns_batch.run_batch({**params, "state": "cutover", "zones": zones}, False)
    assert again["eendracht_counts"] == {**again["eendracht_counts"], "records_updated": 0,
                                         "records_unchanged": count}  # fmt: skip
    verified = dns_batch.run_batch({**params, "state": "verify", "zones": zones}, False)
    assert verified["eendracht_counts"]["records_verified"] == count
    restored = dns_batch.run_batch({**params, "state": "restored", "zones": zones}, False)
    assert restored["eendracht_counts"]["records_updated"] == count
    assert _dig(lab, "A", f"{names[299]}.{zone}") == "10.50.1.50"
    assert os.environ.get("KRB5_CONFIG") == before_env  # the realm's settings were undone

    wrong = {**kerberos, "principal": f"nobody@{d.realm}"}
    with pytest.raises(dns_batch.DnsBatchError, match=f"Kerberos credentials of nobody@{d.realm}"):
        dns_batch.signing_key({**params, "kerberos": wrong})


def test_nsupdate_signed_and_unsigned(lab: Lab, tmp_path: Path) -> None:
    env = _kinit(lab, tmp_path, lab.a.admin_principal, lab.a.admin_password_file)
    zone = lab.a.dns_domain

    def update(name: str, *flags: str) -> subprocess.CompletedProcess[str]:
        script = f"server {lab.a.address}\nzone {zone}\nupdate add {name}.{zone} 300 A 127.0.0.42\nsend\n"
        return subprocess.run(
            ["nsupdate", "-t", "10", *flags],
            input=script,
            env=env,
            capture_output=True,
            text=True,
            timeout=T,
            check=False,
        )

    signed = update("signed", "-g")
    # Samba applies the update; BIND's nsupdate may not verify the GSS-TSIG of the reply.
    assert "REFUSED" not in signed.stderr, signed.stderr
    assert _dig(lab, "A", f"signed.{zone}") == "127.0.0.42", signed.stderr
    unsigned = update("unsigned")
    assert unsigned.returncode != 0 and "REFUSED" in unsigned.stderr + unsigned.stdout
    assert _dig(lab, "A", f"unsigned.{zone}") == ""


def test_smbclient(lab: Lab, tmp_path: Path) -> None:
    password = lab.a.admin_password_file.read_text()
    auth = write_secret(
        tmp_path / "auth",
        f"username = Administrator\npassword = {password}\ndomain = {lab.a.netbios}\n",
    )
    conf = tmp_path / "smb.conf"  # the client's caches in tmp, not under /var
    conf.write_text(
        "".join(
            f"{k} = {tmp_path / k.split()[0]}\n"
            for k in ("lock directory", "cache directory", "state directory", "private dir")
        )
    )
    base = ["smbclient", "-s", str(conf), "-A", str(auth), "-t", "10"]
    listing = subprocess.run(
        [*base, "-L", f"//{lab.a.address}"], capture_output=True, text=True, timeout=T, check=False
    )
    assert listing.returncode == 0 and "sysvol" in listing.stdout, listing.stdout + listing.stderr
    share = subprocess.run(
        [*base, f"//{lab.a.address}/netlogon", "-c", "ls"],
        capture_output=True,
        text=True,
        timeout=T,
        check=False,
    )
    assert share.returncode == 0 and "blocks available" in share.stdout, share.stdout + share.stderr


def test_listens_on_its_loopback_address_only(lab: Lab) -> None:
    pids = samba_run.processes(lab.a)
    assert net.outside_loopback(pids) == []
    bound = {where for proto, where in net.listening(pids) if proto == "tcp"}
    for port in (53, 88, 389, 445, 636):
        assert f"{lab.a.address}:{port}" in bound
    assert all(w.startswith(lab.a.address + ":") for w in bound)


def test_client_files(lab: Lab) -> None:
    files = samba_run.client_files(lab.a)
    text = files.krb5_conf.read_text()
    assert (
        f"kdc = {lab.a.address}" in text
        and "dns_lookup_kdc = false" in text
        and "rdns = false" in text
    )
    assert files.ca_cert.read_text().startswith("-----BEGIN CERTIFICATE-----")
    assert files.admin_password_file.stat().st_mode & 0o777 == 0o600


def test_secrets_stay_off_command_lines_and_logs(lab: Lab) -> None:
    assert lab.watch.scans > 10
    assert lab.watch.hits == []
    assert lab.canary not in str(lab.figures["error text"])
    for path in lab.a.directory.rglob("*"):
        if (
            path.is_file()
            and "secrets" not in path.parts
            and path.suffix in (".out", ".log", ".conf")
        ):
            assert lab.canary not in path.read_text(errors="replace"), path


def test_stop_leaves_nothing(lab: Lab, capsys: pytest.CaptureFixture[str]) -> None:
    lab.figures["memory of one DC after the clients"] = samba_run.memory(lab.a)
    with capsys.disabled():
        print("\nSamba DC figures:")
        for key, value in lab.figures.items():
            if key != "error text":
                print(f"  {key}: {value if not isinstance(value, float) else round(value, 2)}")
    for d in (lab.a, lab.b):
        assert samba_run.processes(d)
        assert samba_run.stop(d) == []
        assert samba_run.processes(d) == []
        assert not samba_run.answers(d)
    new = {p: sorted(_listing()[p] - before) for p, before in lab.outside_before.items()}
    assert all(not files for files in new.values()), new
