"""The live page's own words, Dutch and English; everything else is the report's labels
(`eendracht.report.labels`: headings, statuses, count names)."""

from __future__ import annotations

from eendracht.report.labels import Label

W = {
    "control_room": Label("Controlekamer", "Control room"),
    "overview": Label("Overzicht", "Overview"),
    "now": Label("Nu bezig", "Running now"),
    "nothing_running": Label("er loopt nu niets", "nothing is running"),
    "step": Label("stap", "step"),
    "task": Label("taak", "task"),
    "host": Label("server", "host"),
    "since": Label("sinds", "since"),
    "eta": Label("Verwacht bij go/no-go", "Expected at the go/no-go gate"),
    "eta_left": Label("nog ongeveer", "about"),
    "minutes_left": Label("minuten", "minutes left"),
    "eta_scale": Label("tempo ten opzichte van gepland", "pace against the plan"),
    "eta_unknown": Label("geen verwachting: geen draaiboek", "no estimate: no runbook"),
    "eta_at_gate": Label("de wave wacht bij go/no-go", "the wave is waiting at the gate"),
    "eta_decided": Label("go/no-go is genomen", "the go/no-go decision is taken"),
    "eta_not_running": Label("geen wave onderweg naar go/no-go", "no wave on its way to the gate"),
    "koppelingen": Label("Koppelingen: ketentests", "Koppelingen: chain tests"),
    "no_koppelingen": Label("geen koppelingen getest in deze wave", "no koppelingen tested"),
    "caller": Label("aanroeper", "caller"),
    "result": Label("uitkomst", "result"),
    "threshold": Label("drempel", "threshold"),
    "criterion": Label("criterium", "criterion"),
    "no_runs": Label("nog geen run in dit journaal", "no run in this journal yet"),
    "no_journals": Label(
        "nog geen wave of generale repetitie van dit programma onder de state",
        "no wave or rehearsal of this programme under the state yet",
    ),
    "kind_wave": Label("wave", "wave"),
    "kind_lab": Label("wave in het lab", "lab wave"),
    "kind_rehearsal": Label("generale repetitie", "rehearsal"),
    "run": Label("run", "run"),
    "updated": Label("bijgewerkt", "updated"),
    "live": Label("live bijgewerkt", "updated live"),
    "open": Label("openen", "open"),
    "planned_at": Label("gepland", "planned"),
    "actual_at": Label("werkelijk", "actual"),
    "status": Label("status", "status"),
    "phase": Label("fase", "phase"),
    "seconds": Label("seconden", "seconds"),
    "message": Label("melding", "message"),
    "from_where": Label("waarvandaan", "from where"),
    "when": Label("wanneer", "when"),
    "audit_verdict": Label("Audittrail", "Audit trail"),
    "records": Label("records", "records"),
}

# Statuses the report does not have: (mark, label). Every status is shown as a mark and a word.
LIVE_STATUS = {
    "pending": ("○", Label("nog niet", "not yet")),
    "passed": ("✓", Label("geslaagd", "passed")),
    "not_tested": ("○", Label("niet getest", "not tested")),
    "none": ("", Label("—", "—")),
}
