"""The one reader of the YAML files eendracht reads: bounded, and every refusal a Problem.

A file is checked before it is opened (a regular file, not a FIFO, device, directory or
symbolic link loop), opened without blocking and read up to `MAX_BYTES`. libyaml turns it into
events; the nodes are composed here without recursion, at most `MAX_DEPTH` levels deep and
`MAX_NODES` values in all, counting every alias as the values it stands for (a billion-laughs
file of a kilobyte is refused in milliseconds, and its expansion is never printed). Before
anything is constructed, every mapping key must be a name (YAML 1.1 reads `no`, `on`, `1` or
`null` as other types, which Ansible refuses as names too), keys are unique, dates exist, only
plain YAML tags and Ansible's `!vault` and `!unsafe` are used, and merge keys (`<<: *x`) take
mappings. Each problem names the file and the field path, with at most a short excerpt.

Two readings, one result. The plain reading (`_plain`) builds the values in one pass over the
events, holding every bound and rule above, and gives up on anything it does not handle or
would have to report; the checked reading (`_compose`, `_expansion`, `_check`, then
SafeConstructor) then reads the text again and names each problem. A file of a municipality of
100,000 people is read in seconds and without a node graph of millions of objects.

Ansible Vault: a file encrypted as a whole and `!vault |` values are decrypted in memory with
the `Vault` given (eendracht.environment.vault), never written anywhere; without one, each is
one problem. Decrypted strings are `Vaulted`, whose repr never shows the value, so a problem
about such a value never prints it.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import yaml
from yaml.constructor import SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from yaml.resolver import Resolver

try:  # libyaml's parser where PyYAML was built with it (the example programmes: ~4x faster)
    from yaml._yaml import CParser as _Parser
except ImportError:  # pragma: no cover - the pure-Python parser, also without recursion
    from yaml.parser import Parser
    from yaml.reader import Reader
    from yaml.scanner import Scanner

    class _Parser(Reader, Scanner, Parser):  # type: ignore[no-redef]
        def __init__(self, stream: str) -> None:
            Reader.__init__(self, stream)
            Scanner.__init__(self)
            Parser.__init__(self)

        def dispose(self) -> None:
            pass


from eendracht.problems import Problem, display_path, excerpt, field_path

# A municipality of 100,000 people: people.yml ~13 MB and 1.2 million values (1.7 million
# with every optional key); the largest example file is 16 KB and 3,100 values.
MAX_BYTES = 32 * 1024 * 1024
MAX_DEPTH = 32  # the programme nests 7 levels deep at most
MAX_NODES = 2_500_000  # values, aliases counted as what they stand for
VAULT_HEADER = b"$ANSIBLE_VAULT;"
VAULT_HINT = (
    "give the vault password with --vault-password-file FILE or $ANSIBLE_VAULT_PASSWORD_FILE"
)

TAG = "tag:yaml.org,2002:"
STR, MAP, SEQ, MERGE = f"{TAG}str", f"{TAG}map", f"{TAG}seq", f"{TAG}merge"
VAULT_TAG, UNSAFE_TAG = "!vault", "!unsafe"
SCALAR_TAGS = {STR, f"{TAG}int", f"{TAG}float", f"{TAG}bool", f"{TAG}null", f"{TAG}timestamp"}
KEY_KINDS = {
    f"{TAG}bool": "a boolean",
    f"{TAG}int": "a number",
    f"{TAG}float": "a number",
    f"{TAG}null": "null (no value)",
    f"{TAG}timestamp": "a date",
}


class Vault(Protocol):
    """What decrypts Ansible Vault text (`$ANSIBLE_VAULT;1.1;AES256...`), in memory."""

    def decrypt(self, data: bytes) -> bytes: ...


class Vaulted(str):
    """A decrypted string: used as any string, but its repr never shows it."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "<vaulted value>"


class Refused(Exception):
    """A file that cannot be read as input; `where` is a field path or a position, or ''."""

    def __init__(self, message: str, where: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.where = where


def _kind(mode: int) -> str:
    for test, name in (
        (stat.S_ISDIR, "a directory"),
        (stat.S_ISFIFO, "a FIFO (named pipe)"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISSOCK, "a socket"),
    ):
        if test(mode):
            return name
    return "not a regular file"


def read_bounded(path: Path, limit: int = MAX_BYTES) -> bytes:
    """The bytes of a regular file of at most `limit` bytes; Refused otherwise, never hanging."""
    try:
        info = os.stat(path)  # follows symbolic links; a loop is ELOOP
    except OSError as exc:
        raise Refused(f"cannot read file: {exc.strerror or exc}") from None
    if not stat.S_ISREG(info.st_mode):
        raise Refused(f"is {_kind(info.st_mode)}, not a file (expected a regular file)")
    if info.st_size > limit:
        raise Refused(f"is {info.st_size} bytes, larger than the {limit} bytes a file may have")
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        raise Refused(f"cannot read file: {exc.strerror or exc}") from None
    try:
        opened = os.fstat(fd)  # what was opened, should the path have changed since
        if not stat.S_ISREG(opened.st_mode):
            raise Refused(f"is {_kind(opened.st_mode)}, not a file (expected a regular file)")
        chunks: list[bytes] = []
        size = 0
        while size <= limit:
            chunk = os.read(fd, min(1 << 20, limit + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    except OSError as exc:
        raise Refused(f"cannot read file: {exc.strerror or exc}") from None
    finally:
        os.close(fd)
    if size > limit:
        raise Refused(f"is larger than the {limit} bytes a file may have")
    return b"".join(chunks)


def _position(node: Node | None, mark: Any = None) -> str:
    mark = mark if mark is not None else (node.start_mark if node is not None else None)
    return f"line {mark.line + 1} column {mark.column + 1}" if mark is not None else ""


@dataclass
class _Frame:
    node: SequenceNode | MappingNode
    anchor: str | None
    key: Node | None = None


def _compose(text: str) -> Node | None:
    """The node graph of a one-document YAML text, composed without recursion and bounded.

    An anchor is known once its node is complete, so `&a [*a]` is refused and the graph has
    no cycles; aliases share the node.
    """
    parser: Any = _Parser(text)
    resolver: Any = Resolver()
    anchors: dict[str, Node] = {}
    stack: list[_Frame] = []
    root: Node | None = None
    documents = 0
    nodes = 0

    def add(node: Node) -> None:
        nonlocal root
        if not stack:
            root = node
            return
        frame = stack[-1]
        if isinstance(frame.node, SequenceNode):
            frame.node.value.append(node)
        elif frame.key is None:
            frame.key = node
        else:
            frame.node.value.append((frame.key, node))
            frame.key = None

    try:
        while True:
            event: Any = parser.get_event()
            start: Any = event.start_mark
            end: Any = event.end_mark
            if isinstance(event, yaml.StreamEndEvent):
                break
            if isinstance(event, yaml.DocumentStartEvent):
                documents += 1
                if documents > 1:
                    raise Refused(
                        "holds more than one YAML document", _position(None, event.start_mark)
                    )
                continue
            if isinstance(event, yaml.StreamStartEvent | yaml.DocumentEndEvent):
                continue
            if isinstance(event, yaml.AliasEvent):
                if event.anchor not in anchors:
                    raise Refused(
                        f"alias *{excerpt(event.anchor or '')} has no complete anchor before it "
                        "(expected an &anchor defined earlier, not around the alias)",
                        _position(None, event.start_mark),
                    )
                add(anchors[event.anchor])
                continue
            if isinstance(event, yaml.SequenceEndEvent | yaml.MappingEndEvent):
                frame = stack.pop()
                frame.node.end_mark = event.end_mark
                if frame.anchor is not None:
                    anchors[frame.anchor] = frame.node
                add(frame.node)
                continue
            nodes += 1
            if nodes > MAX_NODES:
                raise Refused(
                    f"holds more than {MAX_NODES} values (expected a file of variables)",
                    _position(None, event.start_mark),
                )
            if isinstance(event, yaml.ScalarEvent):
                tag = event.tag
                if tag is None or tag == "!":
                    tag = resolver.resolve(ScalarNode, event.value, event.implicit)
                scalar = ScalarNode(tag, event.value, start, end, style=event.style)
                if event.anchor is not None:
                    anchors[event.anchor] = scalar
                add(scalar)
                continue
            if len(stack) >= MAX_DEPTH:
                raise Refused(
                    f"nested more than {MAX_DEPTH} levels deep (expected a file of variables)",
                    _position(None, event.start_mark),
                )
            explicit = event.tag if event.tag not in (None, "!") else None
            collection: SequenceNode | MappingNode
            if isinstance(event, yaml.SequenceStartEvent):
                collection = SequenceNode(
                    explicit or SEQ, [], start, None, flow_style=event.flow_style
                )
            else:
                collection = MappingNode(
                    explicit or MAP, [], start, None, flow_style=event.flow_style
                )
            stack.append(_Frame(collection, event.anchor))
    finally:
        parser.dispose()
    return root


def _children(node: Node) -> Iterator[Node]:
    if isinstance(node, SequenceNode):
        yield from node.value
    elif isinstance(node, MappingNode):
        for key, value in node.value:
            yield key
            yield value


def _expansion(root: Node) -> None:
    """Refuse a graph whose aliases stand for more than MAX_NODES values or MAX_DEPTH levels."""
    size: dict[int, int] = {}
    depth: dict[int, int] = {}
    todo: list[tuple[Node, bool]] = [(root, False)]
    while todo:
        node, done = todo.pop()
        if id(node) in size:
            continue
        if not done:
            todo.append((node, True))
            todo.extend((c, False) for c in _children(node) if id(c) not in size)
            continue
        kids = list(_children(node))
        size[id(node)] = min(MAX_NODES + 1, 1 + sum(size[id(c)] for c in kids))
        depth[id(node)] = 1 + max((depth[id(c)] for c in kids), default=0)
        if size[id(node)] > MAX_NODES:
            raise Refused(
                f"its aliases stand for more than {MAX_NODES} values "
                "(expected aliases that repeat a little, not an alias bomb)",
                _position(node),
            )
        if depth[id(node)] > MAX_DEPTH + 1:
            raise Refused(
                f"its aliases nest more than {MAX_DEPTH} levels deep (expected a file of variables)",
                _position(node),
            )


class _Unusual(Exception):
    """What the plain reading does not handle: the checked reading decides (and reports)."""


_NO_KEY: Any = object()  # an open mapping waiting for its next key
_MERGE_KEY: Any = object()  # an open mapping whose next value is merged (`<<:`)
_IMPLICIT = Resolver.yaml_implicit_resolvers  # first character -> (tag, pattern), YAML 1.1
_BUILT_TAGS = SCALAR_TAGS - {STR}
_BUILDERS: dict[str | None, Callable[[SafeConstructor, ScalarNode], Any]] = dict(
    SafeConstructor.yaml_constructors
)


class _Open:
    """A mapping or list being read: its value, its key waiting for a value, its expansion."""

    __slots__ = ("anchor", "depth", "key", "merges", "size", "value")

    def __init__(self, value: dict[str, Any] | list[Any], anchor: str | None) -> None:
        self.value = value
        self.anchor = anchor
        self.key: Any = _NO_KEY
        self.size = 1  # values, aliases counted as what they stand for (as _expansion counts)
        self.depth = 0  # the deepest child's depth
        self.merges: list[Any] | None = None


def _attach(top: _Open, value: Any, size: int, depth: int) -> None:
    if top.value.__class__ is list:
        top.value.append(value)
    elif top.key is _MERGE_KEY:
        if top.merges is None:
            top.merges = []
        top.merges.append(value)
        top.key = _NO_KEY
    else:
        top.value[top.key] = value
        top.key = _NO_KEY
    top.size += size
    if depth > top.depth:
        top.depth = depth


def _merged(own: dict[str, Any], merges: list[Any]) -> None:
    """`own` as SafeConstructor.flatten_mapping leaves it: merged pairs first, own keys win."""
    merged: dict[str, Any] = {}
    for part in merges:
        if part.__class__ is dict:
            merged.update(part)
        elif part.__class__ is list and all(p.__class__ is dict for p in part):
            for p in reversed(part):
                merged.update(p)
        else:
            raise _Unusual
    merged.update(own)
    own.clear()
    own.update(merged)


def _plain(text: str) -> tuple[bool, Any]:
    """(True, value) of a document with nothing to report, read in one pass; else (False, None).

    One pass over libyaml's events builds the values directly (no node graph), within the
    same bounds as `_compose` and `_expansion` (values, depth, what aliases stand for) and
    with the same rules as `_check` (keys are unique names, plain tags, scalars that
    construct, merge keys that take mappings). Anything else, or anything it does not know
    (explicit tags, anchored keys, aliases as keys, several documents, a syntax error),
    raises `_Unusual` inside: the checked reading then reads the text and reports. The value
    is the one `_Constructor` builds: aliases share their anchor's value, merge keys as
    SafeConstructor.flatten_mapping merges.
    """
    parser: Any = _Parser(text)
    resolver: Any = Resolver()
    resolve = resolver.resolve
    probe = SafeConstructor()
    built: dict[tuple[str, str], Any] = {}  # (tag, text) -> value of non-string scalars
    anchors: dict[str, tuple[Any, int, int]] = {}  # anchor -> (value, size, depth)
    stack: list[_Open] = []
    root: Any = None
    documents = 0
    nodes = 0
    scalar_event, alias_event = yaml.ScalarEvent, yaml.AliasEvent
    mapping_start, sequence_start = yaml.MappingStartEvent, yaml.SequenceStartEvent
    mapping_end, sequence_end = yaml.MappingEndEvent, yaml.SequenceEndEvent
    try:
        while True:
            event: Any = parser.get_event()
            kind = event.__class__
            if kind is scalar_event:
                nodes += 1
                if nodes > MAX_NODES:
                    raise _Unusual
                tag = event.tag
                value: Any = event.value
                if tag is not None and tag != "!":
                    raise _Unusual
                if event.implicit[0] and value[:1] in _IMPLICIT:
                    tag = resolve(ScalarNode, value, event.implicit)
                else:
                    tag = STR
                if stack:
                    top = stack[-1]
                    if top.key is _NO_KEY and top.value.__class__ is dict:
                        if event.anchor is not None:
                            raise _Unusual
                        if tag == MERGE:
                            top.key = _MERGE_KEY
                        elif tag != STR or value in top.value:
                            raise _Unusual
                        else:
                            top.key = value
                        top.size += 1
                        if top.depth < 1:
                            top.depth = 1
                        continue
                if tag != STR:
                    if tag not in _BUILT_TAGS:
                        raise _Unusual
                    try:
                        value = built[(tag, value)]
                    except KeyError:
                        try:
                            made = _BUILDERS[tag](probe, ScalarNode(tag, value, None, None))
                        except Exception:
                            raise _Unusual from None
                        value = built[(tag, value)] = made
                if event.anchor is not None:
                    anchors[event.anchor] = (value, 1, 1)
                if stack:
                    _attach(stack[-1], value, 1, 1)
                else:
                    root = value
                continue
            if kind is mapping_start or kind is sequence_start:
                nodes += 1
                if nodes > MAX_NODES or len(stack) >= MAX_DEPTH:
                    raise _Unusual
                if event.tag is not None and event.tag != "!":
                    raise _Unusual
                if stack and stack[-1].key is _NO_KEY and stack[-1].value.__class__ is dict:
                    raise _Unusual  # a list or mapping as a key
                stack.append(_Open({} if kind is mapping_start else [], event.anchor))
                continue
            if kind is mapping_end or kind is sequence_end:
                frame = stack.pop()
                if frame.merges is not None:
                    _merged(frame.value, frame.merges)  # type: ignore[arg-type]
                depth = frame.depth + 1
                if frame.size > MAX_NODES or depth > MAX_DEPTH + 1:
                    raise _Unusual
                if frame.anchor is not None:
                    anchors[frame.anchor] = (frame.value, frame.size, depth)
                if stack:
                    _attach(stack[-1], frame.value, frame.size, depth)
                else:
                    root = frame.value
                continue
            if kind is alias_event:
                if event.anchor not in anchors or not stack:
                    raise _Unusual
                top = stack[-1]
                if top.key is _NO_KEY and top.value.__class__ is dict:
                    raise _Unusual  # an alias as a key
                _attach(top, *anchors[event.anchor])
                continue
            if kind is yaml.DocumentStartEvent:
                documents += 1
                if documents > 1:
                    raise _Unusual
                continue
            if kind is yaml.StreamEndEvent:
                break
    except Exception:  # _Unusual, a syntax error: the checked reading reports it
        return False, None
    finally:
        parser.dispose()
    return True, root


@dataclass
class _Checked:
    problems: list[tuple[str, str]] = field(default_factory=list)  # (field, message)
    decrypted: dict[int, Vaulted] = field(default_factory=dict)


def _check(root: Node, vault: Vault | None) -> _Checked:
    """Every node once (aliases share one), in document order, with its field path."""
    out = _Checked()
    probe = SafeConstructor()
    seen: set[int] = set()
    todo: list[tuple[Node, tuple[str | int, ...]]] = [(root, ())]

    def add(path: tuple[str | int, ...], message: str) -> None:
        out.problems.append((field_path(path), message))

    while todo:
        node, path = todo.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, ScalarNode):
            _check_scalar(node, path, probe, vault, out, add)
            continue
        if isinstance(node, SequenceNode):
            if node.tag != SEQ:
                add(path, f"tag {excerpt(node.tag)} is not used here (expected a plain list)")
                continue
            todo.extend((c, (*path, i)) for i, c in reversed(list(enumerate(node.value))))
            continue
        assert isinstance(node, MappingNode)
        if node.tag != MAP:
            add(path, f"tag {excerpt(node.tag)} is not used here (expected a plain mapping)")
            continue
        names: dict[str, ScalarNode] = {}
        pending: list[tuple[Node, tuple[str | int, ...]]] = []
        for key, value in node.value:
            if key.tag == MERGE:
                merged = value.value if isinstance(value, SequenceNode) else [value]
                if not all(isinstance(v, MappingNode) for v in merged):
                    add(
                        (*path, "<<"),
                        "a merge key takes a mapping or a list of mappings (expected `<<: *anchor`)",
                    )
                    continue
                pending.append((value, (*path, "<<")))
                continue
            if not isinstance(key, ScalarNode):
                kind = "list" if isinstance(key, SequenceNode) else "mapping"
                add(
                    path,
                    f"{_position(key)}: a key is a {kind} (`? ...`), not a name "
                    "(expected a name as every key)",
                )
                continue
            if key.tag not in (STR, UNSAFE_TAG):
                what = KEY_KINDS.get(key.tag, f"tag {excerpt(key.tag)}")
                shown = f"`{excerpt(key.value)}`" if key.value else "(empty)"
                add(
                    (*path, key.value),
                    f"key {shown} is read by YAML 1.1 as {what}, not a name "
                    f"(expected a name: quote it, '{excerpt(key.value)}')",
                )
                continue
            if key.value in names:
                add(
                    (*path, key.value),
                    f"{_position(key)}: duplicate key {excerpt(key.value)!r} "
                    f"(first at {_position(names[key.value])}; expected each key once)",
                )
                continue
            names[key.value] = key
            pending.append((value, (*path, key.value)))
        todo.extend(reversed(pending))
    return out


def _check_scalar(
    node: ScalarNode,
    path: tuple[str | int, ...],
    probe: SafeConstructor,
    vault: Vault | None,
    out: _Checked,
    add: Any,
) -> None:
    tag = node.tag
    if tag in (STR, UNSAFE_TAG, f"{TAG}null", f"{TAG}bool"):
        return
    if tag == VAULT_TAG:
        if vault is None:
            add(path, f"an encrypted value (!vault): {VAULT_HINT}")
            return
        try:
            plain = vault.decrypt(node.value.encode("utf-8")).decode("utf-8")
        except UnicodeDecodeError:
            add(path, "the decrypted !vault value is not UTF-8 text (expected a string)")
            return
        except Exception:
            add(path, "cannot decrypt the !vault value with the vault password given")
            return
        out.decrypted[id(node)] = Vaulted(plain)
        return
    if tag not in SCALAR_TAGS:
        add(path, f"tag {excerpt(tag)} is not used here (expected plain YAML, or !vault)")
        return
    try:
        probe.construct_object(node)
    except (ValueError, OverflowError, yaml.YAMLError):
        if tag.endswith("timestamp"):
            add(path, f"{excerpt(node.value)} is not a date that exists (expected YYYY-MM-DD)")
        else:
            add(path, f"{excerpt(node.value)} is not a number Python can hold (expected a number)")


class _Constructor(SafeConstructor):
    def __init__(self, decrypted: dict[int, Vaulted], secret_file: bool) -> None:
        super().__init__()
        self.decrypted = decrypted
        self.secret_file = secret_file

    def construct_vault(self, node: ScalarNode) -> Vaulted:
        return self.decrypted[id(node)]

    def construct_unsafe(self, node: ScalarNode) -> str:
        return self.construct_yaml_str(node)

    def construct_yaml_str(self, node: ScalarNode) -> str:
        value = str(self.construct_scalar(node))
        return Vaulted(value) if self.secret_file else value


_Constructor.add_constructor(VAULT_TAG, _Constructor.construct_vault)  # type: ignore[type-var]
_Constructor.add_constructor(UNSAFE_TAG, _Constructor.construct_unsafe)  # type: ignore[type-var]
_Constructor.add_constructor(STR, _Constructor.construct_yaml_str)  # type: ignore[type-var]


def parse_yaml(
    data: bytes, *, vault: Vault | None = None, secret_file: bool = False
) -> tuple[Any, list[tuple[str, str]]]:
    """(value, problems as (field, message)); the value is None when there are problems."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return None, [("", f"cannot read file: not UTF-8 text (byte {exc.start} is invalid)")]
    if not secret_file:
        plain, value = _plain(text)
        if plain:
            return value, []
    return _read_checked(text, vault, secret_file)


def _read_checked(
    text: str, vault: Vault | None, secret_file: bool
) -> tuple[Any, list[tuple[str, str]]]:
    """The checked reading: the node graph, its bounds, every problem named, then the value."""
    try:
        root = _compose(text)
        if root is None:
            return None, []
        _expansion(root)
    except Refused as exc:
        return None, [(exc.where, exc.message)]
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        return None, [(_position(None, mark), f"YAML syntax error: {exc.problem or exc}")]
    except yaml.YAMLError as exc:
        return None, [("", f"YAML syntax error: {exc}")]
    checked = _check(root, vault)
    if checked.problems:
        return None, checked.problems
    try:
        value = _Constructor(checked.decrypted, secret_file).construct_document(root)
    except (yaml.YAMLError, ValueError, TypeError, RecursionError) as exc:
        return None, [("", f"cannot read the YAML: {excerpt(str(exc))}")]
    return value, []


def read_yaml(path: Path, problems: list[Problem], vault: Vault | None = None) -> Any:
    """The value of one YAML file (None when empty or refused; refusals added to problems)."""
    shown = display_path(path)
    try:
        data = read_bounded(path)
    except Refused as exc:
        problems.append(Problem(shown, exc.where, exc.message))
        return None
    secret_file = data.lstrip().startswith(VAULT_HEADER)
    if secret_file:
        if vault is None:
            problems.append(Problem(shown, "", f"encrypted with ansible-vault: {VAULT_HINT}"))
            return None
        try:
            data = vault.decrypt(data)
        except Exception:
            problems.append(
                Problem(shown, "", "cannot decrypt the file with the vault password given")
            )
            return None
    value, found = parse_yaml(data, vault=vault, secret_file=secret_file)
    problems.extend(Problem(shown, where, message) for where, message in found)
    return value


def read_yaml_mapping(
    path: Path, problems: list[Problem], vault: Vault | None = None
) -> dict[str, Any] | None:
    """One YAML file that must hold a mapping of variables; any failure becomes a Problem."""
    before = len(problems)
    data = read_yaml(path, problems, vault)
    if len(problems) > before:
        return None
    shown = display_path(path)
    if data is None:
        problems.append(Problem(shown, "", "file is empty; it must hold a mapping of variables"))
        return None
    if not isinstance(data, dict):
        kind = type(data).__name__
        problems.append(
            Problem(shown, "", f"top level must be a mapping of variables, not a {kind}")
        )
        return None
    return data
