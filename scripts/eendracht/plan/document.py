"""The runbook and the municipality's identity mapping as one JSON document for machines."""

from __future__ import annotations

import json
from typing import Any

from eendracht.identity import IdentityMapping
from eendracht.plan.models import Runbook


def plan_document(runbook: Runbook, mapping: IdentityMapping) -> dict[str, Any]:
    name = runbook.municipality
    return {
        "runbook": runbook.model_dump(mode="json"),
        "identity": {
            "organisation": mapping.organisation,
            "mail_domain": mapping.mail_domain,
            "upn_suffix": mapping.upn_suffix,
            "username_pattern": mapping.username_pattern.value,
            "municipality": name,
            "summary": runbook.identity.model_dump(mode="json"),
            "collisions": [c.model_dump(mode="json") for c in mapping.collisions_of(name)],
            "identities": [i.model_dump(mode="json") for i in mapping.for_municipality(name)],
            "programme_report": mapping.report.model_dump(mode="json"),
        },
    }


def render_json(runbook: Runbook, mapping: IdentityMapping) -> str:
    return json.dumps(plan_document(runbook, mapping), indent=2, ensure_ascii=False) + "\n"
