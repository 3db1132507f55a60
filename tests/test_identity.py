"""Identity mapping: names, tussenvoegsels, diacritics, collisions, determinism, stability."""

from __future__ import annotations

import datetime as dt
import random
import re
from collections.abc import Mapping, Sequence
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from eendracht.identity import ChangeKind, IdentityMapping, fold, map_identities
from eendracht.identity.candidates import MAX_LOCAL_PART
from eendracht.programme import load_programme
from eendracht.programme import models as m

MINI = Path(__file__).parent / "fixtures" / "programmes" / "mini"
USERNAME = re.compile(r"^[a-z][a-z0-9.]*$")
FIRST_WEEKEND = dt.date(2027, 3, 6)  # a Saturday


def person(
    given_name: str,
    surname: str,
    account: str,
    *,
    prefix: str = "",
    mail: str = "",
    enabled: bool = True,
) -> m.Person:
    return m.Person(
        given_name=given_name,
        prefix=prefix,
        surname=surname,
        department="Burgerzaken",
        account=account,
        mail=mail or f"{account}@oud.nl",
        enabled=enabled,
    )


def programme(
    people: Mapping[str, Sequence[m.Person]],
    *,
    pattern: m.UsernamePattern = m.UsernamePattern.INITIAL_SURNAME,
    sourced: Sequence[str] = (),
    mailboxes: Mapping[str, Sequence[m.Mailbox]] | None = None,
) -> m.Programme:
    """An in-memory programme whose municipalities' waves follow the mapping's order."""
    names = [*people, *sourced]
    municipalities = {
        name: m.Municipality(
            info=m.MunicipalityInfo(
                name=name,
                display_name=f"Gemeente {name.title()}",
                inhabitants=10_000,
                head_count=max(1, len(people.get(name, ()))),
                mail_domain=f"{name}.nl",
                departments=["Burgerzaken"],
                sites=[
                    m.Site(
                        name="gemeentehuis", kind=m.SiteKind.TOWN_HALL, address_space="10.1.0.0/24"
                    )
                ],
            ),
            people=list(people.get(name, ())),
            people_source=m.PeopleSource(uri="ldap://127.0.0.1", base_dn="dc=x")
            if name in sourced
            else None,
            mailboxes=list((mailboxes or {}).get(name, ())),
        )
        for name in names
    }
    settings_ = m.ProgrammeSettings(
        name="waardstad",
        organisation=m.Organisation(
            name="Gemeente Waardstad",
            mail_domain="waardstad.nl",
            upn_suffix="ad.waardstad.nl",
            alias_domains=[f"{n}.nl" for n in names],
            username_pattern=pattern,
        ),
        azure=m.Azure(primary_region="westeurope", fallback_region="northeurope"),
        waves=[
            m.Wave(municipality=n, weekend=FIRST_WEEKEND + dt.timedelta(weeks=2 * i))
            for i, n in enumerate(names)
        ],
    )
    return m.Programme(root="memory", settings=settings_, municipalities=municipalities)


def usernames(mapping: IdentityMapping) -> dict[str, str]:
    return {i.key: i.username for i in mapping.identities}


# --- folding -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "folded"),
    [
        ("Daniëlle", "danielle"),
        ("Özil", "ozil"),
        ("Müller", "muller"),
        ("Çelik", "celik"),
        ("Strauß", "strauss"),
        ("Søren", "soren"),
        ("van 't Hof", "vanthof"),
        ("Jansen-Bakker", "jansenbakker"),
        ("El Amrani", "elamrani"),
        ("O’Brien", "obrien"),
        ("François", "francois"),
        ("Łukasz", "lukasz"),
        ("Ĳsbrand", "ijsbrand"),
    ],
)
def test_fold_spells_names_in_a_to_z(written: str, folded: str) -> None:
    assert fold(written) == folded


# --- the pattern ---------------------------------------------------------------------


def test_tussenvoegsel_and_diacritics_give_the_documented_names() -> None:
    mapping = map_identities(
        programme(
            {
                "noordwaard": [
                    person("Daniëlle", "Berg", "dberg", prefix="van den"),
                    person("Daan", "Hof", "dhof", prefix="van 't"),
                    person("Mehmet", "Özil", "mozil"),
                    person("Anne", "Jansen-Bakker", "ajansen"),
                    person("Émile", "Strauß", "estrauss"),
                ]
            }
        )
    )
    by_account = {i.old_account: i for i in mapping.identities}
    assert by_account["dberg"].username == "d.vandenberg"
    assert by_account["dhof"].username == "d.vanthof"
    assert by_account["mozil"].username == "m.ozil"
    assert by_account["ajansen"].username == "a.jansenbakker"
    assert by_account["estrauss"].username == "e.strauss"
    dberg = by_account["dberg"]
    assert dberg.display_name == "Daniëlle van den Berg"  # diacritics kept where people read
    assert dberg.upn == "d.vandenberg@ad.waardstad.nl"
    assert dberg.mail == "d.vandenberg@waardstad.nl"
    assert dberg.aliases == ["dberg@oud.nl"]
    kinds = {c.kind: c.detail for c in dberg.changes}
    assert kinds == {
        ChangeKind.TUSSENVOEGSEL: "tussenvoegsel 'van den' joined to the surname: vandenberg"
    }
    assert {c.kind for c in by_account["mozil"].changes} == {ChangeKind.ACCENTS}
    assert by_account["mozil"].changes[0].detail == "Ö→o folded"
    assert {c.kind for c in by_account["dhof"].changes} == {
        ChangeKind.TUSSENVOEGSEL,
        ChangeKind.SEPARATORS,
    }
    assert "ß→ss" in by_account["estrauss"].changes[0].detail
    assert "É→e" in by_account["estrauss"].changes[0].detail


def test_given_surname_pattern() -> None:
    mapping = map_identities(
        programme(
            {
                "noordwaard": [
                    person("Zoë", "Jansen", "zjansen"),
                    person("Zoë", "Jansen", "zjansen2"),
                ]
            },
            pattern=m.UsernamePattern.GIVEN_SURNAME,
        )
    )
    assert usernames(mapping) == {
        "noordwaard/zjansen": "zoe.jansen",
        "noordwaard/zjansen2": "zoe.jansen2",
    }
    assert mapping.identities[0].changes[0].detail == "ë→e folded"  # the given name is used here


def test_dutch_ij_is_one_initial() -> None:
    mapping = map_identities(
        programme({"noordwaard": [person("IJsbrand", "Vries", "iv", prefix="de")]})
    )
    assert mapping.identities[0].username == "ij.devries"


def test_a_name_without_latin_letters_falls_back_and_says_so() -> None:
    mapping = map_identities(programme({"noordwaard": [person("Ωμέγα", "東京", "otokyo")]}))
    identity = mapping.identities[0]
    assert identity.username == "x.otokyo"
    assert [c.kind for c in identity.changes].count(ChangeKind.FALLBACK) == 2
    assert mapping.report.fallbacks == 1


def test_very_long_names_are_cut_to_a_valid_local_part() -> None:
    long_surname = "Vanderschuerenbergkampsteegwaterlandschaphuizenveldstraatdijkerhof"
    mapping = map_identities(
        programme(
            {"noordwaard": [person("Jan", long_surname, "a"), person("Jan", long_surname, "b")]}
        )
    )
    names = list(usernames(mapping).values())
    assert all(len(n) <= MAX_LOCAL_PART for n in names)
    assert len(set(names)) == 2
    assert mapping.report.shortened == 2


def test_logon_names_are_cut_to_twenty_characters_numbered_and_explained() -> None:
    """AD's sAMAccountName: at most 20 characters, unique without case; a cut name that is
    taken is numbered within the 20, and a later short username that meets an earlier cut
    name gives way (accounts of an earlier wave are never renamed)."""
    mapping = map_identities(
        programme(
            {
                "noordwaard": [
                    person("Jan", "Vanderschuerenbergkamp", "a"),
                    person("Jan", "Vanderschuerenbergkampen", "b"),
                ],
                "zuidwaard": [person("Jan", "Vanderschuerenberg", "c")],
            }
        )
    )
    by_key = {i.key: i for i in mapping.identities}
    first, second, third = by_key["noordwaard/a"], by_key["noordwaard/b"], by_key["zuidwaard/c"]
    assert first.username == "j.vanderschuerenbergkamp"
    assert first.sam_account_name == "j.vanderschuerenberg"
    assert second.sam_account_name == "j.vanderschuerenber2"
    assert third.username == "j.vanderschuerenberg"  # 20 characters: fits as it is ...
    assert third.sam_account_name == "j.vanderschuerenber3"  # ... but an earlier wave has it
    [note] = [c for c in second.changes if c.kind is ChangeKind.LOGON_NAME]
    assert note.detail == (
        "logon name (sAMAccountName) j.vanderschuerenber2: cut to 20 characters, AD's limit; "
        "j.vanderschuerenberg is the logon name of noordwaard/a"
    )
    [note] = [c for c in third.changes if c.kind is ChangeKind.LOGON_NAME]
    assert "cut to" not in note.detail and "is the logon name of noordwaard/a" in note.detail
    assert mapping.report.logon_names_cut == 3
    short = map_identities(programme({"noordwaard": [person("Jan", "Bakker", "jb")]}))
    assert short.identities[0].sam_account_name == "j.bakker"
    assert not [c for c in short.identities[0].changes if c.kind is ChangeKind.LOGON_NAME]


def test_a_cut_logon_name_never_ends_on_a_dot() -> None:
    given = "Maximiliaanfrederik"  # 19 letters: the cut to 20 ends on the dot
    mapping = map_identities(
        programme(
            {"noordwaard": [person(given, "Bakker", "a"), person(given, "Bakkerzoon", "b")]},
            pattern=m.UsernamePattern.GIVEN_SURNAME,
        )
    )
    logons = [i.sam_account_name for i in mapping.identities]
    assert logons == ["maximiliaanfrederik", "maximiliaanfrederik2"]


def test_proxy_addresses_are_the_new_primary_and_every_old_address() -> None:
    mapping = map_identities(
        programme({"noordwaard": [person("Jan", "Bakker", "jb", mail="jan.bakker@noordwaard.nl")]})
    )
    identity = mapping.identities[0]
    assert identity.proxy_addresses == [
        f"SMTP:{identity.mail}",
        "smtp:jan.bakker@noordwaard.nl",
    ]
    assert identity.model_dump(mode="json")["proxy_addresses"] == identity.proxy_addresses


# --- collisions ----------------------------------------------------------------------


def test_collision_across_municipalities_first_wave_keeps_the_base_name() -> None:
    mapping = map_identities(
        programme(
            {
                "noordwaard": [person("Jan", "Vries", "jdevries", prefix="de")],
                "zuidwaard": [person("Jan", "Vries", "devriesj", prefix="de")],
            }
        )
    )
    assert usernames(mapping) == {
        "noordwaard/jdevries": "j.devries",
        "zuidwaard/devriesj": "jan.devries",
    }
    second = mapping.lookup("zuidwaard", "devriesj")
    assert second is not None
    assert second.base_username == "j.devries"
    assert second.resolved_by == "full given name"
    collision = next(c for c in second.changes if c.kind is ChangeKind.COLLISION)
    assert collision.detail == (
        "j.devries is taken by Jan de Vries (noordwaard/jdevries); "
        "resolved by full given name: jan.devries"
    )
    [group] = mapping.report.collision_groups
    assert group.base_username == "j.devries"
    assert group.holder == "noordwaard/jdevries"
    assert [c.username for c in group.claimants] == ["j.devries", "jan.devries"]
    assert mapping.report.collisions == 1
    assert mapping.report.renamed == 1


def test_collision_within_a_municipality_is_decided_by_old_account() -> None:
    mapping = map_identities(
        programme(
            {
                "noordwaard": [
                    person("Jan", "Bakker", "jbakker2"),
                    person("Jan", "Bakker", "jbakker"),
                ]
            }
        )
    )
    assert usernames(mapping) == {
        "noordwaard/jbakker": "j.bakker",
        "noordwaard/jbakker2": "jan.bakker",
    }


def test_candidates_run_initials_then_given_name_then_numbers() -> None:
    mapping = map_identities(
        programme(
            {
                "noordwaard": [
                    person("Jan", "Vries", "a", prefix="de"),
                    person("Jan Willem", "Vries", "b", prefix="de"),
                    person("Jan", "Vries", "c", prefix="de"),
                    person("Jan", "Vries", "d", prefix="de"),
                    person("Jan Willem", "Vries", "e", prefix="de"),
                ]
            }
        )
    )
    assert list(usernames(mapping).values()) == [
        "j.devries",
        "jw.devries",
        "jan.devries",
        "j.devries2",
        "janwillem.devries",
    ]
    last = mapping.identities[-1]
    assert last.resolved_by == "full given name"
    assert "jw.devries is taken by Jan Willem de Vries (noordwaard/b)" in last.changes[-1].detail


def test_an_old_address_in_the_new_domain_stays_with_its_owner() -> None:
    mapping = map_identities(
        programme(
            {
                "noordwaard": [person("Johan", "Vries", "jvries", prefix="de")],
                "zuidwaard": [
                    person("Joke", "Dekker", "jdekker", mail="j.devries@waardstad.nl"),
                    person("Jan", "Vries", "jdv", prefix="de", mail="j.devries2@waardstad.nl"),
                ],
            }
        )
    )
    assert usernames(mapping) == {
        "noordwaard/jvries": "johan.devries",
        "zuidwaard/jdekker": "j.dekker",
        "zuidwaard/jdv": "jan.devries",
    }
    johan = mapping.identities[0]
    assert "j.devries@waardstad.nl is still the address of Joke Dekker (zuidwaard/jdekker)" in (
        johan.changes[-1].detail
    )
    joke = mapping.lookup("zuidwaard", "jdekker")
    assert joke is not None and joke.aliases == ["j.devries@waardstad.nl"]
    assert not any(i.mail in a for i in mapping.identities for a in joke.aliases if i != joke)


def test_an_owner_takes_back_its_own_address_without_an_alias_of_itself() -> None:
    mapping = map_identities(
        programme(
            {
                "noordwaard": [
                    person("Jan", "Vries", "jdv", prefix="de", mail="j.devries@waardstad.nl")
                ]
            }
        )
    )
    identity = mapping.identities[0]
    assert identity.username == "j.devries"
    assert identity.aliases == []


def test_every_old_address_including_user_mailboxes_is_an_alias() -> None:
    boxes = [
        m.Mailbox(address="jan.devries@noordwaard.nl", owner="jdv"),
        m.Mailbox(address="info@noordwaard.nl", kind=m.MailboxKind.SHARED),
    ]
    mapping = map_identities(
        programme(
            {"noordwaard": [person("Jan", "Vries", "jdv", prefix="de", mail="jdv@noordwaard.nl")]},
            mailboxes={"noordwaard": boxes},
        )
    )
    assert mapping.identities[0].aliases == ["jdv@noordwaard.nl", "jan.devries@noordwaard.nl"]


# --- the mini fixture ----------------------------------------------------------------


def test_mini_programme_mapping_and_report() -> None:
    mapping = map_identities(load_programme(MINI))
    names = usernames(mapping)
    assert names["noordwaard/jdevries"] == "j.devries"
    assert names["zuidwaard/devriesj"] == "jan.devries"
    assert names["noordwaard/dvandenberg"] == "d.vandenberg"
    assert names["zuidwaard/bergd"] == "dirk.vandenberg"
    assert names["zuidwaard/hofd"] == "d.vanthof"
    assert names["zuidwaard/celikf"] == "f.celik"
    assert names["zuidwaard/mullerl"] == "l.muller"
    report = mapping.report
    assert report.accounts == 15
    assert report.per_municipality == {"noordwaard": 7, "zuidwaard": 8}
    assert report.enabled == 14
    assert report.collisions == 2
    assert report.renamed == 2
    assert report.tussenvoegsels_joined == 7
    assert [c.base_username for c in mapping.collisions_of("zuidwaard")] == [
        "d.vandenberg",
        "j.devries",
    ]
    assert len(mapping.for_municipality("noordwaard")) == 7


def test_people_from_a_directory_are_reported_or_mapped_when_given() -> None:
    prog = programme(
        {"noordwaard": [person("Jan", "Vries", "jdv", prefix="de")]}, sourced=["zuidwaard"]
    )
    assert map_identities(prog).report.from_directory == ["zuidwaard"]
    read = {"zuidwaard": [person("Jan", "Vries", "devriesj", prefix="de")]}
    mapping = map_identities(prog, extra_people=read)
    assert mapping.report.from_directory == []
    assert usernames(mapping)["zuidwaard/devriesj"] == "jan.devries"


# --- determinism and stability -------------------------------------------------------

GIVEN_NAMES = [
    "Jan", "Johan", "Jan Willem", "Anne-Marie", "Daniëlle", "Zoë", "Noëlle", "IJsbrand",
    "Mehmet", "Fatma", "Lukas", "Søren", "Çağla", "François", "Émile", "Ümit", "Jérôme", "Eva",
]  # fmt: skip
PREFIXES = ["", "", "", "de", "van", "van den", "van der", "van 't", "in 't", "ter", "op de"]
SURNAMES = [
    "Vries", "Jong", "Jansen", "Janssen", "Berg", "Dijk", "Bakker", "Visser", "Hof",
    "Özil", "Müller", "Çelik", "Strauß", "Jansen-Bakker", "El Amrani", "Sørensen", "O'Brien",
]  # fmt: skip

names_ = st.one_of(
    st.sampled_from(GIVEN_NAMES),
    st.text(st.characters(categories=["L"]), min_size=1, max_size=10),
)
surnames = st.one_of(
    st.sampled_from(SURNAMES),
    st.text(st.characters(categories=["L", "Zs", "Pd"]), min_size=1, max_size=14).filter(
        lambda s: s.strip() != ""
    ),
)


@st.composite
def people_lists(
    draw: st.DrawFn, min_size: int = 0, max_size: int = 12, tag: str = "p"
) -> list[m.Person]:
    size = draw(st.integers(min_size, max_size))
    return [
        person(
            draw(names_), draw(surnames), f"{tag}{i:03d}", prefix=draw(st.sampled_from(PREFIXES))
        )
        for i in range(size)
    ]


PROPERTY = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPERTY
@given(people_lists(tag="n"), people_lists(tag="z"), st.randoms(use_true_random=False))
def test_property_valid_unique_deterministic(
    north: list[m.Person], south: list[m.Person], rnd: random.Random
) -> None:
    mapping = map_identities(programme({"noordwaard": north, "zuidwaard": south}))
    names = [i.username for i in mapping.identities]
    assert all(USERNAME.match(n) and len(n) <= MAX_LOCAL_PART for n in names), names
    assert len(set(names)) == len(names)
    logons = [i.sam_account_name for i in mapping.identities]
    assert all(0 < len(n) <= 20 and not n.endswith(".") for n in logons), logons
    assert len({n.casefold() for n in logons}) == len(logons)
    assert mapping.report.accounts == len(north) + len(south)
    # The same people in another order within their files: the same mapping, byte for byte.
    shuffled_north, shuffled_south = list(north), list(south)
    rnd.shuffle(shuffled_north)
    rnd.shuffle(shuffled_south)
    again = map_identities(programme({"noordwaard": shuffled_north, "zuidwaard": shuffled_south}))
    assert again.model_dump_json() == mapping.model_dump_json()


@PROPERTY
@given(
    people_lists(tag="n"),
    people_lists(tag="z"),
    people_lists(min_size=1, max_size=4, tag="y"),
    st.booleans(),
)
def test_property_adding_people_to_a_later_wave_never_renames_an_earlier_wave(
    north: list[m.Person], south: list[m.Person], added: list[m.Person], to_third: bool
) -> None:
    before = map_identities(programme({"noordwaard": north, "zuidwaard": south}))
    later = {"noordwaard": north, "zuidwaard": [*south, *added]}
    if to_third:
        later = {"noordwaard": north, "zuidwaard": south, "westwaard": added}
    after = map_identities(programme(later))
    earlier = {k: v for k, v in usernames(before).items() if k.startswith("noordwaard/")}
    if to_third:
        earlier = usernames(before)  # both earlier waves keep every name
    assert {k: usernames(after)[k] for k in earlier} == earlier
    logons_before = {i.key: i.sam_account_name for i in before.identities if i.key in earlier}
    assert {i.key: i.sam_account_name for i in after.identities if i.key in earlier} == (
        logons_before
    )


@PROPERTY
@given(people_lists(min_size=1, tag="n"))
def test_property_every_old_mail_is_kept_as_alias_or_is_the_new_mail(north: list[m.Person]) -> None:
    mapping = map_identities(programme({"noordwaard": north}))
    for identity in mapping.identities:
        assert identity.old_mail in identity.aliases or identity.old_mail == identity.mail
        assert identity.upn.endswith("@ad.waardstad.nl")


def test_numbers_count_on_and_skip_addresses_still_in_use() -> None:
    jans = [person("Jan", "Vries", f"j{i}", prefix="de") for i in range(6)]
    owner = person("Joop", "Zee", "jzee", mail="j.devries3@waardstad.nl")
    mapping = map_identities(programme({"noordwaard": jans, "zuidwaard": [owner]}))
    assert [i.username for i in mapping.for_municipality("noordwaard")] == [
        "j.devries",
        "jan.devries",
        "j.devries2",
        "j.devries4",  # j.devries3@waardstad.nl still belongs to Joop Zee
        "j.devries5",
        "j.devries6",
    ]
    third = mapping.identities[2].changes[-1].detail
    assert third.endswith("(noordwaard/j1); resolved by number: j.devries2")
    fourth = mapping.identities[3]
    assert fourth.changes[-1].detail == (
        "j.devries is taken by Jan de Vries (noordwaard/j0); "
        "jan.devries is taken by Jan de Vries (noordwaard/j1); "
        "j.devries3@waardstad.nl is still the address of Joop Zee (zuidwaard/jzee); "
        "j.devries2 … j.devries3 (2 names) are in use; "
        "resolved by number: j.devries4"
    )


def test_accents_in_initials_are_reported_when_initials_are_used() -> None:
    mapping = map_identities(
        programme(
            {
                "noordwaard": [
                    person("Jan", "Vries", "a", prefix="de"),
                    person("Jan Émile", "Vries", "b", prefix="de"),
                ]
            }
        )
    )
    second = mapping.identities[1]
    assert second.username == "je.devries"
    assert any(c.kind is ChangeKind.ACCENTS and c.detail == "É→e folded" for c in second.changes)


def test_old_addresses_are_the_mail_then_every_own_user_mailbox_sorted() -> None:
    jan = person("Jan", "Vries", "jdv", prefix="de", mail="jdv@noordwaard.nl")
    piet = person("Piet", "Jansen", "pj", mail="pj@noordwaard.nl")
    boxes = [
        m.Mailbox(address="zz.devries@noordwaard.nl", owner="jdv"),
        m.Mailbox(address="jdv@noordwaard.nl", owner="jdv"),  # his mail: not twice
        m.Mailbox(address="jan.devries@noordwaard.nl", owner="jdv"),
        m.Mailbox(address="p.jansen@noordwaard.nl", owner="pj"),
        m.Mailbox(address="balie@noordwaard.nl", kind=m.MailboxKind.SHARED, owner="jdv"),
        m.Mailbox(address="raadzaal@noordwaard.nl", kind=m.MailboxKind.ROOM, owner="jdv"),
    ]
    # The same account in another municipality owns none of noordwaard's mailboxes.
    other = person("Jan", "Vries", "jdv", prefix="de", mail="jdv@zuidwaard.nl")
    mapping = map_identities(
        programme(
            {"noordwaard": [jan, piet], "zuidwaard": [other]}, mailboxes={"noordwaard": boxes}
        )
    )
    aliases = {i.key: i.aliases for i in mapping.identities}
    assert aliases == {
        "noordwaard/jdv": [
            "jdv@noordwaard.nl",
            "jan.devries@noordwaard.nl",
            "zz.devries@noordwaard.nl",
        ],
        "noordwaard/pj": ["pj@noordwaard.nl", "p.jansen@noordwaard.nl"],
        "zuidwaard/jdv": ["jdv@zuidwaard.nl"],
    }
    assert mapping.report.aliases == 6


def test_a_user_mailbox_in_the_new_domain_holds_its_name_back_for_its_owner() -> None:
    boxes = [m.Mailbox(address="j.devries@waardstad.nl", owner="zee")]
    mapping = map_identities(
        programme(
            {
                "noordwaard": [person("Jan", "Vries", "jdv", prefix="de")],
                "zuidwaard": [person("Joop", "Zee", "zee")],
            },
            mailboxes={"zuidwaard": boxes},
        )
    )
    assert usernames(mapping) == {"noordwaard/jdv": "jan.devries", "zuidwaard/zee": "j.zee"}
    assert mapping.identities[0].changes[-1].detail == (
        "j.devries@waardstad.nl is still the address of Joop Zee (zuidwaard/zee); "
        "resolved by full given name: jan.devries"
    )
    assert mapping.identities[1].aliases == ["zee@oud.nl", "j.devries@waardstad.nl"]


def test_a_number_held_back_stays_skipped_once_its_owner_has_another_name() -> None:
    # Its owner is served first and keeps the pattern's name: j.devries3 is never taken, and
    # every later Jan de Vries counts past it.
    owner = person("Jan", "Vries", "a00", prefix="de", mail="j.devries3@waardstad.nl")
    jans = [person("Jan", "Vries", f"a{i:02d}", prefix="de") for i in range(1, 9)]
    mapping = map_identities(programme({"noordwaard": [owner, *jans]}))
    assert [i.username for i in mapping.identities] == [
        "j.devries",
        "jan.devries",
        "j.devries2",
        "j.devries4",
        "j.devries5",
        "j.devries6",
        "j.devries7",
        "j.devries8",
        "j.devries9",
    ]
    assert mapping.identities[0].aliases == ["j.devries3@waardstad.nl"]
    assert mapping.identities[-1].changes[-1].detail == (
        "j.devries is taken by Jan de Vries (noordwaard/a00); "
        "jan.devries is taken by Jan de Vries (noordwaard/a01); "
        "j.devries3@waardstad.nl is still the address of Jan de Vries (noordwaard/a00); "
        "j.devries2 … j.devries8 (7 names) are in use; "
        "resolved by number: j.devries9"
    )


def _first_free_names(mapping: IdentityMapping, programme_: m.Programme) -> list[str]:
    """The rule as the module states it, tried candidate by candidate from the start: each
    person, in service order, takes the first candidate nobody served before has taken and
    that is not still someone else's address in the new domain."""
    from eendracht.identity.candidates import candidates, name_parts

    domain = programme_.settings.organisation.mail_domain
    reserved: dict[str, str] = {}
    for identity in mapping.identities:
        for address in [identity.old_mail, *identity.aliases]:
            local, _, at = address.partition("@")
            if at == domain:
                reserved.setdefault(local, identity.key)
    people = {
        f"{name}/{p.account}": p
        for name, mu in programme_.municipalities.items()
        for p in mu.people
    }
    taken: set[str] = set()
    out = []
    for identity in mapping.identities:  # in service order
        pattern = programme_.settings.organisation.username_pattern
        for name, _, _ in candidates(name_parts(people[identity.key]), pattern):
            if name not in taken and reserved.get(name, identity.key) == identity.key:
                taken.add(name)
                out.append(name)
                break
    return out


@PROPERTY
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["Jan", "Joop", "Jan Willem", "Jet"]),
            st.sampled_from(["", "de"]),
            st.sampled_from(["Vries", "Zee"]),
            st.one_of(st.none(), st.integers(0, 12)),  # an old address j.devriesN@waardstad.nl
        ),
        max_size=40,
    ),
    st.integers(1, 39),
)
def test_property_numbers_are_the_first_free_ones_tried_from_the_start(
    rows: list[tuple[str, str, str, int | None]], split: int
) -> None:
    people = [
        person(
            given,
            surname,
            f"p{i:02d}",
            prefix=prefix,
            mail=f"j.devries{n if n and n > 1 else ''}@waardstad.nl" if n is not None else "",
        )
        for i, (given, prefix, surname, n) in enumerate(rows)
    ]
    programme_ = programme({"noordwaard": people[:split], "zuidwaard": people[split:]})
    mapping = map_identities(programme_)
    assert [i.username for i in mapping.identities] == _first_free_names(mapping, programme_)
