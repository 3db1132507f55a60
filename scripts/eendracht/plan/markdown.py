"""The runbook as a document a change advisory board (CAB) can read."""

from __future__ import annotations

from eendracht.display_text import shown
from eendracht.identity import IdentityMapping
from eendracht.plan import describe
from eendracht.plan.context import human_bytes
from eendracht.plan.models import Runbook, Step
from eendracht.plan.schedule import when
from eendracht.plan.timeouts import human_duration


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    return [*lines, ""]


def _step(step: Step) -> list[str]:
    lines = [f"#### `{step.id}` — {step.title}", ""]
    if step.moved_from is not None:
        lines += [f"_Moved here: the programme leaves out {step.moved_from.value}._", ""]
    lines += [
        f"- **Runs:** `{describe.selector(step)}`",
        f"- **Timeout:** {describe.duration(step.timeout)}",
        "- **Does:**",
    ]
    lines += [f"  - {a}" for a in step.actions]
    lines += [
        f"- **Touches:** {describe.touches(step.touches)}",
        f"- **Check:** {step.check}",
        f"- **Rollback:** {describe.rollback(step.rollback)}",
        "",
    ]
    return lines


def render_markdown(runbook: Runbook, mapping: IdentityMapping) -> str:
    r = runbook
    t = r.totals
    out = [
        f"# Wave runbook: {r.display_name}",
        "",
        f"Programme **{r.programme}** ({r.organisation}) — wave {r.wave}, "
        f"migration weekend **{r.weekend.isoformat()}**.",
        "",
        "## Scope",
        "",
        *_table(
            ["what", "how much"],
            [
                ["servers", str(t.hosts)],
                ["file shares", f"{t.shares} ({human_bytes(t.file_bytes)}, {t.files:,} files)"],
                ["databases", human_bytes(t.database_bytes)],
                ["accounts", f"{t.accounts:,}"],
                ["DNS records cut over", str(t.records)],
                ["applications moved", str(t.applications_moved)],
                ["koppelingen", str(t.koppelingen)],
                ["devices", str(t.devices)],
                ["mailboxes", str(t.mailboxes)],
            ],
        ),
        "## Schedule",
        "",
        "Local time; a phase starts not before its time. The freeze is Friday 18:00; the "
        "time allowed is the sum of the phase's step timeouts.",
        "",
        *_table(
            ["phase", "starts", "steps", "time allowed", "description"],
            [
                [
                    p.name.value,
                    when(p.starts),
                    str(len(p.steps)),
                    human_duration(sum(s.timeout for s in p.steps)) if p.steps else "-",
                    p.description,
                ]
                for p in r.phases
            ],
        ),
        "## Application cutover order",
        "",
        "An application moves after the applications it calls (its koppelingen).",
        "",
        *_table(
            ["#", "applications", "after", "cycle"],
            [
                [
                    str(g.position),
                    " + ".join(g.applications),
                    ", ".join(g.depends_on) or "-",
                    "yes, moved together" if g.cycle else "",
                ]
                for g in r.application_order.groups
            ],
        ),
    ]
    if r.application_order.cycles:
        out += ["Cycles found in the koppelingen:", ""]
        out += [f"- {' + '.join(c)}" for c in r.application_order.cycles]
        out.append("")
    if r.application_order.not_moved:
        out += ["Not moved:", ""]
        out += [f"- **{n.application}**: {n.reason}" for n in r.application_order.not_moved]
        out.append("")
    out += ["## Phases and steps", ""]
    for i, phase in enumerate(r.phases, 1):
        out += [
            f"### {i}. {phase.name.value} — {when(phase.starts)} "
            f"({phase.days_before} days before the weekend)"
            if phase.days_before
            else f"### {i}. {phase.name.value} — {when(phase.starts)} (the weekend)",
            "",
            phase.description,
            "",
        ]
        for step in phase.steps:
            out += _step(step)
    out += [
        "## Go/no-go",
        "",
        *_table(["criterion", "threshold"], [[c.criterion, c.threshold] for c in r.gate.criteria]),
        f"Approvers: {', '.join(r.gate.approvers)}.",
        "",
        r.gate.decision[0].upper() + r.gate.decision[1:] + ".",
        "",
        "## Rollback (last step done first)",
        "",
        *_table(
            ["#", "step", "undo", "runs", "timeout"],
            [
                [
                    str(n),
                    f"`{e.step}`",
                    e.description,
                    f"`{describe.runs(e.playbook, e.tags, e.extra_vars)}`",
                    f"{e.timeout} s",
                ]
                for n, e in enumerate(r.rollback, 1)
            ],
        ),
        f"Then: {describe.source_check(r)}.",
        "",
        "## Identity changes",
        "",
        *[f"- {line}" for line in describe.identity_summary(mapping, r.municipality)],
        "",
    ]
    collisions = mapping.collisions_of(r.municipality)
    if collisions:
        out += ["Collisions, resolved in wave order then old account:", ""]
        out += [f"- {describe.collision(c)}" for c in collisions]
        out.append("")
    people = mapping.for_municipality(r.municipality)
    if people:
        out += _table(
            ["old account", "name", "new username", "mail", "aliases", "why"],
            [
                [
                    i.old_account,
                    i.display_name,
                    f"`{i.username}`",
                    i.mail,
                    ", ".join(i.aliases) or "-",
                    "; ".join(c.detail for c in i.changes) or "-",
                ]
                for i in people
            ],
        )
    if r.notes:
        out += ["## Notes", ""]
        out += [f"- {n}" for n in r.notes]
        out.append("")
    # Every line is escaped on its own: a value's control characters (ESC, CSI, a newline that
    # would forge a line of the runbook) are shown, never interpreted (display_text).
    return "\n".join(shown(line) for line in out).rstrip("\n") + "\n"
