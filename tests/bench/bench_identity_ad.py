"""Identity on Active Directory: accounts through the identity module vs raw `ldapadd` over LDAPS.

A Samba AD DC on loopback, provisioned and started with the lab's own functions (as the AD
tests do). The same accounts (objectClass user, sAMAccountName, the module's attributes,
unicodePwd, pwdLastSet 0, userAccountControl 514) are written into it twice:

- raw: one `ldapadd -c` over LDAPS with the LDIF on stdin, into OU=bench-raw (passwords made
  beforehand, outside the timing);
- module: `eendracht_directory` (kind active_directory, state present) in a process of its
  own with a JSON args file, as Ansible runs it: it reads source and target, makes a random
  password per account, writes the hand-over file, adds the accounts into OU=Medewerkers and
  then makes the department and former-municipality groups with their memberships (which the
  raw baseline does not); then again, with nothing to change.

Each side gets its own fresh copy of the same provisioned, empty domain (same address, same
settings, copied from one provisioning): Samba's adds get slower as the domain fills, so
whichever side ran second in a shared DC would pay for the other's 10,000 accounts. Logon
names and UPNs differ by one letter between the two sets; everything else is the same.
Unless BENCH_AD_NOPWD=0, raw `ldapadd` of the same entries without unicodePwd (a third fresh
DC) shows what Samba's password hashing costs. The module's LDAP tool runs are timed from
inside its process (a wrapper around its one `_run`), to show where its time goes.

python -m tests.bench.bench_identity_ad       BENCH_ACCOUNTS (10000), BENCH_AD_NOPWD (1)
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tests.bench.lab_bench import ACCOUNTS, show, timed

from eendracht.identity.models import Identity
from eendracht.lab import claims, samba, samba_run
from eendracht.lab.paths import write_secret
from eendracht.module_utils import load_module_utils
from eendracht.wave.paths import REPO_ROOT

ad = load_module_utils("eendracht_ad")
MODULE = REPO_ROOT / "playbooks" / "roles" / "identity" / "library" / "eendracht_directory.py"
MUNI = "bench"
NOPWD = os.environ.get("BENCH_AD_NOPWD", "1") != "0"
TIMEOUT = 3600  # seconds, for any one run: 10,000 accounts take minutes on Samba
DEPARTMENTS = [f"Afdeling {n}" for n in ("A", "B", "C", "D", "E", "F", "G", "H", "I", "J")]
# The module as Ansible runs it (see tests/wave/test_directory_ad.py), plus a timer around
# AdDirectory._run, the one place it starts ldapsearch/ldapadd/ldapmodify.
RUN_MODULE = """\
import json, os, runpy, sys, time
from eendracht.module_utils import load_module_utils
load_module_utils('eendracht_ldif')
ad = load_module_utils('eendracht_ad')
log = os.environ['BENCH_TOOL_LOG']
inner = ad.AdDirectory._run
def _run(self, argv, input_text=None):
    began = time.perf_counter()
    try:
        return inner(self, argv, input_text)
    finally:
        with open(log, 'a') as out:
            out.write(json.dumps([argv[0], time.perf_counter() - began, len(input_text or '')]) + '\\n')
ad.AdDirectory._run = _run
sys.argv = sys.argv[1:]
runpy.run_path(sys.argv[0], run_name='__main__')
"""


@contextmanager
def claimed() -> Iterator[tuple[Path, str]]:
    """A state folder and a claimed loopback address for the DCs, released afterwards."""
    state = Path(tempfile.mkdtemp(prefix="eendracht-bench-ad-", dir="/tmp"))
    (state / "lab").mkdir()  # a claim counts as live while its state has a lab folder
    octet = claims.claim_free(
        state, lambda o: [(f"127.{o}.8.1", p) for p in samba_run.PORTS.values()]
    )
    try:
        yield state, f"127.{octet}.8.1"
    finally:
        claims.release(octet, state)
        shutil.rmtree(state, ignore_errors=True)


@contextmanager
def fresh_dc(state: Path, address: str, name: str) -> Iterator[samba.Domain]:
    """An empty Samba AD DC: the same provisioned domain each time (copied from the state's
    cache), started, then stopped and removed."""
    admin = state / "admin.password"
    if not admin.exists():
        write_secret(admin, f"Beheer-{os.urandom(6).hex()}-Aa1")
    dc = samba.Domain("EENDRACHT.LAB", "EENDRACHT", "dc1", address, state / name)
    try:
        samba.provision_all([(dc, admin)], state / "cache")
        samba_run.start(dc)
        yield dc
    finally:
        samba_run.stop(dc)
        shutil.rmtree(dc.directory, ignore_errors=True)


def identities(count: int, tag: str) -> list[dict[str, Any]]:
    """The identity mapping's records (the Identity model, dumped as identity_map writes
    them); `tag` makes the logon names, UPNs and addresses of one set its own."""
    out = []
    for i in range(count):
        username = f"{tag}.medewerker{i:05d}"
        identity = Identity(
            key=f"{MUNI}/{tag}mw{i:05d}", municipality=MUNI, old_account=f"{tag}mw{i:05d}",
            old_mail=f"{tag}mw{i:05d}@bench.nl", username=username, upn=f"{username}@eendracht.nl",
            mail=f"{username}@eendracht.nl", aliases=[f"{tag}mw{i:05d}@bench.nl"],
            display_name=f"Medewerker {i:05d} van der Bank", given_name="Medewerker",
            prefix="van der", surname=f"Bank{i:05d}", department=DEPARTMENTS[i % len(DEPARTMENTS)],
            workplace="office", enabled=True, base_username=username, resolved_by="pattern",
            changes=[], uid_number=40001 + i, gid_number=50001 + i % len(DEPARTMENTS),
            sam_account_name=username,
        )  # fmt: skip
        out.append(identity.model_dump(mode="json"))
    return out


def ldap_argv(dc: samba.Domain, tool: str, *extra: str) -> list[str]:
    return [
        tool, *extra, "-x", "-H", f"ldaps://{dc.address}", "-o", "nettimeout=30",
        "-D", dc.admin_principal, "-y", str(dc.admin_password_file),
    ]  # fmt: skip


def ldap(dc: samba.Domain, tool: str, ldif: str, *extra: str) -> None:
    done = subprocess.run(
        ldap_argv(dc, tool, *extra), input=ldif, capture_output=True, text=True, check=False,
        env=samba_run.ldaps_env(dc), timeout=TIMEOUT,
    )  # fmt: skip
    if done.returncode != 0:
        raise RuntimeError(f"{tool} failed ({done.returncode}): {done.stderr.strip()[-300:]}")


def count_under(dc: samba.Domain, base: str) -> int:
    done = subprocess.run(
        [*ldap_argv(dc, "ldapsearch", "-LLL", "-E", "pr=1000/noprompt"), "-b", base,
         "(objectClass=user)", "1.1"],
        capture_output=True, text=True, check=False, env=samba_run.ldaps_env(dc), timeout=300,
    )  # fmt: skip
    return sum(line.startswith("dn:") for line in done.stdout.splitlines())


def raw_ldif(dc: samba.Domain, people: list[dict[str, Any]], ou: str, passwords: bool) -> str:
    """The entries the module writes for these people (its own desired_user and LDIF writer),
    under `ou`, with or without their initial passwords."""
    out = []
    for i in people:
        attrs: dict[str, list[str]] = {
            "objectClass": ["user"],
            "sAMAccountName": [i["sam_account_name"]],
        }
        attrs.update((k, v) for k, v in ad.desired_user(i, MUNI, True).items() if v)
        attrs.update(userAccountControl=[str(ad.NEW_ACCOUNT_UAC)], pwdLastSet=["0"])
        if passwords:
            tokens = ad.name_tokens(i["sam_account_name"], i["display_name"])
            attrs["unicodePwd"] = [ad.unicode_pwd(ad.new_password(tokens))]
        cn = f"{ad.rdn_value(i['display_name'])} ({ad.rdn_value(i['sam_account_name'])})"
        out.append(ad.add_record(f"CN={cn},{ou}", attrs))
    return "".join(out)


def raw_add(dc: samba.Domain, people: list[dict[str, Any]], ou_name: str, passwords: bool) -> float:
    ou = f"OU={ou_name},{dc.base_dn}"
    ldap(dc, "ldapadd", ad.add_record(ou, {"objectClass": ["organizationalUnit"], "ou": [ou_name]}))
    ldif = raw_ldif(dc, people, ou, passwords)
    seconds, _ = timed(lambda: ldap(dc, "ldapadd", ldif, "-c"))
    added = count_under(dc, ou)
    if added != len(people):
        raise RuntimeError(f"raw ldapadd into {ou} added {added} of {len(people)} accounts")
    return seconds


def spec(dc: samba.Domain, **extra: str) -> dict[str, str]:
    return dc.directory_spec(**extra)


def run_module(state: Path, dc: samba.Domain, name: str) -> tuple[float, dict[str, Any], list[Any]]:
    """(seconds of the whole module process, its result, its tool runs [tool, s, stdin chars])."""
    mapping = state / "mapping.json"
    module_args = {
        "state": "present",
        "mapping_file": str(mapping),
        # The source: the same DC, an OU that does not exist (no source people: every
        # identity of the mapping is created; no source groups carried).
        "source": spec(dc, people_dn=f"OU=bench-nobody,{dc.base_dn}"),
        "target": spec(dc),
        "handover_file": str(state / "handover" / f"{MUNI}.json"),
        "timeout": TIMEOUT,
    }
    args_file = state / f"args-{name}.json"
    args_file.write_text(json.dumps({"ANSIBLE_MODULE_ARGS": module_args}))
    log = state / f"tools-{name}.jsonl"
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT / "scripts"), "BENCH_TOOL_LOG": str(log)}
    argv = [sys.executable, "-c", RUN_MODULE, str(MODULE), str(args_file)]
    seconds, done = timed(
        lambda: subprocess.run(
            argv, capture_output=True, text=True, check=False, env=env, timeout=TIMEOUT
        )
    )
    result: dict[str, Any] = json.loads(done.stdout) if done.stdout.strip() else {}
    if not result or result.get("failed"):
        raise RuntimeError(f"the module failed: {result.get('msg') or done.stderr[-500:]}")
    tools = [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
    return seconds, result, tools


def where(tools: list[Any]) -> dict[str, float]:
    """The module's tool runs: the accounts' ldapadd (the one with the most LDIF), the other
    ldapadds (OUs, groups), ldapmodify (memberships) and ldapsearch (reads)."""
    out = {"accounts_ldapadd_s": 0.0, "other_ldapadd_s": 0.0, "ldapmodify_s": 0.0, "ldapsearch_s": 0.0}  # fmt: skip
    adds = [n for n, (tool, _, _) in enumerate(tools) if tool == "ldapadd"]
    biggest = max(adds, key=lambda n: int(tools[n][2]), default=-1)
    for n, (tool, seconds, _) in enumerate(tools):
        if n == biggest:
            out["accounts_ldapadd_s"] = float(seconds)
        elif tool == "ldapadd":
            out["other_ldapadd_s"] += float(seconds)
        else:
            out[f"{tool}_s"] = out.get(f"{tool}_s", 0.0) + float(seconds)
    out["tool_runs"] = len(tools)
    return out


def bench_identity_ad(state: Path, address: str) -> dict[str, float]:
    ours, theirs = identities(ACCOUNTS, "m"), identities(ACCOUNTS, "r")
    (state / "mapping.json").write_text(
        json.dumps({"organisation": "eendracht", "municipality": MUNI, "identities": ours})
    )
    figures: dict[str, Any] = {"accounts": ACCOUNTS}
    with fresh_dc(state, address, "dc-raw") as dc:
        raw_s = raw_add(dc, theirs, "bench-raw", passwords=True)
    with fresh_dc(state, address, "dc-module") as dc:
        module_s, result, tools = run_module(state, dc, "full")
        counts = result["eendracht_counts"]
        created = count_under(dc, f"OU=Medewerkers,{dc.base_dn}")
        if counts["accounts_created"] != ACCOUNTS or created != ACCOUNTS:
            raise RuntimeError(f"the module did not create every account: {counts}")
        again_s, again, _ = run_module(state, dc, "again")
        if again["changed"] or again["eendracht_counts"]["accounts_unchanged"] != ACCOUNTS:
            raise RuntimeError(f"the re-run changed something: {again['eendracht_counts']}")
    parts = where(tools)
    figures.update(
        raw_ldapadd_s=raw_s,
        raw_accounts_per_s=ACCOUNTS / raw_s,
        module_s=module_s,
        module_accounts_per_s=ACCOUNTS / module_s,
        throughput_ratio=raw_s / module_s,
        **{f"module_{k}": v for k, v in parts.items()},
        module_python_s=module_s - sum(v for k, v in parts.items() if k.endswith("_s")),
        accounts_ldapadd_ratio=raw_s / parts["accounts_ldapadd_s"],
        groups_created=counts["groups_created"],
        rerun_nothing_to_change_s=again_s,
    )
    if NOPWD:
        with fresh_dc(state, address, "dc-nopwd") as dc:
            nopwd = raw_add(dc, identities(ACCOUNTS, "n"), "bench-nopwd", passwords=False)
        figures["raw_ldapadd_without_unicodePwd_s"] = nopwd
    return figures


def main() -> None:
    print(f"load average at the start: {os.getloadavg()[0]:.2f}", flush=True)
    began = time.monotonic()
    with claimed() as (state, address):
        show("identity_ad", bench_identity_ad(state, address))
    print(f"(whole benchmark, DC up and down included: {time.monotonic() - began:.0f} s)")


if __name__ == "__main__":
    main()
