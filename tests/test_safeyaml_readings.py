"""safeyaml's two readings agree: whatever the plain reading (one pass, no node graph) accepts,
the checked reading accepts with the same value, the same types, key order and shared values;
whatever the checked reading refuses, the plain reading leaves to it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from eendracht import safeyaml
from eendracht.safeyaml import MAX_DEPTH, _plain, _read_checked, parse_yaml

REPO = Path(__file__).resolve().parents[1]
EXAMPLE_FILES = sorted(
    p
    for folder in ("inventory/altena", "inventory/ple1n", "tests/fixtures/programmes/mini")
    for p in (REPO / folder).rglob("*.yml")
)


def shape(value: Any, seen: dict[int, int] | None = None) -> Any:
    """The value with every type, key order, and which containers are one shared object."""
    seen = {} if seen is None else seen
    if isinstance(value, dict | list):
        if id(value) in seen:
            return ("shared", seen[id(value)])
        seen[id(value)] = len(seen)
        if isinstance(value, dict):
            return ("dict", [(type(k).__name__, k, shape(v, seen)) for k, v in value.items()])
        return ("list", [shape(v, seen) for v in value])
    return (type(value).__name__, repr(value))


def agree(text: str) -> bool:
    """Assert the readings agree on `text`; whether the plain reading accepted it."""
    plain, value = _plain(text)
    checked, problems = _read_checked(text, None, False)
    if plain:
        assert problems == [], (text, problems)
        assert shape(value) == shape(checked), text
    return plain


@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=lambda p: str(p.relative_to(REPO)))
def test_every_example_file_is_read_plainly_with_the_checked_value(path: Path) -> None:
    assert agree(path.read_text(encoding="utf-8")), "the plain reading gave up"


@pytest.mark.parametrize(
    "text",
    [
        "a: &x {k: 1, j: [2, 3]}\nb: *x\nc: [*x, *x]\n",  # aliases share the anchor's value
        "base: &b {x: 1, y: 2}\nmore: &m {y: 3, z: 4}\n"
        "one: {<<: *b, y: 9}\ntwo: {<<: [*b, *m], w: 0}\nthree: {w: 0, <<: *m, <<: *b}\n",
        "a: &l [&p {x: 1}, {y: 2}]\nb: {<<: *l, z: 3}\nc: {<<: {<<: *p, q: 1}}\n",
        "n: [~, null, '', yes, No, on, 0x1F, 0o17, 017, 1_000, 1.5e3, .nan, -.inf, 12:30:15]\n",
        "d: [2027-03-13, 2027-03-13 10:20:30, 2027-03-13t10:20:30.5+01:00]\n",
        "s: ['no', \"1\", '<<', '=', ! 12, ! true]\n",
        "'<<': plain key\n'no': quoted\n",
        "",
        "# only a comment\n",
        "just a scalar\n",
        "---\n[1, 2]\n...\n",
    ],
)
def test_the_plain_reading_reads_what_it_says(text: str) -> None:
    assert agree(text)


@pytest.mark.parametrize(
    "text",
    [
        "a: 1\na: 2\n",  # duplicate key
        "no: 1\n",
        "1: x\n",
        "~: x\n",
        "? [a, b]\n: x\n",
        "a: &x [*x]\n",  # alias inside its own anchor
        "a: *nothing\n",
        "a: {<<: 5}\n",
        "a: {<<: [{x: 1}, 2]}\n",
        "a: <<\n",
        "a: =\n",
        "a: !!python/object:os.system [ls]\n",
        "a: !vault x\n",
        "a: !unsafe x\n",
        "a: !!str 5\n",
        "&k a: 1\n",
        "d: 2027-02-30\n",
        "a: 1\n---\nb: 2\n",
        "a: [1, 2\n",  # syntax error
        "a: " + "[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1) + "\n",
        "a: &a0 [x, x, x, x, x, x, x, x, x, x]\n"
        + "".join(f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]\n" for i in range(1, 8)),
    ],
)
def test_what_the_plain_reading_does_not_handle_is_left_to_the_checked_one(text: str) -> None:
    assert not agree(text)
    assert parse_yaml(text.encode()) == _read_checked(text, None, False)


def test_the_bounds_are_the_checked_readings_bounds(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(safeyaml, "MAX_NODES", 10)
    assert agree("[1, 2, 3, 4, 5, 6, 7, 8, 9]\n")  # 10 values
    assert not agree("[1, 2, 3, 4, 5, 6, 7, 8, 9, 10]\n")
    assert not agree("a: &a [1, 2]\nb: [*a, *a, *a]\n")  # 13 values with what aliases stand for
    assert parse_yaml(b"a: &a [1, 2]\nb: [*a, *a, *a]\n")[1]


# --- random documents, in flow style: every construct either reading handles or refuses ----

SCALARS = [
    "x", "jan", "no", "yes", "On", "~", "null", "''", "'no'", '"1"', "1", "-7", "0x1F", "017",
    "1_000", "1.5", "1e3", ".nan", "-.inf", "12:30", "2027-03-13", "2027-03-13 10:00:00", "! 5",
    "9" * 30, "1e400",
]  # fmt: skip
ODD_SCALARS = ["<<", "=", "2027-02-30", "!!str 5", "!unsafe u", "!!python/name:os.system"]
KEYS = ["a", "b", "c", "d", "'no'", "'1'", "<<", "<<", "'<<'", "'a'"]
ODD_KEYS = ["no", "1", "~", "=", "[k]", "{k: v}", "!!str k"]


def pick(draw: st.DrawFn, usual: list[str], odd: list[str]) -> str:
    """Mostly what the plain reading accepts, now and then what it leaves to the other."""
    return draw(st.sampled_from(odd if draw(st.integers(0, 15)) == 0 else usual))


@st.composite
def documents(draw: st.DrawFn) -> str:
    anchors: list[str] = []

    def node(depth: int) -> str:
        kind = draw(st.sampled_from(["scalar", "scalar", "alias", "list", "map"]))
        if kind == "alias" and anchors:
            return f"*{draw(st.sampled_from(anchors))}"
        if kind in ("scalar", "alias") or depth > 3:
            text = pick(draw, SCALARS, ODD_SCALARS)
        elif kind == "list":
            text = "[" + ", ".join(node(depth + 1) for _ in range(draw(st.integers(0, 3)))) + "]"
        else:
            pairs = [
                f"{pick(draw, KEYS, ODD_KEYS)}: {node(depth + 1)}"
                for _ in range(draw(st.integers(0, 4)))
            ]
            text = "{" + ", ".join(pairs) + "}"
        if draw(st.integers(0, 3)) == 0:
            name = f"n{len(anchors)}"
            anchors.append(name)  # known to later aliases; an alias inside it is refused
            return f"&{name} {text}"
        return text

    top = [f"{pick(draw, KEYS, ODD_KEYS)}: {node(0)}" for _ in range(draw(st.integers(1, 5)))]
    return "{" + ", ".join(top) + "}\n"


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(documents())
def test_property_the_readings_agree_on_random_documents(text: str) -> None:
    agree(text)
