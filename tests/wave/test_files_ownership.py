"""File migration that keeps owners and proves it: the new numbers, the owner translation the
copy and the comparison share, real rsync runs between trees whose numbers collide, and the
manifest comparison finding every kind of difference the target could have."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from wave_support import REPO, role_file

from eendracht.identity import IdentityMapping, map_identities
from eendracht.identity.numbering import (
    FIRST_UID,
    UID_BLOCK,
    NumberingError,
    _slots,
    posix_numbers,
)
from eendracht.lab import slapd
from eendracht.lab.people import LabPerson, lab_people
from eendracht.lab.plan import plan_lab
from eendracht.lab.sharetree import FIRST_UID as TREE_FIRST_UID
from eendracht.lab.sharetree import budgets, seed_share
from eendracht.module_utils import load_module_utils
from eendracht.programme import load_programme
from eendracht.programme import models as m
from eendracht.wave.identity_map import write_identity_map

MINI = REPO / "tests" / "fixtures" / "programmes" / "mini"
ROLES = REPO / "playbooks" / "roles"
SEED = 1795
ldif = load_module_utils("eendracht_ldif")
load_module_utils("eendracht_posix_acl")
load_module_utils("eendracht_owners")


rsync = load_module_utils("eendracht_copy")  # the rsync module's work
manifest = role_file("files", "library", "eendracht_manifest")
directory = role_file("identity", "library", "eendracht_directory")

PROGRAMME = load_programme(MINI)
MAPPING: IdentityMapping = map_identities(PROGRAMME)
PEOPLE = lab_people(PROGRAMME, "small", SEED)
LAB_PLAN = plan_lab(PROGRAMME, 150)
needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="chown and other people's ACLs need root")


def _identities(municipality: str) -> list[dict[str, Any]]:
    return [i.model_dump(mode="json") for i in MAPPING.for_municipality(municipality)]


def _source_directory(municipality: str, extra: list[LabPerson] = ()) -> list[Any]:  # type: ignore[assignment]
    """The municipality's source directory as `ldapsearch -LLL` prints it: the lab's seed LDIF."""
    mu = PROGRAMME.municipalities[municipality]
    text = slapd.seed_ldif(
        LAB_PLAN.directories[municipality],
        [*PEOPLE[municipality], *extra],
        list(mu.info.departments),
    )
    return list(ldif.parse_ldif(text))


def _owners(municipality: str, extra: list[LabPerson] = ()) -> dict[str, Any]:  # type: ignore[assignment]
    owners: dict[str, Any] = manifest.owner_map(
        _identities(municipality), _source_directory(municipality, extra), 1000
    )
    return owners


def _seed(root: Path, municipality: str, share_index: int = 0) -> m.Share:
    mu = PROGRAMME.municipalities[municipality]
    share = mu.shares[share_index]
    every = [s for x in PROGRAMME.municipalities.values() for s in x.shares]
    gid = slapd.FIRST_GID + list(mu.info.departments).index(share.department)
    seed_share(
        root,
        share,
        PEOPLE[municipality],
        budgets(every, "small")[(share.server, share.name)],
        SEED,
        gid,
    )
    return share


def _getfacl(root: Path) -> str:
    done = subprocess.run(
        ["getfacl", "-R", "-n", "-s", "-p", "."],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=60,
    )
    return done.stdout


# --- the new numbers ------------------------------------------------------------------


def test_new_numbers_are_deterministic_collision_free_and_in_the_identity_map(
    tmp_path: Path,
) -> None:
    again = map_identities(load_programme(MINI))
    assert [(i.uid_number, i.gid_number) for i in again.identities] == [
        (i.uid_number, i.gid_number) for i in MAPPING.identities
    ]
    uids = [i.uid_number for i in MAPPING.identities]
    assert len(set(uids)) == len(uids) and min(uids) >= FIRST_UID
    # Each municipality its own block, in wave order.
    for block, wave in enumerate(PROGRAMME.settings.waves):
        mine = [i.uid_number for i in MAPPING.for_municipality(wave.municipality)]
        assert all(
            FIRST_UID + block * UID_BLOCK <= u < FIRST_UID + (block + 1) * UID_BLOCK for u in mine
        )
    # A department is one group for the whole organisation.
    by_department: dict[str, set[int]] = {}
    for i in MAPPING.identities:
        by_department.setdefault(i.department, set()).add(i.gid_number)
    assert all(len(gids) == 1 for gids in by_department.values())
    assert len({next(iter(g)) for g in by_department.values()}) == len(by_department)
    # Both users of the numbers read them from the identity map the wave writes.
    path = tmp_path / "identity_map.json"
    write_identity_map(MAPPING, "noordwaard", path)
    written = json.loads(path.read_text())["identities"]
    assert all(i["uid_number"] >= FIRST_UID and i["gid_number"] >= FIRST_UID for i in written)


def test_new_numbers_stay_when_people_come_and_go() -> None:
    people = [("a", f"user{n:03d}", "Burgerzaken") for n in range(200)] + [
        ("b", f"user{n:03d}", "Burgerzaken") for n in range(200)
    ]
    before = posix_numbers(["a", "b"], people)
    assert len(set(before.values())) == len(before) == 400  # a's and b's user000 differ
    after = posix_numbers(["a", "b"], [*people, ("a", "nieuwe.collega", "Financiën")])
    moved = [k for k in before if before[k] != after[k]]
    assert moved == []  # nobody's number changes when someone joins (here: no slot clashed)
    with pytest.raises(NumberingError):
        _slots(["x", "y", "z", "w"], 3, "accounts")


def test_the_identity_module_writes_the_numbers_into_the_target_directory() -> None:
    identity = _identities("noordwaard")[0]
    want = directory.desired_account(identity, "noordwaard")
    assert want["uidNumber"] == [str(identity["uid_number"])]
    assert want["gidNumber"] == [str(identity["gid_number"])]
    # An account created before the numbers existed gains posixAccount with them.
    have = {"objectclass": ["inetOrgPerson", "eendrachtAccount"], "uid": [identity["username"]]}
    changes = directory.with_class(have, "posixAccount", directory.account_changes(want, have))
    assert changes[0] == ("add", "objectClass", ["posixAccount"])
    assert ("replace", "uidNumber", [str(identity["uid_number"])]) in changes
    groups = directory.desired_groups(_identities("noordwaard"), "noordwaard", "ou=people,dc=x")
    department = f"afdeling-{directory.slug(identity['department'])}"
    assert groups[department]["gid"] == identity["gid_number"]


# --- the owner translation -------------------------------------------------------------


def test_owner_map_from_the_source_directory_and_the_identity_map() -> None:
    owners = _owners("noordwaard")
    by_account = {i["old_account"]: i for i in _identities("noordwaard")}
    for n, person in enumerate(PEOPLE["noordwaard"]):
        assert owners["users"][str(slapd.FIRST_UID + n)] == by_account[person.account]["uid_number"]
    departments = list(PROGRAMME.municipalities["noordwaard"].info.departments)
    for d, department in enumerate(departments):
        gid = next(i["gid_number"] for i in by_account.values() if i["department"] == department)
        assert owners["groups"][str(slapd.FIRST_GID + d)] == gid
    assert owners["unmapped_users"] == {} and owners["unmapped_groups"] == {}
    # The same old numbers in the other municipality are other people: other new numbers.
    other = _owners("zuidwaard")
    assert set(other["users"]) & set(owners["users"])
    assert not set(other["users"].values()) & set(owners["users"].values())


def test_an_account_without_a_new_account_is_reported_not_kept() -> None:
    stranger = LabPerson("Oud", "", "Medewerker", "Burgerzaken", "oudmw", "oud@x.nl", True, False)
    owners = _owners("noordwaard", [stranger])
    number = str(slapd.FIRST_UID + len(PEOPLE["noordwaard"]))
    assert number not in owners["users"]
    assert owners["unmapped_users"][number].startswith("oudmw:")


def test_the_translation_is_read_once_a_run_and_again_when_an_input_changed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """mode owners (the action plugin and the module run this): `reuse`, the task's registered
    result of an earlier play, is returned as it is only when read from the same inputs."""
    owners = load_module_utils("eendracht_owners")
    tools = tmp_path / "bin"
    tools.mkdir()
    seed = tmp_path / "directory.ldif"
    seed.write_text(
        slapd.seed_ldif(
            LAB_PLAN.directories["noordwaard"],
            PEOPLE["noordwaard"],
            list(PROGRAMME.municipalities["noordwaard"].info.departments),
        )
    )
    calls = tmp_path / "calls"
    (tools / "ldapsearch").write_text(f"#!/bin/sh\necho x >> {calls}\nexec cat {seed}\n")
    (tools / "ldapsearch").chmod(0o755)
    monkeypatch.setenv("PATH", f"{tools}{os.pathsep}{os.environ['PATH']}")
    mapping_file = tmp_path / "identity_map.json"
    write_identity_map(MAPPING, "noordwaard", mapping_file)
    password = tmp_path / "bind.password"
    password.write_text("secret\n")
    params = {
        "mapping_file": str(mapping_file),
        "directory": {"uri": "ldap://127.0.0.1:1", "bind_dn": "cn=a", "password_file": str(password),
                      "base_dn": "dc=noordwaard,dc=nl"},
        "keep_below": 1000, "timeout": 10, "reuse": None,
    }  # fmt: skip

    def reads() -> int:
        return len(calls.read_text().split()) if calls.exists() else 0

    first = owners.read_owners(params)
    assert reads() == 1 and first["eendracht_counts"]["accounts_mapped"] > 0
    assert first["eendracht_owners"] == _owners("noordwaard")
    again = owners.read_owners({**params, "reuse": first})
    assert reads() == 1 and again["reused"] and "eendracht_counts" not in again
    assert again["eendracht_owners"] == first["eendracht_owners"]
    assert owners.read_owners({**params, "reuse": again})["reused"]  # a reuse of a reuse
    # Anything else is read again: a skipped task's result, another keep_below, another
    # directory, an identity map written anew.
    for reuse, changed in (
        ({"skipped": True, "changed": False}, {}),
        (first, {"keep_below": 500}),
        (first, {"directory": {**params["directory"], "base_dn": "dc=other,dc=nl"}}),
    ):
        assert not owners.read_owners({**params, **changed, "reuse": reuse}).get("reused")
    assert reads() == 4
    write_identity_map(MAPPING, "noordwaard", tmp_path / "new.json")
    os.replace(tmp_path / "new.json", mapping_file)
    assert not owners.read_owners({**params, "reuse": first}).get("reused")
    assert reads() == 5
    # A map that cannot be read fails with its path, never with a traceback.
    mapping_file.write_text("{")
    with pytest.raises(owners.OwnersError, match=r"identity map .* cannot be read"):
        owners.read_owners(params)


def test_rsync_maps_exactly_the_numbers_the_tree_uses_and_refuses_unmapped_owners(
    tmp_path: Path,
) -> None:
    root = tmp_path / "share"
    _seed(root, "noordwaard")
    owners = _owners("noordwaard")
    scan = rsync.scan_tree(str(root))
    assert scan.features() == {"hard_links": True, "acls": True, "xattrs": True}
    usermap, groupmap, unmapped = rsync.id_maps(scan, owners)
    assert unmapped == []
    pairs = dict(p.split(":") for p in usermap.split(","))
    acl_users = {
        line.split(":")[-2]
        for line in _getfacl(root).splitlines()
        if line.startswith(("user:", "default:user:")) and line.split(":")[-2]
    }
    assert acl_users and acl_users <= set(pairs)  # numbers only ACLs name are mapped too
    assert pairs.get("0") == "0"  # system accounts map to themselves, never by name
    assert all(pairs[k] == str(v) for k, v in owners["users"].items() if k in pairs)
    assert "20001:" in groupmap
    if os.geteuid() == 0:
        victim = next(p for p in root.rglob("*.docx") if not p.is_symlink())
        os.chown(victim, 10099, -1)
        _, _, unmapped = rsync.id_maps(rsync.scan_tree(str(root)), owners)
        assert len(unmapped) == 1 and unmapped[0].startswith(
            "uid 10099 (not in the source directory)"
        )
        assert str(victim.relative_to(root)) in unmapped[0]


def test_rsync_command_translates_instead_of_keeping_colliding_numbers() -> None:
    params = {
        "src": "/srv/a", "dest": "/data/a", "dest_host": "192.0.2.5", "dest_port": 22,
        "dest_user": "root", "ssh_key": None, "ssh_args": "", "mirror": False, "checksum": False,
        "keeps": list(rsync.ALL_KEEPS), "io_timeout": 300,
    }  # fmt: skip
    argv = rsync.rsync_command(params, False, maps=("10001:1036825", "20001:1081765"))
    assert "--numeric-ids" not in argv  # it would leave ACL entries untranslated
    assert "--usermap=10001:1036825" in argv and "--groupmap=20001:1081765" in argv
    assert "--timeout=300" in argv and "ConnectTimeout=30" in argv[argv.index("-e") + 1]
    smb = rsync.rsync_command({**params, "keeps": ["mtime"]}, False)
    assert smb[1] == "-a" and {"--no-owner", "--no-group", "--no-perms", "--no-links"} <= set(smb)
    assert not any(a.startswith("--usermap") for a in smb)


def test_rsync_run_is_stopped_at_its_timeout() -> None:
    with pytest.raises(subprocess.TimeoutExpired):
        rsync.run(["sleep", "30"], timeout=0.5)


# --- real copies between municipalities whose numbers collide ------------------------------


def _copy(
    source: Path, target: Path, owners: dict[str, Any] | None, extra: tuple[str, ...] = ()
) -> None:
    """The module's own rsync argv, run locally (the remote part left out)."""
    params = {
        "src": str(source), "dest": "/unused", "dest_host": "unused", "dest_port": 22,
        "dest_user": "root", "ssh_key": None, "ssh_args": "", "mirror": False, "checksum": False,
        "keeps": list(rsync.ALL_KEEPS), "io_timeout": 60,
    }  # fmt: skip
    scan = rsync.scan_tree(str(source))
    maps = None
    if owners is not None:
        usermap, groupmap, unmapped = rsync.id_maps(scan, owners)
        assert unmapped == []
        maps = (usermap, groupmap)
    argv = rsync.rsync_command(params, False, scan.features(), maps=maps)
    at = argv.index("-e")
    local = [*argv[:at], *extra, *argv[at + 2 : -2], f"{source}/", f"{target}/"]
    subprocess.run(local, check=True, capture_output=True, timeout=120)


@pytest.fixture(scope="module")
def two_copies(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    if os.geteuid() != 0:
        pytest.skip("chown and other people's ACLs need root")
    base = tmp_path_factory.mktemp("copies")
    out: dict[str, Any] = {}
    for municipality in ("noordwaard", "zuidwaard"):
        source, target = base / municipality / "source", base / "target" / municipality
        _seed(source, municipality)
        owners = _owners(municipality)
        _copy(source, target, owners)
        out[municipality] = {"source": source, "target": target, "owners": owners}
    return out


def _describe(root: Path) -> dict[str, dict[str, Any]]:
    return {e["path"]: e for e in manifest.describe(str(root))}


@needs_root
def test_copies_of_colliding_numbers_land_on_distinct_new_owners(
    two_copies: dict[str, Any],
) -> None:
    north, south = two_copies["noordwaard"], two_copies["zuidwaard"]
    old = {e["uid"] for t in (north, south) for e in _describe(t["source"]).values()}
    assert TREE_FIRST_UID in old  # both municipalities use 10001 for someone
    owners_of = {
        name: {e["uid"] for e in _describe(t["target"]).values()} - {0}
        for name, t in two_copies.items()
    }
    assert not owners_of["noordwaard"] & owners_of["zuidwaard"]
    assert all(u >= FIRST_UID for u in owners_of["noordwaard"] | owners_of["zuidwaard"])
    for copy in (north, south):
        named = re.findall(r"^(?:default:)?(?:user|group):(\d+):", _getfacl(copy["target"]), re.M)
        assert named and all(int(n) >= FIRST_UID for n in named), named
        counts, differences = manifest.compare(
            _describe(copy["source"]), _describe(copy["target"]), False, 10, copy["owners"]
        )
        assert differences == [] and counts["files_verified"] == counts["files_source"] > 0
        have = _describe(copy["target"])
        assert any(e.get("xattrs") for e in have.values())
        assert any(e.get("hardlink") for e in have.values())


@needs_root
def test_the_old_copy_kept_colliding_numbers_and_acl_entries(
    two_copies: dict[str, Any], tmp_path: Path
) -> None:
    north = two_copies["noordwaard"]
    want = _describe(north["source"])
    _copy(north["source"], tmp_path / "numeric", None)  # --numeric-ids, as the copy was
    counts, differences = manifest.compare(
        want, _describe(tmp_path / "numeric"), False, 500, north["owners"]
    )
    renumbered = [p for p, e in want.items() if e["uid"] >= 1000 or e["gid"] >= 1000]
    assert len(differences) == len(renumbered) and all("gid" in d for d in differences)
    assert counts["files_verified"] < counts["files_source"]
    # Maps with --numeric-ids translate the owners but leave the numbers in ACL entries.
    _copy(north["source"], tmp_path / "both", north["owners"], extra=("--numeric-ids",))
    _, differences = manifest.compare(
        want, _describe(tmp_path / "both"), False, 500, north["owners"]
    )
    with_acl = sum(1 for e in want.values() if e.get("acl"))
    assert len(differences) == with_acl > 0 and all("(acl)" in d for d in differences)


@needs_root
def test_each_planted_difference_is_named(two_copies: dict[str, Any], tmp_path: Path) -> None:
    north = two_copies["noordwaard"]
    target = tmp_path / "planted"
    shutil.copytree(north["target"], target, symlinks=True)
    _copy(north["source"], target, north["owners"])  # copytree lost owners, ACLs, links
    want = _describe(north["source"])
    assert manifest.compare(want, _describe(target), False, 10, north["owners"])[1] == []
    have = _describe(target)
    owned = next(p for p, e in have.items() if e["type"] == "file" and not e.get("hardlink"))
    os.chown(target / owned, FIRST_UID + 99_999, -1)
    tagged = next(
        p for p, e in have.items() if "user.eendracht.classificatie" in e.get("xattrs", {})
    )
    os.removexattr(target / tagged, "user.eendracht.classificatie")
    linked = next(p for p, e in have.items() if e.get("hardlink") and e["hardlink"] != p)
    data = (target / linked).read_bytes()
    (target / linked).unlink()
    (target / linked).write_bytes(data)
    with_acl = next(
        p
        for p, e in have.items()
        if e.get("acl") and e["type"] == "file" and p not in (owned, tagged, linked)
    )
    subprocess.run(["setfacl", "-b", str(target / with_acl)], check=True, timeout=30)
    counts, differences = manifest.compare(want, _describe(target), False, 50, north["owners"])
    found = {d.rsplit(": ", 1)[1]: d for d in differences}
    assert "uid" in found[owned] and "xattrs" in found[tagged] and "acl" in found[with_acl]
    assert "hardlink" in found[linked]
    assert counts["file_differences"] >= 4


# --- the comparison of a whole step ---------------------------------------------------------


def _manifests(
    folder: Path, name: str, source: list[dict[str, Any]], target: list[dict[str, Any]]
) -> None:
    for side, entries in (("source", source), ("target", target)):
        (folder / f"{name}.{side}.jsonl").write_text("".join(json.dumps(e) + "\n" for e in entries))


def _files(n: int, uid: int = 10001) -> list[dict[str, Any]]:
    return [
        {"path": f"f{i:03d}", "type": "file", "mode": 0o640, "uid": uid, "gid": 20001,
         "size": 1, "mtime": 1, "sha256": "x"}
        for i in range(n)
    ]  # fmt: skip


OWNERS = {"users": {"10001": 1001234}, "groups": {"20001": 1005678}, "keep_below": 1000}


def test_verify_with_nothing_to_verify_fails(tmp_path: Path) -> None:
    ok, message, *_ = manifest.compare_shares([], OWNERS, rsync.ALL_KEEPS, 1.0, 10, str(tmp_path))
    assert not ok and "nothing to verify" in message
    _manifests(tmp_path, "leeg", [], [])
    share = {"name": "leeg", "files": 120}
    ok, message, *_ = manifest.compare_shares(
        [share], OWNERS, rsync.ALL_KEEPS, 1.0, 10, str(tmp_path)
    )
    assert not ok and "leeg: the source manifest has no files, the programme says 120" in message
    ok, message, *_ = manifest.compare_shares(
        [{"name": "nergens", "files": 5}], OWNERS, rsync.ALL_KEEPS, 1.0, 10, str(tmp_path)
    )
    assert not ok and "nergens: no manifest" in message


def test_the_go_no_go_ratio_is_enforced(tmp_path: Path) -> None:
    source = _files(20)
    target = _files(20, uid=1001234)
    for e in target:
        e["gid"] = 1005678
    _manifests(tmp_path, "a", source, target)
    share = [{"name": "a", "files": 20}]
    ok, message, counts, differences, _ = manifest.compare_shares(
        share, OWNERS, rsync.ALL_KEEPS, 1.0, 10, str(tmp_path)
    )
    assert ok and counts["verified_ratio"] == 1.0 and differences == []
    target[7]["sha256"] = "changed"
    _manifests(tmp_path, "a", source, target)
    ok, message, counts, differences, _ = manifest.compare_shares(
        share, OWNERS, rsync.ALL_KEEPS, 1.0, 10, str(tmp_path)
    )
    assert (
        not ok
        and "verified 19 of 20 files (0.9500 < 1)" in message
        and "a: differs (sha256): f007" in message
    )
    ok, message, counts, differences, _ = manifest.compare_shares(
        share, OWNERS, rsync.ALL_KEEPS, 0.95, 10, str(tmp_path)
    )
    assert ok and differences == ["a: differs (sha256): f007"]  # within the ratio, still listed
    source.append({"path": "map", "type": "dir", "mode": 0o2770, "uid": 10001, "gid": 20001})
    target.append({"path": "map", "type": "dir", "mode": 0o755, "uid": 1001234, "gid": 1005678})
    _manifests(tmp_path, "a", source, target)
    ok, message, *_ = manifest.compare_shares(
        share, OWNERS, rsync.ALL_KEEPS, 0.9, 10, str(tmp_path)
    )
    assert not ok and "1 folders or links differ" in message and "differs (mode): map" in message


def test_a_target_says_what_it_cannot_keep(tmp_path: Path) -> None:
    source = _files(3)
    source[0].update(acl=["user::rw-", "user:10001:r--", "group::r--", "mask::r--", "other::---"])
    source[1].update(xattrs={"user.DOSATTRIB": "ab"}, hardlink="f001")
    source[2].update(hardlink="f001")
    source.append(
        {"path": "link", "type": "link", "link": "f000", "mode": 0o777, "uid": 0, "gid": 0}
    )
    target = [{**e, "uid": 0, "gid": 0, "mode": 0o755} for e in _files(3)]  # an SMB mount
    _manifests(tmp_path, "s", source, target)
    ok, message, _, _, cannot = manifest.compare_shares(
        [{"name": "s", "files": 3}], None, ["mtime"], 1.0, 10, str(tmp_path)
    )
    assert ok, message
    assert cannot == {"owner": 4, "mode": 3, "acl": 1, "xattr": 1, "hardlink": 2, "symlink": 1}
    ok, message, *_ = manifest.compare_shares(
        [{"name": "s", "files": 3}], OWNERS, rsync.ALL_KEEPS, 1.0, 10, str(tmp_path)
    )
    assert not ok  # a POSIX target must have kept all of it


@needs_root
def test_a_change_of_owner_alone_is_a_change_and_fails_the_proof(
    two_copies: dict[str, Any], tmp_path: Path
) -> None:
    north = two_copies["noordwaard"]
    target = tmp_path / "again"
    _copy(north["source"], target, north["owners"])
    scan = rsync.scan_tree(str(north["source"]))
    usermap, groupmap, _ = rsync.id_maps(scan, north["owners"])
    params = {
        "src": str(north["source"]), "dest": "/unused", "dest_host": "unused", "dest_port": 22,
        "dest_user": "root", "ssh_key": None, "ssh_args": "", "mirror": False, "checksum": False,
        "keeps": list(rsync.ALL_KEEPS), "io_timeout": 60,
    }  # fmt: skip

    def dry_run() -> tuple[int, int, list[str]]:
        argv = rsync.rsync_command(params, True, scan.features(), maps=(usermap, groupmap))
        at = argv.index("-e")
        local = [*argv[:at], *argv[at + 2 : -2], f"{north['source']}/", f"{target}/"]
        rc, out, itemized, first, _ = rsync.run(local, 60)
        assert rc == 0
        return rsync.parse_stats(out)["files_transferred"], itemized, first

    assert dry_run() == (0, 0, [])
    victim = next(p for p in target.rglob("*.pdf") if p.is_file() and not p.is_symlink())
    os.chown(victim, FIRST_UID + 99_999, -1)
    transferred, itemized, first = dry_run()
    assert transferred == 0 and itemized == 1  # the old proof counted only files to copy
    assert first[0].endswith(str(victim.relative_to(target)))


# The files modules' timeouts: tests/wave/test_modules.py (every module, one test).


# --- the lab's trees exercise all of it, the same from the same seed -------------------------


@needs_root
def test_lab_trees_carry_acls_xattrs_links_and_colliding_owners_deterministically(
    tmp_path: Path,
) -> None:
    for run in ("a", "b"):
        _seed(tmp_path / run / "noordwaard", "noordwaard")
        _seed(tmp_path / run / "zuidwaard", "zuidwaard")
    a, b = tmp_path / "a" / "noordwaard", tmp_path / "b" / "noordwaard"
    assert _getfacl(a) == _getfacl(b) != ""
    described_a, described_b = _describe(a), _describe(b)
    assert described_a == described_b  # content, owners, modes, times, ACLs, xattrs, links
    entries = described_a.values()
    assert sum(1 for e in entries if e.get("acl")) >= 4
    assert any(any(x.startswith("default:") for x in e.get("acl", [])) for e in entries)
    assert sum(1 for e in entries if e.get("xattrs")) >= 3
    assert any(e.get("hardlink") for e in entries)
    south = {e["uid"] for e in _describe(tmp_path / "a" / "zuidwaard").values()}
    assert TREE_FIRST_UID in south and TREE_FIRST_UID in {e["uid"] for e in entries}
