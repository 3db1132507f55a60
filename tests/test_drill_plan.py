"""The fallback drill in the runbook: every step is a play of playbooks/drill.yml, in the
order the orchestrator runs them, and `plan` shows it with its go/no-go in every format."""

from __future__ import annotations

import json
from pathlib import Path

import yaml
from typer.testing import CliRunner

from eendracht.cli import app
from eendracht.plan.drill import DRILL_PHASES, DRILL_PLAYBOOK, DRILL_STEPS

REPO = Path(__file__).resolve().parents[1]
MINI = REPO / "tests" / "fixtures" / "programmes" / "mini"


def test_every_step_is_one_play_of_the_drill_playbook() -> None:
    plays = yaml.safe_load((REPO / DRILL_PLAYBOOK).read_text())
    tags = [t for play in plays for t in play["tags"]]
    assert sorted(set(tags)) == sorted({s.tag for s in DRILL_STEPS})
    assert all(t.startswith("fallback_") for t in tags)  # <role>_<phase>
    assert len(tags) == len(set(tags))
    for step in DRILL_STEPS:
        assert step.phase in DRILL_PHASES and step.id.startswith(f"{step.phase}.")
    phases = [s.phase for s in DRILL_STEPS]
    assert phases == sorted(phases, key=DRILL_PHASES.index)  # grouped, in order
    assert [s.site for s in DRILL_STEPS if s.tag == "fallback_verify"] == ["fallback", "primary"]


def test_plan_shows_the_drill_in_every_format() -> None:
    def plan(fmt: str) -> str:
        result = CliRunner().invoke(app, ["plan", str(MINI), "-m", "noordwaard", "-f", fmt])
        assert result.exit_code == 0, result.output
        return result.stdout

    markdown = plan("markdown")
    assert "## Fallback drill (eendracht drill)" in markdown
    assert "| committed transactions lost, synchronous replication | 0 |" in markdown
    document = json.loads(plan("json"))["drill"]
    assert [s["id"] for s in document["steps"]] == [s.id for s in DRILL_STEPS]
    assert any(c["criterion"] == "approvers" for c in document["go_no_go"])
    assert "Fallback drill" in plan("text")
