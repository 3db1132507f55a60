"""`eendracht plan` through typer's CliRunner: the three formats, bad input, exit codes."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from typer.testing import CliRunner

from eendracht.cli import app
from eendracht.plan import build_runbook
from eendracht.plan.timeouts import human_duration
from eendracht.programme import load_programme

MINI = Path(__file__).parent / "fixtures" / "programmes" / "mini"
runner = CliRunner()


def plan(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, ["plan", *args])
    return result.exit_code, result.stdout, result.stderr


def test_text_shows_the_runbook_and_the_identity_summary() -> None:
    code, out, err = plan(str(MINI), "--municipality", "noordwaard")
    assert code == 0, err
    assert "Gemeente Noordwaard — wave 1 of programme waardstad, weekend 2027-03-06" in out
    assert "application order: documentbeheer -> zaaksysteem -> burgerzaken -> financien" in out
    for phase in (
        "preflight — Friday 2027-02-19 09:00",
        "presync — Friday 2027-02-26 18:00",
        "freeze — Friday 2027-03-05 18:00",
        "cutover — Saturday 2027-03-06 08:00",
    ):
        assert phase in out
    assert "cutover.app.zaaksysteem" in out
    flat = " ".join(out.split())  # the terminal wraps long lines
    step = build_runbook(load_programme(MINI), "noordwaard").step("presync.files.burgerzaken")
    assert (
        "runs playbooks/presync.yml --tags files_presync -e wave_shares=burgerzaken "
        f"timeout {step.timeout} s ({human_duration(step.timeout)}) does" in flat
    )
    assert "playbooks/cutover.yml --tags dns_cutover -e wave_record_types=MX" in flat
    assert "playbooks/rollback.yml --tags source_check; timeout" in flat
    assert "7 accounts for noordwaard (15 in the programme)" in out
    assert "j.devries: kept by noordwaard/jdevries; zuidwaard/devriesj -> jan.devries" in out
    assert "rollback, last step first:" in out


def test_markdown_is_a_cab_document() -> None:
    code, out, _ = plan(str(MINI), "-m", "zuidwaard", "--format", "markdown")
    assert code == 0
    assert out.startswith("# Wave runbook: Gemeente Zuidwaard\n")
    runbook = build_runbook(load_programme(MINI), "zuidwaard")
    cutover = next(p for p in runbook.phases if p.name.value == "cutover")
    allowed = human_duration(sum(s.timeout for s in cutover.steps))
    assert (
        f"| cutover | Saturday 2027-03-20 08:00 | 8 | {allowed} | "
        "accounts, DNS, applications, koppelingen |" in out
    )
    assert "| freeze | Friday 2027-03-19 18:00 |" in out
    mx = runbook.step("cutover.dns.mx")
    assert f"#### `cutover.dns.mx` — {mx.title}" in out
    assert f"- **Timeout:** {mx.timeout} s (" in out
    assert "mailboxes are moved before the MX records change" in out
    assert "`playbooks/rollback.yml --tags dns_rollback` | 600 s |" in out
    assert "## Go/no-go" in out and "## Identity changes" in out
    assert "| hofd | Daan van 't Hof | `d.vanthof` |" in out


def test_json_is_the_runbook_and_the_identity_mapping_byte_for_byte_stable() -> None:
    code, out, _ = plan(str(MINI), "-m", "zuidwaard", "--format", "json")
    assert code == 0
    assert plan(str(MINI), "-m", "zuidwaard", "--format", "json")[1] == out
    doc = json.loads(out)
    expected = json.loads(build_runbook(load_programme(MINI), "zuidwaard").to_json())
    assert doc["runbook"] == expected
    steps = [s for p in doc["runbook"]["phases"] for s in p["steps"]]
    assert all(isinstance(s["timeout"], int) and s["timeout"] >= 300 for s in steps)
    assert all(e["timeout"] >= 300 for e in doc["runbook"]["rollback"])
    assert doc["runbook"]["source_check_timeout"] >= 300
    freeze = next(p for p in doc["runbook"]["phases"] if p["name"] == "freeze")
    assert freeze["starts"] == "2027-03-19T18:00:00"
    identity = doc["identity"]
    assert identity["municipality"] == "zuidwaard"
    assert len(identity["identities"]) == 8
    devries = next(i for i in identity["identities"] if i["old_account"] == "devriesj")
    assert devries["username"] == "jan.devries"
    assert devries["aliases"] == ["j.devries@zuidwaard.nl"]
    assert [c["base_username"] for c in identity["collisions"]] == ["d.vandenberg", "j.devries"]
    assert identity["programme_report"]["accounts"] == 15


def test_unknown_municipality_exits_2_naming_the_known_ones() -> None:
    code, out, err = plan(str(MINI), "--municipality", "westwaard")
    assert code == 2
    assert "unknown municipality 'westwaard' (known: noordwaard, zuidwaard)" in err
    assert out == ""


def test_invalid_programme_exits_2_with_every_problem(tmp_path: Path) -> None:
    broken = tmp_path / "mini"
    shutil.copytree(MINI, broken)
    apps = broken / "group_vars" / "noordwaard" / "applications.yml"
    apps.write_text(apps.read_text().replace("target: documentbeheer", "target: gws"))
    people = broken / "group_vars" / "zuidwaard" / "people.yml"
    people.write_text(
        people.read_text().replace(
            "department: Ruimte, account: mullerl", "department: Ruimte, account: Mullerl"
        )
    )
    code, out, err = plan(str(broken), "-m", "noordwaard")
    assert code == 2
    assert out == ""
    lines = err.splitlines()
    assert any(
        line.endswith(
            "applications.yml: applications[0].koppelingen[1].target: unknown application 'gws'"
        )
        for line in lines
    ), err
    assert any("zuidwaard/people.yml: people[2].account:" in line for line in lines), err


def test_unknown_format_is_a_usage_error() -> None:
    code, _, err = plan(str(MINI), "-m", "noordwaard", "--format", "pdf")
    assert code == 2
    assert "pdf" in err
