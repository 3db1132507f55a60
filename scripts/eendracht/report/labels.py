"""The report's words in Dutch and English, and the count names as a reader says them.

Every heading and chart label is a pair: Dutch first (the municipality's language), English
after it (suppliers and the shared-service organisation's staff)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Label:
    nl: str
    en: str

    def __str__(self) -> str:
        return self.nl if self.nl == self.en else f"{self.nl} / {self.en}"


L = {
    "title": Label("Weekendrapport", "Weekend report"),
    "summary": Label("Samenvatting", "Summary"),
    "timeline": Label("Tijdlijn: gepland tegen werkelijk", "Timeline: planned against actual"),
    "phases": Label("Fasen", "Phases"),
    "steps": Label("Stappen", "Steps"),
    "throughput": Label("Doorvoer per share", "Throughput per share"),
    "areas": Label("Verplaatst en geverifieerd per gebied", "Moved and verified per area"),
    "verification": Label("Verificatie", "Verification"),
    "gate": Label("Go/no-go-besluit", "Go/no-go decision"),
    "criteria": Label("Criteria", "Criteria"),
    "failures": Label("Fouten", "Failures"),
    "rollbacks": Label("Terugdraaiingen", "Rollbacks"),
    "runs": Label("Runs", "Runs"),
    "audit": Label("Audittrail", "Audit trail"),
    "no_audit": Label("geen audittrail in dit journaal", "no audit trail in this journal"),
    "audit_intact": Label("hashketen intact", "hash chain intact"),
    "audit_broken": Label("hashketen NIET intact", "hash chain NOT intact"),
    "no_gate": Label("nog geen go/no-go-besluit", "no go/no-go decision yet"),
    "no_failures": Label("geen fouten", "no failures"),
    "no_rollbacks": Label("geen terugdraaiingen", "no rollbacks"),
    "no_shares": Label("geen shares gekopieerd", "no shares copied"),
    "no_verification": Label("geen verificatie gelopen", "no verification ran"),
    "planned": Label("gepland", "planned"),
    "actual": Label("werkelijk", "actual"),
    "minutes": Label("minuten sinds de start", "minutes since the start"),
    "seconds_since": Label("seconden sinds de start", "seconds since the start"),
    "mb_per_s": Label("MB per seconde", "MB per second"),
    "planned_from_rehearsal": Label(
        "gepland: duur in de laatste generale repetitie",
        "planned: duration in the last rehearsal",
    ),
    "planned_from_timeout": Label(
        "gepland: de time-out van de stap (bovengrens)", "planned: the step's timeout (upper bound)"
    ),
    "no_plan": Label(
        "geen draaiboek bij dit journaal: alleen de werkelijke tijden",
        "no runbook with this journal: actual times only",
    ),
    "approved_by": Label("goedgekeurd door", "approved by"),
    "automatic": Label("automatisch (generale repetitie)", "automatic (rehearsal)"),
    "recorded_by": Label("vastgelegd door", "recorded by"),
}

STATUS = {
    "ok": Label("gelukt", "ok"),
    "changed": Label("gewijzigd", "changed"),
    "failed": Label("mislukt", "failed"),
    "unreachable": Label("onbereikbaar", "unreachable"),
    "skipped": Label("overgeslagen", "skipped"),
    "running": Label("loopt", "running"),
    "interrupted": Label("onderbroken", "interrupted"),
    "at_gate": Label("wacht bij go/no-go", "waiting at the gate"),
    "stopped": Label("gestopt", "stopped"),
}

# What moved and was verified, per area: (count key, Dutch, English). Keys not listed are
# shown under "other" as they are named.
AREAS: dict[str, tuple[Label, tuple[tuple[str, str, str], ...]]] = {
    "files": (
        Label("Bestanden", "Files"),
        (
            ("files_transferred", "bestanden gekopieerd", "files copied"),
            ("bytes_transferred", "bytes gekopieerd", "bytes copied"),
            ("shares_frozen", "shares bevroren", "shares frozen"),
            ("files_verified", "bestanden geverifieerd", "files verified"),
            ("bytes_verified", "bytes geverifieerd", "bytes verified"),
            ("differences", "verschillen", "differences"),
        ),
    ),
    "accounts": (
        Label("Accounts", "Accounts"),
        (
            ("accounts_created", "accounts aangemaakt", "accounts created"),
            ("accounts_modified", "accounts gewijzigd", "accounts changed"),
            ("accounts_enabled", "accounts ingeschakeld", "accounts enabled"),
            ("source_disabled", "bronaccounts uitgeschakeld", "source accounts disabled"),
            ("accounts_verified", "accounts geverifieerd", "accounts verified"),
        ),
    ),
    "dns": (
        Label("DNS-records", "DNS records"),
        (
            ("records_updated", "records bijgewerkt", "records updated"),
            ("records_verified", "records geverifieerd", "records verified"),
        ),
    ),
    "applications": (
        Label("Applicaties", "Applications"),
        (
            ("databases_restored", "databases verplaatst", "databases moved"),
            ("rows_compared", "rijen vergeleken", "rows compared"),
            ("handovers_marked", "SaaS-overdrachten", "SaaS hand-overs"),
            ("configs_changed", "configuraties aangepast", "configurations changed"),
            ("checks_passed", "tests geslaagd", "checks passed"),
            ("checks_failed", "tests mislukt", "checks failed"),
        ),
    ),
    "mail": (
        Label("Mailboxen", "Mailboxes"),
        (
            ("mailboxes_moved", "mailboxen verplaatst", "mailboxes moved"),
            ("messages", "berichten", "messages"),
            ("mailboxes_verified", "mailboxen geverifieerd", "mailboxes verified"),
            ("messages_verified", "berichten geverifieerd", "messages verified"),
        ),
    ),
}


def human_bytes(value: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} TiB"


def figure(key: str, value: int) -> str:
    """A count as a reader reads it: bytes in binary units, others with thousands separated."""
    return human_bytes(value) if key.startswith("bytes") else f"{value:,}".replace(",", ".")
