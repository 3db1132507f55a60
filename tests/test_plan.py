"""The wave runbook: phases and dates, steps, application order, gate, rollback, determinism."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from eendracht.identity import map_identities
from eendracht.plan import Runbook, application_order, build_runbook
from eendracht.plan.markdown import render_markdown
from eendracht.plan.models import SOURCE_CHECK_TAG, Touches
from eendracht.plan.order import strongly_connected
from eendracht.plan.timeouts import step_timeout
from eendracht.programme import load_programme
from eendracht.programme import models as m

MINI = Path(__file__).parent / "fixtures" / "programmes" / "mini"
REPO = Path(__file__).parent.parent


@pytest.fixture(scope="module")
def mini() -> m.Programme:
    return load_programme(MINI)


def with_municipality(prog: m.Programme, name: str, **update: object) -> m.Programme:
    mu = prog.municipalities[name].model_copy(update=update)
    return prog.model_copy(update={"municipalities": {**prog.municipalities, name: mu}})


def with_settings(prog: m.Programme, **update: object) -> m.Programme:
    return prog.model_copy(update={"settings": prog.settings.model_copy(update=update)})


def app(name: str, *calls: str, disposition: m.Disposition = m.Disposition.SAAS) -> m.Application:
    return m.Application(
        name=name,
        display_name=name.title(),
        supplier="Leverancier",
        category="Zaakafhandelcomponent",
        disposition=disposition,
        users=1,
        server="nw-srv01" if disposition is m.Disposition.REHOST else "",
        health="/health",
        koppelingen=[m.Koppeling(target=c, protocol=m.Protocol.ZGW_API) for c in calls],
    )


# --- phases, dates, steps ------------------------------------------------------------


def test_phases_follow_the_programme_and_are_timed_from_the_weekends_friday(
    mini: m.Programme,
) -> None:
    # noordwaard's weekend is given as Saturday 2027-03-06: the freeze is Friday 18:00 before it.
    runbook = build_runbook(mini, "noordwaard")
    assert runbook.weekend == dt.date(2027, 3, 6)
    assert [(p.name.value, p.starts) for p in runbook.phases] == [
        ("preflight", dt.datetime(2027, 2, 19, 9, 0)),  # 14 days before the Friday
        ("presync", dt.datetime(2027, 2, 26, 18, 0)),  # 7 days ahead, after office hours
        ("freeze", dt.datetime(2027, 3, 5, 18, 0)),  # Friday 18:00
        ("final_sync", dt.datetime(2027, 3, 5, 19, 0)),
        ("cutover", dt.datetime(2027, 3, 6, 8, 0)),  # Saturday
        ("verify", dt.datetime(2027, 3, 6, 14, 0)),
    ]
    assert all(p.date == p.starts.date() for p in runbook.phases)
    assert runbook.wave == 1
    assert build_runbook(mini, "zuidwaard").wave == 2


@pytest.mark.parametrize("weekend", [dt.date(2027, 3, 5), dt.date(2027, 3, 6), dt.date(2027, 3, 7)])
def test_a_weekend_given_as_friday_saturday_or_sunday_freezes_on_the_friday(
    mini: m.Programme, weekend: dt.date
) -> None:
    waves = [w.model_copy(update={"weekend": weekend}) if w.municipality == "noordwaard" else w
             for w in mini.settings.waves]  # fmt: skip
    runbook = build_runbook(with_settings(mini, waves=waves), "noordwaard")
    starts = {p.name.value: p.starts for p in runbook.phases}
    assert starts["freeze"] == dt.datetime(2027, 3, 5, 18, 0)
    assert starts["freeze"].isoweekday() == 5
    assert starts["cutover"] == dt.datetime(2027, 3, 6, 8, 0)
    assert starts["presync"] == dt.datetime(2027, 2, 26, 18, 0)
    ordered = [p.starts for p in runbook.phases]
    assert ordered == sorted(ordered)
    assert not any("check the phases' days_before" in n for n in runbook.notes)


def test_phases_out_of_time_order_are_noted(mini: m.Programme) -> None:
    prog = with_settings(
        mini,
        phases=[
            m.Phase(name=m.PhaseName.PREFLIGHT, days_before=3),
            m.Phase(name=m.PhaseName.FREEZE, days_before=2),
            m.Phase(name=m.PhaseName.CUTOVER, days_before=3),
            m.Phase(name=m.PhaseName.VERIFY),
        ],
    )
    notes = build_runbook(prog, "noordwaard").notes
    assert (
        "cutover starts Wednesday 2027-03-03 08:00, before freeze (Wednesday 2027-03-03 18:00): "
        "check the phases' days_before" in notes
    )


def test_every_step_has_a_unique_id_its_phase_playbook_and_a_tag(mini: m.Programme) -> None:
    runbook = build_runbook(mini, "noordwaard")
    ids = [s.id for s in runbook.steps()]
    assert len(ids) == len(set(ids))
    for phase in runbook.phases:
        for step in phase.steps:
            assert step.id.startswith(f"{phase.name.value}.")
            assert step.playbook == f"playbooks/{phase.name.value}.yml" == phase.playbook
            assert step.tags == [f"{step.id.split('.')[1]}_{phase.name.value}"] or (
                step.id.startswith("cutover.app.") and step.tags == ["applications_cutover"]
            )
            assert step.check and step.actions and step.rollback.description
            assert step.timeout >= 300 and step.timeout % 60 == 0
    assert ids == [
        "preflight.reachability",
        "preflight.capacity",
        "preflight.directory",
        "preflight.dns",
        "preflight.identity",
        "preflight.applications",
        "preflight.mail",
        "presync.files.burgerzaken",
        "presync.files.sociaal-domein",
        "presync.dns",
        "presync.identity",
        "presync.mail",
        "freeze.files",
        "freeze.applications",
        "final_sync.files.burgerzaken",
        "final_sync.files.sociaal-domein",
        "cutover.identity",
        "cutover.app.documentbeheer",
        "cutover.app.zaaksysteem",
        "cutover.app.burgerzaken",
        "cutover.app.financien",
        "cutover.dns",
        "cutover.workstations",
        "cutover.mail",
        "cutover.dns.mx",
        "verify.files",
        "verify.identity",
        "verify.dns",
        "verify.mail",
        "verify.applications",
    ]


def test_steps_say_what_they_touch(mini: m.Programme) -> None:
    runbook = build_runbook(mini, "noordwaard")
    copy = runbook.step("presync.files.burgerzaken")
    assert copy.touches.hosts == ["nw-srv01"]
    assert copy.touches.bytes == 50_000_000 and copy.touches.files == 120
    assert copy.extra_vars == {"wave_shares": ["burgerzaken"]}
    presync_bytes = sum(
        s.touches.bytes for s in runbook.steps() if s.id.startswith("presync.files.")
    )
    assert presync_bytes == runbook.totals.file_bytes == 130_000_000
    assert runbook.step("cutover.identity").touches.accounts == 7
    assert (
        runbook.step("cutover.identity").check
        == "6 target accounts enabled; 7 source accounts disabled"
    )
    assert runbook.step("cutover.dns").touches.records == 3  # the MX record waits for mail
    assert runbook.step("cutover.dns").touches.targets == [
        "application_gateway_ip",
        "dns_server",
        "workplace_fqdn",
    ]
    assert runbook.step("cutover.dns.mx").touches.records == 1
    zaak = runbook.step("cutover.app.zaaksysteem")
    assert zaak.touches.databases == ["openzaak"]
    assert zaak.touches.koppelingen == 2
    assert "chain test zaaksysteem -> BRP (haal-centraal, critical)" in zaak.actions
    assert any("dump, restore" in a for a in zaak.actions)
    assert any("SaaS handover" in a for a in runbook.step("cutover.app.burgerzaken").actions)
    assert (
        "repoint incoming koppeling burgerzaken -> zaaksysteem (zgw-api) at its new endpoint"
        in zaak.actions
    )
    assert runbook.step("cutover.mail").touches.mailboxes == 10
    assert runbook.step("cutover.workstations").touches.devices == 3


def test_left_out_phases_carry_their_steps_into_the_next_phase(mini: m.Programme) -> None:
    prog = with_settings(
        mini,
        phases=[
            m.Phase(name=m.PhaseName.PREFLIGHT, days_before=10),
            m.Phase(name=m.PhaseName.CUTOVER),
            m.Phase(name=m.PhaseName.VERIFY),
        ],
    )
    runbook = build_runbook(prog, "noordwaard")
    assert [p.name.value for p in runbook.phases] == ["preflight", "cutover", "verify"]
    cutover = runbook.phases[1]
    carried = [s for s in cutover.steps if s.moved_from is not None]
    assert [s.id for s in carried][:3] == [
        "presync.files.burgerzaken",
        "presync.files.sociaal-domein",
        "presync.dns",
    ]
    assert all(s.phase is m.PhaseName.CUTOVER for s in carried)
    assert carried[0].playbook == "playbooks/presync.yml"  # still its own play
    assert cutover.steps.index(carried[-1]) < cutover.steps.index(runbook.step("cutover.identity"))
    assert any("leaves out" in n and "final_sync, freeze, presync" in n for n in runbook.notes)


def test_a_ttl_longer_than_the_lowering_window_is_noted(mini: m.Programme) -> None:
    prog = with_settings(
        mini,
        phases=[
            m.Phase(name=m.PhaseName.PREFLIGHT, days_before=3),
            m.Phase(name=m.PhaseName.PRESYNC, days_before=1),
            m.Phase(name=m.PhaseName.CUTOVER),
            m.Phase(name=m.PhaseName.VERIFY),
        ],
    )
    zone = prog.municipalities["zuidwaard"].dns.zones[0]
    slow = zone.model_copy(
        update={
            "records": [
                m.Record(
                    name="portaal",
                    type=m.RecordType.A,
                    value="198.51.100.9",
                    ttl=172800,
                    cutover_to="10.0.0.9",
                )
            ]
        }
    )
    prog = with_municipality(prog, "zuidwaard", dns=m.Dns(zones=[slow]))
    notes = build_runbook(prog, "zuidwaard").notes
    # lowered Thursday 18:00 (presync, 1 day before the Friday), cut over Saturday 08:00
    assert any("portaal.zuidwaard.nl: TTL 172800s is longer than the 136800s" in n for n in notes)


# --- mail before MX --------------------------------------------------------------------


@pytest.mark.parametrize("municipality", ["noordwaard", "zuidwaard"])
def test_mx_records_switch_in_their_own_step_after_the_mail_step(
    mini: m.Programme, municipality: str
) -> None:
    runbook = build_runbook(mini, municipality)
    ids = [s.id for s in runbook.steps()]
    mx = runbook.step("cutover.dns.mx")
    assert ids.index("cutover.mail") < ids.index("cutover.dns.mx")
    cutover = next(p for p in runbook.phases if p.name is m.PhaseName.CUTOVER).steps
    assert all(ids.index(s.id) < ids.index(mx.id) for s in cutover if s.touches.mailboxes)
    assert mx.tags == ["dns_cutover"] and mx.extra_vars == {"wave_record_types": ["MX"]}
    assert "mailboxes are moved before the MX records change" in mx.actions[0]
    assert any(a.startswith("@.") and " MX: " in a for a in mx.actions)
    rest = runbook.step("cutover.dns")
    assert "MX" not in rest.extra_vars["wave_record_types"]
    assert not any(" MX: " in a for a in rest.actions)
    mail = runbook.step("cutover.mail")
    assert any("the MX records switch only after this step passed" in a for a in mail.actions)
    assert any("compare every mailbox per folder" in a for a in mail.actions)


def test_without_mailboxes_the_mx_switch_still_follows_the_mail_and_cutover_steps(
    mini: m.Programme,
) -> None:
    prog = with_municipality(mini, "noordwaard", mailboxes=[])
    runbook = build_runbook(prog, "noordwaard")
    cutover = [s.id for s in runbook.steps() if s.phase is m.PhaseName.CUTOVER]
    assert "cutover.mail" not in cutover
    assert cutover[-1] == "cutover.dns.mx"


def test_without_an_mx_record_to_move_the_dns_cutover_is_one_whole_batch(mini: m.Programme) -> None:
    zone = mini.municipalities["noordwaard"].dns.zones[0]
    no_mx = zone.model_copy(
        update={"records": [r for r in zone.records if r.type is not m.RecordType.MX]}
    )
    runbook = build_runbook(
        with_municipality(mini, "noordwaard", dns=m.Dns(zones=[no_mx])), "noordwaard"
    )
    assert "cutover.dns.mx" not in [s.id for s in runbook.steps()]
    assert runbook.step("cutover.dns").extra_vars == {}  # the play cuts every record over
    assert not any("MX" in a for a in runbook.step("cutover.mail").actions)


# --- timeouts ---------------------------------------------------------------------------


def test_every_step_and_rollback_has_a_timeout_from_one_rule(mini: m.Programme) -> None:
    runbook = build_runbook(mini, "noordwaard")
    for step in runbook.steps():
        concern = step.tags[0].removesuffix(f"_{step.phase.value}")
        assert step.timeout == step_timeout(step.phase.value, concern, step.touches), step.id
    assert all(e.timeout >= 300 for e in runbook.rollback)
    assert runbook.source_check_timeout >= 300
    dns = runbook.step("cutover.dns")
    assert dns.timeout <= 15 * 60  # a DNS batch is small


def test_a_share_copy_timeout_scales_with_its_size(mini: m.Programme) -> None:
    def copy_timeout(size_gb: float, files: int = 1000) -> int:
        share = m.Share(
            name="data",
            server="nw-srv01",
            path="/srv/data",
            size_gb=size_gb,
            files=files,
            department="Burgerzaken",
        )
        runbook = build_runbook(with_municipality(mini, "noordwaard", shares=[share]), "noordwaard")
        return runbook.step("presync.files.data").timeout

    small, large, huge = copy_timeout(1), copy_timeout(101), copy_timeout(1001)
    assert small < large < huge
    assert huge - large == pytest.approx(9 * (large - small), rel=0.01)  # linear in size_gb
    assert 3600 < large < 6 * 3600  # 100 GB over a 200 Mbit/s link, with room to spare
    assert copy_timeout(100, files=2_000_000) > large  # walking the tree counts too


def test_timeouts_of_other_kinds_follow_what_they_touch() -> None:
    few = step_timeout("cutover", "dns", Touches(hosts=["ns1"], records=4))
    many = step_timeout("cutover", "dns", Touches(hosts=["ns1", "ns2"], records=400))
    assert few < many <= 45 * 60
    db = step_timeout("cutover", "applications", Touches(applications=["a"], bytes=50 * 10**9))
    assert db > step_timeout("cutover", "applications", Touches(applications=["a"], bytes=0))
    assert step_timeout("cutover", "identity", Touches(accounts=10)) == 360
    with pytest.raises(ValueError, match="no timeout rule"):
        step_timeout("cutover", "printers", Touches())


# --- the plays the steps select ----------------------------------------------------------

PHASE_PLAYBOOKS = ("preflight", "presync", "freeze", "final_sync", "cutover", "verify", "rollback")


def _play_tags(path: Path) -> list[list[str]]:
    return [play.get("tags", []) for play in yaml.safe_load(path.read_text())]


@pytest.mark.parametrize("phase", PHASE_PLAYBOOKS)
def test_each_play_has_one_tag_role_then_phase_and_imports_its_role(phase: str) -> None:
    path = REPO / "playbooks" / f"{phase}.yml"
    plays = yaml.safe_load(path.read_text())
    for play in plays:
        assert len(play["tags"]) == 1, play["name"]
        tag = play["tags"][0]
        assert tag.endswith(f"_{phase}") or (phase == "rollback" and tag == SOURCE_CHECK_TAG)
        for task in play["tasks"]:
            # import_role: the tasks inherit the play's tag, so no second tag (apply) is needed
            assert set(task) == {"name", "ansible.builtin.import_role"}, task["name"]
    tags = [t[0] for t in _play_tags(path)]
    assert len(tags) == len(set(tags))
    fake = REPO / "tests" / "wave" / "fake_playbooks" / f"{phase}.yml"
    assert _play_tags(fake) == _play_tags(path)  # the fakes emulate the real plays' tags


@pytest.mark.parametrize(
    "hosts", [*sorted((REPO / "inventory").glob("*/hosts.yml")), MINI / "hosts.yml"]
)
def test_every_step_tag_selects_exactly_one_play_of_its_playbook(hosts: Path) -> None:
    prog = load_programme(hosts.parent)
    mapping = map_identities(prog)
    for name in prog.municipalities:
        runbook = build_runbook(prog, name, mapping)
        selectors = [(s.playbook, s.tags) for s in runbook.steps()]
        selectors += [(e.playbook, e.tags) for e in runbook.rollback]
        selectors.append(("playbooks/rollback.yml", [SOURCE_CHECK_TAG]))
        for playbook, tags in selectors:
            plays = _play_tags(REPO / playbook)
            assert len(tags) == 1
            assert sum(tags[0] in t for t in plays) == 1, (playbook, tags)


# --- application order ---------------------------------------------------------------


def test_application_order_follows_the_koppelingen(mini: m.Programme) -> None:
    order = application_order(mini.municipalities["noordwaard"])
    assert order.sequence == ["documentbeheer", "zaaksysteem", "burgerzaken", "financien"]
    assert order.groups[1].depends_on == ["documentbeheer"]
    assert order.cycles == []
    assert [(n.application, n.reason.split(":")[0]) for n in order.not_moved] == [
        ("oud-archief", "retired"),
        ("BRP", "national service"),
    ]


def test_a_cycle_is_reported_and_moved_together(mini: m.Programme) -> None:
    apps = [
        app("portaal", "zaken"),
        app("zaken", "documenten"),
        app("documenten", "archief", "BRP"),
        app("archief", "zaken"),
        app("basis"),
        app("oud", disposition=m.Disposition.RETIRE),
    ]
    prog = with_municipality(mini, "noordwaard", applications=apps)
    order = application_order(prog.municipalities["noordwaard"])
    assert order.cycles == [["archief", "documenten", "zaken"]]
    assert [g.applications for g in order.groups] == [
        ["archief", "documenten", "zaken"],
        ["basis"],
        ["portaal"],
    ]
    assert order.groups[0].cycle and not order.groups[1].cycle
    assert order.groups[2].depends_on == ["zaken"]
    runbook = build_runbook(prog, "noordwaard")
    step = runbook.step("cutover.app.archief+documenten+zaken")
    assert step.extra_vars == {"wave_applications": ["archief", "documenten", "zaken"]}
    assert step.title == "Move the koppeling cycle archief + documenten + zaken together"
    assert (
        "koppeling cycle archief -> documenten -> zaken: moved together in one step"
        in runbook.notes
    )
    assert "cutover.app.oud" not in [s.id for s in runbook.steps()]


@st.composite
def koppeling_graphs(draw: st.DrawFn) -> dict[str, list[str]]:
    names = [f"app{i}" for i in range(draw(st.integers(1, 9)))]
    return {
        n: draw(
            st.lists(
                st.sampled_from([x for x in names if x != n] or ["BRP"]), max_size=3, unique=True
            )
        )
        for n in names
    }


@settings(max_examples=80, deadline=None)
@given(koppeling_graphs(), st.sets(st.integers(0, 8), max_size=2))
def test_property_every_application_moves_after_what_it_calls(
    graph: dict[str, list[str]], retired_ix: set[int]
) -> None:
    retired = {f"app{i}" for i in retired_ix} & set(graph)
    apps = [
        app(
            n,
            *[c for c in calls if c not in retired],
            disposition=m.Disposition.RETIRE if n in retired else m.Disposition.SAAS,
        )
        for n, calls in graph.items()
    ]
    mu = m.Municipality(
        info=m.MunicipalityInfo(
            name="noordwaard",
            display_name="Noordwaard",
            inhabitants=1,
            head_count=1,
            mail_domain="noordwaard.nl",
            departments=["Burgerzaken"],
            sites=[m.Site(name="huis", kind=m.SiteKind.TOWN_HALL, address_space="10.1.0.0/24")],
        ),
        applications=apps,
    )
    order = application_order(mu)
    position = {a: g.position for g in order.groups for a in g.applications}
    assert sorted(position) == sorted(set(graph) - retired)  # each moved app exactly once
    assert sum(len(g.applications) for g in order.groups) == len(position)
    cycle_of = {a: tuple(c) for c in order.cycles for a in c}
    for a in position:
        for callee in graph[a]:
            if callee in position:
                same_cycle = a in cycle_of and cycle_of.get(callee) == cycle_of[a]
                assert position[callee] < position[a] or same_cycle
    assert application_order(mu) == order


def test_strongly_connected_finds_nested_cycles() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a", "d"}, "d": {"e"}, "e": {"d"}, "f": set()}
    assert sorted(strongly_connected(graph)) == [["a", "b", "c"], ["d", "e"], ["f"]]


# --- gate, rollback ------------------------------------------------------------------


def test_gate_criteria_come_from_the_programme(mini: m.Programme) -> None:
    prog = with_settings(
        mini,
        go_no_go=m.GoNoGo(
            max_failed_health_checks=1,
            max_failed_chain_tests=2,
            min_verified_file_ratio=0.99,
            approvers=["Gemeentesecretaris"],
        ),
    )
    gate = build_runbook(prog, "zuidwaard").gate
    thresholds = {c.id: c.threshold for c in gate.criteria}
    assert thresholds["gate.health"] == "≤ 1"
    assert thresholds["gate.chain"] == "≤ 2"
    assert thresholds["gate.files"].startswith("ratio ≥ 0.99")
    assert thresholds["gate.identity"] == "8 / 8"
    assert thresholds["gate.dns"] == "4 of 4"
    assert gate.approvers == ["Gemeentesecretaris"]


def test_rollback_undoes_changing_steps_last_first(mini: m.Programme) -> None:
    runbook = build_runbook(mini, "noordwaard")
    undone = [e.step for e in runbook.rollback]
    assert undone == [
        "cutover.dns.mx",
        "cutover.dns",
        "cutover.app.financien",
        "cutover.app.burgerzaken",
        "cutover.app.zaaksysteem",
        "cutover.app.documentbeheer",
        "cutover.identity",
        "freeze.applications",
        "freeze.files",
        "presync.dns",
    ]
    assert all(e.playbook == "playbooks/rollback.yml" and e.timeout for e in runbook.rollback)
    assert {t for e in runbook.rollback for t in e.tags} == {
        "dns_rollback",
        "applications_rollback",
        "identity_rollback",
        "files_rollback",
    }
    # Both DNS steps undo with one play restoring every record the wave touched.
    assert runbook.rollback[0].tags == runbook.rollback[1].tags == ["dns_rollback"]
    assert runbook.rollback[0].extra_vars == runbook.rollback[1].extra_vars == {}
    app_undo = runbook.rollback[2]
    assert app_undo.tags == ["applications_rollback"]
    assert app_undo.extra_vars == {"wave_applications": ["financien"]}
    assert runbook.step("preflight.capacity").rollback.playbook == ""


# --- identity, sources, determinism --------------------------------------------------


def test_runbook_carries_the_identity_summary(mini: m.Programme) -> None:
    ident = build_runbook(mini, "zuidwaard").identity
    assert (ident.accounts, ident.enabled, ident.renamed, ident.collisions) == (8, 8, 2, 2)
    assert ident.tussenvoegsels_joined == 4 and not ident.from_directory


def test_people_read_from_a_directory_count_the_head_count(mini: m.Programme) -> None:
    source = m.PeopleSource(uri="ldaps://dc01.zuidwaard.local", base_dn="dc=zuidwaard,dc=local")
    prog = with_municipality(mini, "zuidwaard", people=[], people_source=source)
    runbook = build_runbook(prog, "zuidwaard")
    assert runbook.identity.from_directory
    assert runbook.identity.accounts == runbook.totals.accounts == 8
    assert any("ldaps://dc01.zuidwaard.local" in n for n in runbook.notes)
    assert "ldaps://dc01.zuidwaard.local" in runbook.step("preflight.directory").actions[0]


def test_windows_shares_use_the_robocopy_variant(mini: m.Programme) -> None:
    share = m.Share(
        name="data", server="nw-srv01", path="D:\\Shares\\Data", size_gb=1, department="Burgerzaken"
    )
    prog = with_municipality(mini, "noordwaard", shares=[share])
    runbook = build_runbook(prog, "noordwaard")
    assert "robocopy" in runbook.step("presync.files.data").actions[0]
    assert "share data is on Windows: copied with the robocopy variant" in runbook.notes


def test_unknown_municipality_names_the_known_ones(mini: m.Programme) -> None:
    with pytest.raises(KeyError, match="known: noordwaard, zuidwaard"):
        build_runbook(mini, "westwaard")


def test_runbook_is_deterministic_and_round_trips(mini: m.Programme) -> None:
    first = build_runbook(mini, "noordwaard").to_json()
    again = build_runbook(load_programme(MINI), "noordwaard").to_json()
    assert first == again
    shuffled = with_municipality(
        mini,
        "noordwaard",
        people=list(reversed(mini.municipalities["noordwaard"].people)),
        applications=list(reversed(mini.municipalities["noordwaard"].applications)),
        shares=list(reversed(mini.municipalities["noordwaard"].shares)),
    )
    assert build_runbook(shuffled, "noordwaard").to_json() == first
    assert Runbook.model_validate_json(first).to_json() == first


def test_markdown_names_phases_steps_gate_rollback_and_identity_changes(mini: m.Programme) -> None:
    mapping = map_identities(mini)
    text = render_markdown(build_runbook(mini, "zuidwaard", mapping), mapping)
    assert text.startswith("# Wave runbook: Gemeente Zuidwaard\n")
    for heading in (
        "## Schedule",
        "## Application cutover order",
        "## Go/no-go",
        "## Rollback",
        "## Identity changes",
    ):
        assert f"\n{heading}" in text
    assert "| 3 | cad | vergunningen |  |" in text
    assert "#### `cutover.dns` — Cut the records over in one signed batch" in text
    assert (
        "| devriesj | Jan de Vries | `jan.devries` | jan.devries@waardstad.nl | j.devries@zuidwaard.nl |"
        in text
    )
    assert (
        "- j.devries: kept by noordwaard/jdevries; zuidwaard/devriesj -> jan.devries (full given name)"
        in text
    )


# --- the example programmes ----------------------------------------------------------

EXAMPLES = sorted((Path(__file__).parent.parent / "inventory").glob("*/hosts.yml"))


@pytest.mark.parametrize("hosts", EXAMPLES, ids=[h.parent.name for h in EXAMPLES])
def test_every_wave_of_the_example_programmes_plans(hosts: Path) -> None:
    prog = load_programme(hosts.parent)
    mapping = map_identities(prog)
    assert len(mapping.by_key()) == mapping.report.accounts
    for name, mu in prog.municipalities.items():
        runbook = build_runbook(prog, name, mapping)
        moved = {a.name for a in mu.applications if a.disposition is not m.Disposition.RETIRE}
        in_steps = [
            a
            for s in runbook.steps()
            if s.id.startswith("cutover.app.")
            for a in s.touches.applications
        ]
        assert sorted(in_steps) == sorted(moved)
        assert runbook.gate.criteria and runbook.rollback
        assert runbook.to_json() == build_runbook(prog, name, mapping).to_json()


def test_application_verify_counts_what_the_role_tests_and_is_left_out_when_nothing_is(
    mini: m.Programme,
) -> None:
    step = next(
        s for s in build_runbook(mini, "noordwaard").steps() if s.id == "verify.applications"
    )
    # Landed (rehost, RemoteApp): zaaksysteem, documentbeheer, financien with a health check;
    # the koppelingen of zaaksysteem (2) and financien (1). The SaaS burgerzaken is handed over.
    assert step.actions == [
        "call 3 health endpoints on the target",
        "run 3 chain tests, one per koppeling",
    ]
    saas_only = with_municipality(
        mini,
        "noordwaard",
        applications=[app("burgerzaken", "BRP"), app("zaken", "burgerzaken")],
    )
    ids = [s.id for s in build_runbook(saas_only, "noordwaard").steps()]
    assert "verify.applications" not in ids


def test_the_gate_lists_only_criteria_the_wave_checks(mini: m.Programme) -> None:
    ids = [c.id for c in build_runbook(mini, "noordwaard").gate.criteria]
    assert {"gate.files", "gate.identity", "gate.dns", "gate.health", "gate.chain"} <= set(ids)
    saas_only = with_municipality(mini, "noordwaard", applications=[app("burgerzaken", "BRP")])
    ids = [c.id for c in build_runbook(saas_only, "noordwaard").gate.criteria]
    assert "gate.health" not in ids and "gate.chain" not in ids  # no verify step tests them


def test_incoming_koppelingen_are_every_moved_callers_outside_the_group_by_caller_name(
    mini: m.Programme,
) -> None:
    apps = [
        app("zaaksysteem", "archief", "BRP"),
        app("archief", "zaaksysteem"),  # a cycle with zaaksysteem: moved with it
        app("zorg", "zaaksysteem", "archief"),
        app("burgerzaken", "zaaksysteem"),
        app("oud", "zaaksysteem", disposition=m.Disposition.RETIRE),  # not moved: not repointed
    ]
    apps[2] = apps[2].model_copy(
        update={
            "koppelingen": [
                *apps[2].koppelingen,
                m.Koppeling(target="zaaksysteem", protocol=m.Protocol.STUF),
            ]
        }
    )
    runbook = build_runbook(with_municipality(mini, "noordwaard", applications=apps), "noordwaard")
    group = runbook.step("cutover.app.archief+zaaksysteem")
    incoming = [a for a in group.actions if "incoming" in a]
    assert incoming == [
        "archief: repoint incoming koppeling zorg -> archief (zgw-api) at its new endpoint",
        "zaaksysteem: repoint incoming koppeling burgerzaken -> zaaksysteem (zgw-api) "
        "at its new endpoint",
        "zaaksysteem: repoint incoming koppeling zorg -> zaaksysteem (zgw-api) at its new endpoint",
        "zaaksysteem: repoint incoming koppeling zorg -> zaaksysteem (stuf) at its new endpoint",
    ]
    assert [a for a in runbook.step("cutover.app.zorg").actions if "incoming" in a] == []
    assert runbook.application_order.not_moved[-1].application == "BRP"
