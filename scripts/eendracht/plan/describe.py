"""Short human descriptions shared by the text and markdown renderings."""

from __future__ import annotations

from eendracht.identity import Collision, IdentityMapping
from eendracht.plan.context import human_bytes
from eendracht.plan.models import (
    ROLLBACK_PLAYBOOK,
    SOURCE_CHECK_TAG,
    Rollback,
    Runbook,
    Step,
    Touches,
)
from eendracht.plan.timeouts import human_duration


def touches(t: Touches) -> str:
    parts = []
    if t.hosts:
        parts.append(f"hosts {', '.join(t.hosts)}")
    if t.shares:
        parts.append(f"shares {', '.join(t.shares)}")
    if t.bytes:
        parts.append(human_bytes(t.bytes))
    if t.files:
        parts.append(f"{t.files:,} files")
    if t.accounts:
        parts.append(f"{t.accounts:,} accounts")
    if t.users:
        parts.append(f"{t.users:,} users")
    if t.records:
        parts.append(f"{t.records} DNS records")
    if t.applications:
        parts.append(f"applications {', '.join(t.applications)}")
    if t.databases:
        parts.append(f"databases {', '.join(t.databases)}")
    if t.koppelingen:
        parts.append(f"{t.koppelingen} koppelingen")
    if t.devices:
        parts.append(f"{t.devices} devices")
    if t.mailboxes:
        parts.append(f"{t.mailboxes} mailboxes")
    if t.targets:
        parts.append(f"targets {', '.join(t.targets)}")
    return "; ".join(parts) or "-"


def selector(step: Step) -> str:
    return runs(step.playbook, step.tags, step.extra_vars)


def rollback(r: Rollback) -> str:
    if not r.playbook:
        return r.description
    return f"{r.description} ({runs(r.playbook, r.tags, r.extra_vars)}; {timeout(r.timeout)})"


def duration(seconds: int) -> str:
    return f"{seconds} s ({human_duration(seconds)})"


def timeout(seconds: int) -> str:
    return f"timeout {duration(seconds)}"


SOURCE_CHECK = (
    "the source side is back in service: shares accept writes, source accounts log on, names "
    "answer their original values, source applications answer and accept writes"
)


def source_check(runbook: Runbook) -> str:
    """The rollback's last play, after the undo steps."""
    return (
        f"{SOURCE_CHECK} ({runs(ROLLBACK_PLAYBOOK, [SOURCE_CHECK_TAG], {})}; "
        f"{timeout(runbook.source_check_timeout)})"
    )


def runs(playbook: str, tags: list[str], extra_vars: dict[str, list[str]]) -> str:
    text = f"{playbook} --tags {','.join(tags)}"
    for key, values in extra_vars.items():
        text += f" -e {key}={','.join(values)}"
    return text


def collision(c: Collision) -> str:
    holder = c.holder or "nobody (an old address in the new domain)"
    others = "; ".join(
        f"{cl.key} -> {cl.username} ({cl.resolved_by})" for cl in c.claimants if cl.key != c.holder
    )
    return f"{c.base_username}: kept by {holder}; {others}"


def identity_summary(mapping: IdentityMapping, municipality: str) -> list[str]:
    mine = mapping.for_municipality(municipality)
    report = mapping.report
    lines = [
        f"{len(mine)} accounts for {municipality} "
        f"({report.accounts} in the programme), pattern {mapping.username_pattern.value}, "
        f"UPN @{mapping.upn_suffix}, mail @{mapping.mail_domain}",
        f"{sum(i.username != i.base_username for i in mine)} renamed after a collision; "
        f"{sum(bool(i.prefix) for i in mine)} tussenvoegsels joined; "
        f"{sum(any(c.kind == 'accents' for c in i.changes) for i in mine)} with accents folded; "
        f"{sum(len(i.aliases) for i in mine)} old addresses kept as aliases",
    ]
    if municipality in report.from_directory:
        lines.append("people are read from the source directory at migration time")
    return lines
