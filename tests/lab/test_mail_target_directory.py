"""The target Dovecot knows its people from the new organisation's directory.

Two target Dovecots configured by `mail_servers` as the lab's own target is: one finding people
in an AD programme's target DC over LDAPS (login = UPN; the DC prepared and started by the
lab's own ad_controllers/samba_run), one in the mini lab's target slapd (`running_lab`;
login = uid).
An account the identity step would create (AD: disabled, userAccountControl 514) exists for
doveadm at once and logs in over IMAPS only once enabled. Loopback only; every call bounded.
"""

from __future__ import annotations

import base64
import dataclasses
import imaplib
import json
import os
import secrets
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from eendracht.lab import ad_controllers, claims, mail_servers, net, procs, samba_run, slapd
from eendracht.lab import dovecot as dv
from eendracht.lab.dovecot_conf import home_of
from eendracht.lab.paths import LabPaths, write_secret
from eendracht.lab.plan import (
    DC_PORTS,
    MAIL_PORTS,
    TARGET,
    DomainController,
    LabPlan,
    MailHost,
    plan_lab,
)
from eendracht.lab.samba import Domain, unicode_pwd
from eendracht.programme import load_programme
from tests.cmdline_watch import CommandLineWatch
from tests.lab.conftest import MINI, RunningLab, lab_state_dir

pytestmark = [pytest.mark.lab, pytest.mark.slow]

T = 30  # seconds, for every client call
AD_SERVER, LDAP_SERVER = 253, 252  # 127.<lab>.9.<n>: beside the lab's own target (254)


@dataclass
class Targets:
    paths: LabPaths  # of the mini lab (its target slapd)
    plan: LabPlan
    ad_paths: LabPaths  # of the AD target's DC
    domain: Domain
    ad: dv.MailServer
    ldap: dv.MailServer
    ad_mail: mail_servers.TargetMail
    ldap_mail: mail_servers.TargetMail
    watch: CommandLineWatch


def _server(
    paths: LabPaths, plan: LabPlan, n: int, target: mail_servers.TargetMail
) -> dv.MailServer:
    host = MailHost(TARGET, dv.mail_address(plan.octet, n))
    server = mail_servers.server_of(paths, plan, host, (), target)
    return dataclasses.replace(
        server, name=f"target-{target.directory}", root=paths.lab / "mail" / f"t{n}"
    )


@pytest.fixture(scope="module")
def ad_plan() -> Iterator[tuple[LabPaths, LabPlan]]:
    """The target DC of an AD programme, prepared and started by the lab's own code."""
    state = lab_state_dir()
    paths = LabPaths(state)
    paths.lab.mkdir()  # a claim counts as live while its state has a lab folder
    octet = claims.claim_free(
        state,
        lambda o: (
            [(net.address(o, "domain-controller", 254), p) for p in DC_PORTS]
            + [(dv.mail_address(o, AD_SERVER), p) for p in MAIL_PORTS]
        ),
    )
    dc = DomainController(TARGET, "ad.waardstad.nl", net.address(octet, "domain-controller", 254))
    plan = LabPlan(octet=octet, controllers={TARGET: dc})
    domain = ad_controllers.domain_of(paths, dc)
    try:
        ad_controllers.prepare(paths, plan, {})
        samba_run.start(domain)
        yield paths, plan
    finally:
        assert samba_run.stop(domain) == []
        claims.release(octet, state)
        shutil.rmtree(state, ignore_errors=True)


@pytest.fixture(scope="module", name="t")
def targets(running_lab: RunningLab, ad_plan: tuple[LabPaths, LabPlan]) -> Iterator[Targets]:
    paths = LabPaths(running_lab.state)
    octet = json.loads(paths.manifest.read_text())["octet"]
    programme = load_programme(MINI)
    plan = plan_lab(programme, octet)
    ad_paths, ad_lab = ad_plan
    domain = ad_controllers.domain_of(ad_paths, ad_lab.controllers[TARGET])
    ad_mail = mail_servers.target_mail(programme, mail_servers.AD)
    ldap_mail = mail_servers.target_mail(programme, mail_servers.OPENLDAP)
    ad = _server(ad_paths, ad_lab, AD_SERVER, ad_mail)
    ldap = _server(paths, plan, LDAP_SERVER, ldap_mail)
    directory_passwords = [
        domain.admin_password_file.read_bytes(),
        slapd.password_file(paths, plan.directories[TARGET]).read_bytes(),
    ]
    watch = CommandLineWatch(*directory_passwords)
    watch.start()
    records = []
    try:
        for server, pids in ((ad, ad_paths.pids), (ldap, paths.pids)):
            dv.prepare(server)
            records.append((server, pids, dv.start(server, pids)))
        for server, _, rec in records:
            dv.wait_answering(server, rec)
        yield Targets(paths, plan, ad_paths, domain, ad, ldap, ad_mail, ldap_mail, watch)
    finally:
        watch.stop()
        for server, pids, _ in records:
            dv.stop(server, pids)


def _ldap(
    tool: str,
    uri: str,
    who: str,
    password_file: Path,
    ldif: str,
    env: dict[str, str] | None,
    ok: tuple[int, ...] = (0,),
) -> None:
    done = subprocess.run(
        [tool, "-x", "-H", uri, "-o", "nettimeout=5", "-D", who, "-y", str(password_file)],
        input=ldif, env=env, capture_output=True, text=True, timeout=T, check=False,
    )  # fmt: skip
    assert done.returncode in ok, done.stderr


def _ad(t: Targets, tool: str, ldif: str, ok: tuple[int, ...] = (0,)) -> None:
    d = t.domain
    _ldap(
        tool,
        f"ldaps://{d.address}",
        d.admin_dn,
        d.admin_password_file,
        ldif,
        samba_run.ldaps_env(d),
        ok,
    )


def _openldap(t: Targets, tool: str, ldif: str) -> None:
    d = t.plan.directories[TARGET]
    _ldap(tool, d.uri, d.bind_dn, slapd.password_file(t.paths, d), ldif, None)


def _doveadm_user(server: dv.MailServer, user: str) -> tuple[int, dict[str, str]]:
    done = subprocess.run(
        ["doveadm", "-c", str(server.files.config), "user", "-f", "home", user],
        capture_output=True, text=True, timeout=T, check=False,
    )  # fmt: skip
    return done.returncode, {"home": done.stdout.strip(), "stderr": done.stderr.strip()}


def _refused(server: dv.MailServer, user: str) -> bool:
    try:
        dv.login(server, user, timeout=T).logout()
    except dv.LabError:
        return True
    return False


def _logged(server: dv.MailServer, *parts: str) -> None:
    lines = server.files.log.read_text().splitlines()
    found = any(all(p.lower() in line.lower() for p in parts) for line in lines)
    assert found, "\n".join(lines[-5:])


def _as_master(server: dv.MailServer, user: str) -> None:
    """SASL PLAIN with `user` as authorization identity, the master's password from its file."""
    password = server.password_file(mail_servers.MASTER).read_text()
    token = f"{user}\0{mail_servers.MASTER}\0{password}".encode()
    client = imaplib.IMAP4_SSL(
        server.address, server.imaps_port, ssl_context=dv.tls_context(server), timeout=T
    )
    try:
        assert client.authenticate("PLAIN", lambda _: token)[0] == "OK"
        assert client.select("INBOX")[0] == "OK"
    finally:
        client.logout()


def _password(server: dv.MailServer, user: str) -> str:
    password = f"{secrets.token_urlsafe(12)}-Aa1"
    write_secret(server.password_file(user), password)
    return password


def test_ldap_settings_are_root_only_and_the_bind_password_nowhere_else(t: Targets) -> None:
    for server, password_file in (
        (t.ad, t.domain.admin_password_file),
        (t.ldap, slapd.password_file(t.paths, t.plan.directories[TARGET])),
    ):
        conf = server.files.ldap_conf.stat()
        assert (conf.st_mode & 0o777, conf.st_uid) == (0o600, 0)
        password = password_file.read_text()
        assert password in server.files.ldap_conf.read_text()
        assert password not in server.files.config.read_text()
        assert password not in server.files.log.read_text()
    assert "tls_require_cert = demand" in t.ad.files.ldap_conf.read_text()
    assert "uris = ldaps://" in t.ad.files.ldap_conf.read_text()
    assert t.watch.scans > 0 and t.watch.hits == []


def test_a_disabled_ad_account_exists_for_doveadm_and_logs_in_once_enabled(t: Targets) -> None:
    upn = f"t.persoon.{os.urandom(3).hex()}@waardstad.nl"
    sam = upn.split("@")[0][:20]
    people = f"OU=Medewerkers,{t.domain.base_dn}"  # where the identity step puts people
    dn = f"CN={sam},{people}"
    password = _password(t.ad, upn)
    _ad(t, "ldapadd", f"dn: {people}\nobjectClass: organizationalUnit\n", ok=(0, 68))
    # As the identity step creates it: disabled (514) with an initial password.
    _ad(t, "ldapadd", (
        f"dn: {dn}\nobjectClass: user\nsAMAccountName: {sam}\nuserPrincipalName: {upn}\n"
        f"mail: {upn}\nuserAccountControl: 514\nunicodePwd:: {unicode_pwd(password)}\n"
    ))  # fmt: skip
    rc, found = _doveadm_user(t.ad, upn)
    assert rc == 0, found["stderr"]
    assert found["home"] == str(home_of(t.ad.files.mail, upn))
    assert _doveadm_user(t.ad, upn.upper()) == (rc, found)  # one user whatever the case
    assert _refused(t.ad, upn)  # the directory refuses the disabled account's bind
    _logged(t.ad, f"ldap({upn.lower()},", "password mismatch (for ldap bind)")
    _as_master(t.ad, upn)  # the migration's admin reads it before cutover (moves, verify)
    # Cutover: enabled, its password set again by the admin.
    password = _password(t.ad, upn)
    _ad(t, "ldapmodify", (
        f"dn: {dn}\nchangetype: modify\nreplace: userAccountControl\nuserAccountControl: 512\n-\n"
        f"replace: unicodePwd\nunicodePwd:: {unicode_pwd(password)}\n-\n"
    ))  # fmt: skip
    client = dv.login(t.ad, upn, timeout=T)  # IMAPS, verified against the server's cert
    try:
        assert client.select("INBOX")[0] == "OK"
    finally:
        client.logout()
    write_secret(t.ad.password_file(upn), password + "x")
    assert _refused(t.ad, upn)  # a wrong password stays refused
    assert _doveadm_user(t.ad, f"niemand.{os.urandom(3).hex()}@waardstad.nl")[0] != 0


def test_function_mailboxes_of_the_template_exist_on_the_target(t: Targets) -> None:
    assert t.ad_mail.user_field == "upn" and t.ldap_mail.user_field == "username"
    assert "secretariaat.zuidwaard@waardstad.nl" in t.ad_mail.mailboxes
    assert "gemeente.zuidwaard@waardstad.nl" in t.ad_mail.mailboxes  # the programme's shared
    assert "raadzaal.noordwaard" in t.ldap_mail.mailboxes  # ... and room mailboxes
    for server, target in ((t.ad, t.ad_mail), (t.ldap, t.ldap_mail)):
        for name in target.mailboxes:
            rc, found = _doveadm_user(server, name)
            assert rc == 0, found["stderr"]
            assert found["home"] == str(home_of(server.files.mail, name))
        client = dv.login(server, target.mailboxes[0], timeout=T)
        assert client.select("INBOX")[0] == "OK"
        client.logout()
        _as_master(server, target.mailboxes[-1])


def test_template_names_the_function_mailboxes() -> None:
    programme = load_programme(MINI)
    named = mail_servers.function_mailboxes(programme, "fn-{local}-{municipality}@{domain}")
    assert named["zuidwaard"] == [
        "fn-gemeente-zuidwaard@waardstad.nl",
        "fn-secretariaat-zuidwaard@waardstad.nl",
    ]
    with pytest.raises(dv.LabError, match="cannot be filled"):
        mail_servers.function_mailboxes(programme, "{local}.{gemeente}")


def test_an_openldap_account_exists_for_doveadm_and_logs_in_once_enabled(t: Targets) -> None:
    uid = f"tvanloon{os.urandom(3).hex()}"
    d = t.plan.directories[TARGET]
    dn = f"uid={uid},{d.people_dn}"
    password = _password(t.ldap, uid)
    _openldap(t, "ldapadd", (
        f"dn: {dn}\nobjectClass: inetOrgPerson\nobjectClass: eendrachtAccount\nuid: {uid}\n"
        f"cn: T van Loon\nsn: Loon\nmail: {uid}@waardstad.nl\neendrachtDisabled: TRUE\n"
        f"userPassword:: {base64.b64encode(slapd.ssha(password).encode()).decode()}\n"
    ))  # fmt: skip
    rc, found = _doveadm_user(t.ldap, uid)
    assert rc == 0, found["stderr"]
    assert found["home"] == str(home_of(t.ldap.files.mail, uid))
    assert _refused(t.ldap, uid)  # disabled: the pass filter does not find it
    _logged(t.ldap, f"ldap({uid},", "unknown user")
    _openldap(t, "ldapmodify", (
        f"dn: {dn}\nchangetype: modify\nreplace: eendrachtDisabled\neendrachtDisabled: FALSE\n-\n"
    ))  # fmt: skip
    client = dv.login(t.ldap, uid, timeout=T)
    assert client.noop()[0] == "OK"
    client.logout()


def test_stop_leaves_no_process_of_either_target(t: Targets) -> None:
    servers = ((t.ad, t.ad_paths.pids), (t.ldap, t.paths.pids))
    records = [
        r for _, pids in servers for r in procs.recorded(pids) if r.name.startswith("imap-target-")
    ]
    assert {r.name for r in records} == {s.service_name for s, _ in servers}
    family = [*records, *procs.descendants([r.pid for r in records])]
    assert len(family) > len(records)  # dovecot's own children: auth, config, log, ...
    for server, pids in servers:
        dv.stop(server, pids)
    assert [r.pid for r in family if procs.is_running(r)] == []
    for server, _ in servers:
        assert procs.processes_referencing(str(server.files.config)) == []
