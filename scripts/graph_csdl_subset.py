"""Cut the part of Microsoft Graph's published CSDL that eendracht sends bodies to.

Microsoft publishes Graph's metadata (OData CSDL, one file per API version) in the public
repository microsoftgraph/msgraph-metadata (`schemas/v1.0-Prod.csdl`, `schemas/beta-Prod.csdl`).
The full files are 3-9 MB; the tests need a few dozen types. This script keeps, for one API
version, the types a subset spec names and everything they need:

- each root type, its base types, and the enum and complex types of its properties (with the
  complex types derived from those, since a body may send any of them by `@odata.type`);
- only the navigation properties the spec lists (the ones eendracht writes, such as
  `deviceCompliancePolicy/scheduledActionsForRule`), and their target types;
- the bound actions the spec lists (`deviceCompliancePolicy/assign`) with their parameter types;
- the singletons the spec lists, and the Core annotations on everything kept that say what a
  client may write: descriptions ("read-only", "required when creating"), Computed,
  Immutable, Permissions and Revisions (deprecations).

Usage (the spec is tests/stacks/graph_schema/subset.json):

    python scripts/graph_csdl_subset.py FULL.csdl --spec SPEC --version beta --commit SHA > OUT
    python scripts/graph_csdl_subset.py PART.csdl --spec SPEC --version beta --missing

`--missing` lists the types the kept ones refer to that the input lacks (for working from an
excerpt of the full file) and exits 1 if there are any.
"""

from __future__ import annotations

import argparse
import json
import sys
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

EDMX = "http://docs.oasis-open.org/odata/ns/edmx"
EDM = "http://docs.oasis-open.org/odata/ns/edm"
NAMESPACE = "microsoft.graph"
ALIAS = "graph"
KEPT_TERMS = frozenset(
    {
        "Org.OData.Core.V1.Computed",
        "Org.OData.Core.V1.Description",
        "Org.OData.Core.V1.LongDescription",
        "Org.OData.Core.V1.Immutable",
        "Org.OData.Core.V1.Permissions",
        "Org.OData.Core.V1.Revisions",
    }
)
TYPE_TAGS = ("EnumType", "ComplexType", "EntityType")


def _tag(element: ET.Element) -> str:
    return element.tag.rsplit("}", 1)[-1]


def local_name(qualified: str) -> str | None:
    """`graph.x`, `microsoft.graph.x` or `Collection(graph.x)` -> `x`; None for Edm types and
    other namespaces."""
    name = qualified.removeprefix("Collection(").removesuffix(")")
    for prefix in (f"{NAMESPACE}.", f"{ALIAS}."):
        if name.startswith(prefix) and "." not in name[len(prefix) :]:
            return name[len(prefix) :]
    return None


@dataclass
class Spec:
    roots: list[str]
    navigations: frozenset[str]
    actions: frozenset[str]
    singletons: frozenset[str]
    # Types kept only as a path to their listed navigation properties (deviceManagement).
    paths_only: frozenset[str]
    source_file: str

    @classmethod
    def load(cls, path: Path, version: str) -> Spec:
        data = json.loads(path.read_text("utf-8"))
        if version not in data.get("versions", {}):
            raise SystemExit(f"{path}: versions.{version}: no such API version in the spec")
        part = data["versions"][version]
        return cls(
            roots=list(part["roots"]),
            navigations=frozenset(part.get("navigations", [])),
            actions=frozenset(part.get("actions", [])),
            singletons=frozenset(part.get("singletons", [])),
            paths_only=frozenset(part.get("paths_only", [])),
            source_file=str(part["file"]),
        )


@dataclass
class Schema:
    """The microsoft.graph schema of one CSDL file, indexed by type name."""

    types: dict[str, ET.Element] = field(default_factory=dict)
    actions: list[ET.Element] = field(default_factory=list)
    singletons: dict[str, ET.Element] = field(default_factory=dict)
    annotations: dict[str, ET.Element] = field(default_factory=dict)

    @classmethod
    def read(cls, path: Path) -> Schema:
        schema = cls()
        for element in ET.parse(path).getroot().iter(f"{{{EDM}}}Schema"):
            # Graph's out-of-line annotations sit in the last schema of the file, whatever
            # namespace it declares; they are matched by target below.
            for child in element.iter(f"{{{EDM}}}Annotations"):
                schema.annotations[child.get("Target", "")] = child
            if element.get("Namespace") != NAMESPACE:
                continue
            for child in element:
                tag = _tag(child)
                if tag in TYPE_TAGS:
                    schema.types[child.get("Name", "")] = child
                elif tag == "Action":
                    schema.actions.append(child)
                elif tag == "EntityContainer":
                    for member in child:
                        if _tag(member) == "Singleton":
                            schema.singletons[member.get("Name", "")] = member
        return schema

    def derived(self, base: str) -> Iterator[str]:
        for name, element in self.types.items():
            if local_name(element.get("BaseType", "")) == base:
                yield name


def _closure(schema: Schema, spec: Spec) -> tuple[set[str], list[ET.Element], set[str]]:
    """(kept type names, kept actions, names referred to but absent)."""
    kept: set[str] = set()
    missing: set[str] = set()
    queue = list(spec.roots)

    def visit(reference: str) -> None:
        name = local_name(reference)
        if name is not None:
            queue.append(name)

    actions = [a for a in schema.actions if _action_key(a) in spec.actions]
    for action in actions:
        for part in action:
            if _tag(part) in ("Parameter", "ReturnType"):
                visit(part.get("Type", ""))
    while queue:
        name = queue.pop()
        if name in kept or name in missing:
            continue
        element = schema.types.get(name)
        if element is None:
            missing.add(name)
            continue
        kept.add(name)
        visit(element.get("BaseType", ""))
        for member in element:
            if (_tag(member) == "Property" and name not in spec.paths_only) or (
                _tag(member) == "NavigationProperty"
                and f"{name}/{member.get('Name')}" in spec.navigations
            ):
                visit(member.get("Type", ""))
        if _tag(element) == "ComplexType":
            queue.extend(schema.derived(name))
    return kept, actions, missing


def _action_key(action: ET.Element) -> str:
    if action.get("IsBound") != "true":
        return ""
    binding = next((p for p in action if _tag(p) == "Parameter"), None)
    bound = local_name(binding.get("Type", "")) if binding is not None else None
    return f"{bound}/{action.get('Name')}"


def _pruned(element: ET.Element, name: str, spec: Spec) -> ET.Element:
    copy = ET.Element(element.tag, dict(element.attrib))
    for member in element:
        tag = _tag(member)
        if tag == "NavigationProperty" and f"{name}/{member.get('Name')}" not in spec.navigations:
            continue
        if tag == "Property" and name in spec.paths_only:
            continue
        if tag == "Annotation" and member.get("Term") not in KEPT_TERMS:
            continue
        child = _pruned(member, name, spec) if tag in ("Property", "NavigationProperty") else member
        copy.append(child)
    copy.text, copy.tail = None, None
    return copy


def _annotations(schema: Schema, kept: set[str], spec: Spec) -> Iterator[ET.Element]:
    for target in sorted(schema.annotations):
        owner, _, member = target.removeprefix(f"{NAMESPACE}.").partition("/")
        if owner not in kept or "(" in owner:
            continue
        element = schema.types[owner]
        if member and not any(
            m.get("Name") == member
            and (
                (_tag(m) == "Property" and owner not in spec.paths_only)
                or (_tag(m) == "NavigationProperty" and f"{owner}/{member}" in spec.navigations)
            )
            for m in element
        ):
            continue
        terms = [a for a in schema.annotations[target] if a.get("Term") in KEPT_TERMS]
        if terms:
            copy = ET.Element(f"{{{EDM}}}Annotations", {"Target": target})
            copy.extend(terms)
            yield copy


def subset(schema: Schema, spec: Spec) -> tuple[ET.Element, set[str]]:
    kept, actions, missing = _closure(schema, spec)
    ET.register_namespace("edmx", EDMX)
    ET.register_namespace("", EDM)
    root = ET.Element(f"{{{EDMX}}}Edmx", {"Version": "4.0"})
    services = ET.SubElement(root, f"{{{EDMX}}}DataServices")
    out = ET.SubElement(services, f"{{{EDM}}}Schema", {"Namespace": NAMESPACE, "Alias": ALIAS})
    for tag in TYPE_TAGS:
        for name in sorted(kept):
            if _tag(schema.types[name]) == tag:
                out.append(_pruned(schema.types[name], name, spec))
    out.extend(sorted(actions, key=_action_key))
    container = ET.SubElement(out, f"{{{EDM}}}EntityContainer", {"Name": "GraphService"})
    for name in sorted(spec.singletons & set(schema.singletons)):
        singleton = schema.singletons[name]
        container.append(ET.Element(singleton.tag, dict(singleton.attrib)))
    missing |= spec.singletons - set(schema.singletons)
    out.extend(_annotations(schema, kept, spec))
    ET.indent(root, space="  ")
    return root, missing


def render(root: ET.Element, header: Iterable[str]) -> str:
    body = ET.tostring(root, encoding="unicode")
    comment = "\n".join(f"  {line}" for line in header)
    return f'<?xml version="1.0" encoding="utf-8"?>\n<!--\n{comment}\n-->\n{body}\n'


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("csdl", type=Path, help="a full Graph CSDL file (or an excerpt of one)")
    parser.add_argument("--spec", type=Path, required=True)
    parser.add_argument("--version", required=True, help="v1.0 or beta")
    parser.add_argument("--commit", default="", help="the msgraph-metadata commit it came from")
    parser.add_argument("--missing", action="store_true", help="list absent referred types")
    args = parser.parse_args(argv)
    spec = Spec.load(args.spec, args.version)
    root, missing = subset(Schema.read(args.csdl), spec)
    if args.missing:
        print("\n".join(sorted(missing)))
        return 1 if missing else 0
    if missing:
        print(f"{args.csdl}: lacks {', '.join(sorted(missing))}", file=sys.stderr)
        return 1
    header = [
        f"A subset of Microsoft Graph's published metadata, API version {args.version}.",
        "Source: https://github.com/microsoftgraph/msgraph-metadata (MIT licence),",
        f"file {spec.source_file}, commit {args.commit or 'unknown'}.",
        f"Cut by scripts/graph_csdl_subset.py with {args.spec.as_posix()}; do not edit by hand.",
    ]
    sys.stdout.write(render(root, header))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
