"""The lab's pure parts: addresses, people, share trees, zones. No daemons started."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from eendracht.lab.errors import LabError
from eendracht.lab.named import zone_text
from eendracht.lab.net import lab_octet, require_loopback
from eendracht.lab.people import colliding_names, lab_people
from eendracht.lab.plan import TARGET, TARGET_FILES, TARGET_MAIL, Zone, plan_lab
from eendracht.lab.residents import elfproef, residents
from eendracht.lab.sharetree import budgets, seed_share, share_root
from eendracht.outputs import STACK_OUTPUTS
from eendracht.programme import load_programme
from eendracht.programme import models as m
from tests.programmes import FIXTURES

MINI = load_programme(FIXTURES / "mini")


@pytest.mark.parametrize("address", ["0.0.0.0", "10.21.0.10", "192.168.1.1", "::1", "localhost"])
def test_refuses_anything_but_ipv4_loopback(address: str) -> None:
    with pytest.raises(LabError, match=r"loopback|127\.0\.0\.0/8"):
        require_loopback(address)


def test_every_planned_listener_is_loopback_and_unique() -> None:
    plan = plan_lab(MINI, lab_octet(Path("/tmp/x")))
    listeners = plan.listeners()
    assert {require_loopback(addr) for _, addr, _, _ in listeners}
    pairs = [(addr, port, proto) for _, addr, port, proto in listeners]
    assert len(pairs) == len(set(pairs))
    hosts = {f.host for f in plan.fileservers}
    assert hosts == {"nw-srv01", "zw-srv01", TARGET_FILES, TARGET_MAIL}
    # Without Active Directory in the programme: OpenLDAP and BIND, no domain controller.
    assert set(plan.directories) == {"noordwaard", "zuidwaard", TARGET}
    assert plan.controllers == {} and not plan.active_directory
    assert plan.named_zones == plan.zones
    assert plan.directories[TARGET].suffix == "dc=waardstad,dc=nl"
    assert {z.name for z in plan.zones} == {"noordwaard.nl", "zuidwaard.nl", "waardstad.nl"}
    assert {n.name for n in plan.national} == {"BRP", "BAG", "DSO"}
    # Only rehosted and RemoteApp applications get a target instance.
    assert {a.name for a in plan.target_apps} == {
        "zaaksysteem",
        "documentbeheer",
        "financien",
        "vergunningen",
        "cad",
    }


def test_a_programme_with_active_directory_gets_domain_controllers_and_no_openldap_or_bind() -> (
    None
):
    altena = load_programme(Path(__file__).parents[2] / "inventory" / "altena")
    plan = plan_lab(altena, lab_octet(Path("/tmp/x")))
    assert set(plan.controllers) == {*altena.municipalities, TARGET} and plan.active_directory
    assert plan.directories == {}
    assert plan.named_zones == [] and plan.zones
    assert not any(name == "named" for name, _, _, _ in plan.listeners())
    for zone in plan.zones:
        assert zone.owner in plan.controllers


def test_small_people_keep_collisions_and_departments_full_fills_head_count() -> None:
    small = lab_people(MINI, "small", 7)
    assert "Jan de Vries" in colliding_names(small)
    for name, muni in MINI.municipalities.items():
        assert {p.department for p in small[name]} == set(muni.info.departments)
    again = lab_people(MINI, "small", 7)
    assert small == again
    full = lab_people(MINI, "full", 7)
    for name, muni in MINI.municipalities.items():
        assert len(full[name]) >= muni.info.head_count


def test_synthetic_people_when_the_programme_lists_none() -> None:
    bare = {n: mu.model_copy(update={"people": []}) for n, mu in MINI.municipalities.items()}
    programme = MINI.model_copy(update={"municipalities": bare})
    people = lab_people(programme, "full", 1)
    assert colliding_names(people)  # synthetic municipalities still share names
    for name, muni in programme.municipalities.items():
        accounts = [p.account for p in people[name]]
        assert len(accounts) == len(set(accounts)) == muni.info.head_count


def test_residents_have_valid_bsns_and_are_deterministic() -> None:
    muni = MINI.municipality("noordwaard")
    first = residents(muni, "small", 3)
    assert first == residents(muni, "small", 3)
    assert first != residents(muni, "small", 4)
    assert all(elfproef(r.bsn) for r in first)
    assert len({r.bsn for r in first}) == len(first)


def _tree(root: Path) -> list[tuple[str, int, int, int, int, str]]:
    out = []
    for dirpath, dirnames, filenames in os.walk(root):
        for name in sorted(dirnames + filenames):
            p = Path(dirpath) / name
            st = p.lstat()
            link = os.readlink(p) if p.is_symlink() else ""
            size = st.st_size if p.is_file() and not p.is_symlink() else 0
            out.append(
                (str(p.relative_to(root)), st.st_mode, st.st_uid, int(st.st_mtime), size, link)
            )
    return sorted(out)


def test_share_tree_is_realistic_and_deterministic(tmp_path: Path) -> None:
    muni = MINI.municipality("noordwaard")
    share = muni.shares[0]
    people = lab_people(MINI, "small", 5)["noordwaard"]
    budget = budgets(muni.shares, "small")[(share.server, share.name)]
    a = seed_share(tmp_path / "a", share, people, budget, 5, 20001)
    seed_share(tmp_path / "b", share, people, budget, 5, 20001)
    assert _tree(tmp_path / "a") == _tree(tmp_path / "b")
    assert a.files == share.files
    assert a.symlinks >= 2 and a.hardlinks >= 1 and a.empty >= 0
    names = [p.name for p in (tmp_path / "a").rglob("*")]
    assert any(not n.isascii() for n in names), "non-ASCII names"
    assert any(" " in n for n in names), "names with spaces"
    assert max(len(p.relative_to(tmp_path / "a").parts) for p in (tmp_path / "a").rglob("*")) >= 9
    sizes = [
        p.stat().st_size for p in (tmp_path / "a").rglob("*") if p.is_file() and not p.is_symlink()
    ]
    assert max(sizes) >= 1024 * 1024, "some large files"
    assert sorted(sizes)[len(sizes) // 2] < 64 * 1024, "mostly small files"
    assert any(p.stat().st_nlink > 1 for p in (tmp_path / "a").rglob("*") if p.is_file())
    uids = {p.lstat().st_uid for p in (tmp_path / "a").rglob("*")}
    modes = {p.lstat().st_mode & 0o777 for p in (tmp_path / "a").rglob("*") if p.is_file()}
    assert len(uids) > 1 and len(modes) > 2


def test_zone_text_carries_ttls_and_quotes_txt() -> None:
    records = (
        m.Record(name="@", type=m.RecordType.TXT, value="v=spf1 mx -all", ttl=3600),
        m.Record(name="www", type=m.RecordType.A, value="198.51.100.20", ttl=900),
    )
    text = zone_text(Zone("example.nl", "x", records), "127.100.3.1", 2027010101)
    assert '@ 3600 IN TXT "v=spf1 mx -all"' in text
    assert "www 900 IN A 198.51.100.20" in text
    assert "ns1 86400 IN A 127.100.3.1" in text


def test_stack_outputs_contract_is_covered() -> None:
    from eendracht.lab.environment import details, outputs
    from eendracht.lab.paths import LabPaths

    plan = plan_lab(MINI, 150)
    body = outputs(LabPaths(Path("/tmp/state")), plan, MINI)
    assert set(body) == set(STACK_OUTPUTS)
    assert body["database_server_fqdn"] == plan.pg_target
    lab = details(LabPaths(Path("/tmp/state")), plan, MINI, "small", 1)
    assert lab["dns"]["zones"]["waardstad.nl"] == TARGET


def test_share_budgets_keep_proportions_within_the_scale() -> None:
    altena = load_programme(Path(__file__).parents[2] / "inventory" / "altena")
    shares = [s for mu in altena.municipalities.values() for s in mu.shares]
    for scale, (files, _, most, fewest) in (
        ("small", (600, 0, 150, 12)),
        ("full", (40_000, 0, 20_000, 100)),
    ):
        got = budgets(shares, scale)
        total = sum(b.files for b in got.values())
        assert total <= files * 1.2
        assert all(fewest <= b.files <= most for b in got.values())
        biggest = max(shares, key=lambda s: s.files)
        smallest = min(shares, key=lambda s: s.files)
        assert (
            got[(biggest.server, biggest.name)].files >= got[(smallest.server, smallest.name)].files
        )


def test_windows_share_paths_land_under_the_host_root(tmp_path: Path) -> None:
    share = m.Share(
        name="data", server="x-fs01", path="D:\\Shares\\Data", size_gb=1, department="Algemeen"
    )
    assert share_root(tmp_path, share) == tmp_path / "D" / "Shares" / "Data"
    linux = share.model_copy(update={"path": "/srv/samba/data"})
    assert share_root(tmp_path, linux) == tmp_path / "srv" / "samba" / "data"


def test_every_koppeling_of_every_instance_has_a_url() -> None:
    from eendracht.lab.apps import app_config
    from eendracht.lab.paths import LabPaths

    paths = LabPaths(Path("/tmp/state"))
    plan = plan_lab(MINI, 150)
    for side, instances in (("source", plan.apps), ("target", plan.target_apps)):
        for app in instances:
            urls = app_config(paths, plan, app, side)["koppelingen"]
            assert set(urls) == set(app.koppelingen), (side, app.name)
            for target, url in urls.items():
                if side == "target" and target in {n.name for n in plan.national}:
                    assert url.startswith(f"http://{plan.hub_address}:")  # via the hub


def test_an_address_range_is_claimed_by_one_live_lab(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from eendracht.lab import claims

    monkeypatch.setattr(claims, "CLAIMS", tmp_path / "claims")
    first, second = tmp_path / "a", tmp_path / "b"
    (first / "lab").mkdir(parents=True)
    assert claims.claim(150, first) and claims.claim(150, first)
    assert not claims.claim(150, second)
    claims.release(150, second)  # not its claim: nothing happens
    assert not claims.claim(150, second)
    (first / "lab").rmdir()  # the first lab is gone: its claim is stale
    assert claims.claim(150, second)
    claims.release(150, second)
    assert not (tmp_path / "claims" / "127.150").exists()
