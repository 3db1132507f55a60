"""The drill report, for a CAB and an auditor: `<drill dir>/reports/drill-N/drill.{md,json}`.

What was done and when, RTO and RPO, what was checked at each site and what failed, and the
go/no-go criteria of the runbook (eendracht.plan.drill) each marked met or not. Everything
it writes passes the redactor of the drill's secrets.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from eendracht.drill import endpoints
from eendracht.wave.secrets import Redactor

if TYPE_CHECKING:
    from eendracht.drill.orchestrator import Drill


def _failures(drill: Drill, number: int) -> list[str]:
    rows = drill.journal.db.execute(
        "SELECT h.step_id, h.task, h.host, h.message FROM host_results h JOIN runs r "
        "ON r.id = h.run_id WHERE r.kind = 'drill' AND r.id >= ? AND h.status IN "
        "('failed', 'unreachable') ORDER BY h.id",
        (number,),
    )
    return [f"{step}: {task} ({host}): {message}"[:500] for step, task, host, message in rows]


def _criteria(figures: dict[str, Any], replication: str) -> list[dict[str, str]]:
    steps = {s["id"]: s["status"] for s in figures["steps"]}
    rpo = figures.get("rpo") or {}

    def mark(ok: bool | None) -> str:
        return "not measured" if ok is None else ("met" if ok else "NOT MET")

    lost = rpo.get("rows_missing")
    return [
        {"criterion": "checks at the fallback site", "result": mark(steps.get("failover.verify") == "ok")},
        {"criterion": "committed transactions lost", "result": (
            "not measured" if lost is None else
            f"{lost} ({'met: 0 required' if lost == 0 else 'NOT MET: 0 required'})"
            if replication == "synchronous" else f"{lost} (asynchronous: reported)")},
        {"criterion": "files written before the outage missing at the fallback",
         "result": str(rpo.get("files_missing", "not measured"))},
        {"criterion": "RTO (seconds)", "result": str(figures.get("rto_seconds") or "not measured")},
        {"criterion": "checks at the primary after fail-back", "result": mark(steps.get("failback.verify") == "ok")},
        {"criterion": "fallback a standby again", "result": mark(steps.get("failback.reprotect") == "ok")},
    ]  # fmt: skip


def content(drill: Drill, number: int) -> dict[str, Any]:
    figures = drill.figures(number)
    fallback = drill.sites.fallback
    moved = endpoints.moved_municipalities(drill.env, drill.programme, drill.state)
    checked = {
        site: {k: len(v) for k, v in endpoints.checks(site, fallback, drill.programme, moved).items()}
        for site in ("fallback", "primary")
    }  # fmt: skip
    runs = [
        {k: r[k] for k in ("id", "status", "started_at", "finished_at", "resumed", "message")}
        for r in drill.journal.runs()
        if r["kind"] == "drill" and int(r["id"]) >= number
    ]
    return {
        "programme": drill.programme.name,
        "environment": drill.env.name,
        "replication": fallback.replication,
        "moved_municipalities": moved,
        "runs": runs,
        **figures,
        "checked": checked,
        "failures": _failures(drill, number),
        "go_no_go": _criteria(figures, fallback.replication),
        "approvers": list(drill.programme.settings.go_no_go.approvers),
    }


def markdown(body: dict[str, Any]) -> str:
    rpo = body.get("rpo") or {}
    lines = [
        f"# Fallback drill {body['drill']}: {body['programme']} ({body['environment']})",
        "",
        f"- replication: {body['replication']}",
        f"- applications of: {', '.join(body['moved_municipalities']) or 'no municipality moved yet (the hub only)'}",
        f"- RTO: {body['rto_seconds'] if body['rto_seconds'] is not None else 'not measured'} s "
        "(primary gone to the last passing chain test at the fallback)",
        f"- RPO: {rpo.get('rows_missing', '?')} of {rpo.get('rows_acknowledged', '?')} committed "
        f"transactions, {rpo.get('files_missing', '?')} of {rpo.get('files_acknowledged', '?')} "
        "files written before the outage missing at the fallback",
        f"- fail-back interruption: {body['failback_interruption_seconds'] or 'not measured'} s",
        f"- checked at the fallback: {body['checked']['fallback']['health']} health checks, "
        f"{body['checked']['fallback']['chains']} chain tests; at the primary after fail-back: "
        f"{body['checked']['primary']['health']} and {body['checked']['primary']['chains']}",
        "",
        "| step | status | seconds | check |",
        "| --- | --- | --- | --- |",
    ]  # fmt: skip
    for s in body["steps"]:
        lines.append(
            f"| {s['id']}: {s['title']} | {s['status']} | {s['seconds'] or ''} | {s['check']} |"
        )
    lines += ["", "| go/no-go criterion | result |", "| --- | --- |"]
    lines += [f"| {c['criterion']} | {c['result']} |" for c in body["go_no_go"]]
    lines += ["", f"Approvers: {', '.join(body['approvers'])}", "", "## Runs", ""]
    lines += [f"- run {r['id']}: {r['status']}{' (resumed)' if r['resumed'] else ''}: {r['message'] or ''}"
              for r in body["runs"]]  # fmt: skip
    lines += ["", "## Failures", ""]
    lines += [f"- {f}" for f in body["failures"]] or ["none"]
    return "\n".join(lines) + "\n"


def write_report(drill: Drill, number: int, redact: Redactor) -> Path:
    body = content(drill, number)
    folder = drill.dir / "reports" / f"drill-{number}"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "drill.json").write_text(
        redact(json.dumps(body, indent=2, ensure_ascii=False)) + "\n"
    )
    path = folder / "drill.md"
    path.write_text(redact(markdown(body)), encoding="utf-8")
    return path
