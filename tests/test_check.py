"""`eendracht check`: one bad-input case per rule, asserting the exact file, field and exit 2."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from eendracht.cli import app
from tests.programmes import copy_programme, edit_yaml

runner = CliRunner()
Edit = Callable[[Path], None]


def run_check(path: Path) -> tuple[int, list[str]]:
    result = runner.invoke(app, ["check", str(path)])
    lines = [line for line in result.output.splitlines() if line.strip()]
    return result.exit_code, lines


def edit(rel: str, fn: Callable[[Any], None]) -> Edit:
    return lambda root: edit_yaml(root / rel, fn)


def write(rel: str, text: str) -> Edit:
    return lambda root: (root / rel).write_text(text, encoding="utf-8")


P = "group_vars/all/programme.yml"
NW = "group_vars/noordwaard"
ZW = "group_vars/zuidwaard"


def _set(path: list[str | int], value: Any) -> Callable[[Any], None]:
    def apply(data: Any) -> None:
        for key in path[:-1]:
            data = data[key]
        data[path[-1]] = value

    return apply


def _del(path: list[str | int]) -> Callable[[Any], None]:
    def apply(data: Any) -> None:
        for key in path[:-1]:
            data = data[key]
        del data[path[-1]]

    return apply


CASES: list[tuple[str, Edit, str, str, str]] = [
    # (id, edit, file, field, message fragment)
    (
        "unknown-key",
        edit(P, _set(["programme", "organisation", "colour"], "red")),
        P,
        "programme.organisation.colour",
        "unknown key",
    ),
    (
        "missing-key",
        edit(P, _del(["programme", "azure"])),
        P,
        "programme.azure",
        "required key is missing",
    ),
    (
        "wrong-type",
        edit(f"{NW}/municipality.yml", _set(["municipality", "head_count"], "veel")),
        f"{NW}/municipality.yml",
        "municipality.head_count",
        "valid integer",
    ),
    (
        "yaml-syntax",
        write(f"{NW}/shares.yml", "shares:\n  - name: [unclosed\n"),
        f"{NW}/shares.yml",
        "line 3 column 1",
        "YAML syntax error",
    ),
    (
        "empty-file",
        write(f"{NW}/devices.yml", "# nothing yet\n"),
        f"{NW}/devices.yml",
        "",
        "file is empty",
    ),
    (
        "not-a-mapping",
        write(f"{NW}/devices.yml", "- serial: ABC123\n"),
        f"{NW}/devices.yml",
        "",
        "top level must be a mapping of variables, not a list",
    ),
    (
        "duplicate-key",
        write(f"{NW}/devices.yml", "devices: []\ndevices: []\n"),
        f"{NW}/devices.yml",
        "devices",
        "line 2 column 1: duplicate key 'devices'",
    ),
    (
        "unknown-variable",
        write(f"{NW}/extra.yml", "colour: red\n"),
        f"{NW}/extra.yml",
        "colour",
        "unknown key (expected one of",
    ),
    (
        "variable-twice",
        write(f"{NW}/extra.yml", "devices: []\n"),
        f"{NW}/extra.yml",
        "devices",
        f"already defined in mini/{NW}/devices.yml",
    ),
    (
        "koppeling-unknown",
        edit(
            f"{NW}/applications.yml", _set(["applications", 0, "koppelingen", 1, "target"], "GWS")
        ),
        f"{NW}/applications.yml",
        "applications[0].koppelingen[1].target",
        "unknown application 'GWS'",
    ),
    (
        "koppeling-self",
        edit(
            f"{NW}/applications.yml",
            _set(["applications", 0, "koppelingen", 1, "target"], "zaaksysteem"),
        ),
        f"{NW}/applications.yml",
        "applications[0].koppelingen[1].target",
        "cannot be coupled to itself",
    ),
    (
        "koppeling-retired",
        edit(
            f"{NW}/applications.yml",
            _set(["applications", 0, "koppelingen", 1, "target"], "oud-archief"),
        ),
        f"{NW}/applications.yml",
        "applications[0].koppelingen[1].target",
        "'oud-archief' is retired",
    ),
    (
        "koppeling-protocol",
        edit(
            f"{NW}/applications.yml", _set(["applications", 0, "koppelingen", 1, "protocol"], "fax")
        ),
        f"{NW}/applications.yml",
        "applications[0].koppelingen[1].protocol",
        "Input should be",
    ),
    (
        "app-duplicate",
        edit(f"{NW}/applications.yml", _set(["applications", 1, "name"], "zaaksysteem")),
        f"{NW}/applications.yml",
        "applications",
        "application name 'zaaksysteem' is used twice",
    ),
    (
        "app-unknown-server",
        edit(f"{NW}/applications.yml", _set(["applications", 0, "server"], "nw-srv99")),
        f"{NW}/applications.yml",
        "applications[0].server",
        "unknown host 'nw-srv99'",
    ),
    (
        "rehost-without-server",
        edit(f"{NW}/applications.yml", _del(["applications", 0, "server"])),
        f"{NW}/applications.yml",
        "applications[0]",
        "a rehost application needs its `server`",
    ),
    (
        "replace-without-saas",
        edit(f"{NW}/applications.yml", _set(["applications", 2, "disposition"], "replace")),
        f"{NW}/applications.yml",
        "applications[2]",
        "names its `saas_replacement`",
    ),
    (
        "department-empty",
        edit(
            f"{NW}/municipality.yml", lambda d: d["municipality"]["departments"].append("Archief")
        ),
        f"{NW}/municipality.yml",
        "municipality.departments[3]",
        "department 'Archief' has nobody in it",
    ),
    (
        "department-twice",
        edit(
            f"{NW}/municipality.yml",
            lambda d: d["municipality"]["departments"].append("Burgerzaken"),
        ),
        f"{NW}/municipality.yml",
        "municipality.departments",
        "a department is listed twice",
    ),
    (
        "person-department",
        edit(f"{NW}/people.yml", _set(["people", 0, "department"], "Archief")),
        f"{NW}/people.yml",
        "people[0].department",
        "unknown department 'Archief'",
    ),
    (
        "person-account-twice",
        edit(f"{NW}/people.yml", _set(["people", 1, "account"], "jdevries")),
        f"{NW}/people.yml",
        "people[1].account",
        "account 'jdevries' is used twice",
    ),
    (
        "person-mail-invalid",
        edit(f"{NW}/people.yml", _set(["people", 0, "mail"], "jan@@noordwaard")),
        f"{NW}/people.yml",
        "people[0].mail",
        "not a valid mail address",
    ),
    (
        "person-mail-domain-dropped",
        edit(f"{NW}/people.yml", _set(["people", 0, "mail"], "jan@elders.nl")),
        f"{NW}/people.yml",
        "people[0].mail",
        "domain 'elders.nl' is not kept as an alias",
    ),
    (
        "person-prefix-case",
        edit(f"{NW}/people.yml", _set(["people", 0, "prefix"], "De")),
        f"{NW}/people.yml",
        "people[0].prefix",
        "written in lower case",
    ),
    (
        "person-unknown-key",
        edit(f"{NW}/people.yml", _set(["people", 0, "bsn"], "123456782")),
        f"{NW}/people.yml",
        "people[0].bsn",
        "unknown key",
    ),
    (
        "head-count",
        edit(f"{NW}/municipality.yml", _set(["municipality", "head_count"], 70)),
        f"{NW}/municipality.yml",
        "municipality.head_count",
        "70 differs from the 7 people listed",
    ),
    (
        "no-people",
        edit(f"{NW}/people.yml", _set(["people"], [])),
        f"{NW}/municipality.yml",
        "people",
        "list the people or give a people_source",
    ),
    (
        "municipality-name",
        edit(f"{NW}/municipality.yml", _set(["municipality", "name"], "noord")),
        f"{NW}/municipality.yml",
        "municipality.name",
        "'noord' differs from its group 'noordwaard'",
    ),
    (
        "old-domain-not-kept",
        edit(P, _set(["programme", "organisation", "alias_domains"], ["zuidwaard.nl"])),
        f"{NW}/municipality.yml",
        "municipality.mail_domain",
        "'noordwaard.nl' is not kept",
    ),
    (
        "mail-domain-invalid",
        edit(P, _set(["programme", "organisation", "mail_domain"], "waard stad")),
        P,
        "programme.organisation.mail_domain",
        "not a valid DNS domain name",
    ),
    (
        "region-same",
        edit(P, _set(["programme", "azure", "fallback_region"], "westeurope")),
        P,
        "programme.azure",
        "fallback_region must differ from primary_region",
    ),
    (
        "region-outside-eu",
        edit(P, _set(["programme", "azure", "fallback_region"], "eastus")),
        P,
        "programme.azure.fallback_region",
        "'eastus' is not an Azure region in the EU",
    ),
    (
        "address-space-public",
        edit(P, _set(["programme", "azure", "address_space"], "8.8.0.0/16")),
        P,
        "programme.azure.address_space",
        "must be private",
    ),
    (
        "wave-unknown",
        edit(P, _set(["programme", "waves", 1, "municipality"], "westwaard")),
        P,
        "programme.waves[1].municipality",
        "unknown municipality 'westwaard'",
    ),
    (
        "wave-twice",
        edit(P, _set(["programme", "waves", 1, "municipality"], "noordwaard")),
        P,
        "programme.waves[1].municipality",
        "municipality 'noordwaard' has two waves",
    ),
    (
        "wave-order",
        edit(P, _set(["programme", "waves", 1, "weekend"], "2027-02-27")),
        P,
        "programme.waves[1].weekend",
        "is not after the previous wave's 2027-03-06",
    ),
    (
        "wave-weekday",
        edit(P, _set(["programme", "waves", 1, "weekend"], "2027-03-24")),
        P,
        "programme.waves[1].weekend",
        "2027-03-24 is a Wednesday",
    ),
    (
        "phase-order",
        edit(P, lambda d: d["programme"]["phases"].reverse()),
        P,
        "programme.phases",
        "phases must follow preflight",
    ),
    (
        "share-server",
        edit(f"{NW}/shares.yml", _set(["shares", 0, "server"], "zw-srv01")),
        f"{NW}/shares.yml",
        "shares[0].server",
        "'zw-srv01' is not a fileserver of noordwaard",
    ),
    (
        "share-department",
        edit(f"{NW}/shares.yml", _set(["shares", 0, "department"], "Archief")),
        f"{NW}/shares.yml",
        "shares[0].department",
        "unknown department 'Archief'",
    ),
    (
        "dns-server",
        edit(f"{NW}/dns.yml", _set(["dns", "zones", 0, "server"], "nw-dns99")),
        f"{NW}/dns.yml",
        "dns.zones[0].server",
        "'nw-dns99' is not a dns server of noordwaard",
    ),
    (
        "dns-output",
        edit(
            f"{NW}/dns.yml",
            _set(["dns", "zones", 0, "records", 3, "cutover_output"], "loadbalancer"),
        ),
        f"{NW}/dns.yml",
        "dns.zones[0].records[3].cutover_output",
        "unknown stack output 'loadbalancer'",
    ),
    (
        "dns-two-targets",
        edit(f"{NW}/dns.yml", _set(["dns", "zones", 0, "records", 3, "cutover_to"], "192.0.2.1")),
        f"{NW}/dns.yml",
        "dns.zones[0].records[3]",
        "give cutover_to or cutover_output, not both",
    ),
    (
        "dns-zone-twice",
        edit(f"{ZW}/dns.yml", _set(["dns", "zones", 0, "name"], "noordwaard.nl")),
        f"{ZW}/dns.yml",
        "dns.zones[0].name",
        "zone 'noordwaard.nl' is also in noordwaard",
    ),
    (
        "mailbox-owner",
        edit(f"{NW}/mailboxes.yml", _set(["mailboxes", 0, "owner"], "nobody")),
        f"{NW}/mailboxes.yml",
        "mailboxes[0].owner",
        "unknown account 'nobody'",
    ),
    (
        "device-user",
        edit(f"{NW}/devices.yml", _set(["devices", 0, "assigned_user"], "nobody")),
        f"{NW}/devices.yml",
        "devices[0].assigned_user",
        "unknown account 'nobody'",
    ),
    (
        "group-vars-without-group",
        write("group_vars/westwaard.yml", "municipality: {}\n"),
        "group_vars/westwaard.yml",
        "",
        "group 'westwaard' is not in",
    ),
]


@pytest.fixture
def mini(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return copy_programme("mini", tmp_path / "mini")


def test_the_fixture_is_valid(mini: Path) -> None:
    code, lines = run_check(mini)
    assert code == 0, lines
    assert any("programme is valid" in line for line in lines)
    assert any("noordwaard" in line and "2027-03-06" in line for line in lines)
    assert any(
        line.startswith("identity: 15 accounts, ") and "collisions resolved" in line
        for line in lines
    ), lines


@pytest.mark.parametrize(
    ("case", "change", "file", "field", "fragment"), CASES, ids=[c[0] for c in CASES]
)
def test_each_rule_names_file_and_field(
    mini: Path, case: str, change: Edit, file: str, field: str, fragment: str
) -> None:
    change(mini)
    code, lines = run_check(mini)
    assert code == 2, lines
    prefix = f"mini/{file}: {field}: " if field else f"mini/{file}: "
    matching = [line for line in lines if line.startswith(prefix) and fragment in line]
    assert matching, f"expected a line starting {prefix!r} with {fragment!r}, got:\n" + "\n".join(
        lines
    )
    assert "Traceback" not in "\n".join(lines)


def test_every_problem_is_reported_not_just_the_first(mini: Path) -> None:
    for _, change, *_ in (CASES[0], CASES[9], CASES[19]):
        change(mini)
    code, lines = run_check(mini)
    assert code == 2
    problems = [line for line in lines if line.startswith("mini/")]
    assert len(problems) == 3, lines
    assert lines[-1] == "3 problems in mini"


def test_hosts_group_without_group_vars(mini: Path) -> None:
    edit_yaml(
        mini / "hosts.yml",
        lambda d: d["all"]["children"].update(westwaard={"hosts": {"ww-srv01": {}}}),
    )
    code, lines = run_check(mini)
    assert code == 2
    assert "mini/group_vars/westwaard: folder is missing for a municipality in hosts.yml" in lines
    assert (
        "mini/group_vars/all/programme.yml: programme.waves: municipality 'westwaard' has no wave"
        not in lines
    )


def test_missing_programme_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    code, lines = run_check(tmp_path / "nowhere")
    assert code == 2
    assert lines[0] == "nowhere: programme folder does not exist"
    (tmp_path / "a-file").write_text("x")
    code, lines = run_check(tmp_path / "a-file")
    assert code == 2
    assert lines[0].startswith("a-file: is not a folder (a programme is a folder")


def test_check_writes_nothing(mini: Path) -> None:
    def snapshot() -> dict[str, tuple[int, float]]:
        return {str(p): (p.stat().st_size, p.stat().st_mtime) for p in Path.cwd().rglob("*")}

    CASES[9][1](mini)
    before = snapshot()
    assert run_check(mini)[0] == 2
    assert snapshot() == before
    (mini / f"{NW}/people.yml").chmod(0o444)
    try:
        assert run_check(mini)[0] == 2
        assert snapshot() == before
    finally:
        (mini / f"{NW}/people.yml").chmod(0o644)


def test_unreadable_file_is_a_problem_not_a_traceback(mini: Path) -> None:
    (mini / f"{NW}/people.yml").write_bytes(b"people:\n  - given_name: \xff\xfe\n")
    code, lines = run_check(mini)
    assert code == 2
    assert any(line.startswith(f"mini/{NW}/people.yml: cannot read file") for line in lines), lines


HOSTS_CASES = [
    ("no-all", "servers: {}\n", "hosts.yml: all: required"),
    (
        "no-children",
        "all:\n  hosts: {}\n",
        "hosts.yml: all.children: one group per municipality is required",
    ),
    (
        "bad-role",
        "all:\n  children:\n    noordwaard:\n      hosts:\n        nw-srv01:\n          server_roles: [printer]\n",
        "hosts.yml: all.children.noordwaard.hosts.nw-srv01.server_roles[0]: Input should be",
    ),
    (
        "unknown-host-var",
        "all:\n  children:\n    noordwaard:\n      hosts:\n        nw-srv01:\n          colour: red\n",
        "hosts.yml: all.children.noordwaard.hosts.nw-srv01.colour: unknown key",
    ),
]


@pytest.mark.parametrize(("case", "text", "expected"), HOSTS_CASES, ids=[c[0] for c in HOSTS_CASES])
def test_hosts_file_problems(mini: Path, case: str, text: str, expected: str) -> None:
    (mini / "hosts.yml").write_text(text, encoding="utf-8")
    code, lines = run_check(mini)
    assert code == 2
    assert any(line.startswith(f"mini/{expected}") for line in lines), lines


# --- share paths and share roots (issue 9: hostile input) ----------------------------

NW_HOST = ["all", "children", "noordwaard", "hosts", "nw-srv01"]
HOSTS_FIELD = "all.children.noordwaard.hosts.nw-srv01"


def _share_path(path: str) -> Edit:
    return edit(f"{NW}/shares.yml", _set(["shares", 0, "path"], path))


def _host_var(key: str, value: Any) -> Edit:
    return edit("hosts.yml", _set([*NW_HOST, key], value))


SHARE_PATH_CASES: list[tuple[str, Edit, str, str, str]] = [
    # (id, edit, file, field, message fragment)
    (
        "dotdot",
        _share_path("/srv/shares/../../etc"),
        f"{NW}/shares.yml",
        "shares[0].path",
        "not normalised",
    ),
    ("root", _share_path("/"), f"{NW}/shares.yml", "shares[0].path", "is the root folder"),
    (
        "double-slash",
        _share_path("/srv//shares/x"),
        f"{NW}/shares.yml",
        "shares[0].path",
        "not normalised",
    ),
    (
        "trailing-slash",
        _share_path("/srv/shares/x/"),
        f"{NW}/shares.yml",
        "shares[0].path",
        "not normalised",
    ),
    ("dot", _share_path("/srv/shares/./x"), f"{NW}/shares.yml", "shares[0].path", "not normalised"),
    ("relative", _share_path("srv/shares/x"), f"{NW}/shares.yml", "shares[0].path", "not absolute"),
    (
        "control",
        _share_path("/srv/shares/x\x1b[2J"),
        f"{NW}/shares.yml",
        "shares[0].path",
        "control character",
    ),
    (
        "windows-dotdot",
        _share_path("D:\\Shares\\..\\Windows"),
        f"{NW}/shares.yml",
        "shares[0].path",
        "not normalised",
    ),
    (
        "windows-trailing-dot",
        _share_path("D:\\Shares\\x."),
        f"{NW}/shares.yml",
        "shares[0].path",
        "ends in a dot or space",
    ),
    (
        "windows-drive-root",
        _share_path("D:\\"),
        f"{NW}/shares.yml",
        "shares[0].path",
        "drive's root",
    ),
    (
        "windows-slash",
        _share_path("D:\\Shares/x"),
        f"{NW}/shares.yml",
        "shares[0].path",
        "ends in a dot or space or holds",
    ),
    (
        "outside-root",
        _share_path("/etc/burgerzaken"),
        f"{NW}/shares.yml",
        "shares[0].path",
        "is not inside a share root of nw-srv01 (/srv/shares)",
    ),
    (
        "is-the-root",
        _share_path("/srv/shares"),
        f"{NW}/shares.yml",
        "shares[0].path",
        "is not inside a share root",
    ),
    (
        "root-prefix-only",
        _share_path("/srv/shares-other/x"),
        f"{NW}/shares.yml",
        "shares[0].path",
        "is not inside a share root",
    ),
    (
        "windows-on-linux-root",
        _share_path("D:\\Shares\\x"),
        f"{NW}/shares.yml",
        "shares[0].path",
        "is not inside a share root",
    ),
    (
        "no-roots",
        edit("hosts.yml", _del([*NW_HOST, "share_roots"])),
        f"{NW}/shares.yml",
        "shares[0].path",
        "nw-srv01 declares no share_roots in",
    ),
    (
        "root-is-slash",
        _host_var("share_roots", ["/"]),
        "hosts.yml",
        f"{HOSTS_FIELD}.share_roots[0]",
        "is the root folder",
    ),
    (
        "root-dotdot",
        _host_var("share_roots", ["/srv/shares/.."]),
        "hosts.yml",
        f"{HOSTS_FIELD}.share_roots[0]",
        "not normalised",
    ),
    (
        "root-wrong-os",
        _host_var("share_roots", ["D:\\Shares"]),
        "hosts.yml",
        HOSTS_FIELD,
        "not a linux path",
    ),
]


@pytest.mark.parametrize(
    ("case", "change", "file", "field", "fragment"),
    SHARE_PATH_CASES,
    ids=[c[0] for c in SHARE_PATH_CASES],
)
def test_share_paths_are_normalised_and_inside_a_share_root(
    mini: Path, case: str, change: Edit, file: str, field: str, fragment: str
) -> None:
    test_each_rule_names_file_and_field(mini, case, change, file, field, fragment)


def test_windows_shares_inside_a_windows_share_root_pass(mini: Path) -> None:
    _host_var("server_os", "windows")(mini)
    _host_var("share_roots", ["D:\\Shares"])(mini)

    def windows_paths(data: Any) -> None:
        for share in data["shares"]:
            share["path"] = f"D:\\Shares\\{share['name']}"

    edit(f"{NW}/shares.yml", windows_paths)(mini)
    code, lines = run_check(mini)
    assert code == 0, lines


def test_a_cname_beside_another_record_of_its_name_is_refused_once_per_cname() -> None:
    from eendracht.programme import models as m
    from eendracht.programme.rules import Origins, Parsed, dns_zones_and_records

    def record(name: str, kind: str) -> m.Record:
        return m.Record(name=name, type=m.RecordType(kind), value="x.noordwaard.nl.")

    records = [
        record("werkplek", "CNAME"),
        record("x", "A"),
        record("werkplek", "A"),
        record("x", "A"),  # two A records of one name: allowed
        record("alleen", "CNAME"),
        record("dubbel", "CNAME"),
        record("dubbel", "CNAME"),
    ]
    zone = m.Zone(name="noordwaard.nl", server="nw-srv01", records=records)
    mu = m.Municipality.model_construct(dns=m.Dns(zones=[zone]), hosts=[])
    problems = list(dns_zones_and_records(Parsed(None, {"noordwaard": mu}), Origins()))
    assert [(p.field, p.message) for p in problems if "CNAME" in p.message] == [
        ("dns.zones[0].records[0].name", "CNAME 'werkplek' cannot coexist with other records"),
        ("dns.zones[0].records[5].name", "CNAME 'dubbel' cannot coexist with other records"),
        ("dns.zones[0].records[6].name", "CNAME 'dubbel' cannot coexist with other records"),
    ]


def test_a_koppeling_to_an_application_named_twice_is_judged_by_the_first() -> None:
    from eendracht.programme import models as m
    from eendracht.programme.rules import Origins, Parsed, applications_and_koppelingen

    def application(name: str, disposition: str, *calls: str) -> m.Application:
        return m.Application(
            name=name,
            display_name=name,
            supplier="x",
            category="x",
            disposition=m.Disposition(disposition),
            users=1,
            koppelingen=[m.Koppeling(target=c, protocol=m.Protocol.REST) for c in calls],
        )

    def retired_problems(apps: list[m.Application]) -> list[str]:
        mu = m.Municipality.model_construct(applications=apps, hosts=[])
        parsed = Parsed(None, {"noordwaard": mu})
        return [
            p.field
            for p in applications_and_koppelingen(parsed, Origins())
            if "is retired" in p.message
        ]

    caller = application("zaken", "saas", "archief")
    old, new = application("archief", "retire"), application("archief", "saas")
    assert retired_problems([caller, old, new]) == ["applications[0].koppelingen[0].target"]
    assert retired_problems([caller, new, old]) == []
