"""The orchestration core on trivial local playbooks: journal, resume, gate, rollback, lock."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
from wave_support import FAKE_PLAYBOOKS, MINI, fake_environment

from eendracht import audit
from eendracht.wave.leftovers import leftover_processes
from eendracht.wave.lock import WaveLock, WaveLocked
from eendracht.wave.orchestrator import Wave


def _wave(state: Path, environment: Path, rehearsal: bool = False) -> Wave:
    return Wave(
        MINI,
        "noordwaard",
        environment=environment,
        rehearsal=rehearsal,
        state=state,
        playbooks=FAKE_PLAYBOOKS,
    )


def _trace(wave: Wave) -> list[str]:
    path = wave.dir / "trace"
    return path.read_text().split() if path.exists() else []


def test_wave_follows_the_plan_until_presync_then_rolls_back(
    state: Path, environment: Path
) -> None:
    wave = _wave(state, environment)
    outcome = wave.run(until="presync")
    assert outcome.status == "stopped", outcome.message
    assert _trace(wave) == [
        "preflight.reachability",
        "preflight.capacity",
        "preflight.directory",
        "preflight.dns",
        "preflight.identity",
        "preflight.applications",
        "preflight.mail",
        "presync.files:burgerzaken",
        "presync.files:sociaal-domein",
        "presync.dns",
        "presync.identity",
        "presync.mail",
    ]
    assert {s["status"] for s in wave.journal.steps()} == {"ok"}
    assert wave.journal.counts()["presync"] == {"bytes_transferred": 50, "accounts_created": 10}
    extravars = json.loads((wave.dir / "extravars.json").read_text())
    assert extravars["municipality"] == "noordwaard"
    assert extravars["target"]["dns_zone"] == "fake-dns_zone"
    assert extravars["share_roots_by_host"] == {"nw-srv01": ["/srv/shares"]}
    mapping = json.loads(Path(extravars["identity_map_file"]).read_text())
    assert {i["old_account"] for i in mapping["identities"]} >= {"jdevries", "mozil"}
    assert wave.approve("CIO").status == "refused"  # verify has not run
    assert wave.rollback().status == "rolled_back"
    assert wave.journal.done_steps() == set()
    assert _trace(wave)[-2:] == ["rollback.dns", "rollback.source"]


def test_failure_then_resume_runs_only_what_did_not_finish(state: Path, environment: Path) -> None:
    wave = _wave(state, environment)
    wave.dir.mkdir(parents=True)
    (wave.dir / "fail-presync.dns").touch()
    outcome = wave.run(until="presync")
    assert outcome.status == "failed"
    assert "presync.dns" in outcome.message
    assert _trace(wave)[-1] == "presync.files:sociaal-domein"
    (wave.dir / "fail-presync.dns").unlink()
    outcome = wave.run(until="presync", resume=True)
    assert outcome.status == "stopped", outcome.message
    trace = _trace(wave)
    assert trace.count("preflight.reachability") == 1
    assert trace.count("presync.files:burgerzaken") == 1
    assert trace[-3:] == ["presync.dns", "presync.identity", "presync.mail"]
    statuses = [(s["step_id"], s["status"]) for s in wave.journal.steps()]
    assert ("presync.dns", "failed") in statuses and ("presync.dns", "ok") in statuses


def test_gate_waits_for_verify_and_approval_closes_rollback(state: Path, environment: Path) -> None:
    wave = _wave(state, environment)
    assert wave.approve("CIO").status == "refused"  # nothing has run
    assert not wave.dir.exists()  # a refused approve writes nothing
    assert wave.run(until="cutover").status == "stopped"
    assert wave.approve("CIO").status == "refused"  # verify has not run
    outcome = wave.run(resume=True)
    assert outcome.status == "at_gate", outcome.message
    assert wave.approve("J. Jansen").status == "refused"  # not an approver of the programme
    assert wave.run(check=True).status == "checked"  # a check run changes nothing to decide on
    outcome = wave.approve("CIO")
    assert outcome.status == "complete", outcome.message
    approval = wave.journal.approval()
    assert approval is not None and approval["approved_by"] == "CIO"
    assert approval["os_user"] and approval["host"]
    assert wave.approve("migratiecoördinator").message.startswith("already approved by CIO")
    assert wave.run().status == "complete"  # nothing runs after the gate
    assert wave.rollback().status == "refused"
    trail = [(r.action, r.result, r.actor_by) for r in wave.journal.audit_trail()]
    assert trail == [
        ("run", "started", ""),
        ("run", "stopped", ""),
        ("approve", "refused", "CIO"),  # verify had not run
        ("resume", "started", ""),
        ("resume", "at_gate", ""),
        ("approve", "refused", "J. Jansen"),  # not an approver: the attempt is on record
        ("check", "started", ""),
        ("check", "ok", ""),
        ("approve", "approved", "CIO"),
        ("rollback", "refused", ""),
    ]
    assert audit.verify(wave.journal.db).intact


def test_a_verify_that_failed_after_passing_blocks_the_gate(state: Path, environment: Path) -> None:
    wave = _wave(state, environment)
    assert wave.run().status == "at_gate"
    wave.journal.close()
    (wave.dir / "fail-verify.dns").touch()
    wave = _wave(state, environment)
    outcome = wave.run()  # the whole wave again; its verify fails this time
    assert outcome.status == "failed" and "verify.dns" in outcome.message
    assert not wave.verified()
    assert wave.approve("CIO").status == "refused"
    (wave.dir / "fail-verify.dns").unlink()
    assert wave.run(resume=True).status == "at_gate"
    assert wave.approve("CIO").status == "complete"


def test_yes_is_refused_outside_a_rehearsal_and_writes_nothing(
    state: Path, environment: Path
) -> None:
    wave = _wave(state, environment)
    outcome = wave.run(yes=True)
    assert outcome.status == "refused" and "--lab" in outcome.message
    assert not wave.dir.exists()
    outcome = _wave(state, environment, rehearsal=True).run(yes=True)
    assert outcome.status == "complete", outcome.message


def test_rollback_runs_every_undo_step_even_when_one_fails(state: Path, environment: Path) -> None:
    wave = _wave(state, environment)
    assert wave.run(until="cutover").status == "stopped"
    (wave.dir / "fail-rollback.dns").touch()
    outcome = wave.rollback()
    assert outcome.status == "failed" and outcome.exit_code == 1
    assert "rollback.dns" in outcome.message or "dns" in outcome.message
    ran = [r.step_id for r in outcome.steps]
    assert len(ran) == len({*ran}) and ran[-1] == "rollback.source-in-service"
    assert [r.status for r in outcome.steps].count("failed") >= 1
    assert [r.status for r in outcome.steps].count("ok") >= 2  # the others still ran
    (wave.dir / "fail-rollback.dns").unlink()
    outcome = wave.rollback()  # the second rollback completes what the first could not
    assert outcome.status == "rolled_back", outcome.message
    assert wave.journal.done_steps() == set()


def test_second_run_is_refused_while_locked(state: Path, environment: Path) -> None:
    wave = _wave(state, environment)
    other = WaveLock(wave.dir / "wave.lock", "noordwaard")
    other.acquire()
    try:
        with pytest.raises(
            WaveLocked,
            match=r"wave for noordwaard is running \(user \S+ on host \S+, pid \d+, since",
        ):
            wave.run()
    finally:
        other.release()


def test_a_check_run_changes_nothing_and_leaves_no_check_mode_behind(
    state: Path, environment: Path
) -> None:
    wave = _wave(state, environment)
    outcome = wave.run(check=True)
    assert outcome.status == "checked", outcome.message
    assert {r.phase for r in outcome.steps} == {
        "preflight", "presync", "freeze", "final_sync", "cutover"
    }  # fmt: skip
    assert _trace(wave) == []  # in check mode the commands that leave a trace did not run
    assert wave.journal.done_steps() == set()  # nothing for --resume, the gate or rollback
    assert wave.run(check=True, until="verify").status == "refused"
    outcome = wave.run(until="preflight")  # the next real run really runs
    assert outcome.status == "stopped", outcome.message
    assert _trace(wave)[0] == "preflight.reachability"


def test_any_run_first_stops_ansible_that_a_killed_run_left_behind(
    state: Path, environment: Path
) -> None:
    wave = _wave(state, environment)
    wave.dir.mkdir(parents=True)
    # What a killed run leaves: ansible-playbook (its command line names the wave's folder).
    leftover = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(120)", "ansible-playbook",
         "-i", str(wave.dir / "inventory")],
        start_new_session=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 10  # until it has exec'd (its command line is its own)
        while leftover_processes(wave.dir) != [leftover.pid] and time.monotonic() < deadline:
            time.sleep(0.05)
        assert leftover_processes(wave.dir) == [leftover.pid]
        outcome = wave.run(until="preflight")  # not --resume
        assert outcome.status == "stopped", outcome.message
        assert leftover.wait(timeout=30) != 0  # it was stopped before the run began
        assert leftover_processes(wave.dir) == []
    finally:
        leftover.kill()


def test_a_vaulted_programme_runs_with_the_vault_password_and_only_with_it(
    tmp_path: Path, state: Path
) -> None:
    import shutil

    from ansible.parsing.vault import VaultLib, VaultSecret

    from eendracht.environment.vault import VaultKey
    from eendracht.programme.loader import load_programme

    programme = tmp_path / "mini"
    shutil.copytree(MINI, programme)
    # group_vars/all: what every play reads, the fake playbooks' localhost included.
    settings = programme / "group_vars" / "all" / "programme.yml"
    secret = VaultSecret(b"vault-canary-password")
    settings.write_bytes(VaultLib([("default", secret)]).encrypt(settings.read_bytes(), secret))
    password = tmp_path / "vault-password"
    password.write_text("vault-canary-password\n")
    password.chmod(0o600)
    loaded = load_programme(programme, VaultKey.from_file(password))
    environment = fake_environment(tmp_path / "environment", programme, loaded=loaded)

    def wave(vault: Path | None) -> Wave:
        return Wave(
            programme, "noordwaard", environment=environment, state=state,
            playbooks=FAKE_PLAYBOOKS, programme=loaded, vault_password_file=vault,
        )  # fmt: skip

    outcome = wave(None).run(until="preflight")  # Ansible cannot open the vaulted group_vars
    assert outcome.status == "failed", outcome.message
    outcome = wave(password).run(until="preflight")
    assert outcome.status == "stopped", outcome.message
    # Nothing decrypted is written: the run's copy of group_vars stays encrypted.
    copied = state / "waves" / "rehearsal" / "waardstad" / "noordwaard" / "inventory"
    programme_copy = copied / "group_vars" / "all" / "programme.yml"
    assert programme_copy.read_bytes().startswith(b"$ANSIBLE_VAULT")
    written = [p for p in state.rglob("*") if p.is_file()]
    assert all(b"vault-canary-password" not in p.read_bytes() for p in written)
