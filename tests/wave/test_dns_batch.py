"""The dns role's batch against a real named (the lab's), spoken to on the wire as dig and
nsupdate speak to it: what it reads is what dig reads, what it writes reads back the same, the
`dns_cutover` play of playbooks/cutover.yml (its action plugin, in Ansible's worker) cuts over
in check mode first, narrows, is idempotent, verifies and rolls back, and a wrong key, a missing
stack output or a server that never answers fail it before anything changes."""

from __future__ import annotations

import base64
import json
import os
import shutil
import socket
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dns.message as dnspython_message
import dns.rcode as dnspython_rcode
import dns.tsig as dnspython_tsig
import pytest
import yaml
from wave_support import REPO, lab_session

from eendracht.module_utils import load_module_utils

dns = load_module_utils("eendracht_dns")
BIN = Path(sys.executable).parent
ZONE = "noordwaard.nl"


# --- on the lab's named ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def named() -> Iterator[dict[str, Any]]:
    with lab_session(prefix="eendracht-dns-test-") as state:
        details = json.loads((state / "lab" / "lab.json").read_text())
        yield {"state": state, **details["dns"]}


def _nsupdate(named: dict[str, Any], lines: list[str]) -> None:
    script = "\n".join(
        [f"server {named['server']} {named['port']}", f"zone {ZONE}", *lines, "send", ""]
    )
    subprocess.run(["nsupdate", "-v", "-k", named["tsig_key_file"]], input=script, text=True,
                   check=True, capture_output=True, timeout=60)  # fmt: skip


def _dig_zone(named: dict[str, Any]) -> dict[tuple[str, str], tuple[list[str], int]]:
    """The zone as dig transfers and prints it, read as the batch read it before (dig's lines)."""
    done = subprocess.run(
        ["dig", "+noall", "+answer", "-p", str(named["port"]), f"@{named['server']}",
         "-k", named["tsig_key_file"], f"{ZONE}.", "AXFR"],
        capture_output=True, text=True, check=True, timeout=60,
    )  # fmt: skip
    found: dict[tuple[str, str], tuple[list[str], int]] = {}
    for line in done.stdout.splitlines():
        parts = line.split(None, 4)
        if len(parts) != 5 or line.startswith(";") or parts[3] not in dns.TYPES:
            continue
        key = (parts[0].lower(), parts[3])
        values = found[key][0] if key in found else []
        found[key] = ([*values, " ".join(parts[4].split())], int(parts[1]))
    return {key: (sorted(values), ttl) for key, (values, ttl) in found.items()}


TRICKY = [
    'update add t1.noordwaard.nl. 300 TXT "a \\"quoted\\" \\\\ back" "second string" "caf\\195\\169 \\009tab"',
    "update add t2.noordwaard.nl. 300 TXT plainword",
    "update add s1.noordwaard.nl. 300 SRV 10 20 5060 sip.Example.NL.",
    "update add v6.noordwaard.nl. 300 AAAA 2001:DB8::1",
    "update add v6.noordwaard.nl. 300 AAAA ::ffff:1.2.3.4",
    "update add m1.noordwaard.nl. 300 MX 5 mx1.example.nl.",
    "update add c1.noordwaard.nl. 300 CNAME Target.Example.nl.",
]


@pytest.mark.lab
@pytest.mark.slow
def test_what_the_batch_reads_and_writes_is_what_dig_and_nsupdate_read_and_write(
    named: dict[str, Any],
) -> None:
    _nsupdate(named, TRICKY)
    key = dns.read_key(named["tsig_key_file"])
    ours = dns.zone_transfer(named["server"], named["port"], key, ZONE, 30)
    by_dig = _dig_zone(named)
    assert ours is not None
    assert ours == by_dig and by_dig[(f"{ZONE}.", "SOA")]
    assert ours[("t1.noordwaard.nl.", "TXT")][0] == [
        '"a \\"quoted\\" \\\\ back" "second string" "caf\\195\\169 \\009tab"'
    ]
    assert ours[("v6.noordwaard.nl.", "AAAA")][0] == ["2001:db8::1", "::ffff:1.2.3.4"]
    # Record by record, unsigned, as `dig -f` asked when a transfer is refused.
    wanted = [
        ("T1.noordwaard.nl.", "TXT"),
        ("c1.noordwaard.nl.", "CNAME"),
        ("no.noordwaard.nl.", "A"),
    ]
    asked = dns.query_all(named["server"], named["port"], wanted, 30)
    assert asked[("t1.noordwaard.nl.", "TXT")] == ours[("t1.noordwaard.nl.", "TXT")]
    assert asked[("c1.noordwaard.nl.", "CNAME")] == (["Target.Example.nl."], 300)
    assert asked[("no.noordwaard.nl.", "A")] == ([], None)
    # Written back (the rollback's way: the values read, another TTL), dig reads them the same.
    keys = [k for k in ours if k[0][:2] in ("t1", "t2", "s1", "v6", "m1", "c1")]
    groups = [dns.rrset_lines(name, rtype, 301, ours[(name, rtype)][0]) for name, rtype in keys]
    dns.send_updates(named["server"], named["port"], key, {ZONE: groups}, 30)
    again = _dig_zone(named)
    assert all(again[k] == (ours[k][0], 301) for k in keys)
    _nsupdate(named, [f"update delete {name} {rtype}" for name, rtype in keys])


@pytest.mark.lab
@pytest.mark.slow
def test_a_wrong_key_or_a_missing_output_changes_nothing(
    named: dict[str, Any], tmp_path: Path
) -> None:
    _nsupdate(
        named, ["update delete k1.noordwaard.nl. A", "update add k1.noordwaard.nl. 3600 A 10.1.1.1"]
    )
    wrong = tmp_path / "wrong.key"
    wrong.write_text(
        'key "eendracht-lab" {\n\talgorithm hmac-sha256;\n\tsecret "'
        + base64.b64encode(b"x" * 32).decode()
        + '";\n};\n'
    )
    zone = {"name": ZONE, "cutover_ttl": 300,
            "records": [{"name": "k1", "type": "A", "value": "10.1.1.1", "ttl": 3600,
                         "cutover_to": "10.2.2.2"}]}  # fmt: skip
    params = {"state": "cutover", "server": named["server"], "port": named["port"],
              "key_file": str(wrong), "zones": [zone], "record_types": [],
              "state_file": str(tmp_path / "dns.json"), "outputs": {}, "timeout": 30}  # fmt: skip
    with pytest.raises(dns.DnsBatchError, match=r"refused the TSIG key .*BADSIG"):
        dns.run_batch(params, False)
    assert _dig_zone(named)[("k1.noordwaard.nl.", "A")] == (["10.1.1.1"], 3600)
    missing = {**zone, "records": [*zone["records"], {"name": "k2", "type": "A", "value": "10.1.1.2",
                                                      "ttl": 3600, "cutover_output": "nope"}]}  # fmt: skip
    (tmp_path / "dns.json").unlink(missing_ok=True)
    with pytest.raises(dns.DnsBatchError, match="no stack output 'nope'"):
        dns.run_batch({**params, "key_file": named["tsig_key_file"], "zones": [missing]}, False)
    assert not (tmp_path / "dns.json").exists()  # nothing read, nothing kept, nothing changed
    assert _dig_zone(named)[("k1.noordwaard.nl.", "A")] == (["10.1.1.1"], 3600)


# The records of the play test: the programme's (group_vars), one new value a template, one a
# stack output, an MX that switches in a step of its own, one record that does not cut over.
RECORDS = [
    {"name": "p1", "type": "A", "value": "10.3.0.1", "ttl": 3600, "cutover_to": "10.4.0.1"},
    {"name": "p2", "type": "A", "value": "10.3.0.2", "ttl": 1800, "cutover_to": "{{ dns_test_ip }}"},
    {"name": "p3", "type": "A", "value": "10.3.0.3", "ttl": 3600, "cutover_output": "gateway_ip"},
    {"name": "p4", "type": "MX", "value": "10 mail.noordwaard.nl.", "ttl": 3600,
     "cutover_to": "0 waardstad-nl.mail.protection.outlook.com."},
    {"name": "p5", "type": "A", "value": "10.3.0.5", "ttl": 3600},
]  # fmt: skip
ORIGINAL = {
    ("p1", "A"): (["10.3.0.1"], 3600),
    ("p2", "A"): (["10.3.0.2"], 1800),
    ("p3", "A"): (["10.3.0.3"], 3600),
    ("p4", "MX"): (["10 mail.noordwaard.nl."], 3600),
    ("p5", "A"): (["10.3.0.5"], 3600),
}
NEW = {
    ("p1", "A"): (["10.4.0.1"], 300),
    ("p2", "A"): (["10.4.0.2"], 300),
    ("p3", "A"): (["10.4.0.3"], 300),
    ("p4", "MX"): (["0 waardstad-nl.mail.protection.outlook.com."], 300),
    ("p5", "A"): (["10.3.0.5"], 3600),
}


class Plays:
    """The dns plays of the phase playbooks, each run as a wave's phase runs it: the play as it
    is in playbooks/, the programme's records in group_vars, the environment in extra vars."""

    def __init__(self, named: dict[str, Any], folder: Path) -> None:
        self.named, self.folder = named, folder
        inventory = folder / "inventory"
        (inventory / "group_vars" / "noordwaard").mkdir(parents=True)
        shutil.copy(named["state"] / "lab" / "environment" / "hosts.yml", inventory / "hosts.yml")
        programme = {"dns_test_ip": "10.4.0.2",
                     "dns": {"zones": [{"name": ZONE, "server": "nw-srv01", "cutover_ttl": 300,
                                        "records": RECORDS}]}}  # fmt: skip
        (inventory / "group_vars" / "noordwaard" / "dns.yml").write_text(yaml.safe_dump(programme))
        self.wave_dir = folder / "wave"
        (self.wave_dir / "rollback").mkdir(parents=True)
        extravars = {
            "municipality": "noordwaard",
            "wave_dir": str(self.wave_dir),
            "target": {"gateway_ip": "10.4.0.3"},
            "source_services": {"dns": {"server": named["server"], "port": named["port"],
                                        "tsig_key_file": named["tsig_key_file"]}},
        }  # fmt: skip
        (folder / "extravars.json").write_text(json.dumps(extravars))

    def run(self, phase: str, tag: str, *args: str) -> list[dict[str, Any]]:
        """Runs the play tagged `tag` of playbooks/<phase>.yml; the dns tasks' results."""
        plays = yaml.safe_load((REPO / "playbooks" / f"{phase}.yml").read_text())
        playbook = self.folder / f"{tag}.yml"
        playbook.write_text(yaml.safe_dump([p for p in plays if tag in (p.get("tags") or [])]))
        done = subprocess.run(
            [str(BIN / "ansible-playbook"), "-i", str(self.folder / "inventory"),
             "-e", f"@{self.folder / 'extravars.json'}", *args, str(playbook)],
            capture_output=True, text=True, timeout=300,
            env={**os.environ, "ANSIBLE_CONFIG": str(REPO / "ansible.cfg"),
                 "ANSIBLE_STDOUT_CALLBACK": "ansible.posix.json", "ANSIBLE_NOCOLOR": "1"},
        )  # fmt: skip
        assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
        tasks = json.loads(done.stdout)["plays"][0]["tasks"]
        return [t["hosts"]["nw-srv01"] for t in tasks if t["task"]["name"].startswith("dns : ")
                and "Validating" not in t["task"]["name"] and "Check the inputs" not in t["task"]["name"]]  # fmt: skip

    def answers(self) -> dict[tuple[str, str], tuple[list[str], int | None]]:
        zone = _dig_zone(self.named)
        return {(name, rtype): zone.get((f"{name}.{ZONE}.", rtype), ([], None))
                for name, rtype in ORIGINAL}  # fmt: skip


@pytest.mark.lab
@pytest.mark.slow
def test_the_dns_plays_lower_cut_over_verify_and_roll_back(
    named: dict[str, Any], tmp_path: Path
) -> None:
    _nsupdate(named, [line for (name, rtype), (values, ttl) in ORIGINAL.items()
                      for line in dns.rrset_lines(f"{name}.{ZONE}.", rtype, ttl, values)])  # fmt: skip
    plays = Plays(named, tmp_path)
    state_file = plays.wave_dir / "rollback" / "dns_original.json"

    [checked] = plays.run("preflight", "dns_preflight")  # every SOA, a signed no-op update
    assert checked["eendracht_counts"] == {"zones_checked": 1} and not state_file.exists()

    [lowered] = plays.run("presync", "dns_presync")
    assert lowered["eendracht_counts"]["records_updated"] == 4
    assert {k: v[1] for k, v in plays.answers().items()} == {
        ("p1", "A"): 300, ("p2", "A"): 300, ("p3", "A"): 300, ("p4", "MX"): 300, ("p5", "A"): 3600,
    }  # fmt: skip
    kept = json.loads(state_file.read_text())
    assert kept[f"p2.{ZONE}. A"] == {"values": ["10.3.0.2"], "ttl": 1800}  # before any change

    narrowed = json.dumps({"wave_record_types": ["A"]})  # the cutover.dns step: MX after the mail
    [checked] = plays.run("cutover", "dns_cutover", "--check", "-e", narrowed)
    assert checked["changed"] and checked["eendracht_counts"]["records_updated"] == 3
    assert {k: v[0] for k, v in plays.answers().items()} == {k: v[0] for k, v in ORIGINAL.items()}

    [cut] = plays.run("cutover", "dns_cutover", "-e", narrowed)
    counts = cut["eendracht_counts"]
    assert cut["changed"] and counts["records_updated"] == 3 and counts["dns_update_ms"] >= 0
    assert "invocation" not in cut  # run in the worker: no module, no arguments sent back
    assert plays.answers() == {**NEW, ("p4", "MX"): (["10 mail.noordwaard.nl."], 300)}

    [again] = plays.run("cutover", "dns_cutover", "-e", narrowed)
    assert not again["changed"] and again["eendracht_counts"]["records_unchanged"] == 3

    [mx] = plays.run("cutover", "dns_cutover", "-e", json.dumps({"wave_record_types": ["MX"]}))
    assert mx["eendracht_counts"]["records_updated"] == 1
    assert plays.answers() == NEW

    [verified] = plays.run("verify", "dns_verify")
    assert verified["eendracht_counts"]["records_verified"] == 4

    [restored] = plays.run("rollback", "dns_rollback")
    assert restored["eendracht_counts"]["records_updated"] == 4
    assert plays.answers() == ORIGINAL
    assert not state_file.exists()  # restored: the next wave records afresh


# --- without a lab --------------------------------------------------------------------------


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A TCP port that takes connections and never answers."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield listener.getsockname()[1]
    stop.set()
    thread.join()
    for conn in held:
        conn.close()
    listener.close()


@pytest.mark.parametrize("how", ["action plugin", "module"])
def test_a_server_that_never_answers_fails_the_batch_after_its_timeout(
    silent_server: int, tmp_path: Path, how: str
) -> None:
    key = tmp_path / "tsig.key"
    key.write_text(
        f'key "k" {{ algorithm hmac-sha256; secret "{base64.b64encode(b"s" * 32).decode()}"; }};\n'
    )
    args = {"state": "cutover", "server": "127.0.0.1", "port": silent_server, "key_file": str(key),
            "zones": [{"name": ZONE, "cutover_ttl": 300,
                       "records": [{"name": "www", "type": "A", "value": "1.2.3.4", "ttl": 60,
                                    "cutover_to": "5.6.7.8"}]}],
            "state_file": str(tmp_path / "dns.json"), "timeout": 1}  # fmt: skip
    role = REPO / "playbooks" / "roles" / "dns"
    env = {**os.environ, "ANSIBLE_CONFIG": str(REPO / "ansible.cfg"), "ANSIBLE_LIBRARY": str(role / "library"),
           "ANSIBLE_LOAD_CALLBACK_PLUGINS": "1", "ANSIBLE_STDOUT_CALLBACK": "json"}  # fmt: skip
    if how == "action plugin":
        env["ANSIBLE_ACTION_PLUGINS"] = str(role / "action_plugins")
    started = time.monotonic()
    done = subprocess.run(
        [str(BIN / "ansible"), "localhost", "-c", "local", "-m", "eendracht_dns_batch",
         "-a", json.dumps(args)],
        capture_output=True, text=True, timeout=60, env=env,
    )  # fmt: skip
    assert time.monotonic() - started < 15, "the batch waited for the server"
    result = json.loads(done.stdout)["plays"][0]["tasks"][0]["hosts"]["localhost"]
    assert done.returncode != 0 and result["msg"].endswith("timed out after 1 s"), result
    assert ("invocation" in result) == (how == "module")  # the plugin ran in the worker, no module
    assert not (tmp_path / "dns.json").exists()


def test_key_files_as_nsupdate_takes_them(tmp_path: Path) -> None:
    secret = base64.b64encode(b"//secret//" * 3).decode()
    clause = tmp_path / "tsig.key"
    clause.write_text(
        f'# made by tsig-keygen\nkey "Lab-Key" {{\n\talgorithm hmac-sha512;\n\tsecret "{secret}";\n}};\n'
    )
    key = dns.read_key(str(clause))
    assert (key.name.to_text(), key.algorithm.to_text(), key.secret) == (
        "lab-key.",
        "hmac-sha512.",
        b"//secret//" * 3,
    )
    private = tmp_path / "Kupdates.example.+157+12345.private"
    private.write_text(
        f"Private-key-format: v1.3\nAlgorithm: 157 (HMAC_MD5)\nKey: {secret}\nBits: AAA=\n"
    )
    key = dns.read_key(str(private))
    assert (key.name.to_text(), key.algorithm.to_text()) == (
        "updates.example.",
        "HMAC-MD5.SIG-ALG.REG.INT.",
    )
    (tmp_path / "bad.key").write_text('key "x" { algorithm hmac-sha999; secret "AAAA"; };\n')
    with pytest.raises(dns.DnsBatchError, match="no key with a known algorithm"):
        dns.read_key(str(tmp_path / "bad.key"))
    (tmp_path / "bad64.key").write_text('key "x" { algorithm hmac-sha256; secret "A*A"; };\n')
    with pytest.raises(dns.DnsBatchError, match="not base64"):
        dns.read_key(str(tmp_path / "bad64.key"))
    with pytest.raises(dns.DnsBatchError, match="No such file"):
        dns.read_key(str(tmp_path / "missing.key"))


@pytest.mark.parametrize(
    ("rtype", "text"),
    [
        ("A", "192.0.2.1"),
        ("AAAA", "2001:db8::5"),
        ("CNAME", "avd.waardstad.nl."),
        ("CNAME", "Target.Example.nl."),
        ("MX", "0 waardstad-nl.mail.protection.outlook.com."),
        ("SRV", "0 5 5060 sip.waardstad.nl."),
        ("TXT", '"v=spf1 include:spf.protection.outlook.com -all"'),
        ("TXT", '"a \\"b\\" \\\\ c" "d\\195\\169\\010"'),
    ],
)
def test_values_go_on_the_wire_and_read_back_as_dig_prints_them(rtype: str, text: str) -> None:
    lines = dns.rrset_lines("r.example.", rtype, 60, [text])
    wire = dns.to_wire(dns.update_message("example", lines))
    found: dict[tuple[str, str], tuple[list[str], int]] = {}
    sent = dnspython_message.from_wire(wire)
    answer = dnspython_message.make_response(sent)
    answer.answer = [rrset for rrset in sent.update if rrset.ttl]  # the added record, as read
    dns._collect(found, dnspython_message.from_wire(answer.to_wire()), None)
    assert found == {("r.example.", rtype): ([text], 60)}


def test_names_keep_their_case_on_the_wire() -> None:
    """dnspython compresses names without regard to case; the batch's messages do not, or named
    would store a name in the case of an earlier one (and verify would find another value)."""
    lines = [
        *dns.rrset_lines("c1.example.", "CNAME", 60, ["Target.Example.nl."]),
        *dns.rrset_lines("m1.example.", "MX", 60, ["5 mx1.example.nl."]),
    ]
    sent = dnspython_message.from_wire(dns.to_wire(dns.update_message("example", lines)))
    added = {rrset.name.to_text(): rrset[0].to_text() for rrset in sent.update if rrset.ttl}
    assert added == {"c1.example.": "Target.Example.nl.", "m1.example.": "5 mx1.example.nl."}


def test_update_lines_are_those_nsupdate_takes_and_answers_are_signed_or_refused() -> None:
    key = dnspython_tsig.Key("k.", b"s" * 32, dnspython_tsig.HMAC_SHA256)
    lines = dns.rrset_lines("www.noordwaard.nl.", "A", 300, ["10.9.0.4"])
    request = dns.update_message(ZONE, lines, key)
    wire = dns.to_wire(request)
    assert struct.unpack_from("!HHHH", wire, 4) == (1, 0, 2, 1)  # zone, prereqs, updates, TSIG
    with pytest.raises(dns.DnsBatchError, match="not an update line"):
        dns.update_message(ZONE, ["update add www.noordwaard.nl. A 10.9.0.4"])
    with pytest.raises(dns.DnsBatchError, match="not a A value"):
        dns.update_message(ZONE, ["update add www.noordwaard.nl. 300 A 10.9.0"])
    # The server's view: the request verifies with the key, and its answer is signed with it.
    received = dnspython_message.from_wire(wire, keyring=key)
    reply = dnspython_message.make_response(received)
    signed = reply.to_wire()

    def read(wire: bytes) -> Any:
        return dnspython_message.from_wire(wire, keyring=False)

    assert dns.check_answer(request, read(signed), key, "update").rcode() == 0
    tampered = signed[:3] + bytes([signed[3] ^ 0x01]) + signed[4:]
    with pytest.raises(dns.DnsBatchError, match="does not verify"):
        dns.check_answer(request, read(tampered), key, "update")
    other = dnspython_tsig.Key("k.", b"t" * 32, dnspython_tsig.HMAC_SHA256)
    with pytest.raises(dns.DnsBatchError, match="does not verify"):
        dns.check_answer(request, read(signed), other, "update")
    refused = dnspython_message.make_response(dnspython_message.from_wire(wire, keyring=False))
    refused.set_rcode(dnspython_rcode.REFUSED)
    with pytest.raises(dns.DnsBatchError, match=r"update failed: REFUSED \(unsigned\)"):
        dns.check_answer(request, read(refused.to_wire()), key, "update")
    refused.set_rcode(dnspython_rcode.NOERROR)
    with pytest.raises(dns.DnsBatchError, match="not signed"):
        dns.check_answer(request, read(refused.to_wire()), key, "update")
    bad_key = dnspython_message.make_response(received, tsig_error=dnspython_rcode.BADKEY)
    with pytest.raises(dns.DnsBatchError, match=r"refused the TSIG key k\. \(BADKEY\)"):
        dns.check_answer(request, read(bad_key.to_wire()), key, "update")


@pytest.mark.parametrize(
    ("key_file", "kerberos", "message"),
    [
        ("/k.key", {"principal": "a@B"}, "not both"),
        ("", {}, "no key to sign with"),
        ("", {"principal": "a@B"}, "kerberos needs principal and server_name"),
        ("", {"server_name": "dc1"}, "kerberos needs principal and server_name"),
        ("", {"principal": "a@B", "server_name": "dc1", "realm": "B"}, "unknown: realm"),
    ],
)
def test_a_key_is_a_tsig_file_or_kerberos_settings_never_both_or_half(
    key_file: str, kerberos: dict[str, str], message: str
) -> None:
    params = {"server": "127.0.0.1", "port": 53, "timeout": 1,
              "key_file": key_file, "kerberos": kerberos}  # fmt: skip
    with pytest.raises(dns.DnsBatchError, match=message):
        dns.signing_key(params)


def test_a_gss_keytab_that_is_not_there_is_named(tmp_path: Path) -> None:
    kerberos = {"principal": "svc@LAB", "server_name": "dc1.lab", "keytab": str(tmp_path / "x")}
    params = {"server": "127.0.0.1", "port": 53, "timeout": 1, "key_file": "", "kerberos": kerberos}
    with pytest.raises(dns.DnsBatchError, match=f"keytab {tmp_path / 'x'}: no such file"):
        dns.signing_key(params)
