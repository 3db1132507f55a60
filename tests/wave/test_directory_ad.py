"""The identity module against Active Directory: two real Samba DCs on loopback, over LDAPS.

A source domain (HEUSDEN, seeded: people in department OUs, managers, nested groups, service
accounts) and an empty target domain (EENDRACHT) on a claimed 127.<lab>.8.x range. The module
runs as Ansible runs it, in a process of its own: bad inputs first (nothing may be written),
then a bulk create killed half way, the re-run that completes it, a re-run that changes nothing,
cutover (a probe's bind refused with data 533), verify, rollback (the probe binds again),
verify_source. A watcher scans every process's command line for the initial passwords the
whole time, and the module's output and the DC's logs are searched for them afterwards.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from tests.cmdline_watch import CommandLineWatch
from wave_support import REPO

from eendracht.identity.models import Identity
from eendracht.lab import claims, samba, samba_run, samba_seed
from eendracht.lab.paths import write_secret
from eendracht.lab.people import ascii_fold
from eendracht.module_utils import load_module_utils

pytestmark = [pytest.mark.lab, pytest.mark.slow]

ad = load_module_utils("eendracht_ad")
MODULE = REPO / "playbooks" / "roles" / "identity" / "library" / "eendracht_directory.py"
PEOPLE = 220
MUNI = "heusden"
T = 30  # seconds, for every client call
RUN_MODULE = (
    "import runpy, sys;"
    "from eendracht.module_utils import load_module_utils;"
    "[load_module_utils(n) for n in ('eendracht_ldif', 'eendracht_ad')];"
    "sys.argv = sys.argv[1:];"
    "runpy.run_path(sys.argv[0], run_name='__main__')"
)


def handover_secrets(handover: Path) -> Callable[[], list[bytes]]:
    """The initial passwords of a hand-over file (plain and as unicodePwd), once it exists."""

    def read() -> list[bytes]:
        with contextlib.suppress(OSError, ValueError):
            data = json.loads(handover.read_text(encoding="utf-8"))
            return [
                secret
                for a in data["accounts"]
                for secret in (
                    a["initial_password"].encode(),
                    ad.unicode_pwd(a["initial_password"]).encode(),
                )
            ]
        return []

    return read


@dataclass
class Domains:
    state: Path
    source: samba.Domain
    target: samba.Domain
    data: samba_seed.SeedData
    identities: list[dict[str, Any]]
    unused_address: str
    watch: CommandLineWatch
    handover: Path
    outputs: list[str] = field(default_factory=list)  # every module stdout and stderr
    figures: dict[str, object] = field(default_factory=dict)


def _claim(state: Path) -> int:
    return claims.claim_free(
        state,
        lambda o: [(f"127.{o}.8.{n}", p) for n in (1, 2, 3) for p in samba_run.PORTS.values()],
    )


def _username(user: samba_seed.AdUser, taken: set[str]) -> str:
    def part(text: str) -> str:
        return "".join(c for c in ascii_fold(text).lower() if c.isalnum())

    base = f"{part(user.given_name)}.{part(user.prefix + user.surname)}"
    name, n = base, 1
    while name in taken:
        n += 1
        name = f"{base}{n}"
    taken.add(name)
    return name


def identities_of(data: samba_seed.SeedData) -> list[dict[str, Any]]:
    """The identity mapping's records (the Identity model, dumped as identity_map writes them)
    for the seeded people; logon names over 20 characters cut as identity/samaccount does."""
    taken: set[str] = set()
    sams: set[str] = set()
    out = []
    for n, u in enumerate(u for u in data.users if not u.service):
        username = _username(u, taken)
        sam = username[:20].rstrip(".")
        while sam.lower() in sams:
            sam = f"{sam[:19]}{len(sams) % 10}"
        sams.add(sam.lower())
        identity = Identity(
            key=f"{MUNI}/{u.sam}", municipality=MUNI, old_account=u.sam, old_mail=u.mail,
            username=username, upn=f"{username}@eendracht.nl", mail=f"{username}@eendracht.nl",
            aliases=sorted({u.mail, u.secondary_mail}), display_name=u.full_name,
            given_name=u.given_name, prefix=u.prefix, surname=u.surname, department=u.department,
            workplace="office", enabled=u.enabled, base_username=username, resolved_by="pattern",
            changes=[], uid_number=40001 + n, gid_number=50001 + samba_seed.DEPARTMENTS.index(u.department),
            sam_account_name=sam,
        )  # fmt: skip
        out.append(identity.model_dump(mode="json"))
    return out


@pytest.fixture(scope="module")
def domains() -> Iterator[Domains]:
    state = Path(tempfile.mkdtemp(prefix="eendracht-ad-test-", dir="/tmp"))
    (state / "lab").mkdir()  # a claim counts as live while its state has a lab folder
    octet = _claim(state)
    admin = write_secret(state / "admin.password", f"Beheer-{os.urandom(6).hex()}-Aa1")
    source = samba.Domain("HEUSDEN.LAB", "HEUSDEN", "dc1", f"127.{octet}.8.1", state / "heusden")
    target = samba.Domain("EENDRACHT.LAB", "EENDRACHT", "dc1", f"127.{octet}.8.2", state / "tgt")
    data = samba_seed.from_people(samba_seed.synthetic_people(PEOPLE, 1795, "heusden.nl"))
    handover = state / "handover" / f"{MUNI}.json"
    watch = CommandLineWatch(more=handover_secrets(handover))
    try:
        samba.provision_all([(source, admin), (target, admin)], state / "cache")
        samba_seed.seed(source, data)
        for d in (source, target):
            samba_run.start(d)
        watch.start()
        yield Domains(
            state, source, target, data, identities_of(data), f"127.{octet}.8.3", watch, handover
        )
    finally:
        watch.stop()
        for d in (source, target):
            samba_run.stop(d)
        claims.release(octet, state)
        shutil.rmtree(state, ignore_errors=True)


# --- helpers ------------------------------------------------------------------------------


def spec(d: samba.Domain, **extra: str) -> dict[str, str]:
    return d.directory_spec(**extra)


def source_spec(doms: Domains) -> dict[str, str]:
    return spec(doms.source, people_dn=f"OU=Medewerkers,{doms.source.base_dn}")


def mapping_file(
    doms: Domains, identities: list[dict[str, Any]] | None = None, name: str = "mapping.json"
) -> Path:
    path = doms.state / name
    records = {"organisation": "eendracht", "mail_domain": "eendracht.nl", "upn_suffix": "eendracht.nl",
               "municipality": MUNI, "identities": doms.identities if identities is None else identities}  # fmt: skip
    path.write_text(json.dumps(records, ensure_ascii=False))
    return path


def args(doms: Domains, state: str, **extra: Any) -> dict[str, Any]:
    return {
        "state": state,
        "mapping_file": str(mapping_file(doms)),
        "source": source_spec(doms),
        "target": spec(doms.target),
        "record_file": str(doms.state / "rollback" / "identity_source_enabled.json"),
        "handover_file": str(doms.handover),
        "timeout": 120,
        **extra,
    }


def start_module(doms: Domains, module_args: dict[str, Any]) -> subprocess.Popen[str]:
    args_file = doms.state / "args.json"
    args_file.write_text(json.dumps({"ANSIBLE_MODULE_ARGS": module_args}))
    return subprocess.Popen(
        [sys.executable, "-c", RUN_MODULE, str(MODULE), str(args_file)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO / "scripts")},
        start_new_session=True,  # its ldap tools in its session: killed with it
    )


def module(doms: Domains, module_args: dict[str, Any]) -> dict[str, Any]:
    proc = start_module(doms, module_args)
    try:
        out, err = proc.communicate(timeout=300)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    doms.outputs += [out, err]
    result: dict[str, Any] = json.loads(out) if out.strip() else {"failed": True, "msg": err}
    return result


def ldap(d: samba.Domain, tool: str, argv: list[str], stdin: str | None = None, who: tuple[str, Path] | None = None) -> subprocess.CompletedProcess[str]:  # fmt: skip
    name, password = who or (d.admin_principal, d.admin_password_file)
    return subprocess.run(
        [tool, "-x", "-H", f"ldaps://{d.address}", "-o", "nettimeout=5", "-o", "ldif-wrap=no",
         "-D", name, "-y", str(password), *argv],
        env=samba_run.ldaps_env(d), input=stdin, capture_output=True, text=True, timeout=T,
        check=False,
    )  # fmt: skip


def search(d: samba.Domain, flt: str, *attrs: str, base: str = "") -> list[Any]:
    done = ldap(d, "ldapsearch", ["-LLL", "-E", "pr=500/noprompt", "-b", base or d.base_dn, flt, *attrs])  # fmt: skip
    assert done.returncode in (0, 32), done.stderr
    return list(ad.parse_ldif(done.stdout))


def people(d: samba.Domain) -> list[Any]:
    return search(d, "(&(objectClass=user)(info=voorheen gemeente*))", "sAMAccountName", "userAccountControl", "pwdLastSet")  # fmt: skip


def bind(d: samba.Domain, who: str, password: str, tmp: Path) -> str:
    """'ok', or AD's data code of the refused bind."""
    pw = write_secret(tmp / f"pw-{os.urandom(4).hex()}", password)
    done = ldap(d, "ldapsearch", ["-LLL", "-s", "base", "-b", "", "1.1"], who=(who, pw))
    pw.unlink()
    if done.returncode == 0:
        return "ok"
    assert done.returncode == 49, done.stderr
    return done.stderr.split("data ", 1)[1][:3]


def handover(doms: Domains) -> dict[str, str]:
    data = json.loads(doms.handover.read_text(encoding="utf-8"))
    return {a["sam"]: a["initial_password"] for a in data["accounts"]}


def probe_users(doms: Domains) -> list[samba_seed.AdUser]:
    return [u for u in doms.data.users if u.enabled and not u.service][:3]


def probes(doms: Domains) -> list[dict[str, str]]:
    return [{"account": u.sam, "password_file": str(doms.source.password_file(u.sam))} for u in probe_users(doms)]  # fmt: skip


# --- without a DC ---------------------------------------------------------------------------


def test_passwords_meet_ad_complexity_and_avoid_the_names() -> None:
    tokens = ad.name_tokens("jan.devries", "Jan de Vries")
    assert {"jan.devries", "jan", "vries"} <= tokens and "de" not in tokens
    for _ in range(300):
        pw = ad.new_password(tokens)
        classes = [any(c.islower() for c in pw), any(c.isupper() for c in pw),
                   any(c.isdigit() for c in pw), any(not c.isalnum() for c in pw)]  # fmt: skip
        assert len(pw) == 20 and sum(classes) >= 3 and not any(t in pw.lower() for t in tokens)
    assert ad.unicode_pwd("ab") == "IgBhAGIAIgA="  # '"ab"' in UTF-16-LE


def test_handover_file_is_0600_and_replaced_whole(tmp_path: Path) -> None:
    path = tmp_path / "overdracht" / "heusden.json"
    ad.write_handover(str(path), MUNI, {"a": {"sam": "a", "upn": "a@x", "initial_password": "p"}})
    assert path.stat().st_mode & 0o777 == 0o600 and path.parent.stat().st_mode & 0o777 == 0o700
    assert ad.read_handover(str(path)) == {"a": {"sam": "a", "upn": "a@x", "initial_password": "p"}}
    assert [p.name for p in path.parent.iterdir()] == ["heusden.json"]


def test_logon_names_ad_cannot_take_are_named() -> None:
    base = {"municipality": MUNI, "upn": "x@y", "username": "u"}
    problems = ad.sam_problems(
        [
            {**base, "old_account": "a", "sam_account_name": ""},
            {**base, "old_account": "b", "sam_account_name": "x" * 21},
            {**base, "old_account": "c", "sam_account_name": "ok"},
            {**base, "old_account": "d", "sam_account_name": "OK"},
            {**base, "old_account": "e", "sam_account_name": "a,b"},
        ]
    )
    assert len(problems) == 4
    assert "heusden/a (u) has no sam_account_name" in problems[0]
    assert "21 characters, AD allows 20" in problems[1] and "also heusden/c" in problems[2]


def test_rdn_values_are_escaped() -> None:
    assert ad.rdn_value("Smit, Jan") == "Smit\\, Jan"
    assert ad.rdn_value(" #a+b ") == "\\ #a\\+b\\ "
    assert ad.dns_domain("DC=eendracht,DC=lab") == "eendracht.lab"


# --- against the DCs, in order ---------------------------------------------------------------


def _nothing_written(doms: Domains) -> None:
    assert people(doms.target) == []
    assert search(doms.target, "(|(ou=Medewerkers)(ou=Groepen))", "1.1") == []
    assert not doms.handover.exists()


def test_bad_inputs_fail_naming_the_object_and_write_nothing(domains: Domains) -> None:
    doms = domains
    unreachable = {**source_spec(doms), "uri": f"ldaps://{doms.unused_address}"}
    result = module(doms, args(doms, "present", source=unreachable))
    assert result["failed"] and f"ldaps://{doms.unused_address} cannot be reached" in result["msg"]
    wrong = write_secret(doms.state / "wrong.password", "Niet-het-wachtwoord-1")
    result = module(doms, args(doms, "present", target=spec(doms.target, password_file=str(wrong))))
    assert result["failed"] and "refused the bind of Administrator@EENDRACHT.LAB" in result["msg"]
    assert "(AD data 52e)" in result["msg"]
    _nothing_written(doms)
    first = doms.identities[0]
    for sam, said in [
        ("", f"{MUNI}/{first['old_account']} ({first['username']}) has no sam_account_name"),
        ("a" * 21, "is 21 characters, AD allows 20"),
        ("Administrator", "is held in the target by someone else: CN=Administrator,CN=Users,"),
    ]:
        bad = mapping_file(doms, [{**first, "sam_account_name": sam}, *doms.identities[1:]], "bad.json")  # fmt: skip
        result = module(doms, {**args(doms, "present"), "mapping_file": str(bad)})
        assert result["failed"] and said in result["msg"] and "nothing written" in result["msg"], result  # fmt: skip
        _nothing_written(doms)
    checked = module(doms, {**args(doms, "present"), "_ansible_check_mode": True})
    assert checked["changed"] and checked["eendracht_counts"]["accounts_created"] == len(doms.identities)  # fmt: skip
    _nothing_written(doms)


def test_bulk_create_killed_half_way_then_completed_by_a_rerun(domains: Domains) -> None:
    doms = domains
    total = len(doms.identities)
    proc = start_module(doms, args(doms, "present"))
    seen, deadline = 0, time.monotonic() + 120
    while proc.poll() is None and time.monotonic() < deadline:
        seen = len(search(doms.target, "(info=voorheen gemeente*)", "1.1"))
        if seen >= 5:
            os.killpg(proc.pid, signal.SIGKILL)
            break
        time.sleep(0.02)
    proc.communicate(timeout=30)
    assert proc.returncode == -signal.SIGKILL, "the module finished before it could be killed"
    created_before = {e["sAMAccountName"][0] for e in people(doms.target)}
    assert 0 < len(created_before) < total
    handed = handover(doms)  # written before the first add: every account of the batch
    assert set(handed) >= created_before and len(handed) == total
    began = time.monotonic()
    result = module(doms, args(doms, "present"))
    took = time.monotonic() - began
    assert not result.get("failed"), result["msg"]
    counts = result["eendracht_counts"]
    assert counts["accounts_created"] == total - len(created_before)
    assert counts["accounts_unchanged"] + counts["accounts_modified"] == len(created_before)
    sams = [e["sAMAccountName"][0] for e in people(doms.target)]
    assert len(sams) == len(set(sams)) == total  # none twice, none lost
    assert handover(doms) == handed  # the killed run's passwords kept, none reset
    doms.figures["killed after (accounts)"] = len(created_before)
    doms.figures["re-run creating the rest (accounts/s, whole run)"] = round(counts["accounts_created"] / took, 1)  # fmt: skip
    doms.figures["killed_before"] = sorted(created_before)


def test_accounts_groups_and_nesting_as_the_mapping_and_the_source_say(domains: Domains) -> None:
    doms = domains
    base = doms.target.base_dn
    identity = next(i for i in doms.identities if i["prefix"] and i["enabled"])
    attrs = [*ad.TARGET_ATTRS, "pwdLastSet"]
    (e,) = search(doms.target, f"(sAMAccountName={identity['sam_account_name']})", *attrs)
    assert e["dn"][0] == f"CN={identity['display_name']} ({identity['sam_account_name']}),OU=Medewerkers,{base}"  # fmt: skip
    assert e["userPrincipalName"] == [identity["upn"]] and e["mail"] == [identity["mail"]]
    assert e["sn"] == [f"{identity['prefix']} {identity['surname']}"]
    assert e["givenName"] == [identity["given_name"]] and e["displayName"] == [identity["display_name"]]  # fmt: skip
    assert sorted(e["proxyAddresses"]) == sorted(identity["proxy_addresses"])
    assert any(p.startswith("SMTP:") for p in e["proxyAddresses"]) and any(p.startswith("smtp:") for p in e["proxyAddresses"])  # fmt: skip
    assert e["info"] == [f"voorheen gemeente {MUNI}, account {identity['old_account']}"]
    assert e["uidNumber"] == [str(identity["uid_number"])] and e["gidNumber"] == [str(identity["gid_number"])]  # fmt: skip
    assert e["userAccountControl"] == ["514"] and e["pwdLastSet"] == ["0"]
    assert all(p["userAccountControl"] == ["514"] for p in people(doms.target))
    # manager: the manager's new account
    src = {u.sam: u for u in doms.data.users}
    by_old = {i["old_account"]: i for i in doms.identities}
    managed = next(i for i in doms.identities if src[i["old_account"]].manager)
    (m,) = search(doms.target, f"(sAMAccountName={managed['sam_account_name']})", "manager")
    boss = by_old[src[managed["old_account"]].manager]
    assert m["manager"][0].startswith(f"CN={boss['display_name']} ({boss['sam_account_name']}),")
    groups = f"OU=Groepen,{base}"
    dept = "afd-" + ad.slug(identity["department"])
    assert f"CN={dept},{groups}" in e["memberOf"] and f"CN=gem-{MUNI},{groups}" in e["memberOf"]
    carried = "heusden-" + samba_seed.group_name(identity["department"])
    assert f"CN={carried},{groups}" in e["memberOf"]
    (alle,) = search(doms.target, "(cn=heusden-GG-Alle-medewerkers)", "member", "memberOf")
    assert f"CN={carried},{groups}" in alle["member"]
    assert alle["memberOf"] == [f"CN=heusden-GG-Organisatie,{groups}"]
    org = f"CN=heusden-GG-Organisatie,{groups}"
    chain = search(doms.target, f"(&(objectClass=user)(memberOf:1.2.840.113556.1.4.1941:={org}))", "1.1")  # fmt: skip
    assert len(chain) == len(doms.identities)  # everyone, through two levels of nesting
    (gem,) = search(doms.target, f"(cn=gem-{MUNI})", "member", "groupType", "sAMAccountName")
    assert len(gem["member"]) == len(doms.identities) and gem["groupType"] == ["-2147483646"]
    assert not search(
        doms.target, "(cn=heusden-GG-Serviceaccounts)", "1.1"
    )  # nobody migrated in it
    assert doms.handover.stat().st_mode & 0o777 == 0o600


def test_a_rerun_changes_nothing(domains: Domains) -> None:
    doms = domains
    began = time.monotonic()
    result = module(doms, args(doms, "present"))
    doms.figures["re-run, nothing to change (s)"] = round(time.monotonic() - began, 2)
    assert not result.get("failed"), result["msg"]
    assert result["changed"] is False
    counts = result["eendracht_counts"]
    assert counts["accounts_unchanged"] == len(doms.identities)
    assert counts["accounts_created"] == counts["accounts_modified"] == counts["groups_created"] == counts["groups_modified"] == 0  # fmt: skip


def test_cutover_enables_the_target_and_refuses_the_probes_as_disabled(
    domains: Domains, tmp_path: Path
) -> None:
    doms = domains
    result = module(doms, args(doms, "cutover"))
    assert not result.get("failed"), result["msg"]
    enabled = [i for i in doms.identities if i["enabled"]]
    assert result["eendracht_counts"] == {"accounts_enabled": len(enabled), "source_disabled": len(enabled)}  # fmt: skip
    record = json.loads(Path(args(doms, "x")["record_file"]).read_text())
    assert sorted(record) == sorted(i["old_account"] for i in enabled)
    uac = {e["sAMAccountName"][0]: e["userAccountControl"][0] for e in people(doms.target)}
    assert {i["sam_account_name"]: "512" if i["enabled"] else "514" for i in doms.identities} == uac
    src = {e["sAMAccountName"][0]: int(e["userAccountControl"][0]) for e in search(doms.source, "(objectClass=user)", "sAMAccountName", "userAccountControl")}  # fmt: skip
    assert all(src[i["old_account"]] & 2 for i in doms.identities)
    assert src["svc-backup"] == 66048 and src["Administrator"] & 2 == 0  # not the migration's
    for u in probe_users(doms):
        assert bind(doms.source, f"{u.sam}@{doms.source.dns_domain}", doms.source.password_file(u.sam).read_text(), tmp_path) == "533"  # fmt: skip
    # The hand-over passwords are the accounts' (also of those the killed run created):
    # the bind is refused only because the password must be changed first (773, not 52e).
    handed = handover(doms)
    killed = doms.figures["killed_before"]
    assert isinstance(killed, list)
    for i in [*(i for i in enabled if i["sam_account_name"] in killed[:3]), *enabled[-3:]]:
        assert bind(doms.target, i["upn"], handed[i["sam_account_name"]], tmp_path) == "773"
    again = module(doms, args(doms, "cutover"))
    assert again["changed"] is False, again
    verified = module(doms, args(doms, "verify", probes=probes(doms)))
    assert not verified.get("failed"), verified["msg"]
    assert verified["eendracht_counts"]["accounts_verified"] == len(doms.identities)


def test_rollback_lets_the_probes_bind_again(domains: Domains, tmp_path: Path) -> None:
    doms = domains
    result = module(doms, args(doms, "rollback"))
    assert not result.get("failed"), result["msg"]
    enabled = [i for i in doms.identities if i["enabled"]]
    assert result["eendracht_counts"] == {"source_enabled": len(enabled), "accounts_disabled": len(enabled)}  # fmt: skip
    assert all(e["userAccountControl"] == ["514"] for e in people(doms.target))
    for u in probe_users(doms):
        assert bind(doms.source, f"{u.sam}@{doms.source.dns_domain}", doms.source.password_file(u.sam).read_text(), tmp_path) == "ok"  # fmt: skip
    src = {e["sAMAccountName"][0]: e["userAccountControl"][0] for e in search(doms.source, "(objectClass=user)", "sAMAccountName", "userAccountControl")}  # fmt: skip
    assert all(src[i["old_account"]] == ("512" if i["enabled"] else "514") for i in doms.identities)
    back = module(doms, args(doms, "verify_source", probes=probes(doms)))
    assert not back.get("failed"), back["msg"]
    wrong = module(doms, args(doms, "verify", probes=probes(doms)))  # not cut over any more
    assert wrong["failed"] and "source accounts still enabled" in wrong["msg"]
    assert (
        f"probe {probe_users(doms)[0].sam} at ldaps://{doms.source.address} binds" in wrong["msg"]
    )


def test_no_initial_password_on_a_command_line_in_a_result_or_a_log(domains: Domains) -> None:
    doms = domains
    assert doms.watch.scans > 50 and len(doms.watch.secrets) == 2 * len(doms.identities)
    assert doms.watch.hits == []
    handed = handover(doms)
    secrets = [*handed.values(), *(ad.unicode_pwd(p) for p in handed.values())]
    assert not [s for s in secrets if any(s in out for out in doms.outputs)]
    logs = [p for d in (doms.source, doms.target) for p in (d.directory / "log").rglob("*") if p.is_file()]  # fmt: skip
    assert logs
    for path in logs:
        text = path.read_text(errors="replace")
        assert not [s for s in secrets if s in text], path


def test_figures(domains: Domains, capsys: pytest.CaptureFixture[str]) -> None:
    with capsys.disabled():
        print("\nidentity on AD figures:")
        for key, value in domains.figures.items():
            if key != "killed_before":
                print(f"  {key}: {value}")
