"""Notifications: each channel's payload, delivery in order and exactly once through retries,
a receiver that is down costs the wave no more than its budget, no secret in a message or a
log line, and every bad configuration refused in one line naming the file and the key."""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from eendracht.environment import load_environment
from eendracht.notify import generic, mattermost, slack, teams
from eendracht.notify.events import EVENT_KINDS, Event
from eendracht.notify.notifier import Channel, Notifier
from eendracht.notify.sender import Budget, url_label
from eendracht.notify.urls import secret_forms, url_problem
from eendracht.problems import ProblemsFound
from eendracht.programme.loader import load_programme
from tests.wave.notify_receiver import Behaviour, closed_port, hanging, receiver, wait_for
from tests.wave.wave_support import MINI, fake_environment, write_secret

PROGRAMME = load_programme(MINI)
CANARY_PATH = "canary-path-7f3e9a1c2b4d5e6f"
CANARY_QUERY = "canary-sig-0a9b8c7d6e5f4a3b2c1d"
CANARY_STEP = "canary-step-secret-5d4c3b2a"
FAST = Budget(timeout=1.0, attempts=4, event_seconds=5.0, backoff=0.05, drain_seconds=5.0)


def _event(**kw: Any) -> Event:
    base: dict[str, Any] = {
        "programme": "altena",
        "municipality": "woudrichem",
        "environment": "altena-prod",
        "run_id": 3,
        "run_kind": "wave",
    }
    return Event(**{"kind": "step_failed", "status": "failed", **base, **kw})


def _notifier(
    url: str, kind: str = "json", budget: Budget = FAST, secrets: tuple[str, ...] = ()
) -> Notifier:
    channel = Channel("ops", kind, url, frozenset(EVENT_KINDS))
    return Notifier(
        [channel],
        programme="altena",
        municipality="woudrichem",
        environment="altena-prod",
        budget=budget,
        secrets=secrets,
    )


def _sequence(n: Notifier, count: int) -> None:
    phases = ["preflight", "presync", "freeze", "final_sync", "cutover", "verify"]
    for i in range(count):
        phase = phases[i % len(phases)]
        n.emit(
            "phase_started" if i % 2 == 0 else "phase_finished",
            run_id=1,
            run_kind="wave",
            phase=phase,
        )


# --- the payloads -------------------------------------------------------------------------


def test_the_teams_payload_is_an_adaptive_card_message_a_workflow_takes() -> None:
    body = teams.payload(_event(phase="presync", step="presync.dns", message="TSIG refused"))
    assert body["type"] == "message"
    [attachment] = body["attachments"]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    card = attachment["content"]
    assert card["$schema"] == "http://adaptivecards.io/schemas/adaptive-card.json"
    assert card["type"] == "AdaptiveCard" and card["version"] == "1.4"
    assert card["body"] and all("type" in element for element in card["body"])
    kinds = {element["type"] for element in card["body"]}
    assert kinds <= {"TextBlock", "FactSet"}  # elements of card version 1.0, rendered everywhere
    for element in card["body"]:
        if element["type"] == "TextBlock":
            assert isinstance(element["text"], str) and element["text"]
            assert element.get("color", "Default") in {"Default", "Good", "Attention", "Warning"}
        else:
            assert all(set(f) == {"title", "value"} for f in element["facts"])
    assert card["body"][0]["text"] == "step presync.dns failed"
    assert card["body"][0]["color"] == "Attention"
    facts = {f["title"]: f["value"] for f in card["body"][2]["facts"]}
    assert facts["Municipality"] == "woudrichem" and facts["Step"] == "presync.dns"
    assert card["body"][-1]["text"] == "TSIG refused"
    json.dumps(body)  # serialisable as it is


def test_the_slack_payload_has_text_and_blocks_within_slacks_limits() -> None:
    body = slack.payload(_event(step="presync.dns", message="<b>&</b>"))
    assert body["text"].startswith("step presync.dns failed: altena/woudrichem")
    header, context, section, message = body["blocks"]
    assert header == {
        "type": "header",
        "text": {"type": "plain_text", "text": "step presync.dns failed"},
    }
    assert context["type"] == "context" and section["type"] == "section"
    assert 1 <= len(section["fields"]) <= 10
    assert all(f["type"] == "mrkdwn" for f in section["fields"])
    assert message["text"] == {"type": "plain_text", "text": "<b>&</b>"}  # shown, not parsed
    escaped = slack.payload(_event(step="x<y>&z"))
    assert "step x&lt;y&gt;&amp;z failed" in escaped["text"]  # mrkdwn's control characters


def test_the_mattermost_payload_is_text_and_one_attachment() -> None:
    body = mattermost.payload(_event(kind="approved", status="ok", actor="CIO", origin="ops@wdr"))
    assert body["text"].startswith("**go/no-go approved by CIO**")
    [attachment] = body["attachments"]
    assert attachment["fallback"] and attachment["color"].startswith("#")
    fields = {f["title"]: f["value"] for f in attachment["fields"]}
    assert fields["Approved by"] == "CIO" and fields["Recorded from"] == "ops@wdr"
    assert all(f["short"] is True for f in attachment["fields"])


def test_the_generic_payload_is_the_event() -> None:
    event = _event(phase="cutover")
    body = generic.payload(event)
    assert body["schema"] == "eendracht.notification/1"
    assert {k: body[k] for k in ("kind", "phase", "id", "sequence", "run_id")} == {
        "kind": "step_failed",
        "phase": "cutover",
        "id": event.id,
        "sequence": 0,
        "run_id": 3,
    }
    assert body["title"] == event.title


# --- delivery ------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["json", "teams", "slack", "mattermost"])
def test_every_event_arrives_once_in_order_through_retries(kind: str) -> None:
    with receiver(Behaviour(fail_first=2)) as (base, seen):
        n = _notifier(f"{base}/hook", kind)
        _sequence(n, 20)
        tally = n.close()
        assert len(seen.requests) == 20 and len(seen.attempts) == 22  # two failed, retried
    assert (tally.delivered, tally.failed, tally.dropped) == (20, 0, 0)
    bodies = [r.json() for r in seen.requests]
    if kind == "json":
        assert [b["sequence"] for b in bodies] == list(range(1, 21))
        assert len({b["id"] for b in bodies}) == 20
    else:  # the order shows in the phases as they were emitted
        text = [json.dumps(b) for b in bodies]
        assert ["preflight" in t for t in text[::6]] == [True] * 4
    assert all(r.headers["Content-Type"].startswith("application/json") for r in seen.requests)


def test_a_channel_that_refuses_for_good_is_not_retried() -> None:
    with receiver(Behaviour(status=404)) as (base, seen):
        n = _notifier(f"{base}/gone")
        _sequence(n, 3)
        tally = n.close()
    assert len(seen.attempts) == 3 and tally.failed == 3


@pytest.mark.parametrize("down", ["closed port", "hanging"])
def test_a_receiver_that_is_down_costs_the_producer_at_most_the_budget(
    down: str, capsys: pytest.CaptureFixture[str]
) -> None:
    budget = Budget(timeout=0.5, attempts=5, event_seconds=3.0, backoff=0.1, drain_seconds=1.0)
    with hanging() as hung:
        url = closed_port() if down == "closed port" else hung
        n = _notifier(f"{url}/hook", budget=budget)
        started = time.monotonic()
        _sequence(n, 50)
        emitted = time.monotonic() - started
        tally = n.close()
        total = time.monotonic() - started
    with capsys.disabled():
        print(
            f"\n{down}: 50 events queued in {emitted * 1000:.1f} ms, close after "
            f"{total:.2f} s (drain budget {budget.drain_seconds:g} s, producer cost "
            f"{n.cost:.2f} s): {tally.delivered} delivered, {tally.failed} given up, "
            f"{tally.dropped} dropped"
        )
    assert emitted < 0.25  # the wave's thread only enqueues
    assert n.cost <= budget.drain_seconds + 0.3
    assert total <= budget.drain_seconds + 0.5
    assert tally.delivered == 0 and tally.failed + tally.dropped == 50
    assert any("dropped" in line for line in tally.lines)


def test_a_full_queue_drops_rather_than_blocks() -> None:
    with hanging() as hung:
        budget = Budget(timeout=0.2, attempts=1, drain_seconds=0.2, queue_size=5)
        n = _notifier(f"{hung}/hook", budget=budget)
        started = time.monotonic()
        _sequence(n, 200)
        assert time.monotonic() - started < 0.25
        tally = n.close()
    assert tally.dropped >= 190


def test_no_secret_in_a_message_a_body_or_a_log_line(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="eendracht.notify")
    url_path = f"/hooks/{CANARY_PATH}?api-version=1&sig={CANARY_QUERY}"
    with receiver(Behaviour(fail_first=1)) as (base, seen):
        n = _notifier(f"{base}{url_path}", secrets=(CANARY_STEP,))
        n.emit(
            "step_failed",
            run_id=2,
            run_kind="wave",
            status="failed",
            step="presync.dns",
            message=f"nsupdate: key {CANARY_STEP} refused; posted to {base}{url_path}",
        )
        # and a channel that is down, whose failure is logged
        down = _notifier(f"{closed_port()}{url_path}", budget=Budget(attempts=2, backoff=0.01))
        down.emit("phase_started", run_id=2, run_kind="wave", phase="cutover")
        down.close()
        n.close()
    [got] = seen.requests
    assert got.path == url_path  # it was posted where it was meant to go ...
    body = got.body.decode()
    for canary in (CANARY_PATH, CANARY_QUERY, CANARY_STEP):
        assert canary not in body  # ... and says nothing of it, nor of the step's secret
        assert canary not in caplog.text
        assert all(canary not in line for line in n.tally.lines + down.tally.lines)
    assert "********" in got.json()["message"]
    assert "http://127.0.0.1:" in caplog.text  # the log names the host, nothing more
    assert "failed after 2 attempts" in caplog.text


def test_the_forms_of_a_webhook_url_that_are_redacted() -> None:
    url = f"https://prod-1.westeurope.logic.azure.com:443/workflows/{CANARY_PATH}/triggers/manual/paths/invoke?api-version=2016-06-01&sig={CANARY_QUERY}"
    forms = secret_forms(url)
    assert {url, CANARY_PATH, CANARY_QUERY} <= forms
    assert "2016-06-01" not in forms and "workflows" not in forms  # names, not credentials
    assert url_label(url) == "https://prod-1.westeurope.logic.azure.com:443"


@pytest.mark.parametrize(
    ("url", "ok"),
    [
        ("https://hooks.slack.com/services/T0/B0/xyz", True),
        ("http://127.0.0.1:8080/hook", True),
        ("http://[::1]:8080/hook", True),
        ("http://hooks.example.nl/hook", False),
        ("ftp://example.nl/x", False),
        ("https://user:pw@example.nl/x", False),
        ("https://exa mple.nl/x", False),
        ("not a url", False),
        ("", False),
    ],
)
def test_what_a_webhook_url_may_be(url: str, ok: bool) -> None:
    assert (url_problem(url) == "") is ok


# --- configuration -------------------------------------------------------------------------


def _with_channels(root: Path, channels: dict[str, Any], **settings: Any) -> None:
    path = root / "environment.yml"
    spec = yaml.safe_load(path.read_text())
    spec["notifications"] = {"channels": channels, **settings}
    path.write_text(yaml.safe_dump(spec))


def _problem_lines(root: Path) -> list[str]:
    with pytest.raises(ProblemsFound) as exc:
        load_environment(root, PROGRAMME, "noordwaard")
    return [str(p) for p in exc.value.problems]


def test_channels_load_with_their_urls_kept_secret(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = fake_environment(tmp_path / "env")
    write_secret(root / "secrets" / "teams.url", f"https://prod.logic.azure.com/{CANARY_PATH}\n")
    monkeypatch.setenv("EENDRACHT_TEST_HOOK", f"http://127.0.0.1:9/{CANARY_QUERY}")
    _with_channels(
        root,
        {
            "cab": {
                "kind": "teams",
                "url": {"file": "secrets/teams.url"},
                "events": ["gate_waiting", "approved"],
            },
            "siem": {"kind": "json", "url": {"env": "EENDRACHT_TEST_HOOK"}},
        },
        drain_seconds=2,
    )
    env = load_environment(root, PROGRAMME, "noordwaard")
    assert env.webhooks == {
        "cab": f"https://prod.logic.azure.com/{CANARY_PATH}",
        "siem": f"http://127.0.0.1:9/{CANARY_QUERY}",
    }
    assert CANARY_PATH not in repr(env) and CANARY_QUERY not in repr(env)
    n = Notifier.from_environment(env, "mini", "noordwaard")
    assert n.budget.drain_seconds == 2
    assert {c.name: sorted(c.events) for c in n.channels}["cab"] == ["approved", "gate_waiting"]
    assert CANARY_PATH not in repr(n.channels)
    assert CANARY_PATH in n.secrets and CANARY_QUERY in n.secrets


def test_no_notifications_means_no_thread(tmp_path: Path) -> None:
    env = load_environment(fake_environment(tmp_path / "env"), PROGRAMME, "noordwaard")
    n = Notifier.from_environment(env, "mini", "noordwaard")
    n.emit("phase_started", run_id=1, run_kind="wave", phase="preflight")
    assert n.channels == [] and n._senders == {} and n.close().delivered == 0


def _bad_file(root: Path, mode: int, text: str = "https://example.nl/hook\n") -> dict[str, Any]:
    path = write_secret(root / "secrets" / "hook.url", text)
    path.chmod(mode)
    return {"ops": {"kind": "slack", "url": {"file": "secrets/hook.url"}}}


BAD: list[tuple[str, Any, str]] = [
    (
        "unknown kind",
        lambda r: {"ops": {"kind": "discord", "url": {"env": "X"}}},
        "notifications.channels.ops.kind",
    ),
    (
        "two places",
        lambda r: {"ops": {"kind": "slack", "url": {"env": "X", "file": "f"}}},
        "notifications.channels.ops.url",
    ),
    ("no place", lambda r: {"ops": {"kind": "slack", "url": {}}}, "notifications.channels.ops.url"),
    (
        "bad variable name",
        lambda r: {"ops": {"kind": "slack", "url": {"env": "A-B"}}},
        "notifications.channels.ops.url.env",
    ),
    (
        "unknown event",
        lambda r: {"ops": {"kind": "json", "url": {"env": "X"}, "events": ["lunch"]}},
        "notifications.channels.ops.events[0]",
    ),
    (
        "event twice",
        lambda r: {
            "ops": {"kind": "json", "url": {"env": "X"}, "events": ["approved", "approved"]}
        },
        "notifications.channels.ops.events",
    ),
    (
        "unknown key",
        lambda r: {"ops": {"kind": "json", "url": {"env": "X"}, "colour": "red"}},
        "notifications.channels.ops.colour",
    ),
    (
        "variable unset",
        lambda r: {"ops": {"kind": "json", "url": {"env": "EENDRACHT_TEST_UNSET_HOOK"}}},
        "notifications.channels.ops.url.env",
    ),
    (
        "file missing",
        lambda r: {"ops": {"kind": "json", "url": {"file": "secrets/nope.url"}}},
        "notifications.channels.ops.url.file",
    ),
    (
        "file readable by others",
        lambda r: _bad_file(r, 0o644),
        "notifications.channels.ops.url.file",
    ),
    ("file empty", lambda r: _bad_file(r, 0o600, "\n"), "notifications.channels.ops.url.file"),
    (
        "plain http to the network",
        lambda r: _bad_file(r, 0o600, f"http://hooks.example.nl/{CANARY_PATH}"),
        "notifications.channels.ops.url.file",
    ),
    (
        "not a URL",
        lambda r: _bad_file(r, 0o600, f"hooks {CANARY_PATH}"),
        "notifications.channels.ops.url.file",
    ),
    (
        "vault key without a vault",
        lambda r: {"ops": {"kind": "json", "url": {"vault": "hook"}}},
        "vault_password_file",
    ),
]


@pytest.mark.parametrize("case", BAD, ids=[c[0] for c in BAD])
def test_a_bad_notification_setting_is_one_line_naming_the_file_and_key(
    tmp_path: Path, case: tuple[str, Any, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _, channels, field = case
    monkeypatch.delenv("EENDRACHT_TEST_UNSET_HOOK", raising=False)
    root = fake_environment(tmp_path / "env")
    _with_channels(root, channels(root))
    [line] = _problem_lines(root)
    file, key, message = line.split(": ", 2)
    assert (Path(file).name, key) == ("environment.yml", field) and message, line
    assert "\n" not in line and CANARY_PATH not in line


@pytest.mark.parametrize(
    ("setting", "value"),
    [("drain_seconds", -1), ("drain_seconds", 3600), ("attempts", 0), ("timeout_seconds", 0)],
)
def test_a_bad_budget_is_refused(tmp_path: Path, setting: str, value: float) -> None:
    root = fake_environment(tmp_path / "env")
    _with_channels(root, {}, **{setting: value})
    [line] = _problem_lines(root)
    assert f"environment.yml: notifications.{setting}: " in line


def test_emit_never_raises_into_the_wave(monkeypatch: pytest.MonkeyPatch) -> None:
    n = _notifier("http://127.0.0.1:9/hook")

    def broken(event: Event) -> dict[str, Any]:
        raise RuntimeError("formatter broke")

    monkeypatch.setitem(
        __import__("eendracht.notify.formats", fromlist=["FORMATTERS"]).FORMATTERS, "json", broken
    )
    n.emit("phase_started", run_id=1, run_kind="wave", phase="preflight")  # logged, not raised
    n.close()


def test_the_receiver_helper_waits() -> None:
    assert wait_for(lambda: True, 0.1)


def test_a_dead_channel_does_not_hold_back_a_live_one() -> None:
    budget = Budget(timeout=0.5, attempts=3, event_seconds=2.0, backoff=0.1, drain_seconds=1.5)
    with hanging() as hung, receiver() as (base, seen):
        channels = [
            Channel("dead", "teams", f"{hung}/hook", frozenset(EVENT_KINDS)),
            Channel("live", "json", f"{base}/hook", frozenset(EVENT_KINDS)),
        ]
        n = Notifier(channels, programme="p", municipality="m", environment="e", budget=budget)
        _sequence(n, 12)
        assert wait_for(lambda: len(seen.requests) == 12, 5.0)
        started = time.monotonic()
        tally = n.close()
        assert time.monotonic() - started <= budget.drain_seconds + 0.3
    assert [r.json()["sequence"] for r in seen.requests] == list(range(1, 13))
    assert tally.delivered == 12 and tally.failed + tally.dropped == 12


def test_the_command_says_when_notifications_did_not_arrive(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from types import SimpleNamespace

    from eendracht.commands.wave import _say_notifications
    from eendracht.notify.sender import Tally

    quiet = SimpleNamespace(notifier=SimpleNamespace(tally=Tally(delivered=14)))
    _say_notifications(quiet)  # type: ignore[arg-type]
    assert capsys.readouterr().err == ""
    lossy = SimpleNamespace(
        notifier=SimpleNamespace(tally=Tally(delivered=12, failed=1, dropped=2))
    )
    _say_notifications(lossy)  # type: ignore[arg-type]
    assert capsys.readouterr().err.strip() == (
        "notifications: 12 delivered, 1 failed, 2 not sent (the wave itself is not affected)"
    )
