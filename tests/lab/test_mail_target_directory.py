"""The target Dovecot knows its people from the new organisation's directory.

On the mini lab (`running_lab`: its target Samba DC and its target slapd, both started by
`lab up`), two more target Dovecots are configured by `mail_servers` as the lab's own target
is: one finding people in the DC over LDAPS (login = UPN), one in the slapd (login = uid).
An account the identity step would create (AD: disabled, userAccountControl 514) exists for
doveadm at once and logs in over IMAPS only once enabled. Loopback only; every call bounded.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import os
import secrets
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from eendracht.lab import ad_controllers, mail_servers, procs, samba_run, slapd
from eendracht.lab import dovecot as dv
from eendracht.lab.dovecot_conf import home_of
from eendracht.lab.paths import LabPaths, write_secret
from eendracht.lab.plan import TARGET, LabPlan, MailHost, plan_lab
from eendracht.lab.samba import Domain, unicode_pwd
from eendracht.programme import load_programme
from tests.cmdline_watch import CommandLineWatch
from tests.lab.conftest import MINI, RunningLab

pytestmark = [pytest.mark.lab, pytest.mark.slow]

T = 30  # seconds, for every client call
AD_SERVER, LDAP_SERVER = 253, 252  # 127.<lab>.9.<n>: beside the lab's own target (254)


@dataclass
class Targets:
    paths: LabPaths
    plan: LabPlan
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


@pytest.fixture(scope="module", name="t")
def targets(running_lab: RunningLab) -> Iterator[Targets]:
    paths = LabPaths(running_lab.state)
    octet = json.loads(paths.manifest.read_text())["octet"]
    programme = load_programme(MINI)
    plan = plan_lab(programme, octet)
    domain = ad_controllers.domain_of(paths, plan.controllers[TARGET])
    ad_mail = mail_servers.target_mail(programme, mail_servers.AD)
    ldap_mail = mail_servers.target_mail(programme, mail_servers.OPENLDAP)
    ad, ldap = (
        _server(paths, plan, AD_SERVER, ad_mail),
        _server(paths, plan, LDAP_SERVER, ldap_mail),
    )
    directory_passwords = [
        domain.admin_password_file.read_bytes(),
        slapd.password_file(paths, plan.directories[TARGET]).read_bytes(),
    ]
    watch = CommandLineWatch(*directory_passwords)
    watch.start()
    records = []
    try:
        for server in (ad, ldap):
            dv.prepare(server)
            records.append((server, dv.start(server, paths.pids)))
        for server, rec in records:
            dv.wait_answering(server, rec)
        yield Targets(paths, plan, domain, ad, ldap, ad_mail, ldap_mail, watch)
    finally:
        watch.stop()
        for server, _ in records:
            dv.stop(server, paths.pids)


def _ldap(
    tool: str, uri: str, who: str, password_file: Path, ldif: str, env: dict[str, str] | None
) -> None:
    done = subprocess.run(
        [tool, "-x", "-H", uri, "-o", "nettimeout=5", "-D", who, "-y", str(password_file)],
        input=ldif, env=env, capture_output=True, text=True, timeout=T, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr


def _ad(t: Targets, tool: str, ldif: str) -> None:
    d = t.domain
    _ldap(
        tool,
        f"ldaps://{d.address}",
        d.admin_dn,
        d.admin_password_file,
        ldif,
        samba_run.ldaps_env(d),
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
    dn = f"CN={sam},CN=Users,{t.domain.base_dn}"
    password = _password(t.ad, upn)
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
    servers = (t.ad, t.ldap)
    records = [r for r in procs.recorded(t.paths.pids) if r.name.startswith("imap-target-")]
    assert {r.name for r in records} == {s.service_name for s in servers}
    family = [*records, *procs.descendants([r.pid for r in records])]
    assert len(family) > len(records)  # dovecot's own children: auth, config, log, ...
    for server in servers:
        dv.stop(server, t.paths.pids)
    assert [r.pid for r in family if procs.is_running(r)] == []
    for server in servers:
        assert procs.processes_referencing(str(server.files.config)) == []
