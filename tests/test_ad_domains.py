"""Which directories are Active Directory, and the names of their domains."""

from __future__ import annotations

from pathlib import Path

from eendracht.programme import load_programme
from eendracht.programme import models as m

REPO = Path(__file__).resolve().parents[1]


def test_a_windows_directory_server_or_people_read_from_ad_make_an_ad_domain() -> None:
    altena = load_programme(REPO / "inventory" / "altena")
    assert {n: mu.ad_domain for n, mu in altena.municipalities.items()} == {
        "woudrichem": "woudrichem.local",
        "aalburg": "aalburg.local",
        "werkendam": "werkendam.local",
    }
    assert altena.settings.organisation.ad_domain == "ad.gemeentealtena.nl"
    mini = load_programme(REPO / "tests" / "fixtures" / "programmes" / "mini")
    assert all(mu.ad_domain is None for mu in mini.municipalities.values())  # Linux LDAP

    noordwaard = mini.municipality("noordwaard")
    from_ad = noordwaard.model_copy(
        update={
            "people_source": m.PeopleSource(
                kind="active_directory", uri="ldaps://x", base_dn="dc=x"
            )
        }
    )
    assert from_ad.ad_domain == "noordwaard.local"
    named = noordwaard.model_copy(
        update={"info": noordwaard.info.model_copy(update={"ad_domain": "ad.noordwaard.nl"})}
    )
    assert named.ad_domain == "ad.noordwaard.nl"


def test_netbios_names_are_the_owners_label_in_capitals_at_most_fifteen() -> None:
    assert m.netbios_name("woudrichem.local") == "WOUDRICHEM"
    assert m.netbios_name("sint-michielsgestel.local") == "SINT-MICHIELSGE"
    assert m.netbios_name("ad.gemeentealtena.nl") == "GEMEENTEALTENA"
    assert m.netbios_name("ad.ple1n.nl") == "PLE1N"
