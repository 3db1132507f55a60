"""playbooks/module_utils/: the code the Ansible modules and the package share, one copy each."""

from __future__ import annotations

import importlib.util
import os
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from wave_support import REPO

from eendracht import module_utils
from eendracht.module_utils import load_module_utils, parse_ldif, thaw_tree

fsflags = load_module_utils("eendracht_fsflags")
ldif = load_module_utils("eendracht_ldif")


def _library(role: str, name: str) -> ModuleType:
    path = REPO / "playbooks" / "roles" / role / "library" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_package_and_the_modules_run_the_same_file() -> None:
    assert sys.modules["ansible.module_utils.eendracht_fsflags"] is fsflags
    assert Path(fsflags.__file__) == module_utils.MODULE_UTILS / "eendracht_fsflags.py"
    assert load_module_utils("eendracht_ldif") is ldif  # loaded once
    assert _library("identity", "eendracht_directory").parse_ldif is ldif.parse_ldif
    freeze = _library("files", "eendracht_freeze")
    assert freeze.apply_tree is fsflags.apply_tree and freeze.is_immutable is fsflags.is_immutable
    with pytest.raises(ImportError, match=r"no no_such_util\.py in "):
        load_module_utils("no_such_util")
    assert "ansible.module_utils.no_such_util" not in sys.modules


def test_no_other_copy_of_the_ioctl_or_the_ldif_parser() -> None:
    sources = [*(REPO / "scripts").rglob("*.py"), *(REPO / "playbooks").rglob("*.py")]
    ioctl = [p for p in sources if "FS_IOC_SETFLAGS" in p.read_text(encoding="utf-8")]
    parsers = [p for p in sources if "def parse_ldif" in p.read_text(encoding="utf-8")]
    assert [p.relative_to(REPO) for p in ioctl] == [
        Path("playbooks/module_utils/eendracht_fsflags.py")
    ]
    assert sorted(p.relative_to(REPO) for p in parsers) == [
        Path("playbooks/module_utils/eendracht_ldif.py"),
        Path("scripts/eendracht/module_utils.py"),  # its typed signature, no parsing
    ]


LDIF = """# extended LDIF
dn: uid=dvdberg,ou=people,dc=noordwaard,dc=nl
uid: dvdberg
givenName:: RGFuacOrbGxl
sn: Berg
eendrachtSurnamePrefix: van den
description: a line folded
  over two
mail: d.vandenberg@noordwaard.nl
mail: danielle@noordwaard.nl

# search result
search: 2
result: 0 Success
"""


def test_ldif_entries_with_case_insensitive_attribute_names() -> None:
    (entry,) = parse_ldif(LDIF)  # the result block has no dn: not an entry
    assert entry["dn"] == ["uid=dvdberg,ou=people,dc=noordwaard,dc=nl"]
    assert entry["givenName"] == entry["givenname"] == entry["GIVENNAME"] == ["Daniëlle"]
    assert entry["description"] == ["a line folded over two"]
    assert entry["mail"] == ["d.vandenberg@noordwaard.nl", "danielle@noordwaard.nl"]
    assert "eendrachtSurnamePrefix" in entry and "eendrachtsurnameprefix" in entry
    assert 3 not in entry
    assert entry.get("eendrachtDisabled", ["FALSE"]) == ["FALSE"]
    assert sorted(entry) == [
        "description", "dn", "eendrachtsurnameprefix", "givenname", "mail", "sn", "uid",
    ]  # fmt: skip
    entry["Mail"] = ["new@waardstad.nl"]
    assert entry["mail"] == ["new@waardstad.nl"]
    entry.setdefault("eendrachtDisabled", []).append("TRUE")
    assert entry["eendrachtdisabled"] == ["TRUE"]
    assert entry.pop("SN") == ["Berg"] and "sn" not in entry
    del entry["Description"]
    assert "description" not in entry
    assert ldif.Entry({"CN": ["x"]}, Uid=["y"]) == {"cn": ["x"], "uid": ["y"]}
    assert parse_ldif("") == [] and parse_ldif("# only a comment\n") == []


directory = _library("identity", "eendracht_directory")
values = st.lists(
    st.text(st.characters(exclude_categories=("Cs",)), min_size=1), min_size=1, max_size=4
)


@settings(max_examples=200, deadline=None)
@given(values)
@example(["a\x0bb", "form\x0cfeed"])  # line breaks other than LF/CRLF travel unencoded
def test_what_the_directory_module_writes_reads_back_the_same(vals: list[str]) -> None:
    text = directory.add_record("uid=x,dc=w", {"description": vals, "displayName": vals[:1]})
    (entry,) = ldif.parse_ldif(text)
    assert entry["description"] == vals and entry["displayname"] == vals[:1]


def test_walk_lists_a_folder_before_its_entries(tmp_path: Path) -> None:
    (tmp_path / "a" / "b").mkdir(parents=True)
    (tmp_path / "a" / "b" / "f").write_text("x")
    (tmp_path / "g").write_text("y")
    order = [Path(p).relative_to(tmp_path).as_posix() for p in fsflags.walk(str(tmp_path))]
    assert sorted(order) == [".", "a", "a/b", "a/b/f", "g"] and order[0] == "."
    assert order.index("a") < order.index("a/b") < order.index("a/b/f")


@pytest.fixture
def frozen(tmp_path: Path) -> Iterator[tuple[Path, Path]]:
    """A frozen tree with an append-only file and a symlink to a frozen file outside it."""
    share, outside = tmp_path / "share", tmp_path / "outside.txt"
    (share / "sub").mkdir(parents=True)
    (share / "sub" / "log").write_text("x")
    (share / "a.txt").write_text("a")
    outside.write_text("outside")
    os.symlink(outside, share / "link")
    try:
        assert fsflags.change_flags(str(share / "sub" / "log"), add=fsflags.FS_APPEND_FL)
        fsflags.apply_tree(str(share), True)
        fsflags.set_immutable(str(outside), True)
    except OSError as exc:
        fsflags.thaw_tree(str(tmp_path))
        pytest.skip(f"no immutable attribute here: {exc}")
    yield share, outside
    fsflags.thaw_tree(str(tmp_path))


def test_thaw_tree_clears_immutable_and_append_only_but_follows_no_link(
    frozen: tuple[Path, Path],
) -> None:
    share, outside = frozen
    assert fsflags.is_immutable(str(share)) and fsflags.is_immutable(str(share / "a.txt"))
    with pytest.raises(PermissionError):
        shutil.rmtree(share)
    assert thaw_tree(share) == 4  # the share, sub, sub/log (both flags) and a.txt; not the link
    assert fsflags.get_flags(str(share / "sub" / "log")) & fsflags.FROZEN == 0
    assert fsflags.is_immutable(str(outside))  # the link's target is not under the share
    assert thaw_tree(share) == 0
    shutil.rmtree(share)
    assert thaw_tree(share) == 0  # gone: nothing to do


def test_set_immutable_reports_changes_only(frozen: tuple[Path, Path]) -> None:
    share, _ = frozen
    assert not fsflags.set_immutable(str(share / "a.txt"), True)
    assert not fsflags.set_immutable(str(share / "link"), False)  # a symlink has no flags
    assert fsflags.set_immutable(str(share / "a.txt"), False)
    assert not fsflags.is_immutable(str(share / "a.txt"))
