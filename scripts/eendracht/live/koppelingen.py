"""The koppelingen as a matrix of chain tests: who calls whom (the programme), and how each
chain test ended (the verify step of the applications, as journaled).

The applications role tests every koppeling in one task ("Chain test of every koppeling", its
counts `checks_passed` and `checks_failed`) and judges them in the next, whose failure message
names each failed chain URL (`<application url>/chain/<target>`). So a koppeling is *passed*
when the chain task ran and no failed URL names its target, *failed* when one does, and *not
tested* before. A target called by several applications is marked failed for each caller whose
URL the journal cannot tell apart (the journal keeps the URL, not the caller).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from eendracht.plan.steps.applications import LANDED
from eendracht.programme.models import Disposition, Programme
from eendracht.report.model import HostResult

CHAIN_TASK = "Chain test of every koppeling"
VERIFY_STEP = "verify.applications"
_FAILED = re.compile(r"chain tests failed: \[([^\]]*)\]")


@dataclass(frozen=True)
class Cell:
    status: str  # passed | failed | not_tested | none (no koppeling)
    protocol: str = ""
    criticality: str = ""


@dataclass(frozen=True)
class Matrix:
    callers: tuple[str, ...]
    targets: tuple[str, ...]
    cells: dict[tuple[str, str], Cell]
    passed: int = 0
    failed: int = 0

    def cell(self, caller: str, target: str) -> Cell:
        return self.cells.get((caller, target), Cell("none"))


def chain_pairs(programme: Programme, municipality: str) -> list[tuple[str, str, str, str]]:
    """(caller, target, protocol, criticality) of every koppeling verify chain-tests: the
    applications that land in the landing zone, as the runbook's verify step does."""
    mu = programme.municipalities.get(municipality)
    if mu is None:
        return []
    return [
        (a.name, k.target, k.protocol.value, k.criticality.value)
        for a in sorted(mu.applications, key=lambda a: a.name)
        if a.disposition is not Disposition.RETIRE and a.disposition in LANDED
        for k in a.koppelingen
    ]


def matrix(pairs: list[tuple[str, str, str, str]], results: list[HostResult]) -> Matrix:
    """The matrix from the chain pairs and the attempt's verify results (journal order)."""
    tested = False
    failed_urls: list[str] = []
    for r in results:
        if not r.step_id.startswith(VERIFY_STEP):
            continue
        if r.task == CHAIN_TASK and r.status in ("ok", "changed"):
            tested, failed_urls = True, []  # a newer run of the test: its judgement counts
        if r.status == "failed" and (found := _FAILED.search(r.message)):
            tested = True
            failed_urls = [u.strip(" '\"") for u in found.group(1).split(",") if u.strip()]
    callers = tuple(dict.fromkeys(p[0] for p in pairs))
    targets = tuple(dict.fromkeys(p[1] for p in pairs))
    cells: dict[tuple[str, str], Cell] = {}
    passed = failed = 0
    for caller, target, protocol, criticality in pairs:
        if not tested:
            status = "not_tested"
        elif any(u.endswith(f"/chain/{target}") for u in failed_urls):
            status, failed = "failed", failed + 1
        else:
            status, passed = "passed", passed + 1
        cells[(caller, target)] = Cell(status, protocol, criticality)
    return Matrix(callers, targets, cells, passed, failed)
