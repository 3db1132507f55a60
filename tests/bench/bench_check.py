"""Benchmark: `eendracht check` and `eendracht plan` on one municipality of N and 10N people.

    .venv/bin/python -m tests.bench.bench_check     (BENCH_PEOPLE sets N, default 10000)

Generates (seeded, into a temporary folder, removed afterwards) a valid programme with one
municipality of N people and N user mailboxes (and a second mailbox for 3% of them, some in
the new domain), with proportionate shares (N/50), DNS records (N/10), devices (one per
enabled person) and applications (N/100, with koppelingen and cycles), from the example
programmes' generator (`scripts/examples/build.py`). Each command runs as its own process
(`.venv/bin/eendracht`, output discarded), the best of BENCH_REPEAT runs (default 2: the
machine is shared). Printed for each command and size: wall seconds (`_s`), CPU seconds of
the process (`_cpu_s`, steadier on a busy machine), peak RSS (`_MiB`); and the growth, time
at 10N / time at N (`_growth_10x`, wall; `_growth_10x_cpu`). Goals: growth ≤ 11; check of
100,000 people ≤ 30 s and 2 GiB.

With BENCH_BEFORE_PEOPLE (a comma-separated list, default `2000,4000`; empty skips it), the
same commands also run on the code of BASELINE, the commit before this work (`git archive`
of its scripts/, policy/ and playbooks/, first on PYTHONPATH), at those smaller sizes
(`before_...`): that code grows with people × mailboxes and refuses files of more than
250,000 values, so it cannot read the 10N programme at all.
"""

from __future__ import annotations

import os
import random
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "scripts"))

from tests.bench.lab_bench import show  # noqa: E402

from examples import build as b  # noqa: E402
from examples.altena import ROOMS, SHARED_MAILBOXES, WOUDRICHEM  # noqa: E402

PEOPLE = int(os.environ.get("BENCH_PEOPLE", "10000"))
REPEAT = int(os.environ.get("BENCH_REPEAT", "2"))
BEFORE = [int(n) for n in os.environ.get("BENCH_BEFORE_PEOPLE", "2000,4000").split(",") if n]
BASELINE = "bd7e649"  # the last commit with the quadratic check
EENDRACHT = REPO / ".venv" / "bin" / "eendracht"
NAME = "benchstad"
WEEKEND = "2027-03-13"

SPEC = b.Spec(
    name=NAME, display_name="Gemeente Benchstad", inhabitants=1, domain="benchstad.nl",
    ad_zone="benchstad.local", host_prefix="bst", net=31, public_net="192.0.2",
    departments=WOUDRICHEM.departments, sites=WOUDRICHEM.sites,
    account="initial-prefix-surname", mail="i.prefixsurname", vendor="hp",
    products=WOUDRICHEM.products, shared_mailboxes=SHARED_MAILBOXES, rooms=ROOMS, fileservers=2,
)  # fmt: skip
CONTEXT = b.Context(
    programme="bench",
    new_domain="gemeentebench.nl",
    mx_target="gemeentebench-nl.mail.protection.outlook.com",
    files_endpoint="benchbestanden.file.core.windows.net",
    shared_names=(),
)
PROGRAMME: dict[str, Any] = {
    "programme": {
        "name": "bench",
        "organisation": {
            "name": "Gemeente Bench",
            "mail_domain": "gemeentebench.nl",
            "upn_suffix": "gemeentebench.nl",
            "alias_domains": ["benchstad.nl"],
        },
        "azure": {"primary_region": "westeurope", "fallback_region": "northeurope"},
        "waves": [{"municipality": NAME, "weekend": WEEKEND}],
    }
}
DISPOSITIONS = ("rehost", "remoteapp", "saas", "saas", "replace", "retire")


def scaled_spec(people: int) -> b.Spec:
    """The spec with its departments' staff scaled to `people` in all."""
    total = sum(d.staff for d in SPEC.departments)
    staff = [people * d.staff // total for d in SPEC.departments]
    staff[0] += people - sum(staff)
    departments = tuple(
        b.Department(d.name, d.role, n, d.cad_share)
        for d, n in zip(SPEC.departments, staff, strict=True)
    )
    return b.Spec(**{**SPEC.__dict__, "departments": departments, "inhabitants": people * 100})


def _more_shares(spec: b.Spec, count: int, rng: random.Random) -> list[dict[str, Any]]:
    servers = [f"{spec.host_prefix}-fs0{i}" for i in range(1, spec.fileservers + 1)]
    return [
        {
            "name": f"project-{i:05d}",
            "server": servers[i % len(servers)],
            "path": f"{b.SHARE_ROOT}/projecten/p{i:05d}",
            "size_gb": round(rng.uniform(0.5, 40), 1),
            "files": rng.randrange(500, 60_000),
            "department": spec.departments[i % len(spec.departments)].name,
        }
        for i in range(count)
    ]


def _more_records(count: int) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for i in range(count):
        record: dict[str, Any] = {"name": f"host{i:05d}", "type": "A", "ttl": 1200}
        record["value"] = f"10.31.{4 + i // 250 % 200}.{1 + i % 250}"
        if i % 7 == 0:
            record |= {"type": "CNAME", "value": f"host{i + 1:05d}.benchstad.local."}
        if i % 5 == 0:
            record |= {"ttl": 900, "cutover_output": "application_gateway_ip"}
        out.append(record)
    return out


def _more_applications(spec: b.Spec, count: int, rng: random.Random) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for i in range(count):
        disposition = DISPOSITIONS[i % len(DISPOSITIONS)]
        app: dict[str, Any] = {
            "name": f"app-{i:05d}",
            "display_name": f"Applicatie {i:05d}",
            "supplier": f"Leverancier {i % 40}",
            "category": "Zaakafhandelcomponent",
            "disposition": disposition,
            "users": rng.randrange(1, 400),
        }
        if disposition in ("rehost", "remoteapp"):
            app["server"] = f"{spec.host_prefix}-{'app' if disposition == 'rehost' else 'rds'}01"
            app["databases"] = [{"name": f"db_{i:05d}", "size_gb": round(rng.uniform(1, 90), 1)}]
            app["health"] = "/health"
        if disposition == "replace":
            app["saas_replacement"] = "Nieuwe SaaS"
        links = sorted({rng.randrange(i) for _ in range(min(i, 3))})
        # Every 25th application also calls the next one, which calls it back: a cycle.
        if i % 25 == 0 and i + 1 < count:
            links.append(i + 1)
        koppelingen = [
            {"target": f"app-{t:05d}", "protocol": "zgw-api"}
            for t in links
            if DISPOSITIONS[t % len(DISPOSITIONS)] != "retire"
        ]
        if i % 3 == 0:
            koppelingen.append({"target": "BRP", "protocol": "stuf", "criticality": "high"})
        if disposition not in ("retire", "replace") and koppelingen:
            app["koppelingen"] = koppelingen
        out.append(app)
    return out


def _more_mailboxes(people: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Second mailboxes of some people: old addresses kept as aliases, some in the new domain
    (where they hold back the username they spell for others)."""
    out = []
    for i, person in enumerate(people):
        local = person["mail"].split("@")[0]
        if i % 50 == 0:
            out.append({"address": f"{local}.oud@{SPEC.domain}", "owner": person["account"]})
        if i % 100 == 7:
            address = f"{local}@{CONTEXT.new_domain}"
            out.append({"address": address, "owner": person["account"], "size_gb": 0.5})
    return out


def generate(root: Path, people: int) -> None:
    """A valid programme of one municipality of `people` people, seeded by its size."""
    spec = scaled_spec(people)
    rng = random.Random(f"bench/{people}")
    files, hosts = b.build(spec, CONTEXT, "BENCH")
    files["shares.yml"]["shares"] += _more_shares(spec, people // 50, rng)
    files["dns.yml"]["dns"]["zones"][1]["records"] += _more_records(people // 10)
    files["applications.yml"]["applications"] += _more_applications(spec, people // 100, rng)
    files["mailboxes.yml"]["mailboxes"] += _more_mailboxes(files["people.yml"]["people"])
    out = {f"group_vars/{NAME}/{name}": data for name, data in files.items()}
    out["group_vars/all/programme.yml"] = PROGRAMME
    out["hosts.yml"] = {"all": {"children": {NAME: {"hosts": hosts}}}}
    for rel, data in out.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("w", encoding="utf-8") as stream:
            yaml.dump(data, stream, Dumper=yaml.CSafeDumper, sort_keys=False, allow_unicode=True)


def generate_apart(root: Path, people: int) -> None:
    """`generate` in a process of its own: this one stays small, so the commands it starts
    (forked from it) report their own peak RSS, not the generator's."""
    subprocess.run(
        [sys.executable, "-m", "tests.bench.bench_check", "--generate", str(root), str(people)],
        cwd=REPO,
        check=True,
    )


def run(args: list[str], env: dict[str, str] | None = None) -> tuple[float, float, float]:
    """(wall s, CPU s, peak RSS MiB) of one eendracht command; its output is discarded."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env, cwd=REPO
    )
    _, status, usage = os.wait4(proc.pid, 0)  # this child's own figures
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    error = proc.stderr.read().decode() if proc.stderr else ""
    if proc.returncode:
        raise RuntimeError(f"{' '.join(args)} exited {proc.returncode}: {error[-2000:]}")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024  # KiB on Linux


def best(args: list[str], env: dict[str, str] | None = None) -> tuple[float, float, float]:
    """The fastest of REPEAT runs (the machine is shared: slower runs waited for a core)."""
    return min(run(args, env) for _ in range(REPEAT))


def measure(
    root: Path, command: list[str], env: dict[str, str] | None = None
) -> dict[str, tuple[float, float, float]]:
    return {
        "check": best([*command, "check", str(root)], env),
        "plan": best([*command, "plan", str(root), "--municipality", NAME], env),
    }


def record(figures: dict[str, Any], prefix: str, people: int, root: Path, *how: Any) -> None:
    for command, (wall, cpu, rss) in measure(root, *how).items():
        figures[f"{prefix}{command}_{people}_s"] = wall
        figures[f"{prefix}{command}_{people}_cpu_s"] = cpu
        figures[f"{prefix}{command}_{people}_MiB"] = round(rss)


@contextmanager
def baseline_code() -> Iterator[tuple[list[str], dict[str, str]] | None]:
    """The command and environment that run BASELINE's eendracht, or None without git."""
    folder = Path(tempfile.mkdtemp(prefix="eendracht-baseline-"))
    try:
        archive = subprocess.run(
            ["git", "archive", "--format=tar", BASELINE, "scripts", "policy", "playbooks"],
            cwd=REPO,
            capture_output=True,
            check=True,
        ).stdout
        tar = folder / "baseline.tar"
        tar.write_bytes(archive)
        with tarfile.open(tar) as t:
            t.extractall(folder, filter="data")
        env = {**os.environ, "PYTHONPATH": str(folder / "scripts")}
        python = str(REPO / ".venv" / "bin" / "python")
        yield [python, "-c", "from eendracht.cli import app; app()"], env
    except (OSError, subprocess.CalledProcessError):
        yield None
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def main() -> None:
    figures: dict[str, Any] = {}
    work = Path(tempfile.mkdtemp(prefix="eendracht-bench-check-"))
    try:
        sizes = (PEOPLE, 10 * PEOPLE)
        for people in sizes:
            root = work / f"p{people}"
            generate_apart(root, people)
            record(figures, "", people, root, [str(EENDRACHT)])
        for command in ("check", "plan"):
            for kind in ("s", "cpu_s"):
                small, large = (figures[f"{command}_{n}_{kind}"] for n in sizes)
                figures[f"{command}_growth_10x{'_cpu' if kind == 'cpu_s' else ''}"] = large / small
        if BEFORE:
            with baseline_code() as baseline:
                for people in BEFORE if baseline is not None else ():
                    root = work / f"p{people}"
                    if not root.exists():
                        generate_apart(root, people)
                    record(figures, "before_", people, root, *baseline)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    show("check", figures)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--generate"]:
        generate(Path(sys.argv[2]), int(sys.argv[3]))
    else:
        main()
