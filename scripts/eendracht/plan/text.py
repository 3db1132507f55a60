"""The runbook on an operator's terminal (rich)."""

from __future__ import annotations

from rich.console import Console, Group, RenderableType
from rich.markup import escape
from rich.panel import Panel
from rich.rule import Rule
from rich.table import Table

from eendracht.display_text import shown
from eendracht.identity import IdentityMapping
from eendracht.plan import describe
from eendracht.plan.context import human_bytes
from eendracht.plan.models import PhasePlan, Runbook
from eendracht.plan.schedule import when


def _e(text: str) -> str:
    """A value for rich: control characters escaped (display_text), markup escaped."""
    return escape(shown(text))


def _phase(phase: PhasePlan) -> Group:
    ahead = f"{phase.days_before} days before" if phase.days_before else "the weekend"
    title = f"{phase.name.value} — {when(phase.starts)} ({ahead}): {phase.description}"
    parts: list[RenderableType] = [Rule(_e(title), align="left")]
    for step in phase.steps:
        grid = Table.grid(padding=(0, 1))
        grid.add_column(style="dim", no_wrap=True)
        grid.add_column(overflow="fold")
        grid.add_row(f"[bold]{_e(step.id)}[/]", f"[bold]{_e(step.title)}[/]")
        if step.moved_from:
            grid.add_row("", f"[italic]moved here from {step.moved_from.value}[/]")
        grid.add_row("runs", _e(describe.selector(step)))
        grid.add_row("timeout", _e(describe.duration(step.timeout)))
        grid.add_row("does", "\n".join(_e(f"- {a}") for a in step.actions))
        grid.add_row("touches", _e(describe.touches(step.touches)))
        grid.add_row("check", _e(step.check))
        grid.add_row("rollback", _e(describe.rollback(step.rollback)))
        parts.append(grid)
    return Group(*parts)


def renderables(runbook: Runbook, mapping: IdentityMapping) -> list[RenderableType]:
    r = runbook
    t = r.totals
    header = (
        f"[bold]{_e(r.display_name)}[/] — wave {r.wave} of programme {r.programme}, "
        f"weekend [bold]{r.weekend.isoformat()}[/]\n"
        f"{t.hosts} server(s); {t.shares} share(s) ({human_bytes(t.file_bytes)}, {t.files:,} files); "
        f"{t.accounts:,} accounts; {t.records} DNS records; {t.applications_moved} applications "
        f"({t.koppelingen} koppelingen); {t.devices} devices; {t.mailboxes} mailboxes"
    )
    out: list[RenderableType] = [Panel(header, title="eendracht plan", expand=False)]
    order = " -> ".join(
        "(" + " + ".join(g.applications) + ")" if g.cycle else g.applications[0]
        for g in r.application_order.groups
    )
    lines = [f"[bold]application order:[/] {_e(order or '-')}"]
    lines += [f"[yellow]cycle:[/] {_e(' + '.join(c))}" for c in r.application_order.cycles]
    lines += [_e(f"not moved: {n.application} ({n.reason})") for n in r.application_order.not_moved]
    out.append("\n".join(lines))
    out += [_phase(p) for p in r.phases]
    gate = Table(title="go/no-go", title_justify="left")
    gate.add_column("criterion")
    gate.add_column("threshold")
    for c in r.gate.criteria:
        gate.add_row(_e(c.criterion), _e(c.threshold))
    decision = _e(f"approvers: {', '.join(r.gate.approvers)}; {r.gate.decision}")
    out.append(Group(gate, decision))
    rollback = [
        _e(f"  {n}. {e.step}: {e.description} ({describe.timeout(e.timeout)})")
        for n, e in enumerate(r.rollback, 1)
    ]
    rollback.append(_e(f"  then: {describe.source_check(r)}"))
    out.append("[bold]rollback, last step first:[/]\n" + "\n".join(rollback))
    ident = [_e(f"  {line}") for line in describe.identity_summary(mapping, r.municipality)]
    collisions = [_e(describe.collision(c)) for c in mapping.collisions_of(r.municipality)]
    if collisions:
        ident += ["  collisions resolved:", *(f"  {c}" for c in collisions)]
    out.append("[bold]identity mapping:[/]\n" + "\n".join(ident))
    if r.notes:
        out.append("[bold]notes:[/]\n" + "\n".join(_e(f"  - {n}") for n in r.notes))
    return out


def print_runbook(console: Console, runbook: Runbook, mapping: IdentityMapping) -> None:
    for item in renderables(runbook, mapping):
        console.print(item)
        console.print()
