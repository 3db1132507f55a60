"""The playbook of one phase run: every step's plays, named by step, narrowed by its vars."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from wave_support import MINI

from eendracht.plan import build_runbook
from eendracht.programme.loader import load_programme
from eendracht.wave.paths import ANSIBLE_CFG, PLAYBOOKS, REPO_ROOT
from eendracht.wave.phase_playbook import STEP_DONE, write_phase_playbook
from eendracht.wave.steps import WaveStep, rollback_steps, wave_steps

ALTENA = REPO_ROOT / "inventory" / "altena"


def _steps(programme: Path, municipality: str, phase: str) -> list[WaveStep]:
    runbook = build_runbook(load_programme(programme), municipality)
    return [s for s in wave_steps(runbook, PLAYBOOKS) if s.phase == phase]


def test_each_step_is_its_phase_play_named_by_step_and_narrowed(tmp_path: Path) -> None:
    steps = _steps(ALTENA, "woudrichem", "cutover")
    book = write_phase_playbook(steps, tmp_path / "cutover.yml")
    plays = yaml.safe_load(book.path.read_text())
    source = {tuple(p["tags"]): p for p in yaml.safe_load((PLAYBOOKS / "cutover.yml").read_text())}
    assert [book.step_of_play[p["name"]] for p in plays] == [s.step_id for s in steps]
    for play, step in zip(plays, steps, strict=True):
        original = source[step.tags]
        assert play["name"] == f"{step.step_id}: {original['name']}"
        assert play["hosts"] == original["hosts"] and play["tasks"] == original["tasks"]
        assert play["tags"] == list(step.tags) and play["any_errors_fatal"] is True
        assert play["vars"] == {**original.get("vars", {}), **step.extra_vars}
        assert play["post_tasks"][-1]["name"] == STEP_DONE
        assert play["post_tasks"][-1]["ansible.builtin.debug"] == {"msg": step.step_id}
    apps = [p for p in plays if p["name"].startswith("cutover.app.")]
    assert len(apps) == len({p["vars"]["wave_applications"][0] for p in apps}) > 10
    assert book.path.stat().st_mode & 0o777 == 0o600


def test_a_step_without_a_play_for_its_tags_is_refused(tmp_path: Path) -> None:
    step = WaveStep("cutover", "cutover.x", "x", PLAYBOOKS / "cutover.yml", ("nothing_cutover",))
    with pytest.raises(ValueError, match=r"cutover\.x: no play of .* is tagged nothing_cutover"):
        write_phase_playbook([step], tmp_path / "x.yml")


@pytest.mark.parametrize(
    "phase", ["preflight", "presync", "freeze", "final_sync", "cutover", "verify"]
)
def test_every_phase_of_the_example_is_a_valid_playbook(tmp_path: Path, phase: str) -> None:
    book = write_phase_playbook(_steps(ALTENA, "woudrichem", phase), tmp_path / f"{phase}.yml")
    _syntax_check(book.path, tmp_path)


def test_rollback_is_a_valid_playbook(tmp_path: Path) -> None:
    runbook = build_runbook(load_programme(MINI), "noordwaard")
    started = {s.id for s in runbook.steps()}
    book = write_phase_playbook(rollback_steps(runbook, PLAYBOOKS, started), tmp_path / "rb.yml")
    assert "rollback.source-in-service" in book.step_of_play.values()
    _syntax_check(book.path, tmp_path)


def _syntax_check(playbook: Path, tmp_path: Path) -> None:
    extra = tmp_path / "extravars.yml"
    extra.write_text(yaml.safe_dump({"municipality": "woudrichem", "wave_dir": str(tmp_path)}))
    env = {**os.environ, "ANSIBLE_CONFIG": str(ANSIBLE_CFG)}
    done = subprocess.run(
        [str(Path(sys.executable).parent / "ansible-playbook"), "--syntax-check",
         "-i", str(ALTENA), "-e", f"@{extra}", str(playbook)],
        capture_output=True, text=True, env=env, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
