"""The import files of workstations: every field quoted, formula prefixes neutralised
(OWASP CSV injection), by the role's filter plugin."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import jinja2
import pytest

from tests.wave.wave_support import role_file

ROLES = Path(__file__).resolve().parents[1] / "playbooks" / "roles"


plugin = role_file("workstations", "filter_plugins", "eendracht_csv")


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


def _render(role: str, template: str, **values: object) -> str:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(ROLES / role / "templates"),
        autoescape=False,
        trim_blocks=True,
    )
    env.filters.update(plugin.FilterModule().filters())
    return env.get_template(template).render(**values)


def test_the_templates_quote_and_neutralise_every_field() -> None:
    devices = _render(
        "workstations",
        "autopilot-devices.csv.j2",
        devices=[{"serial": "5CG1", "group_tag": "=cmd|' /C calc'!A0", "assigned_user": "jan"}],
        workstations_people={"jan": "@jan"},
    )
    rows = list(csv.reader(io.StringIO(devices)))
    assert rows[0][0] == "Device Serial Number"
    assert rows[1] == ["5CG1", "", "", "'=cmd|' /C calc'!A0", "'@jan"]
    assert all(line.startswith('"') for line in devices.splitlines())
    batch = _render(
        "mail",
        "exchange-batch.csv.j2",
        item=[
            {"address": "info@x.nl", "kind": "shared", "size_gb": 2.0},
            {"address": "=jan@x.nl", "owner": "-jan", "kind": "user"},
        ],
        municipality="noordwaard",
        batch_index=0,
        mail_domain="+waardstad.nl",
        mail_source={"login": "name"},
        mail_new_addresses={"-jan": "@jan@waardstad.nl"},
    )
    rows = list(csv.reader(io.StringIO(batch.split("\n", 1)[1])))
    assert rows[0] == ["EmailAddress", "UserName", "Password"]
    assert rows[1] == ["info.noordwaard@+waardstad.nl", "info@x.nl", ""]
    assert rows[2] == ["'@jan@waardstad.nl", "'-jan", ""]
    assert batch.startswith("# eendracht import file, NOT executed")
    assert all(line.startswith('"') for line in batch.splitlines()[1:])
