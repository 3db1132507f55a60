"""The one state root every part of eendracht writes under: `--state`, else $EENDRACHT_STATE,
else `<repo>/.state`. The lab lives in `<root>/lab/`, wave journals in `<root>/waves/`."""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]


def state_root(state: Path | str | None = None) -> Path:
    if state is not None:
        return Path(state).resolve()
    env = os.environ.get("EENDRACHT_STATE")
    return Path(env).resolve() if env else REPO_ROOT / ".state"
