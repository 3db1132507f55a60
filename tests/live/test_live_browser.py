"""The live page in a real browser (Debian's chromium through Playwright) while a real wave
runs (ansible-playbook on the trivial local playbooks of tests/wave): a failed step shows its
message, then the resumed wave is seen to move from phase to phase without a reload and to
stop at the gate. A screenshot is kept as the test's artifact."""

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path

import pytest

from eendracht.wave.orchestrator import Wave, WaveOutcome
from eendracht.wave.steps import WAVE_PHASES
from tests.live.live_support import (
    MINI,
    MUNICIPALITY,
    chromium_page,
    look,
    mark_loaded,
    not_reloaded,
    phases_moving,
    serving,
)

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "wave"))
from wave_support import FAKE_PLAYBOOKS, fake_environment

PAGE = f"/wave/w/rehearsal/{MUNICIPALITY}"


def _in_thread(work: callable) -> tuple[threading.Thread, list[WaveOutcome]]:  # type: ignore[valid-type]
    out: list[WaveOutcome] = []
    thread = threading.Thread(target=lambda: out.append(work()), daemon=True)
    thread.start()
    return thread, out


@pytest.mark.slow
def test_the_page_follows_a_real_wave_to_the_gate(tmp_path: Path) -> None:
    state = tmp_path / "state"
    state.mkdir()
    wave = Wave(
        MINI, MUNICIPALITY, environment=fake_environment(tmp_path / "environment"),
        state=state, playbooks=FAKE_PLAYBOOKS,
    )  # fmt: skip
    wave.dir.mkdir(parents=True)
    (wave.dir / "fail-presync.dns").touch()  # the first run fails there
    problems: list[str] = []
    seen: list[str] = []
    with serving(state, poll=0.1, rescan=0.2) as (base, served), chromium_page(problems) as page:
        thread, outcome = _in_thread(wave.run)
        deadline = time.monotonic() + 20
        while "w/rehearsal/noordwaard" not in served.hub.feeds:
            assert time.monotonic() < deadline, "the wave's journal never appeared"
            time.sleep(0.05)
        page.goto(base + PAGE, wait_until="load")
        mark_loaded(page)
        failures = page.locator("#failures .s-failed")
        failures.first.wait_for(timeout=30_000)
        thread.join(30)
        assert outcome and outcome[0].status == "failed", outcome
        text = page.locator("#failures").inner_text()
        assert "presync.dns" in text and "non-zero return code" in text, text
        # the failed result is journaled before the run ends: the run's status follows
        page.wait_for_function(
            "() => document.querySelector('#run-status').textContent.includes('mislukt')",
            timeout=10_000,
        )

        (wave.dir / "fail-presync.dns").unlink()
        thread, outcome = _in_thread(lambda: wave.run(resume=True))
        deadline = time.monotonic() + 60
        while "‖" not in page.locator("#eta").inner_text():
            assert time.monotonic() < deadline, "the page never showed the gate"
            look(page, seen)
            time.sleep(0.05)
        look(page, seen)
        thread.join(30)
        assert outcome and outcome[0].status == "at_gate", outcome
        assert not_reloaded(page), "the page was reloaded"
        status = page.locator("#run-status").inner_text()
        assert "wacht bij go/no-go / waiting at the gate" in status
        assert page.locator("#decision").inner_text().startswith("nog geen go/no-go")
        # The "live" clock (the browser's) is in the zone of the page's own times (the
        # server's): the hour of the last update agrees with it, whatever zone chromium has.
        live_hour = page.locator("#live-status").inner_text().split()[-1][:2]
        updated_hour = page.locator("p.updated").inner_text().split()[-2][:2]
        assert live_hour == updated_hour or time.localtime().tm_min == 0
        shot = tmp_path / "live-page.png"
        page.screenshot(path=str(shot), full_page=True)
    print(f"\nscreenshot of the live page at the gate: {shot}")
    assert shot.stat().st_size > 10_000
    assert not problems, problems
    # Seen moving: each phase of the resumed run seen running, in the runbook's order.
    running = phases_moving(seen)
    order = [p for p in WAVE_PHASES if p in running]
    assert running == order and len(running) >= 3, seen
    assert seen[-1] == " ".join(f"{p}=ok" for p in WAVE_PHASES), seen[-1]
