"""When each phase of a wave starts: the migration weekend begins on Friday at 18:00.

A wave's `weekend` may be given as its Friday, Saturday or Sunday; every phase is counted from
that weekend's Friday. The freeze is Friday 18:00, the final sync follows it that evening,
cutover is Saturday morning and verify Saturday afternoon, so the go/no-go falls within the
weekend. A phase's `days_before` moves it that many days earlier (presync a week ahead, after
office hours; preflight during office hours, so the owners of what fails are at hand).
"""

from __future__ import annotations

import datetime as dt

from eendracht.programme.models import PhaseName

FRIDAY = 5  # isoweekday

# (days after the weekend's Friday, time of day) of a phase with days_before 0
PHASE_START: dict[PhaseName, tuple[int, dt.time]] = {
    PhaseName.PREFLIGHT: (0, dt.time(9, 0)),
    PhaseName.PRESYNC: (0, dt.time(18, 0)),
    PhaseName.FREEZE: (0, dt.time(18, 0)),
    PhaseName.FINAL_SYNC: (0, dt.time(19, 0)),
    PhaseName.CUTOVER: (1, dt.time(8, 0)),
    PhaseName.VERIFY: (1, dt.time(14, 0)),
}

DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def weekend_friday(weekend: dt.date) -> dt.date:
    """The Friday the migration weekend of `weekend` (a Friday, Saturday or Sunday) begins."""
    if weekend.isoweekday() < FRIDAY:
        raise ValueError(f"{weekend.isoformat()} is a {weekend:%A}, not in a weekend")
    return weekend - dt.timedelta(days=weekend.isoweekday() - FRIDAY)


def phase_start(name: PhaseName, days_before: int, weekend: dt.date) -> dt.datetime:
    """Local time (Europe/Amsterdam) the phase starts: not before, as the runbook says."""
    days_after_friday, at = PHASE_START[name]
    day = weekend_friday(weekend) + dt.timedelta(days=days_after_friday - days_before)
    return dt.datetime.combine(day, at)


def when(starts: dt.datetime) -> str:
    """`Friday 2027-03-05 18:00`, the same in every locale."""
    return f"{DAY_NAMES[starts.weekday()]} {starts:%Y-%m-%d %H:%M}"
