"""Where a wave keeps its state: `<state>/waves/<programme>/<municipality>/` (in the lab:
`<state>/lab/waves/...`, removed with the lab)."""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[3]
PLAYBOOKS = REPO_ROOT / "playbooks"
ANSIBLE_CFG = REPO_ROOT / "ansible.cfg"


def state_root(state: Path | None = None) -> Path:
    if state is not None:
        return state
    env = os.environ.get("EENDRACHT_STATE")
    return Path(env) if env else REPO_ROOT / ".state"


def wave_dir(
    programme: str, municipality: str, state: Path | None = None, lab: bool = False
) -> Path:
    """A lab wave keeps its journal inside the lab: it never mixes with a real wave's."""
    base = lab_dir(state) if lab else state_root(state)
    return base / "waves" / programme / municipality


def lab_dir(state: Path | None = None) -> Path:
    return state_root(state) / "lab"
