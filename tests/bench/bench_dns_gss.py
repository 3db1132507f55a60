"""DNS on Active Directory: 1,000 records cut over by GSS-TSIG, the dns batch against raw
`nsupdate -g` of the same changes, on one lab Samba AD DC.

    python -m tests.bench.bench_dns_gss        (BENCH_RECORDS sets the count, BENCH_ROUNDS the rounds)

Each round puts the records back as they were, times raw `nsupdate -g` (a ticket from `kinit`
beforehand, one message per ≤ 600 lines as the batch would send them; Samba applies them but
nsupdate cannot verify Samba's signed answers and exits 2, so only its timing counts), puts
them back again, and times the batch's cut-over (`run_batch`, state cutover, a fresh rollback
state: it negotiates its key from a keytab, reads the originals record by record - Samba does
not transfer zones - and sends updates of at most 15,000 bytes). Medians of the rounds.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from tests.bench.lab_bench import show, timed

from eendracht.lab import claims, samba, samba_run
from eendracht.lab.paths import write_secret
from eendracht.module_utils import load_module_utils

RECORDS = int(os.environ.get("BENCH_RECORDS", "1000"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "5"))
T = 120
dns_batch = load_module_utils("eendracht_dns")


def claimed(state: Path) -> int:
    return claims.claim_free(
        state, lambda o: [(f"127.{o}.8.1", p) for p in samba_run.PORTS.values()]
    )


def bench(d: samba.Domain, work: Path) -> dict[str, Any]:
    keytab = work / "dns.keytab"
    subprocess.run(
        ["samba-tool", "domain", "exportkeytab", str(keytab), f"--principal={d.admin_principal}",
         "-s", str(d.smb_conf)],
        capture_output=True, timeout=T, check=True,
    )  # fmt: skip
    krb5_conf = str(samba_run.client_files(d).krb5_conf)
    env = {**os.environ, "KRB5_CONFIG": krb5_conf, "KRB5CCNAME": f"FILE:{work / 'ccache'}"}
    subprocess.run(["kinit", "-k", "-t", str(keytab), d.admin_principal], env=env, timeout=T,
                   check=True)  # fmt: skip
    zone = d.dns_domain
    names = [f"bench{i:04d}.{zone}." for i in range(RECORDS)]

    def address(net_: int, i: int) -> str:
        return f"10.{net_}.{i // 250}.{i % 250 + 1}"

    def script(net_: int) -> str:
        groups = [
            dns_batch.rrset_lines(n, "A", 3600, [address(net_, i)]) for i, n in enumerate(names)
        ]
        lines = [f"server {d.address}"]
        for part in dns_batch.messages(groups):
            lines += [f"zone {zone}", *part, "send"]
        return "\n".join(lines) + "\n"

    def nsupdate(text: str) -> None:
        subprocess.run(["nsupdate", "-g", "-t", "60"], input=text, text=True, env=env,
                       capture_output=True, timeout=T, check=False)  # fmt: skip

    kerberos = {"principal": d.admin_principal, "keytab": str(keytab), "krb5_conf": krb5_conf,
                "server_name": d.fqdn}  # fmt: skip
    records = [{"name": n.split(".")[0], "type": "A", "value": address(50, i), "ttl": 3600,
                "cutover_to": address(60, i)} for i, n in enumerate(names)]  # fmt: skip
    before, after = script(50), script(60)
    rounds: list[dict[str, float]] = []
    for index in range(ROUNDS):
        nsupdate(before)
        raw, _ = timed(lambda: nsupdate(after))
        nsupdate(before)
        state_file = work / f"rollback-{index}.json"
        params = {"state": "cutover", "server": d.address, "port": 53, "key_file": "",
                  "kerberos": kerberos, "zones": [{"name": zone, "cutover_ttl": 3600,
                  "records": records}], "record_types": [], "state_file": str(state_file),
                  "outputs": {}, "timeout": T}  # fmt: skip
        ours, result = timed(lambda p=params: dns_batch.run_batch(p, False))
        counts = result["eendracht_counts"]
        if counts["records_updated"] != RECORDS:
            raise RuntimeError(f"round {index}: {counts}")
        rounds.append({"raw": raw, "ours": ours, "read": counts["dns_read_ms"] / 1000,
                       "update": counts["dns_update_ms"] / 1000})  # fmt: skip
        show(f"dns gss round {index + 1}", rounds[-1])
    return {
        "records": RECORDS,
        "rounds": ROUNDS,
        "raw_nsupdate_g_s": statistics.median(r["raw"] for r in rounds),
        "ours_s": statistics.median(r["ours"] for r in rounds),
        "read_s": statistics.median(r["read"] for r in rounds),
        "update_s": statistics.median(r["update"] for r in rounds),
        "ratio": statistics.median(r["ours"] / r["raw"] for r in rounds),
        "ratio_update_only": statistics.median(r["update"] / r["raw"] for r in rounds),
    }


def main() -> None:
    state = Path(tempfile.mkdtemp(prefix="eendracht-bench-gss-", dir="/tmp"))
    (state / "lab").mkdir()  # a claim counts as live while its state has a lab folder
    octet = claimed(state)
    domain = samba.Domain("BENCH.LAB", "BENCH", "dc1", f"127.{octet}.8.1", state / "dc")
    admin = write_secret(state / "admin.password", f"Bench-{os.urandom(8).hex()}-Aa1")
    try:
        samba.provision(domain, state / "cache", admin)
        samba_run.start(domain)
        show("dns gss", bench(domain, state))
    finally:
        samba_run.stop(domain)
        claims.release(octet, state)
        shutil.rmtree(state, ignore_errors=True)


if __name__ == "__main__":
    main()
