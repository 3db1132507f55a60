"""What Microsoft Graph accepts, read from its published metadata (the vendored CSDL subset).

`GraphSchema.load("v1.0")` reads tests/stacks/graph_schema/v1.0.xml (cut from Microsoft's
msgraph-metadata by scripts/graph_csdl_subset.py; the file names its source commit). Nothing
about Intune is written here by hand: property names per type and API version (inherited ones
included), their EDM types, enum members, complex types and their derived types, which
navigation properties a create may carry, the parameters of bound actions, and what the
metadata's annotations say a client may not write (Computed, "read-only", deprecations) or
must write ("required property when creating") all come from the file.

`problems_*` return one message per violation, phrased like Graph's own OData errors where
Graph has one ("does not exist on type"), so the contract server can answer with them.
"""

from __future__ import annotations

import base64
import binascii
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cache
from pathlib import Path
from typing import Any

SCHEMA_DIR = Path(__file__).with_name("graph_schema")
EDM = "{http://docs.oasis-open.org/odata/ns/edm}"
NAMESPACE = "microsoft.graph"
CORE = "Org.OData.Core.V1."
GUID = re.compile(r"^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")
DURATION = re.compile(r"^-?P(?=\d|T\d)(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+(\.\d+)?S)?)?$")
INT_RANGES = {
    "Edm.Byte": (0, 255),
    "Edm.SByte": (-128, 127),
    "Edm.Int16": (-(2**15), 2**15 - 1),
    "Edm.Int32": (-(2**31), 2**31 - 1),
    "Edm.Int64": (-(2**63), 2**63 - 1),
}
READ_ONLY_TEXT = re.compile(r"\bread-?only\b", re.IGNORECASE)
DEPRECATED_TEXT = re.compile(r"\bdeprecated\b", re.IGNORECASE)
REQUIRED_ON_CREATE_TEXT = re.compile(r"\brequired property when creating\b", re.IGNORECASE)


def _tag(element: ET.Element) -> str:
    return element.tag.removeprefix(EDM)


def _local(qualified: str) -> str:
    for prefix in (f"{NAMESPACE}.", "graph."):
        if qualified.startswith(prefix):
            return qualified[len(prefix) :]
    return qualified


def _odata_type(name: str) -> str:
    return f"#{NAMESPACE}.{name}"


@dataclass(frozen=True)
class Member:
    """A property, navigation property or action parameter: name, EDM or graph type."""

    name: str
    type: str  # "Edm.Boolean" or a graph type's local name
    collection: bool
    nullable: bool
    navigation: bool = False

    @classmethod
    def of(cls, element: ET.Element) -> Member:
        declared = element.get("Type", "")
        collection = declared.startswith("Collection(")
        inner = declared.removeprefix("Collection(").removesuffix(")")
        return cls(
            name=element.get("Name", ""),
            type=inner if inner.startswith("Edm.") else _local(inner),
            collection=collection,
            nullable=element.get("Nullable", "true") != "false",
            navigation=_tag(element) == "NavigationProperty",
        )


@dataclass(frozen=True)
class StructuredType:
    name: str
    entity: bool
    base: str | None
    abstract: bool
    own: Mapping[str, Member]
    key: tuple[str, ...]


@dataclass(frozen=True)
class Note:
    """What the annotations on a type or member say."""

    description: str = ""
    computed: bool = False
    deprecated: str = ""

    @property
    def read_only(self) -> bool:
        return self.computed or bool(READ_ONLY_TEXT.search(self.description))

    @property
    def required_on_create(self) -> bool:
        return bool(REQUIRED_ON_CREATE_TEXT.search(self.description))


@dataclass
class GraphSchema:
    version: str
    source: str
    types: dict[str, StructuredType] = field(default_factory=dict)
    enums: dict[str, tuple[tuple[str, ...], bool]] = field(default_factory=dict)  # members, flags
    actions: dict[tuple[str, str], dict[str, Member]] = field(default_factory=dict)
    singletons: dict[str, str] = field(default_factory=dict)
    notes: dict[str, Note] = field(default_factory=dict)

    # -- loading --------------------------------------------------------------------------

    @classmethod
    def load(cls, version: str) -> GraphSchema:
        return _load(version)

    @classmethod
    def parse(cls, version: str, path: Path) -> GraphSchema:
        text = path.read_text("utf-8")
        source = re.search(r"file (\S+), commit (\w+)", text)
        schema = cls(version, f"{source.group(1)}@{source.group(2)}" if source else str(path))
        root = ET.fromstring(text)
        for element in root.iter(f"{EDM}Schema"):
            for child in element:
                schema._add(child)
        return schema

    def _add(self, element: ET.Element) -> None:
        tag = _tag(element)
        name = element.get("Name", "")
        if tag == "EnumType":
            members = tuple(m.get("Name", "") for m in element if _tag(m) == "Member")
            self.enums[name] = (members, element.get("IsFlags") == "true")
        elif tag in ("EntityType", "ComplexType"):
            key = tuple(
                ref.get("Name", "") for ref in element.iter(f"{EDM}PropertyRef") if ref.get("Name")
            )
            own = {
                m.get("Name", ""): Member.of(m)
                for m in element
                if _tag(m) in ("Property", "NavigationProperty")
            }
            base = element.get("BaseType")
            self.types[name] = StructuredType(
                name,
                entity=tag == "EntityType",
                base=_local(base) if base else None,
                abstract=element.get("Abstract") == "true",
                own=own,
                key=key,
            )
            for member in element:
                if _tag(member) in ("Property", "NavigationProperty"):
                    self._note(f"{name}/{member.get('Name')}", member)
        elif tag == "Action" and element.get("IsBound") == "true":
            parameters = [Member.of(p) for p in element if _tag(p) == "Parameter"]
            bound, *rest = parameters
            self.actions[(bound.type, name)] = {p.name: p for p in rest}
        elif tag == "EntityContainer":
            for member in element:
                if _tag(member) == "Singleton":
                    self.singletons[member.get("Name", "")] = _local(member.get("Type", ""))
        elif tag == "Annotations":
            self._note(_local(element.get("Target", "")), element)

    def _note(self, target: str, element: ET.Element) -> None:
        note = self.notes.get(target, Note())
        description, computed, deprecated = note.description, note.computed, note.deprecated
        for annotation in element:
            if _tag(annotation) != "Annotation":
                continue
            term = annotation.get("Term", "").removeprefix(CORE)
            if term in ("Description", "LongDescription"):
                description = " ".join(filter(None, (description, annotation.get("String", ""))))
            elif term == "Computed":
                computed = annotation.get("Bool", "true") == "true"
            elif term == "Revisions":
                for record in annotation.iter(f"{EDM}Record"):
                    values = {
                        p.get("Property"): p.get("String")
                        or p.get("Date")
                        or (p.findtext(f"{EDM}EnumMember") or "")
                        for p in record
                    }
                    if str(values.get("Kind", "")).endswith("/Deprecated"):
                        deprecated = f"deprecated since {values.get('Date')}: {values.get('Description', '')}"
        self.notes[target] = Note(description, computed, deprecated)

    # -- the model ------------------------------------------------------------------------

    def lineage(self, name: str) -> Iterator[StructuredType]:
        """The type and its base types, most derived first."""
        current: str | None = name
        while current is not None:
            found = self.types.get(current)
            if found is None:
                return
            yield found
            current = found.base

    def members(self, name: str) -> dict[str, tuple[str, Member]]:
        """Every property of the type, inherited ones included: name -> (declaring type, it)."""
        out: dict[str, tuple[str, Member]] = {}
        for declaring in reversed(list(self.lineage(name))):
            for member in declaring.own.values():
                out[member.name] = (declaring.name, member)
        return out

    def is_a(self, name: str, base: str) -> bool:
        return any(t.name == base for t in self.lineage(name))

    def key(self, name: str) -> tuple[str, ...]:
        return next((t.key for t in self.lineage(name) if t.key), ())

    def note(self, declaring: str, member: str) -> Note:
        return self.notes.get(f"{declaring}/{member}", Note())

    def type_note(self, name: str) -> Note:
        return self.notes.get(name, Note())

    def collection(self, path: str) -> str | None:
        """`/v1.0/deviceManagement/deviceCompliancePolicies` -> its entity type, if the
        vendored schema has that path."""
        parts = [p for p in path.split("/") if p]
        if len(parts) < 3 or parts[0] != self.version or parts[1] not in self.singletons:
            return None
        current = self.singletons[parts[1]]
        member = self.members(current).get(parts[2])
        if member is None or not member[1].navigation:
            return None
        return member[1].type

    def navigation(self, entity: str, name: str) -> Member | None:
        found = self.members(entity).get(name)
        return found[1] if found and found[1].navigation else None

    # -- validation -----------------------------------------------------------------------

    def problems_entity(
        self, body: Any, declared: str, *, create: bool, where: str = ""
    ) -> list[str]:
        """Problems with an entity body POSTed (create) or PATCHed (not create) to a
        collection of `declared`. A body names its concrete type by "@odata.type"."""
        concrete, problems = self._resolved(body, declared, where)
        if concrete is None:
            return problems
        members = self.members(concrete)
        key = self.key(concrete)
        for name, value in body.items():
            if name.startswith("@"):
                continue
            path = f"{where}{name}"
            if name not in members:
                problems.append(
                    f"{path}: property '{name}' does not exist on type "
                    f"'{NAMESPACE}.{concrete}' (Graph {self.version})"
                )
                continue
            declaring, member = members[name]
            note = self.note(declaring, name)
            if name in key:
                problems.append(f"{path}: is the key of {NAMESPACE}.{concrete}; Graph assigns it")
            elif note.deprecated or (note.description and DEPRECATED_TEXT.search(note.description)):
                problems.append(
                    f"{path}: is deprecated in Graph {self.version}: {note.deprecated or note.description}"
                )
            elif note.read_only:
                problems.append(f"{path}: is read-only in Graph {self.version}: {note.description}")
            elif member.navigation:
                if not create:
                    problems.append(f"{path}: navigation property; a PATCH cannot carry it")
                    continue
                problems.extend(self._navigation(value, member, f"{path}"))
            else:
                problems.extend(self._value(value, member, path))
        if create:
            for name, (declaring, _member) in sorted(members.items()):
                if name not in body and self.note(declaring, name).required_on_create:
                    problems.append(
                        f"{where}{name}: required when creating a {NAMESPACE}.{concrete} "
                        f"({self.note(declaring, name).description})"
                    )
        return problems

    def problems_action(self, bound: str, action: str, body: Any) -> list[str]:
        """Problems with the body of POST .../{id}/{action} bound to `bound`'s type."""
        parameters = next(
            (
                self.actions[(t.name, action)]
                for t in self.lineage(bound)
                if (t.name, action) in self.actions
            ),
            None,
        )
        if parameters is None:
            return [f"action {action} is not bound to {NAMESPACE}.{bound} in Graph {self.version}"]
        if not isinstance(body, Mapping):
            return ["body: must be a JSON object"]
        problems = [
            f"{name}: '{name}' is not a parameter of {action} on {NAMESPACE}.{bound}"
            for name in body
            if name not in parameters
        ]
        for name, parameter in parameters.items():
            if name not in body:
                if not parameter.nullable:
                    problems.append(f"{name}: parameter of {action} is required")
                continue
            problems.extend(self._value(body[name], parameter, name, create=True))
        return problems

    def _resolved(self, value: Any, declared: str, where: str) -> tuple[str | None, list[str]]:
        """The concrete type a JSON object of `declared` type names (or None, with why)."""
        if not isinstance(value, Mapping):
            return None, [
                f"{where.rstrip('.') or 'body'}: must be a JSON object ({NAMESPACE}.{declared})"
            ]
        concrete, problems = self._concrete(value, declared, where)
        if concrete is not None and self.types[concrete].abstract:
            return None, [
                f"{where}@odata.type: {NAMESPACE}.{concrete} is abstract; name a derived type"
            ]
        return concrete, problems

    def _concrete(
        self, body: Mapping[str, Any], declared: str, where: str
    ) -> tuple[str | None, list[str]]:
        odata = body.get("@odata.type")
        if odata is None:
            return declared, []
        name = _local(str(odata).lstrip("#"))
        if name not in self.types:
            return None, [
                f"{where}@odata.type: {odata} is not a type of Graph {self.version} (vendored schema)"
            ]
        if not self.is_a(name, declared):
            return None, [f"{where}@odata.type: {odata} is not a {NAMESPACE}.{declared}"]
        return name, []

    def _navigation(self, value: Any, member: Member, path: str) -> list[str]:
        items = value if member.collection else [value]
        if member.collection and not isinstance(value, list):
            return [f"{path}: must be a JSON array of {NAMESPACE}.{member.type}"]
        problems: list[str] = []
        for index, item in enumerate(items):
            where = f"{path}[{index}]." if member.collection else f"{path}."
            problems.extend(self.problems_entity(item, member.type, create=True, where=where))
        return problems

    def _value(self, value: Any, member: Member, path: str, *, create: bool = False) -> list[str]:
        if value is None:
            return [] if member.nullable else [f"{path}: must not be null"]
        if member.collection:
            if not isinstance(value, list):
                return [f"{path}: must be a JSON array"]
            single = Member(member.name, member.type, False, True, member.navigation)
            return [
                p
                for i, item in enumerate(value)
                for p in self._value(item, single, f"{path}[{i}]", create=create)
            ]
        if member.type.startswith("Edm."):
            reason = _primitive_problem(member.type, value)
            return [f"{path}: {reason}"] if reason else []
        if member.type in self.enums:
            members, flags = self.enums[member.type]
            names = str(value).split(",") if flags and isinstance(value, str) else [value]
            if not isinstance(value, str) or any(n.strip() not in members for n in names):
                return [
                    f"{path}: {value!r} is not a member of {NAMESPACE}.{member.type} "
                    f"({', '.join(members)})"
                ]
            return []
        found = self.types.get(member.type)
        if found is None:
            return [f"{path}: type {member.type} is not in the vendored schema"]
        if found.entity:
            return self.problems_entity(value, member.type, create=create, where=f"{path}.")
        return self._complex(value, member.type, f"{path}.")

    def _complex(self, value: Any, declared: str, where: str) -> list[str]:
        concrete, problems = self._resolved(value, declared, where)
        if concrete is None:
            return problems
        members = self.members(concrete)
        for name, item in value.items():
            if name.startswith("@"):
                continue
            if name not in members:
                problems.append(
                    f"{where}{name}: property '{name}' does not exist on type '{NAMESPACE}.{concrete}'"
                )
                continue
            declaring, member = members[name]
            note = self.note(declaring, name)
            if note.deprecated:
                problems.append(
                    f"{where}{name}: is deprecated in Graph {self.version}: {note.deprecated}"
                )
            problems.extend(self._value(item, member, f"{where}{name}"))
        return problems

    # -- what a GET returns ---------------------------------------------------------------

    def structural(self, name: str) -> list[str]:
        """The structural (non-navigation) properties a GET of the type returns."""
        return sorted(n for n, (_, m) in self.members(name).items() if not m.navigation)


def _primitive_problem(edm: str, value: Any) -> str:
    if edm == "Edm.Boolean":
        return (
            ""
            if isinstance(value, bool)
            else f"must be a JSON boolean (Edm.Boolean), got {value!r}"
        )
    if edm in INT_RANGES:
        low, high = INT_RANGES[edm]
        if isinstance(value, bool) or not isinstance(value, int):
            return f"must be a JSON integer ({edm}), got {value!r}"
        return "" if low <= value <= high else f"{value} is outside {edm}"
    if edm in ("Edm.Double", "Edm.Single", "Edm.Decimal"):
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        return "" if ok else f"must be a JSON number ({edm}), got {value!r}"
    if not isinstance(value, str):
        return f"must be a JSON string ({edm}), got {value!r}"
    checks = {
        "Edm.Guid": lambda v: bool(GUID.match(v)),
        "Edm.Duration": lambda v: bool(DURATION.match(v)),
        "Edm.DateTimeOffset": _is_datetime,
        "Edm.Date": _is_date,
        "Edm.Binary": _is_base64,
    }
    check = checks.get(edm)
    return "" if check is None or check(value) else f"{value!r} is not a valid {edm}"


def _is_datetime(value: str) -> bool:
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return False
    return parsed.tzinfo is not None


def _is_date(value: str) -> bool:
    try:
        date.fromisoformat(value)
    except ValueError:
        return False
    return True


def _is_base64(value: str) -> bool:
    try:
        base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return False
    return True


@cache
def _load(version: str) -> GraphSchema:
    return GraphSchema.parse(version, SCHEMA_DIR / f"{version}.xml")
