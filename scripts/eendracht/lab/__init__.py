"""The rehearsal lab: a merger's source and target on real daemons on loopback addresses.

`lab_up` starts and seeds sshd+rsync file servers, OpenLDAP directories, BIND, PostgreSQL and
small HTTP services from a programme; `lab_status` reports; `lab_down` stops them by pid.
See docs/lab.md.
"""

from __future__ import annotations

from eendracht.lab.errors import LabError
from eendracht.lab.lifecycle import DEFAULT_SEED, SCALES, LabInfo, lab_down, lab_status, lab_up
from eendracht.lab.paths import LabPaths, state_root

__all__ = [
    "DEFAULT_SEED",
    "SCALES",
    "LabError",
    "LabInfo",
    "LabPaths",
    "lab_down",
    "lab_status",
    "lab_up",
    "state_root",
]
