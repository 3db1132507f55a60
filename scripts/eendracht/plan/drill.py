"""The fallback drill as a runbook: its steps in order, what each does and checks, and the
go/no-go criteria a CAB reads before and after (docs/drill.md).

The steps are the plays of `playbooks/drill.yml`, one tag `fallback_<step>` each. Three runs
of ansible-playbook carry them out: preflight; failover (outage to verification at the
fallback, in one run so RTO holds no start-up between steps); fail-back.
"""

from __future__ import annotations

from dataclasses import dataclass

from eendracht.programme.models import Programme

DRILL_PLAYBOOK = "playbooks/drill.yml"
DRILL_PHASES = ("preflight", "failover", "failback")


@dataclass(frozen=True)
class DrillStep:
    id: str  # stable: the journal's step id
    phase: str
    tag: str
    title: str
    actions: tuple[str, ...]
    check: str
    site: str = ""  # verify: the site that should serve
    timeout: int = 600  # seconds ansible-runner lets it run


DRILL_STEPS: tuple[DrillStep, ...] = (
    DrillStep(
        "preflight.sites", "preflight", "fallback_preflight",
        "Both sites as a drill expects them",
        ("read the standby's replication on the primary (state, sync state, bytes to replay)",
         "read the file mirror's last round", "ask Traffic Manager where each profile points"),
        "the standby streams in the declared mode with nothing to replay (unless --force); the "
        "file mirror's last round succeeded within three intervals; every profile points at "
        "the primary",
    ),
    DrillStep(
        "failover.outage", "failover", "fallback_outage",
        "The primary site goes down as in a real outage",
        ("a bounded write load commits rows and writes files at the primary",
         "the environment's outage command takes every service of the primary site down"),
        "every endpoint of the primary site refuses connections",
    ),
    DrillStep(
        "failover.promote", "failover", "fallback_promote", "The fallback database is promoted",
        ("the file mirror stops", "the standby is promoted (pg_promote) and accepts writes"),
        "the fallback database is out of recovery",
    ),
    DrillStep(
        "failover.switch", "failover", "fallback_switch",
        "Applications and Traffic Manager switch to the fallback site",
        ("the fallback site's applications and hub start (capacity up from 0)",
         "every Traffic Manager profile is pointed at the fallback (one signed update)"),
        "every profile answers with the fallback's address",
    ),
    DrillStep(
        "failover.verify", "failover", "fallback_verify",
        "Health and chain tests at the fallback site",
        ("resolve every profile through Traffic Manager",
         "health of the hub and every moved application at the address it gives",
         "chain test of every koppeling"),
        "every health check and chain test passes; RTO ends with the last of them",
        site="fallback",
    ),
    DrillStep(
        "failback.rebuild", "failback", "fallback_rebuild",
        "The primary is rebuilt as a standby of the fallback",
        ("the primary site's servers start", "pg_rewind onto the fallback's timeline",
         "the primary's database starts as a standby and catches up"),
        "the primary streams from the fallback with nothing to replay",
    ),
    DrillStep(
        "failback.switchback", "failback", "fallback_switchback", "The primary site serves again",
        ("the fallback's applications stop",
         "files written at the fallback go back (what only the primary had is kept aside)",
         "the fallback's database stops cleanly", "the primary's database is promoted",
         "the primary's applications start", "Traffic Manager points at the primary"),
        "every profile answers with the primary's address",
    ),
    DrillStep(
        "failback.reprotect", "failback", "fallback_reprotect", "The fallback is a standby again",
        ("pg_rewind of the fallback onto the primary's timeline",
         "the fallback's database starts as a standby", "the file mirror runs again"),
        "the fallback streams from the primary in the declared mode with nothing to replay",
    ),
    DrillStep(
        "failback.verify", "failback", "fallback_verify",
        "Health and chain tests at the primary site",
        ("resolve every profile through Traffic Manager",
         "health of the hub and every moved application", "chain test of every koppeling"),
        "every health check and chain test passes at the primary",
        site="primary",
    ),
)  # fmt: skip


def criteria(programme: Programme) -> list[tuple[str, str]]:
    """Go/no-go of the drill: (criterion, threshold). The approvers are the programme's."""
    return [
        ("standby in sync before the outage", "0 bytes to replay (else refused, unless --force)"),
        ("checks at the fallback site", "every health check and chain test passes"),
        ("committed transactions lost, synchronous replication", "0"),
        ("committed transactions lost, asynchronous replication", "measured and reported"),
        ("files written before the outage missing at the fallback", "measured and reported"),
        ("RTO: outage to the last passing chain test at the fallback", "measured and reported"),
        ("checks at the primary site after fail-back", "every health check and chain test passes"),
        ("fallback a standby again", "streaming in the declared mode, 0 bytes to replay"),
        ("approvers", ", ".join(programme.settings.go_no_go.approvers)),
    ]


def runbook_lines(programme: Programme) -> list[str]:
    """The drill as a section of the runbook (markdown)."""
    lines = [
        "## Fallback drill (eendracht drill)",
        "",
        "Fail the target site over to the fallback site and back; RTO and RPO measured "
        "(docs/drill.md). Refused while a wave of the programme runs.",
        "",
    ]
    for n, step in enumerate(DRILL_STEPS, start=1):
        lines.append(f"{n}. **{step.title}** (`{step.id}`, tag `{step.tag}`)")
        lines += [f"   - {a}" for a in step.actions]
        lines.append(f"   - check: {step.check}")
    lines += ["", "| go/no-go criterion | threshold |", "| --- | --- |"]
    lines += [f"| {c} | {t} |" for c, t in criteria(programme)]
    return lines


def drill_document(programme: Programme) -> dict[str, object]:
    """The drill section of `plan --format json`."""
    return {
        "playbook": DRILL_PLAYBOOK,
        "steps": [
            {
                "id": s.id,
                "phase": s.phase,
                "title": s.title,
                "tags": [s.tag],
                "actions": list(s.actions),
                "check": s.check,
                "timeout": s.timeout,
            }
            for s in DRILL_STEPS
        ],
        "go_no_go": [{"criterion": c, "threshold": t} for c, t in criteria(programme)],
    }
