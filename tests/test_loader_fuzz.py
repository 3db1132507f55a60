"""Fuzz the programme loader: whatever the bytes, ProblemsFound or a programme, fast, nothing written.

Random YAML structures (keys that YAML reads as booleans, numbers or dates, anchors, aliases,
merge keys, tags, deep nesting) and random byte mutations of the example files go through
`load_programme` into a copy of the mini programme. Bounded: about 20 seconds in all.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from eendracht.problems import ProblemsFound
from eendracht.programme import load_programme
from tests.programmes import FIXTURES

MINI = FIXTURES / "mini"
TARGETS = sorted(p.relative_to(MINI).as_posix() for p in MINI.rglob("*.yml"))
FUZZ = settings(
    max_examples=150,
    deadline=2000,  # ms per example; the mini programme loads in ~20 ms
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    derandomize=True,
    database=None,  # writes nothing, not even .hypothesis/
)

WORDS = [
    "no",
    "yes",
    "on",
    "off",
    "null",
    "~",
    "1",
    "0x1f",
    "1e3",
    "2027-02-30",
    "2027-03-06",
    "people",
    "devices",
    "municipality",
    "name",
    "<<",
    "&a",
    "*a",
    "!vault",
    "!!str",
    "!!python/object",
    "? [a, b]",
    "'",
    '"',
    "[",
    "{",
    "- ",
    ": ",
    "\t",
    "#",
    "|",
    ">",
]
scalars = st.one_of(st.sampled_from(WORDS), st.text(max_size=20), st.integers(), st.booleans())


def _tree() -> st.SearchStrategy[str]:
    """YAML text of random nested mappings and lists, with anchors, aliases and merges."""
    leaf = scalars.map(str)
    return st.recursive(
        leaf,
        lambda inner: st.one_of(
            st.lists(inner, max_size=4).map(lambda xs: "[" + ", ".join(xs) + "]"),
            st.dictionaries(leaf, inner, max_size=4).map(
                lambda d: "{" + ", ".join(f"{k}: {v}" for k, v in d.items()) + "}"
            ),
            inner.map(lambda x: f"&a {x}"),
            st.just("*a"),
            inner.map(lambda x: f"{{<<: *a, k: {x}}}"),
            st.integers(1, 200).map(lambda n: "[" * n + "]" * n),
        ),
        max_leaves=30,
    )


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


def _load(root: Path, rel: str, data: bytes) -> None:
    if root.exists():
        shutil.rmtree(root)
    shutil.copytree(MINI, root)
    (root / rel).write_bytes(data)
    before = sorted((p, p.stat().st_size) for p in root.parent.rglob("*"))
    try:
        load_programme(root)
    except ProblemsFound as exc:
        assert exc.problems
        assert all(len(str(p)) < 1200 and "\n" not in str(p) for p in exc.problems)
    assert sorted((p, p.stat().st_size) for p in root.parent.rglob("*")) == before


@FUZZ
@given(
    rel=st.sampled_from(TARGETS), key=st.sampled_from([*WORDS, "people", "devices"]), body=_tree()
)
def test_random_yaml_structures(workspace: Path, rel: str, key: str, body: str) -> None:
    _load(workspace / "mini", rel, f"{key}: {body}\n".encode())


@FUZZ
@given(
    rel=st.sampled_from(TARGETS),
    edits=st.lists(
        st.tuples(st.integers(0, 10_000), st.integers(0, 8), st.binary(max_size=8)), max_size=8
    ),
)
def test_byte_mutations_of_the_examples(
    workspace: Path, rel: str, edits: list[tuple[int, int, bytes]]
) -> None:
    data = bytearray((MINI / rel).read_bytes())
    for at, cut, insert in edits:
        at %= len(data) + 1
        data[at : at + cut] = insert
    _load(workspace / "mini", rel, bytes(data))
