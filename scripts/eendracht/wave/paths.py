"""Where a wave keeps its state: `<state>/waves/<programme>/<municipality>/` (in the lab:
`<state>/lab/waves/...`, removed with the lab)."""

from __future__ import annotations

from pathlib import Path

from eendracht.state import REPO_ROOT as REPO_ROOT
from eendracht.state import state_root as state_root

PLAYBOOKS = REPO_ROOT / "playbooks"
ANSIBLE_CFG = REPO_ROOT / "ansible.cfg"


def wave_dir(
    programme: str, municipality: str, state: Path | None = None, lab: bool = False
) -> Path:
    """A lab wave keeps its journal inside the lab: it never mixes with a real wave's."""
    base = lab_dir(state) if lab else state_root(state)
    return base / "waves" / programme / municipality


def lab_dir(state: Path | None = None) -> Path:
    return state_root(state) / "lab"
