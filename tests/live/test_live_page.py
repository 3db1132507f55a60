"""The live page over journals written by the real Journal class: what it shows, that a
change reaches an observer within a second, one poller whatever the number of observers,
the weekend token, nothing secret on any page or event, the journal never written, and
`wave serve` refusing bad input in one line."""

from __future__ import annotations

import hashlib
import json
import os
import time
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from eendracht.cli import app
from eendracht.wave.journal import Journal
from eendracht.wave.secrets import CENSORED
from tests.live.live_support import MINI, MUNICIPALITY, events, mini, serving, wave_journal
from tests.report.journal_fixture import APPROVER, build_journal

SECRET = "Kanarie-live-5e1d0b"
CHAIN_FAILURE = "health failed: []; chain tests failed: ['http://127.0.0.1:9000/chain/BRP']"
CHAIN_FAILURE_HTML = CHAIN_FAILURE.replace("'", "&#39;")
PAGE = f"/wave/w/prod/{MUNICIPALITY}"


def failing_verify(path: Path, secret: str = "") -> Path:
    """A wave whose applications verify fails one chain test (zaaksysteem -> BRP); `secret`
    a value the environment knows, put in the failure's message (the journal redacts it)."""
    journal = Journal(path)
    journal.add_secrets((secret,) if secret else ())
    run = journal.start_run("wave", os.getpid(), lab=False)
    journal.start_phase(run, "verify")
    journal.start_step(run, "verify", "verify.applications", "Health and chain tests")
    for task, status, counts, message in (
        ("Chain test of every koppeling", "ok", {"checks_passed": 2, "checks_failed": 1}, ""),
        ("Failed health checks and chain tests stay within the go/no-go thresholds", "failed",
         {}, f"{CHAIN_FAILURE} {secret}".strip()),
    ):  # fmt: skip
        journal.record_task(run, "verify", "verify.applications", task, task, "x")
        journal.record_host_result(
            run, "verify", "verify.applications", task_uuid=task, task=task, host="localhost",
            status=status, started_at=time.time(), finished_at=time.time(), counts=counts,
            message=message,
        )  # fmt: skip
    journal.finish_step(run, "verify", "verify.applications", "failed")
    journal.finish_phase(run, "verify", "failed")
    journal.finish_run(run, "failed", "step verify.applications failed")
    journal.close()
    return path


def test_a_wave_page_shows_gate_approval_phases_audit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    build_journal(wave_journal(tmp_path), monkeypatch)
    with serving(tmp_path) as (base, _), httpx.Client(base_url=base) as client:
        overview = client.get("/").text
        assert PAGE in overview and "<script" in overview  # the link, and the live script ...
        for phase in ("preflight", "presync", "freeze", "final_sync", "cutover", "verify"):
            assert f"{phase}: gelukt / ok" in overview  # ... but the phases need none
        page = client.get(PAGE)
        assert page.status_code == 200
        assert "default-src 'none'" in page.headers["content-security-policy"]
        text = page.text
        assert APPROVER in text and "operator@controle-01" in text  # who, from where
        assert "hashketen intact / hash chain intact" in text
        assert "source side restored and verified" in text  # the rollback
        assert 'data-phase="verify" data-status="ok"' in text
        assert "files verified by checksum manifest" in text  # a go/no-go criterion ...
        assert "✓</span> geslaagd / passed" in text  # ... judged, with a mark and a word
        assert client.get("/wave/w/prod/elsewhere").status_code == 404


def test_a_failed_chain_test_is_red_in_the_matrix_with_its_message(tmp_path: Path) -> None:
    failing_verify(wave_journal(tmp_path))
    with serving(tmp_path) as (base, _), httpx.Client(base_url=base) as client:
        text = client.get(PAGE).text
    assert CHAIN_FAILURE_HTML in text  # the failing task's message
    matrix = text.split('id="koppelingen"', 1)[1].split("</table>", 1)[0]
    zaaksysteem = matrix.split('<th scope="row">zaaksysteem</th>', 1)[1].split("</tr>", 1)[0]
    assert zaaksysteem.count('data-status="failed"') == 1  # -> BRP
    assert zaaksysteem.count('data-status="passed"') == 1  # -> documentbeheer
    assert "✗</span> mislukt / failed" in zaaksysteem


def test_a_journal_write_reaches_every_observer_within_a_second(tmp_path: Path) -> None:
    path = wave_journal(tmp_path)
    journal = Journal(path)
    run = journal.start_run("wave", os.getpid(), lab=False)
    try:
        with serving(tmp_path) as (base, served), httpx.Client(base_url=base) as client:
            stream = events(client, f"{PAGE}/events")
            name, data = next(stream)
            assert name == "page" and 'id="now-step"' not in json.loads(data)["html"]
            builds = served.hub.builds
            written = time.time()
            journal.start_phase(run, "preflight")
            journal.start_step(run, "preflight", "preflight.reachability", "Every server answers")
            name, data = next(stream)
            late = time.time() - written
            assert 'id="now-step">preflight.reachability' in json.loads(data)["html"]
            assert late < 1.0, f"the page was {late:.2f} s behind the journal"
            assert served.hub.builds - builds <= 2  # built once per change, not per observer
    finally:
        journal.close()


def test_one_poller_per_journal_however_many_observers(tmp_path: Path) -> None:
    failing_verify(wave_journal(tmp_path))
    with serving(tmp_path, poll=0.1) as (base, served), httpx.Client(base_url=base) as client:
        import threading

        stop = threading.Event()

        def observe() -> None:
            with httpx.Client(base_url=base) as mine:
                for _ in events(mine, f"{PAGE}/events", limit=5):
                    if stop.wait(0.01):
                        return

        observers = [threading.Thread(target=observe, daemon=True) for _ in range(20)]
        for t in observers:
            t.start()
        polls, began = served.hub.polls, time.monotonic()
        time.sleep(1.0)
        rate = (served.hub.polls - polls) / (time.monotonic() - began)
        stop.set()
        assert client.get(PAGE).status_code == 200
    assert rate <= 12, f"{rate:.0f} polls a second for one journal and 20 observers"


def test_the_weekend_token_guards_every_page(tmp_path: Path) -> None:
    build_journal(wave_journal(tmp_path), pytest.MonkeyPatch())
    token = "t0ken-" + "x" * 20
    with serving(tmp_path, token=token) as (base, _), httpx.Client(base_url=base) as client:
        for url in ("/", PAGE, f"{PAGE}/events", "/events", "/static/live.js"):
            assert client.get(url).status_code == 401, url
        assert client.get("/", headers={"Authorization": "Bearer wrong"}).status_code == 401
        assert client.get(f"/?token={token[:-1]}").status_code == 401
        ok = client.get("/", headers={"Authorization": f"Bearer {token}"})
        assert ok.status_code == 200
        first = client.get(f"{PAGE}?token={token}")  # the link handed out, once
        assert first.status_code == 303 and first.headers["location"] == PAGE
        assert "HttpOnly" in first.headers["set-cookie"]
        assert "SameSite=Strict" in first.headers["set-cookie"]
        assert client.get(PAGE).status_code == 200  # the cookie from now on


def test_nothing_secret_on_any_page_or_event(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EENDRACHT_LIVE_CANARY", SECRET)  # a secret the environment knows
    build_journal(wave_journal(tmp_path), monkeypatch, secret=SECRET, plant=SECRET)
    failing_verify(wave_journal(tmp_path, "lab-like"), secret=SECRET)
    with serving(tmp_path) as (base, served), httpx.Client(base_url=base) as client:
        seen = [client.get("/").text, client.get("/static/live.js").text]
        seen.append(next(events(client, "/events"))[1])
        for key in served.hub.feeds:
            seen.append(client.get(f"/wave/{key}").text)
            seen.append(next(events(client, f"/wave/{key}/events"))[1])
    assert len(seen) == 7
    body = "\n".join(seen)
    assert f"{CHAIN_FAILURE_HTML} {CENSORED}" in body  # the message shown, redacted
    assert SECRET not in body and SECRET.lower() not in body.lower()


def test_the_journal_is_only_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = build_journal(wave_journal(tmp_path), monkeypatch)
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    names = sorted(p.name for p in path.parent.iterdir())
    with serving(tmp_path) as (base, _), httpx.Client(base_url=base) as client:
        assert client.get(PAGE).status_code == 200
        assert client.get("/").status_code == 200
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before
    # SQLite's own companions of a WAL database may appear (a reader needs the shared memory
    # index), the write-ahead log empty: nothing was written.
    added = {p.name for p in path.parent.iterdir()} - set(names)
    assert added <= {"journal.sqlite-wal", "journal.sqlite-shm"}
    wal = path.parent / "journal.sqlite-wal"
    assert not wal.exists() or wal.stat().st_size == 0


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["tests/fixtures/programmes/nowhere", "--state", "{tmp}"], "not a programme"),
        ([str(MINI), "--state", "{tmp}/missing"], "no such folder"),
        ([str(MINI), "--state", "{tmp}", "--host", "0.0.0.0"], "beyond loopback"),
        ([str(MINI), "--state", "{tmp}", "--token-file", "{tmp}/open.token"], "must be 0600"),
        ([str(MINI), "--state", "{tmp}", "--tls-cert", "{tmp}/open.token"], "give both"),
    ],
)
def test_wave_serve_refuses_bad_input_in_one_line(
    tmp_path: Path, args: list[str], says: str
) -> None:
    token = tmp_path / "open.token"
    token.write_text("x" * 32)
    token.chmod(0o644)
    result = CliRunner().invoke(
        app, ["wave", "serve", *[a.replace("{tmp}", str(tmp_path)) for a in args]]
    )
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and says in lines[0], result.output


def test_mini_programme_is_served(tmp_path: Path) -> None:
    assert mini().name == wave_journal(tmp_path).parents[1].name
