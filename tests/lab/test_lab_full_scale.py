"""`--scale full` on the mini programme: the programme's own numbers, where they fit."""

from __future__ import annotations

import json
import shutil
import urllib.request
from pathlib import Path

import pytest

from eendracht.lab import lab_down, lab_up
from eendracht.lab.procs import processes_referencing
from eendracht.lab.residents import FULL_RESIDENTS_MAX
from eendracht.programme import load_programme
from tests.lab.conftest import lab_state_dir
from tests.programmes import copy_programme, edit_yaml

pytestmark = [pytest.mark.lab, pytest.mark.slow]


def test_full_scale_follows_the_programme(tmp_path: Path) -> None:
    # The mini programme with small shares: full scale writes the programme's bytes too.
    mini = copy_programme("mini", tmp_path / "mini")
    for muni in ("noordwaard", "zuidwaard"):
        edit_yaml(
            mini / "group_vars" / muni / "shares.yml",
            lambda d: [share.update(size_gb=0.01) for share in d["shares"]],
        )
    programme = load_programme(mini)
    state = lab_state_dir()
    try:
        info = lab_up(mini, scale="full", state=state)
        seeded = info.seeded
        for name, muni in programme.municipalities.items():
            assert seeded["people"][name] == muni.info.head_count
            assert seeded["residents"][name] == min(muni.info.inhabitants, FULL_RESIDENTS_MAX)
            for share in muni.shares:
                assert seeded["shares"]["files_per_share"][f"{name}/{share.name}"] == share.files
        assert all(counts["zaken"] >= 2000 for counts in seeded["databases"].values())
        app = json.loads((state / "lab" / "lab.json").read_text())["applications"]
        with urllib.request.urlopen(app["noordwaard"]["zaaksysteem"]["health"], timeout=10) as r:
            body = json.loads(r.read())
        assert body["rows"] == seeded["databases"]["noordwaard_openzaak"]
    finally:
        lab_down(state)
        assert processes_referencing(str(state)) == []
        assert {p.name for p in state.iterdir()} <= {"cache"}  # the provisioned AD domains
        shutil.rmtree(state)
