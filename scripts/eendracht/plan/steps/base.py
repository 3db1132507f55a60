"""One way to make a step, so ids, playbooks and tags always follow the same rule.

A step's id is `<phase>.<tag or kind>[.<item>]`; its first tag selects the play in
`playbooks/<phase>.yml`; `extra_vars` narrow that play to one share or application group.
"""

from __future__ import annotations

from eendracht.plan.context import playbook
from eendracht.plan.models import ROLLBACK_PLAYBOOK, Rollback, Step, Touches
from eendracht.programme.models import PhaseName

NOTHING_TO_UNDO = Rollback(description="nothing to undo: this step changes nothing at the source")


def make_step(
    phase: PhaseName,
    tag: str,
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
    """`kind` names the step in its id when it differs from the play's tag."""
    head = f"{phase}.{kind or tag}"
    return Step(
        id=f"{head}.{item}" if item else head,
        phase=phase,
        title=title,
        playbook=playbook(phase),
        tags=[tag],
        extra_vars=extra_vars or {},
        actions=actions,
        touches=touches,
        check=check,
        rollback=rollback,
    )


def undo(description: str, tag: str, extra_vars: dict[str, list[str]] | None = None) -> Rollback:
    return Rollback(
        description=description,
        playbook=ROLLBACK_PLAYBOOK,
        tags=[tag],
        extra_vars=extra_vars or {},
    )
