"""The order in which applications are cut over, derived from the koppelingen.

A koppeling A -> B means A calls B, so B moves first. Koppelingen that form a cycle are
found as strongly connected components; the members of one move together as a group.
The groups are then ordered with graphlib, ready groups by name, so the order is stable.
"""

from __future__ import annotations

from collections.abc import Mapping
from graphlib import TopologicalSorter

from eendracht.plan.models import ApplicationOrder, CutoverGroup, NotMoved
from eendracht.programme.models import Disposition, Municipality


def dependency_graph(municipality: Municipality) -> dict[str, set[str]]:
    """Moved application -> the moved applications it calls."""
    moved = {a.name for a in municipality.applications if a.disposition is not Disposition.RETIRE}
    return {
        app.name: {k.target for k in app.koppelingen if k.target in moved and k.target != app.name}
        for app in municipality.applications
        if app.name in moved
    }


def strongly_connected(graph: Mapping[str, set[str]]) -> list[list[str]]:
    """Tarjan's components (iterative), each sorted; visiting in name order keeps it stable."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    components: list[list[str]] = []
    counter = 0
    for root in sorted(graph):
        if root in index:
            continue
        work: list[tuple[str, list[str]]] = [(root, sorted(graph[root]))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, pending = work[-1]
            if pending:
                nxt = pending.pop(0)
                if nxt not in index:
                    index[nxt] = low[nxt] = counter
                    counter += 1
                    stack.append(nxt)
                    on_stack.add(nxt)
                    work.append((nxt, sorted(graph[nxt])))
                elif nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                components.append(sorted(component))
    return components


def application_order(municipality: Municipality) -> ApplicationOrder:
    graph = dependency_graph(municipality)
    components = strongly_connected(graph)
    group_of = {app: comp[0] for comp in components for app in comp}
    members = {comp[0]: comp for comp in components}
    condensed: dict[str, set[str]] = {head: set() for head in members}
    for app, calls in graph.items():
        condensed[group_of[app]].update(group_of[c] for c in calls if group_of[c] != group_of[app])

    sorter = TopologicalSorter(condensed)
    sorter.prepare()
    groups: list[CutoverGroup] = []
    while sorter.is_active():
        ready = sorted(sorter.get_ready())
        for head in ready:
            apps = members[head]
            calls = {c for a in apps for c in graph[a]} - set(apps)
            groups.append(
                CutoverGroup(
                    position=len(groups) + 1,
                    applications=apps,
                    cycle=len(apps) > 1,
                    depends_on=sorted(calls),
                )
            )
        sorter.done(*ready)

    not_moved = [
        NotMoved(application=a.name, reason="retired: not moved; archived before the wave")
        for a in sorted(municipality.applications, key=lambda a: a.name)
        if a.disposition is Disposition.RETIRE
    ]
    names = {a.name for a in municipality.applications}
    national = sorted(
        {
            k.target
            for a in municipality.applications
            if a.disposition is not Disposition.RETIRE
            for k in a.koppelingen
            if k.target not in names
        }
    )
    not_moved += [
        NotMoved(
            application=name,
            reason="national service: stays where it is; its koppelingen are repointed "
            "and chain-tested",
        )
        for name in national
    ]
    return ApplicationOrder(
        groups=groups,
        cycles=sorted(c for c in components if len(c) > 1),
        not_moved=not_moved,
    )
