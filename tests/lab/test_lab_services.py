"""The lab, up on the mini programme, queried with each service's own client.

One module-scoped lab (see conftest.py); the last test takes it down and proves nothing is
left running.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from eendracht.commands.lab import lab_app
from eendracht.environment import load_environment
from eendracht.lab import LabError, lab_down, lab_status, lab_up
from eendracht.lab.net import listening, outside_loopback, require_loopback
from eendracht.lab.procs import is_running, processes_referencing, recorded
from eendracht.outputs import STACK_OUTPUTS
from eendracht.programme import load_programme
from tests.lab.conftest import MINI, RunningLab, lab_state_dir
from tests.programmes import copy_programme, edit_yaml

pytestmark = pytest.mark.lab
PROGRAMME = load_programme(MINI)
SSH_OPTS = [
    "-o",
    "StrictHostKeyChecking=no",
    "-o",
    "UserKnownHostsFile=/dev/null",
    "-o",
    "LogLevel=ERROR",
    "-o",
    "BatchMode=yes",
]


def sh(*argv: str, env: dict[str, str] | None = None, check: bool = True) -> str:
    done = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=30, check=False)
    if check and done.returncode != 0:
        raise AssertionError(f"{argv[0]} failed ({done.returncode}): {done.stderr.strip()}")
    return done.stdout


def get(url: str) -> tuple[int, Any]:
    try:
        with urllib.request.urlopen(url, timeout=10) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def ldap(lab: RunningLab, directory: dict[str, str], *args: str) -> str:
    return sh(
        "ldapsearch",
        "-x",
        "-LLL",
        "-o",
        "ldif-wrap=no",
        "-H",
        directory["uri"],
        "-D",
        directory["bind_dn"],
        "-y",
        directory["password_file"],
        *args,
    )


def test_outputs_follow_the_contract(running_lab: RunningLab) -> None:
    outputs, lab = running_lab.outputs, running_lab.lab
    assert set(outputs) == set(STACK_OUTPUTS)
    assert {
        "source_directories",
        "target_directory",
        "dns",
        "postgres",
        "applications",
        "target_applications",
    } <= set(lab)
    for service in running_lab.info.services:
        require_loopback(service.address)
        assert service.running and service.answers, service.name
    # Credentials are files of mode 0600, and no secret appears in outputs or --json.
    secret_files = {s.credentials_file for s in running_lab.info.services if s.credentials_file}
    text = json.dumps(running_lab.outputs) + json.dumps(running_lab.info.to_json())
    for path in secret_files:
        assert os.stat(path).st_mode & 0o777 == 0o600, path
        secret = Path(path).read_text().strip()
        assert secret and secret not in text
    # The lab is an environment like any other: it loads as one, for every municipality.
    programme = load_programme(MINI)
    for name in programme.municipalities:
        env = load_environment(running_lab.environment, programme, name)
        assert env.outputs == outputs
    assert running_lab.info.to_json()["environment"] == str(running_lab.environment)


def test_every_listener_of_every_lab_process_is_ipv4_loopback(running_lab: RunningLab) -> None:
    pids = [r.pid for r in recorded(running_lab.state / "lab" / "pids")]
    sockets = listening(pids)
    assert len(sockets) >= len(pids)  # each process listens (named on UDP and TCP)
    assert outside_loopback(pids) == []
    assert {where.rsplit(":", 1)[0] for _, where in sockets} == {
        s.address for s in running_lab.info.services
    }


def test_ansible_reads_and_reaches_the_lab_inventory(running_lab: RunningLab) -> None:
    inventory = running_lab.environment / "hosts.yml"
    graph = json.loads(sh(".venv/bin/ansible-inventory", "-i", str(inventory), "--list"))
    hostvars = graph["_meta"]["hostvars"]
    assert set(graph["target"]["hosts"]) == {"target-files", "target-mail"}
    nw = hostvars["nw-srv01"]
    assert nw["ansible_user"] == "root"
    assert (
        nw["share_paths"]["burgerzaken"]
        == running_lab.lab["share_paths"]["noordwaard"]["burgerzaken"]
    )
    assert not [k for k in nw if k.startswith("lab")]  # nothing the roles could tell the lab by
    # Ansible itself reaches every lab server over ssh with the lab's key.
    pong = sh(
        ".venv/bin/ansible",
        "all",
        "-i",
        str(inventory),
        "-m",
        "ansible.builtin.ping",
        env={**os.environ, "ANSIBLE_STDOUT_CALLBACK": "json", "ANSIBLE_LOAD_CALLBACK_PLUGINS": "1"},
    )
    stats = json.loads(pong[pong.index("{") :])["stats"]
    assert set(stats) == {"nw-srv01", "zw-srv01", "target-files", "target-mail"}
    assert all(
        s["ok"] == 1 and s["unreachable"] == 0 and s["failures"] == 0 for s in stats.values()
    )


def test_ssh_and_rsync_between_file_servers(running_lab: RunningLab) -> None:
    lab = running_lab.lab
    key = lab["ssh"]["private_key"]
    nw, target = lab["fileservers"]["nw-srv01"], lab["fileservers"]["target-files"]
    ssh = ["ssh", *SSH_OPTS, "-i", key, "-p", str(nw["port"]), f"root@{nw['address']}"]
    share = Path(running_lab.lab["share_paths"]["noordwaard"]["burgerzaken"])
    assert sh(*ssh, "id -u").strip() == "0"
    remote_count = int(sh(*ssh, f"find '{share}' -type f | wc -l"))
    # Every seeded file, plus the extra names of hard-linked ones.
    assert (
        remote_count
        >= running_lab.info.seeded["shares"]["files_per_share"]["noordwaard/burgerzaken"]
    )
    dest = f"{running_lab.outputs['file_target_root']}/test-rsync/"
    rsh = f"ssh {' '.join(SSH_OPTS)} -i {key} -p {target['port']}"
    # Push from the municipal server to the target server, as the migration does.
    sh(*ssh, f"rsync -aHAX --numeric-ids -e '{rsh}' '{share}/' root@{target['address']}:'{dest}'")
    listing = sh("rsync", "-rlptgoDHn", "--numeric-ids", "-i", "--checksum", f"{share}/", dest)
    assert listing.strip() == "", f"differences after rsync: {listing[:500]}"
    symlinks = [p for p in Path(dest).rglob("*") if p.is_symlink()]
    assert symlinks and {p.lstat().st_uid for p in Path(dest).rglob("*")} != {0}
    sh("rm", "-rf", dest)


def test_directories_hold_the_seeded_people(running_lab: RunningLab) -> None:
    lab = running_lab.lab
    seeded = running_lab.info.seeded
    for name, muni in PROGRAMME.municipalities.items():
        d = lab["source_directories"][name]
        uids = [
            ln
            for ln in ldap(
                running_lab, d, "-b", d["people_dn"], "(objectClass=inetOrgPerson)", "uid"
            ).splitlines()
            if ln.startswith("uid:")
        ]
        assert len(uids) == seeded["people"][name] == len(muni.people)
        groups = ldap(running_lab, d, "-b", d["groups_dn"], "(objectClass=groupOfNames)", "cn")
        assert groups.count("dn: ") == len(muni.info.departments)
        # The cross-municipality collision is really in both directories.
        assert "dn: uid=" in ldap(
            running_lab, d, "-b", d["base_dn"], "(&(givenName=Jan)(sn=Vries))", "dn"
        )
    nw = lab["source_directories"]["noordwaard"]
    disabled = ldap(running_lab, nw, "-b", nw["base_dn"], "(eendrachtDisabled=TRUE)", "uid")
    assert "uid: avisser" in disabled
    entry = ldap(running_lab, nw, "-b", nw["base_dn"], "(uid=dvandenberg)")
    assert "eendrachtSurnamePrefix: van den" in entry
    assert "eendrachtMailAlias: dvandenberg@noordwaard.nl" in entry
    target = lab["target_directory"]
    empty = ldap(running_lab, target, "-b", target["base_dn"], "(objectClass=inetOrgPerson)", "dn")
    assert empty.strip() == ""
    # The target directory takes the migration's writes (aliases, disabled flag) by its bind DN.
    ldif = (
        f"dn: uid=probe,{target['people_dn']}\nobjectClass: inetOrgPerson\n"
        "objectClass: eendrachtAccount\nuid: probe\ncn: Probe\nsn: Probe\n"
        "eendrachtMailAlias: probe@noordwaard.nl\neendrachtDisabled: FALSE\n"
    )
    subprocess.run(
        [
            "ldapadd",
            "-x",
            "-H",
            target["uri"],
            "-D",
            target["bind_dn"],
            "-y",
            target["password_file"],
        ],
        input=ldif,
        text=True,
        check=True,
        capture_output=True,
    )
    sh(
        "ldapdelete",
        "-x",
        "-H",
        target["uri"],
        "-D",
        target["bind_dn"],
        "-y",
        target["password_file"],
        f"uid=probe,{target['people_dn']}",
    )
    # Anonymous reads are refused: the directories hold personal data.
    anonymous = sh(
        "ldapsearch", "-x", "-LLL", "-H", nw["uri"], "-b", nw["base_dn"], "(uid=*)", check=False
    )
    assert "uid:" not in anonymous


def _dig(dns: dict[str, Any], name: str, rtype: str) -> list[list[str]]:
    out = sh(
        "dig",
        "+norec",
        "+noall",
        "+answer",
        f"@{dns['server']}",
        "-p",
        str(dns["port"]),
        name,
        rtype,
    )
    return [line.split(None, 4) for line in out.splitlines() if line.strip()]


def test_dns_serves_programme_records_with_their_ttls(running_lab: RunningLab) -> None:
    dns = running_lab.lab["dns"]
    for muni in PROGRAMME.municipalities.values():
        for zone in muni.dns.zones:
            for r in zone.records:
                fqdn = zone.name if r.name == "@" else f"{r.name}.{zone.name}"
                answers = _dig(dns, fqdn, r.type.value)
                assert answers, f"{fqdn} {r.type.value} missing"
                assert {int(a[1]) for a in answers} == {r.ttl}, fqdn
                assert r.value.strip('"') in " ".join(a[4] for a in answers).replace('"', "")
    assert _dig(dns, "waardstad.nl", "SOA")


def test_nsupdate_with_tsig_then_revert(running_lab: RunningLab) -> None:
    dns = running_lab.lab["dns"]
    gateway = running_lab.outputs["application_gateway_ip"]
    script = (
        f"server {dns['server']} {dns['port']}\nzone noordwaard.nl\n"
        "update delete www.noordwaard.nl. A\n"
        f"update add www.noordwaard.nl. 300 A {gateway}\nsend\n"
    )
    subprocess.run(
        ["nsupdate", "-k", dns["tsig_key_file"]],
        input=script,
        text=True,
        check=True,
        capture_output=True,
        timeout=20,
    )
    assert _dig(dns, "www.noordwaard.nl", "A")[0][1:] == ["300", "IN", "A", gateway]
    revert = script.replace(f"300 A {gateway}", "3600 A 198.51.100.20")
    subprocess.run(
        ["nsupdate", "-k", dns["tsig_key_file"]],
        input=revert,
        text=True,
        check=True,
        capture_output=True,
        timeout=20,
    )
    assert _dig(dns, "www.noordwaard.nl", "A")[0][1:] == ["3600", "IN", "A", "198.51.100.20"]
    unsigned = subprocess.run(
        ["nsupdate"], input=script, text=True, capture_output=True, timeout=20
    )
    assert unsigned.returncode != 0 and "REFUSED" in unsigned.stdout + unsigned.stderr


def _psql(pg: dict[str, Any], host: str, db: str, sql: str) -> str:
    env = {**os.environ, "PGPASSFILE": pg["pgpass_file"]}
    return sh(
        "psql",
        "-X",
        "-At",
        "-h",
        host,
        "-p",
        str(pg["port"]),
        "-U",
        pg["superuser"],
        "-d",
        db,
        "-c",
        sql,
        env=env,
    ).strip()


def test_postgres_holds_seeded_rows(running_lab: RunningLab) -> None:
    pg = running_lab.lab["postgres"]
    seeded = running_lab.info.seeded["databases"]
    expected = {
        f"{muni}_{d.name}"
        for muni, mu in PROGRAMME.municipalities.items()
        for a in mu.applications
        for d in a.databases
    }
    listed = {db for apps in pg["source_databases"].values() for dbs in apps.values() for db in dbs}
    assert listed == expected == set(seeded)
    for db, counts in seeded.items():
        for table, n in counts.items():
            assert int(_psql(pg, pg["host"], db, f"SELECT count(*) FROM {table}")) == n
    target_dbs = _psql(pg, pg["target"]["host"], "postgres", "SELECT datname FROM pg_database")
    assert not expected & set(target_dbs.split())
    assert pg["target"]["host"] == running_lab.outputs["database_server_fqdn"]


def test_http_health_and_chains(running_lab: RunningLab) -> None:
    lab = running_lab.lab
    seeded = running_lab.info.seeded["databases"]
    for muni, apps in lab["applications"].items():
        for name, app in apps.items():
            status, body = get(app["health"])
            assert status == 200 and body["app"] == name and body["municipality"] == muni
            for db in app["databases"]:
                assert body["rows"] == seeded[db]
    status, chain = get(lab["applications"]["noordwaard"]["zaaksysteem"]["url"] + "/chain/BRP")
    assert status == 200 and chain["status"] == "ok"
    person = chain["answer"]["persoon"]
    pg = lab["postgres"]
    latest = _psql(
        pg, pg["host"], "noordwaard_openzaak", "SELECT bsn FROM zaken ORDER BY id DESC LIMIT 1"
    )
    assert person["bsn"] == latest and person["municipality"] == "noordwaard"
    status, chain = get(
        lab["applications"]["noordwaard"]["zaaksysteem"]["url"] + "/chain/documentbeheer"
    )
    assert status == 200 and chain["answer"]["rows"] == seeded["noordwaard_alfresco"]
    # Target instances answer, but are unhealthy until their database is migrated.
    status, body = get(lab["target_applications"]["noordwaard"]["zaaksysteem"]["health"])
    assert status == 503 and "does not exist" in body["error"]
    status, body = get(lab["integration_hub"] + "/BRP/health")
    assert status == 200 and body["service"] == "BRP"
    # Through the hub: a SaaS application (no target instance) and a national service.
    status, body = get(lab["integration_hub"] + "/noordwaard/burgerzaken/health")
    assert status == 200 and body["side"] == "source"
    status, body = get(
        lab["integration_hub"] + f"/BRP/koppeling?municipality=noordwaard&bsn={latest}"
    )
    assert status == 200 and body["persoon"]["bsn"] == latest


def test_repoint_an_application_by_config_and_sighup(running_lab: RunningLab) -> None:
    app = running_lab.lab["target_applications"]["noordwaard"]["zaaksysteem"]
    source = running_lab.lab["applications"]["noordwaard"]["zaaksysteem"]
    config_path = Path(app["config"])
    original = config_path.read_text()
    config = json.loads(original)
    config["database"]["dsn"] = json.loads(Path(source["config"]).read_text())["database"]["dsn"]
    config_path.write_text(json.dumps(config))
    pid = int(Path(app["pid_file"]).read_text())
    try:
        os.kill(pid, signal.SIGHUP)
        deadline = time.monotonic() + 5
        status = 0
        while time.monotonic() < deadline and status != 200:
            time.sleep(0.1)
            status, body = get(app["health"])
        assert status == 200 and body["rows"]["zaken"] > 0
    finally:
        config_path.write_text(original)
        os.kill(pid, signal.SIGHUP)


def test_the_mail_servers_answer_their_own_clients_and_no_dc_runs_without_ad(
    running_lab: RunningLab,
) -> None:
    """Every municipality's IMAP server and the target's over IMAPS; mini's municipalities
    have Linux directories, so its lab runs OpenLDAP and no domain controller at all (the DCs
    of AD programmes: tests/lab/test_samba_dc.py, test_ad_dns.py, tests/wave/test_wave_ad.py)."""
    import imaplib
    import ssl

    assert running_lab.lab["domain_controllers"] == {}
    assert set(running_lab.lab["source_directories"]) == {"noordwaard", "zuidwaard"}
    for name, mail in running_lab.lab["mail_servers"].items():
        context = ssl.create_default_context(cafile=mail["ca_file"])
        client = imaplib.IMAP4_SSL(mail["address"], mail["imaps_port"], ssl_context=context,
                                   timeout=10)  # fmt: skip
        account = "postmaster" if name == "target" else "secretariaat"
        password = (Path(mail["passwords"]) / f"{account}.password").read_text()
        client.login(account, password)
        status, _ = client.select("INBOX", readonly=True)
        assert status == "OK"
        if name != "target":
            status, data = client.fetch("1", "(BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])")
            assert status == "OK" and b"Message-ID" in data[0][1]  # type: ignore[index]
        client.logout()


def test_status_reports_every_service(running_lab: RunningLab) -> None:
    result = CliRunner().invoke(lab_app, ["status", "--json"])
    assert result.exit_code == 0, result.output
    body = json.loads(result.output)
    assert body["up"] and len(body["services"]) == len(running_lab.info.services)
    for service in body["services"]:
        assert service["answers"] and service["credentials_file"] is not None


def test_second_up_changes_nothing(running_lab: RunningLab) -> None:
    manifest = running_lab.state / "lab" / "manifest.json"
    before = manifest.read_bytes()
    pids = {r.name: r.pid for r in recorded(running_lab.state / "lab" / "pids")}
    result = CliRunner().invoke(lab_app, ["up", str(MINI), "--json"])
    assert result.exit_code == 0, result.output
    again = json.loads(result.output)
    assert not again["changed"] and "nothing changed" in again["message"]
    for service in again["services"]:
        require_loopback(service["address"])
        assert service["answers"]
        # AD's ports are fixed (clients find a DC's LDAP and Kerberos by SRV records on the
        # standard ports); each DC has its own loopback address. Everything else stays high.
        assert service["port"] > 1024 or service["kind"] == "domain-controller"
    assert manifest.read_bytes() == before
    assert {r.name: r.pid for r in recorded(running_lab.state / "lab" / "pids")} == pids


def test_status_fails_when_a_service_died_and_up_restarts_it(running_lab: RunningLab) -> None:
    pids = running_lab.state / "lab" / "pids"
    victim = next(r for r in recorded(pids) if r.name == "app-zuidwaard-vergunningen")
    os.kill(victim.pid, signal.SIGKILL)
    deadline = time.monotonic() + 5
    while is_running(victim) and time.monotonic() < deadline:
        time.sleep(0.05)
    result = CliRunner().invoke(lab_app, ["status"])
    assert result.exit_code == 1
    assert not lab_status(running_lab.state).all_answer
    again = lab_up(MINI, state=running_lab.state)
    assert again.changed and "restarted 1: app-zuidwaard-vergunningen" in again.message
    assert lab_status(running_lab.state).all_answer
    status, body = get(running_lab.lab["applications"]["zuidwaard"]["vergunningen"]["health"])
    assert status == 200 and body["rows"]["zaken"] > 0


def test_a_different_programme_is_refused(running_lab: RunningLab, tmp_path: Path) -> None:
    other = copy_programme("mini", tmp_path / "other")
    edit_yaml(
        other / "group_vars/noordwaard/municipality.yml",
        lambda d: d["municipality"].update(inhabitants=18500),
    )
    with pytest.raises(LabError, match="already runs"):
        lab_up(other, state=running_lab.state)
    with pytest.raises(LabError, match="already runs"):
        lab_up(MINI, scale="full", state=running_lab.state)
    assert lab_status(running_lab.state).all_answer


def test_bad_programme_exits_2_and_starts_nothing(tmp_path: Path) -> None:
    bad = copy_programme("mini", tmp_path / "bad")
    edit_yaml(
        bad / "group_vars/all/programme.yml",
        lambda d: d["programme"]["azure"].update(fallback_region="eastus"),
    )
    state = tmp_path / "state"
    result = CliRunner().invoke(lab_app, ["up", str(bad)], env={"EENDRACHT_STATE": str(state)})
    assert result.exit_code == 2
    assert "fallback_region" in result.output
    assert not (state / "lab").exists()


def test_up_killed_halfway_is_cleaned_up_by_the_next_up() -> None:
    state = lab_state_dir()
    try:
        killed = subprocess.Popen(
            [".venv/bin/eendracht", "lab", "up", str(MINI), "--json"],
            env={**os.environ, "EENDRACHT_STATE": str(state)},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        pids = state / "lab" / "pids"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and len(recorded(pids)) < 5:
            time.sleep(0.05)
        killed.kill()
        killed.wait()
        leftovers = [r for r in recorded(pids) if is_running(r)]
        assert leftovers, "the killed `up` had started daemons"
        assert not lab_status(state).all_answer
        info = lab_up(MINI, state=state)
        assert info.changed and info.all_answer
        assert not any(is_running(r) for r in leftovers)
    finally:
        lab_down(state)
        assert processes_referencing(str(state)) == []
        # What `down` keeps: the provisioned AD domains, copied by the next `up` of the state.
        assert {p.name for p in state.iterdir()} <= {"cache"}
        shutil.rmtree(state)


def test_down_leaves_nothing_running(running_lab: RunningLab) -> None:
    lab_dir = running_lab.state / "lab"
    records = recorded(lab_dir / "pids")
    assert records and all(is_running(r) for r in records)
    # A share frozen by a migration that never thawed it does not stop `down`.
    share = Path(running_lab.lab["share_paths"]["noordwaard"]["burgerzaken"])
    frozen = [str(share / "Algemeen" / "import.sh"), str(share / "Algemeen")]
    # Filesystems without the flag (some tmpfs) refuse chattr; `down` is then tested without.
    subprocess.run(["chattr", "+i", *frozen], capture_output=True, check=False)
    stopped = lab_down(running_lab.state)
    assert set(stopped) == {r.name for r in records}
    assert not any(is_running(r) for r in records)
    assert processes_referencing(str(running_lab.state)) == []
    assert not lab_dir.exists()
    dns = running_lab.lab["dns"]["server"]
    assert f" {dns}/" not in sh("ip", "-4", "-o", "addr", "show", "dev", "lo")
    assert not lab_status(running_lab.state).services


def test_lab_up_in_a_state_postgres_cannot_reach_is_refused(tmp_path: Path) -> None:
    # pytest's tmp folders are 0700: PostgreSQL (user postgres) could not reach its data.
    state = tmp_path / "private"
    with pytest.raises(LabError, match="not traversable"):
        lab_up(MINI, state=state)
    assert not (state / "lab" / "pids").exists() or not recorded(state / "lab" / "pids")


def test_lab_state_dir_helper_is_traversable() -> None:
    state = lab_state_dir()
    try:
        assert state.stat().st_mode & 0o005 == 0o005
    finally:
        state.rmdir()
