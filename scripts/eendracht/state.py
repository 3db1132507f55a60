"""The one state root every part of eendracht writes under: `--state`, else $EENDRACHT_STATE,
else `<repo>/.state`. The lab lives in `<root>/lab/`, wave journals in `<root>/waves/`."""

from __future__ import annotations

import os
from pathlib import Path

from eendracht.problems import Problem, ProblemsFound

REPO_ROOT = Path(__file__).resolve().parents[2]


class StateRootError(ProblemsFound):
    """The state root is not a folder eendracht can write under (a file is in the way)."""

    @property
    def line(self) -> str:
        return str(self.problems[0])


def state_root(state: Path | str | None = None) -> Path:
    if state is not None:
        return Path(state).resolve()
    env = os.environ.get("EENDRACHT_STATE")
    return Path(env).resolve() if env else REPO_ROOT / ".state"


def usable_state_root(state: Path | str | None = None) -> Path:
    """state_root(), checked before anything is written under it: the root, or the nearest of
    its parents that exists, must be a folder. Raises StateRootError (one problem) otherwise."""
    root = state_root(state)
    for folder in (root, *root.parents):
        if folder.exists():
            if not folder.is_dir():
                where = "--state" if state is not None else "state root"
                raise StateRootError(
                    [Problem(where, "", f"{root} cannot be the state folder: {folder} is a file")]
                )
            break
    return root
