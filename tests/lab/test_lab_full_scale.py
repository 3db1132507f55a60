"""`--scale full` on the mini programme: the programme's own numbers, where they fit."""

from __future__ import annotations

import json
import urllib.request

import pytest

from eendracht.lab import lab_down, lab_up
from eendracht.lab.procs import processes_referencing
from eendracht.lab.residents import FULL_RESIDENTS_MAX
from eendracht.programme import load_programme
from tests.lab.conftest import MINI, lab_state_dir

pytestmark = [pytest.mark.lab, pytest.mark.slow]


def test_full_scale_follows_the_programme() -> None:
    programme = load_programme(MINI)
    state = lab_state_dir()
    try:
        info = lab_up(MINI, scale="full", state=state)
        seeded = info.seeded
        for name, muni in programme.municipalities.items():
            assert seeded["people"][name] == muni.info.head_count
            assert seeded["residents"][name] == min(muni.info.inhabitants, FULL_RESIDENTS_MAX)
            for share in muni.shares:
                assert seeded["shares"]["files_per_share"][f"{name}/{share.name}"] == share.files
        assert all(counts["zaken"] >= 2000 for counts in seeded["databases"].values())
        app = json.loads((state / "lab" / "outputs.json").read_text())["lab"]["applications"]
        with urllib.request.urlopen(app["noordwaard"]["zaaksysteem"]["health"], timeout=10) as r:
            body = json.loads(r.read())
        assert body["rows"] == seeded["databases"]["noordwaard_openzaak"]
    finally:
        lab_down(state)
        assert processes_referencing(str(state)) == []
        state.rmdir()
