"""The example programmes: they load, they have the shape their cases describe, they are
exactly what the generator writes, and Ansible reads them as inventories."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections import Counter
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

import pytest
import yaml

from eendracht.outputs import STACK_OUTPUTS
from eendracht.programme import load_programme
from eendracht.programme import models as m

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = {"altena": REPO / "inventory/altena", "ple1n": REPO / "inventory/ple1n"}
MINI = REPO / "tests/fixtures/programmes/mini"
SPATIAL = {
    "Ruimte",
    "Ruimtelijke Ontwikkeling",
    "Openbare Ruimte",
    "Buitendienst",
    "Openbare Werken",
}


@pytest.fixture(scope="module")
def altena() -> m.Programme:
    return load_programme(EXAMPLES["altena"])


@pytest.fixture(scope="module")
def ple1n() -> m.Programme:
    return load_programme(EXAMPLES["ple1n"])


@pytest.fixture(scope="module")
def mini() -> m.Programme:
    return load_programme(MINI)


def apps(p: m.Programme) -> list[m.Application]:
    return [a for mu in p.municipalities.values() for a in mu.applications]


def people(p: m.Programme) -> list[m.Person]:
    return [person for mu in p.municipalities.values() for person in mu.people]


def names_in_several_municipalities(p: m.Programme) -> set[str]:
    where = Counter(
        name for mu in p.municipalities.values() for name in {x.full_name for x in mu.people}
    )
    return {name for name, n in where.items() if n > 1}


def assert_koppelingen_acyclic(p: m.Programme) -> None:
    for mu in p.municipalities.values():
        graph = {
            a.name: {k.target for k in a.koppelingen if mu.application(k.target)}
            for a in mu.applications
        }
        try:
            tuple(TopologicalSorter(graph).static_order())
        except CycleError as exc:
            pytest.fail(f"{mu.name}: koppelingen form a cycle {exc.args[1]}")


# --- altena ------------------------------------------------------------------------


def test_altena_is_three_municipalities_with_woudrichem_first(altena: m.Programme) -> None:
    assert list(altena.municipalities) == ["woudrichem", "aalburg", "werkendam"]
    assert altena.settings.organisation.name == "Gemeente Altena"
    assert set(altena.settings.organisation.alias_domains) == {
        "woudrichem.nl",
        "aalburg.nl",
        "werkendam.nl",
    }
    assert all(
        w.weekend.isoweekday() == 6 and w.weekend.year == 2027 for w in altena.settings.waves
    )
    inhabitants = sum(mu.info.inhabitants for mu in altena.municipalities.values())
    assert 55_000 <= inhabitants <= 59_000


def test_altena_has_about_140_applications_mostly_saas(altena: m.Programme) -> None:
    all_apps = apps(altena)
    assert 130 <= len(all_apps) <= 150
    by = Counter(a.disposition for a in all_apps)
    assert by[m.Disposition.SAAS] > 0.6 * len(all_apps)
    assert all(by[d] > 0 for d in m.Disposition)
    for mu in altena.municipalities.values():
        hosts = {h.name: h for h in mu.hosts}
        for app in mu.applications:
            if app.disposition in (m.Disposition.REHOST, m.Disposition.REMOTEAPP):
                assert m.ServerRole.APPLICATION in hosts[app.server].server_roles


def test_altena_head_counts_and_cad_users(altena: m.Programme) -> None:
    for mu in altena.municipalities.values():
        assert 100 <= mu.info.head_count <= 200
        assert mu.info.head_count == len(mu.people)
        cad = [x for x in mu.people if x.workplace is m.Workplace.CAD]
        assert cad, f"{mu.name} has no CAD users"
        assert {x.department for x in cad} <= SPATIAL
        assert any(s.kind is m.SiteKind.NEIGHBOURHOOD_OFFICE for s in mu.info.sites)
        cad_app = mu.application("autocad-civil3d")
        assert cad_app is not None and cad_app.users == len(cad)


def test_altena_names_are_dutch_in_shape(altena: m.Programme) -> None:
    everyone = people(altena)
    assert {"Jan de Vries", "Daniëlle van den Berg"} <= names_in_several_municipalities(altena)
    assert len(names_in_several_municipalities(altena)) >= 5
    assert sum(1 for x in everyone if x.prefix) > 0.15 * len(everyone)
    assert any(not x.full_name.isascii() for x in everyone)
    surnames = Counter(f"{x.prefix} {x.surname}".strip() for x in everyone)
    assert {"de Jong", "Jansen", "de Vries", "van den Berg", "van Dijk", "Bakker", "Visser"} <= set(
        surnames
    )


def test_altena_first_wave_has_postgres_to_rehost(altena: m.Programme) -> None:
    woudrichem = altena.municipality("woudrichem")
    postgres = [
        d.name for a in woudrichem.applications if a.disposition is m.Disposition.REHOST for d in a.databases
        if d.engine is m.DatabaseEngine.POSTGRESQL
    ]  # fmt: skip
    assert len(postgres) >= 2
    assert [h.name for h in woudrichem.hosts if m.ServerRole.FILESERVER in h.server_roles] == [
        "wdr-fs01"
    ]


# --- ple1n -------------------------------------------------------------------------


def test_ple1n_is_three_municipalities_about_600_staff_150_apps(ple1n: m.Programme) -> None:
    assert set(ple1n.municipalities) == {"sint-michielsgestel", "sint-oedenrode", "haaren"}
    staff = sum(mu.info.head_count for mu in ple1n.municipalities.values())
    assert 570 <= staff <= 600
    assert staff == len(people(ple1n))
    assert 140 <= len(apps(ple1n)) <= 160
    assert len(names_in_several_municipalities(ple1n)) >= 5


def test_ple1n_has_a_fallback_site(ple1n: m.Programme) -> None:
    azure = ple1n.settings.azure
    assert azure.fallback_region != azure.primary_region
    sites = {s.name: s for s in ple1n.municipality("sint-oedenrode").info.sites}
    assert sites["uitwijklocatie"].kind is m.SiteKind.DATACENTRE


def test_ple1n_keeps_older_back_ends(ple1n: m.Programme) -> None:
    engines = Counter(d.engine for a in apps(ple1n) for d in a.databases)
    assert engines[m.DatabaseEngine.ORACLE] >= 3 and engines[m.DatabaseEngine.MSSQL] >= 3


# --- all examples ------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_examples_cut_over_dns_and_couple_without_cycles(name: str) -> None:
    p = load_programme(EXAMPLES[name])
    assert_koppelingen_acyclic(p)
    for mu in p.municipalities.values():
        records = [r for z in mu.dns.zones for r in z.records]
        assert any(r.cutover_to for r in records) and any(r.cutover_output for r in records)
        assert {r.cutover_output for r in records if r.cutover_output} <= set(STACK_OUTPUTS)
        targets = {k.target for a in mu.applications for k in a.koppelingen}
        assert {"BRP", "BAG", "Suwinet", "DigiD"} & targets
        assert any(k.protocol is m.Protocol.ZGW_API for a in mu.applications for k in a.koppelingen)
        assert mu.shares and mu.mailboxes and mu.devices


def test_generator_output_is_committed_byte_for_byte(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "examples.generate", "--out", str(tmp_path)],
        check=True,
        capture_output=True,
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO / "scripts")},
    )
    for name, committed in EXAMPLES.items():
        fresh = tmp_path / name
        committed_files = sorted(
            p.relative_to(committed) for p in committed.rglob("*") if p.is_file()
        )
        fresh_files = sorted(p.relative_to(fresh) for p in fresh.rglob("*") if p.is_file())
        assert committed_files == fresh_files
        for rel in fresh_files:
            assert (committed / rel).read_bytes() == (fresh / rel).read_bytes(), (
                f"inventory/{name}/{rel} differs from the generator: run `python -m examples.generate`"
            )


def test_ansible_reads_each_programme_as_an_inventory() -> None:
    binary = Path(sys.executable).parent / "ansible-inventory"
    paths = [*EXAMPLES.values(), MINI]
    # Parsing the big group_vars takes seconds each: run the three side by side.
    runs = [
        subprocess.Popen(
            [str(binary), "-i", str(path), "--list"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=REPO,
        )
        for path in paths
    ]
    for path, run in zip(paths, runs, strict=True):
        out, err = run.communicate(timeout=120)
        assert run.returncode == 0, err
        listing = json.loads(out)
        programme = load_programme(path)
        groups = set(listing["all"]["children"]) - {"ungrouped"}
        assert groups == set(programme.municipalities)
        for name, mu in programme.municipalities.items():
            assert sorted(listing[name]["hosts"]) == sorted(h.name for h in mu.hosts)
            host_vars = listing["_meta"]["hostvars"][mu.hosts[0].name]
            assert host_vars["municipality"]["name"] == name
            assert len(host_vars["applications"]) == len(mu.applications)


# --- the mini fixture --------------------------------------------------------------


def test_mini_fixture_exercises_collisions_and_cutover(mini: m.Programme) -> None:
    assert list(mini.municipalities) == ["noordwaard", "zuidwaard"]
    assert "Jan de Vries" in names_in_several_municipalities(mini)
    everyone = people(mini)
    assert {"Daniëlle", "Zoë"} <= {x.given_name for x in everyone}
    assert {"Özil", "Müller", "Çelik"} <= {x.surname for x in everyone}
    assert {a.disposition for a in apps(mini)} >= {
        m.Disposition.SAAS,
        m.Disposition.REHOST,
        m.Disposition.REMOTEAPP,
        m.Disposition.RETIRE,
    }
    assert_koppelingen_acyclic(mini)
    for mu in mini.municipalities.values():
        assert len(mu.hosts) == 1
        assert set(mu.hosts[0].server_roles) >= {
            m.ServerRole.FILESERVER,
            m.ServerRole.DNS,
            m.ServerRole.DIRECTORY,
            m.ServerRole.DATABASE,
            m.ServerRole.APPLICATION,
        }


def test_docs_show_the_mini_fixture_in_full() -> None:
    doc = (REPO / "docs/programme.md").read_text(encoding="utf-8")
    example = doc.split("<!-- example:begin -->", 1)[1].split("<!-- example:end -->", 1)[0]
    blocks = dict(re.findall(r"### `([^`]+)`\n\n```yaml\n(.*?)```\n", example, flags=re.DOTALL))
    fixture = {str(p.relative_to(MINI)): p.read_text(encoding="utf-8") for p in MINI.rglob("*.yml")}
    assert set(blocks) == set(fixture)
    for rel, text in fixture.items():
        assert blocks[rel] == text, f"docs/programme.md shows an outdated {rel}"


@pytest.mark.parametrize(
    "value",
    [
        "@",
        "v=DMARC1; p=quarantine",
        "10 mail.x.nl.",
        "yes",
        "007",
        "2027-03-13",
        "- dash",
        "a: b",
        "Daniëlle",
        "",
    ],
)
def test_generator_writes_any_string_so_it_reads_back(value: str) -> None:
    from examples.yamlemit import dump

    data = {"x": [{"name": value, "n": 1}], "y": value}
    assert yaml.safe_load(dump(data)) == data
