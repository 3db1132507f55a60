"""The wave runbook: `build_runbook(programme, municipality) -> Runbook`, and its renderings."""

from eendracht.plan.build import build_runbook
from eendracht.plan.models import (
    ApplicationOrder,
    CutoverGroup,
    Gate,
    GateCriterion,
    PhasePlan,
    Rollback,
    RollbackEntry,
    Runbook,
    Step,
    Touches,
)
from eendracht.plan.order import application_order

__all__ = [
    "ApplicationOrder",
    "CutoverGroup",
    "Gate",
    "GateCriterion",
    "PhasePlan",
    "Rollback",
    "RollbackEntry",
    "Runbook",
    "Step",
    "Touches",
    "application_order",
    "build_runbook",
]
