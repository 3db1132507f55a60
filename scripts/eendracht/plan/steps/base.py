"""One way to make a step, so ids, playbooks, tags and timeouts always follow the same rule.

A step's id is `<phase>.<concern or kind>[.<item>]`; its one tag, `<concern>_<phase>`
(`files_presync`, `dns_cutover`), selects its play in `playbooks/<phase>.yml`, and
`extra_vars` narrow that play to one share, application group or set of record types. Its
undo is the play `<concern>_rollback` of `playbooks/rollback.yml`. The concern is the role
the play imports, or the part of it when a role has several plays in one phase (preflight's
`reachability`, `capacity`, `directory`; cutover's `workstations` and `mail`).
"""

from __future__ import annotations

from eendracht.plan.context import playbook
from eendracht.plan.models import ROLLBACK_PLAYBOOK, Rollback, Step, Touches
from eendracht.plan.timeouts import ROLLBACK, step_timeout
from eendracht.programme.models import PhaseName

NOTHING_TO_UNDO = Rollback(description="nothing to undo: this step changes nothing at the source")


def tag(concern: str, phase: PhaseName | str) -> str:
    """The one tag of a play: `<concern>_<phase>` (the prometheus-community `<role>_<action>`)."""
    return f"{concern}_{phase}"


def make_step(
    phase: PhaseName,
    concern: str,
    title: str,
    *,
    actions: list[str],
    touches: Touches,
    check: str,
    rollback: Rollback = NOTHING_TO_UNDO,
    item: str = "",
    extra_vars: dict[str, list[str]] | None = None,
    kind: str = "",
) -> Step:
    """`kind` names the step in its id when it differs from its concern."""
    head = f"{phase}.{kind or concern}"
    if rollback.playbook and not rollback.timeout:
        undo_concern = rollback.tags[0].removesuffix(f"_{ROLLBACK}")
        rollback = rollback.model_copy(
            update={"timeout": step_timeout(ROLLBACK, undo_concern, touches)}
        )
    return Step(
        id=f"{head}.{item}" if item else head,
        phase=phase,
        title=title,
        playbook=playbook(phase),
        tags=[tag(concern, phase)],
        extra_vars=extra_vars or {},
        timeout=step_timeout(phase, concern, touches),
        actions=actions,
        touches=touches,
        check=check,
        rollback=rollback,
    )


def undo(
    description: str,
    concern: str,
    extra_vars: dict[str, list[str]] | None = None,
    *,
    touches: Touches | None = None,
) -> Rollback:
    """The rollback play of `concern`; its timeout follows `touches`, else the step's own."""
    return Rollback(
        description=description,
        playbook=ROLLBACK_PLAYBOOK,
        tags=[tag(concern, ROLLBACK)],
        extra_vars=extra_vars or {},
        timeout=step_timeout(ROLLBACK, concern, touches) if touches is not None else 0,
    )
