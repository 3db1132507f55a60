"""Where a wave keeps its state: `<waves>/<programme>/<municipality>/`, where `<waves>` is the
environment's `waves_dir`, else `<state>/waves/<environment name>/`. Two environments of one
programme (the lab and production) never share a journal. The lab's waves are under
`<state>/lab/waves/`, kept rehearsals under `<state>/rehearsals/`; each holds a JOURNAL."""

from __future__ import annotations

from pathlib import Path

from eendracht.environment import Environment
from eendracht.state import REPO_ROOT as REPO_ROOT
from eendracht.state import state_root as state_root

PLAYBOOKS = REPO_ROOT / "playbooks"
ANSIBLE_CFG = REPO_ROOT / "ansible.cfg"
JOURNAL = "journal.sqlite"  # a wave's (or a kept rehearsal's) journal, in its folder


def waves_root(env: Environment, state: Path | None = None) -> Path:
    if env.spec.waves_dir:
        return env.path(env.spec.waves_dir)
    return environments_waves(state) / env.name


def environments_waves(state: Path | None = None) -> Path:
    """Where waves against an environment without its own `waves_dir` are kept, by name."""
    return state_root(state) / "waves"


def wave_dir(
    env: Environment, programme: str, municipality: str, state: Path | None = None
) -> Path:
    return waves_root(env, state) / programme / municipality


def drill_dir(env: Environment, programme: str, state: Path | None = None) -> Path:
    """A programme's fallback drills against an environment: beside the environment's own
    waves folder when it names one (the lab's: `lab down` removes both), else under the state."""
    if env.spec.waves_dir:
        return env.path(env.spec.waves_dir).parent / "drills" / programme
    return state_root(state) / "drills" / env.name / programme


def lab_dir(state: Path | None = None) -> Path:
    return state_root(state) / "lab"


def lab_waves(state: Path | None = None) -> Path:
    """The lab's waves (the lab's environment names this as its `waves_dir`)."""
    return lab_dir(state) / "waves"


def rehearsals_dir(state: Path | None = None) -> Path:
    """Kept rehearsals: `<programme>-<municipality>-<UTC stamp>/`, which sort in time."""
    return state_root(state) / "rehearsals"


def lab_environment(state: Path | None = None) -> Path:
    """The environment `eendracht lab up` writes; `--lab` is a shorthand for it."""
    return lab_dir(state) / "environment"
