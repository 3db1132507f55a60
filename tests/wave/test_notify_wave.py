"""Notifications of real waves (ansible-runner over the trivial playbooks of the orchestration
tests): every event once and in order, the gate and the approver, a failed step with its
message, a rollback; a receiver that is down costs the run no more than the drain budget, and
the webhook URL's secret never reaches the journal, the artifacts or a log line."""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from notify_receiver import Behaviour, hanging, receiver
from wave_support import FAKE_PLAYBOOKS, MINI, write_secret

from eendracht.wave.orchestrator import Wave

CANARY = "canary-webhook-3c1f6a9e8d7b2045"
PHASES = ["preflight", "presync", "freeze", "final_sync", "cutover", "verify"]


def _channels(environment: Path, channels: dict[str, Any], **settings: Any) -> None:
    spec = yaml.safe_load((environment / "environment.yml").read_text())
    spec["notifications"] = {"channels": channels, **settings}
    (environment / "environment.yml").write_text(yaml.safe_dump(spec, sort_keys=False))


def _url_file(environment: Path, name: str, url: str) -> dict[str, str]:
    write_secret(environment / "secrets" / f"{name}.url", url + "\n")
    return {"file": f"secrets/{name}.url"}


def _wave(state: Path, environment: Path) -> Wave:
    return Wave(MINI, "noordwaard", environment=environment, state=state, playbooks=FAKE_PLAYBOOKS)


def _seen(requests: list[Any]) -> list[tuple[str, str, str]]:
    return [(b["kind"], b["phase"], b["status"]) for b in (r.json() for r in requests)]


def _no_canary(wave: Wave, caplog: pytest.LogCaptureFixture) -> None:
    for path in wave.dir.rglob("*"):
        if path.is_file():
            assert CANARY.encode() not in path.read_bytes(), path
    assert CANARY not in caplog.text


def test_a_wave_to_the_gate_and_its_approval_arrive_once_in_order(
    state: Path, environment: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="eendracht.notify")
    with receiver(Behaviour(fail_first=1)) as (base, seen):
        _channels(
            environment,
            {
                "siem": {"kind": "json", "url": _url_file(environment, "siem", f"{base}/{CANARY}")},
                "cab": {
                    "kind": "teams",
                    "url": _url_file(environment, "cab", f"{base}/cab/{CANARY}?sig={CANARY}"),
                    "events": ["gate_waiting", "approved"],
                },
            },
        )
        wave = _wave(state, environment)
        outcome = wave.run()
        assert outcome.status == "at_gate", outcome.message
        assert wave.approve("CIO").status == "complete"
        wave.close()
    siem = [r for r in seen.requests if not r.path.startswith("/cab/")]
    cab = [r for r in seen.requests if r.path.startswith("/cab/")]
    expected = [(k, p, "ok") for p in PHASES for k in ("phase_started", "phase_finished")]
    assert _seen(siem) == [*expected, ("gate_waiting", "", "waiting"), ("approved", "", "ok")]
    bodies = [r.json() for r in siem]
    assert [b["sequence"] for b in bodies] == list(range(1, 15))  # none twice, none missing
    assert len({b["id"] for b in bodies}) == 14
    assert {b["run_kind"] for b in bodies[:-1]} == {"wave"} and bodies[-1]["run_kind"] == "approve"
    assert {b["run_id"] for b in bodies} == {outcome.run_id}
    approved = bodies[-1]
    assert approved["actor"] == "CIO" and "@" in approved["origin"]
    assert "eendracht wave approve" in bodies[-2]["message"]
    # The CAB's Teams channel got only what it asked for, as Adaptive Cards.
    assert [r.json()["attachments"][0]["content"]["body"][0]["text"] for r in cab] == [
        "waiting at the go/no-go gate",
        "go/no-go approved by CIO",
    ]
    assert len(seen.attempts) == len(seen.requests) + 1  # the first was refused and retried
    assert wave.notifier.tally.dropped == 0 and wave.notifier.tally.failed == 0
    _no_canary(wave, caplog)


def test_a_failed_step_and_a_rollback_with_a_channel_that_hangs(
    state: Path, environment: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="eendracht.notify")
    drain = 1.0
    with receiver() as (base, seen), hanging() as hung:
        _channels(
            environment,
            {
                "ops": {"kind": "json", "url": _url_file(environment, "ops", f"{base}/{CANARY}")},
                "down": {
                    "kind": "slack",
                    "url": _url_file(environment, "down", f"{hung}/{CANARY}"),
                },
            },
            drain_seconds=drain,
            timeout_seconds=0.5,
        )
        wave = _wave(state, environment)
        wave.dir.mkdir(parents=True)
        (wave.dir / "fail-presync.dns").touch()
        started = time.monotonic()
        outcome = wave.run(until="presync")
        run_seconds = time.monotonic() - started
        assert outcome.status == "failed"
        run_cost = wave.notifier.cost
        outcome = wave.rollback()
        assert outcome.status == "rolled_back", outcome.message
        rollback_cost = wave.notifier.cost - run_cost
        wave.close()
    print(
        f"\nwave run {run_seconds:.1f} s; the notifier's cost to it {run_cost:.2f} s and to the "
        f"rollback {rollback_cost:.2f} s (drain budget {drain:g} s, one channel hanging)"
    )
    assert run_cost <= drain + 0.3 and rollback_cost <= drain + 0.3
    events = _seen(seen.requests)
    assert events[:5] == [
        ("phase_started", "preflight", "ok"),
        ("phase_finished", "preflight", "ok"),
        ("phase_started", "presync", "ok"),
        ("step_failed", "presync", "failed"),
        ("phase_finished", "presync", "failed"),
    ]
    assert events[5:] == [
        ("phase_started", "rollback", "ok"),
        ("phase_finished", "rollback", "ok"),
        ("rolled_back", "", "ok"),
    ]
    failed = seen.requests[3].json()
    assert failed["step"] == "presync.dns" and failed["message"]  # the failing task's message
    assert [r.json()["sequence"] for r in seen.requests] == list(range(1, 9))
    assert "down (http://127.0.0.1:" in caplog.text  # the dead channel is logged, by host only
    _no_canary(wave, caplog)
