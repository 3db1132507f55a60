"""Writes the identity mapping of one municipality to the JSON file the identity role reads."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from eendracht.identity import map_identities
from eendracht.programme.models import Programme


def mapping_records(programme: Programme, municipality: str) -> dict[str, Any]:
    mapping = map_identities(programme)
    return {
        "organisation": mapping.organisation,
        "mail_domain": mapping.mail_domain,
        "upn_suffix": mapping.upn_suffix,
        "municipality": municipality,
        "identities": [i.model_dump(mode="json") for i in mapping.for_municipality(municipality)],
    }


def write_identity_map(programme: Programme, municipality: str, path: Path) -> int:
    records = mapping_records(programme, municipality)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(records, handle, indent=1, ensure_ascii=False)
    return len(records["identities"])
