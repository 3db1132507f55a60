"""The import files of workstations_mail: every field quoted, formula prefixes neutralised
(OWASP CSV injection), by the role's filter plugin."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import jinja2
import pytest

from tests.wave.wave_support import role_file

ROLE = Path(__file__).resolve().parents[1] / "playbooks" / "roles" / "workstations_mail"


plugin = role_file("workstations_mail", "filter_plugins", "eendracht_csv")


@pytest.mark.parametrize(
    ("value", "field"),
    [
        ("plain", '"plain"'),
        ("", '""'),
        (None, '""'),
        (2.5, '"2.5"'),
        ('say "hi"', '"say ""hi"""'),
        ("a,b\nc", '"a,b\nc"'),
        ('=HYPERLINK("http://evil")', '"\'=HYPERLINK(""http://evil"")"'),
        ("+1+cmd|' /C calc'!A0", "\"'+1+cmd|' /C calc'!A0\""),
        ("-2+3", '"\'-2+3"'),
        ("@SUM(A1)", '"\'@SUM(A1)"'),
        ("\t=1", '"\'\t=1"'),
        ("\r=1", '"\'\r=1"'),
        ("a=b", '"a=b"'),
    ],
)
def test_csv_field(value: object, field: str) -> None:
    assert plugin.csv_field(value) == field


def test_a_row_reads_back_with_every_value_as_text() -> None:
    row = plugin.csv_row(["=1+1", 'x"y', "", 3])
    assert next(csv.reader(io.StringIO(row))) == ["'=1+1", 'x"y', "", "3"]
    assert plugin.FilterModule().filters()["eendracht_csv_row"] is plugin.csv_row


def _render(template: str, **values: object) -> str:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(ROLE / "templates"), autoescape=False, trim_blocks=True
    )
    env.filters.update(plugin.FilterModule().filters())
    return env.get_template(template).render(**values)


def test_the_templates_quote_and_neutralise_every_field() -> None:
    devices = _render(
        "autopilot-devices.csv.j2",
        devices=[{"serial": "5CG1", "group_tag": "=cmd|' /C calc'!A0", "assigned_user": "jan"}],
        workstations_mail_people={"jan": "@jan"},
    )
    rows = list(csv.reader(io.StringIO(devices)))
    assert rows[0][0] == "Device Serial Number"
    assert rows[1] == ["5CG1", "", "", "'=cmd|' /C calc'!A0", "'@jan"]
    assert all(line.startswith('"') for line in devices.splitlines())
    batch = _render(
        "exchange-batch.csv.j2",
        item=[{"address": "info@x.nl", "kind": "shared", "size_gb": 2.0}],
        municipality="noordwaard",
        workstations_mail_domain="+waardstad.nl",
        workstations_mail_addresses={},
    )
    rows = list(csv.reader(io.StringIO(batch)))
    assert rows[1] == ["info.noordwaard@+waardstad.nl", "info@x.nl", "shared", "2.0"]
    assert all(line.startswith('"') for line in batch.splitlines())
