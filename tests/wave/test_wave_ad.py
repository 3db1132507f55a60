"""A wave against Active Directory, GSS-TSIG DNS and IMAP mail on the lab, killed inside its
identity, DNS and mail steps and resumed: no account twice, no message twice, nothing lost;
then rolled back, proved by the source accounts' own binds and the source mailboxes.

The programme is the mini fixture with Active Directory domains (mini-ad): one Samba DC per
municipality and one for the new organisation, AD-integrated zones on them, a Dovecot each.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from wave_cli import STEP_TIMEOUT, WaveCli
from wave_support import REPO, lab_session

from eendracht.environment import load_environment
from eendracht.environment.secrets import SecretFiles
from eendracht.programme.loader import load_programme
from eendracht.wave.identity_map import build_mapping
from eendracht.wave.lab_check import verify_lab_source, verify_lab_wave
from eendracht.wave.paths import lab_dir

pytestmark = [pytest.mark.lab, pytest.mark.slow]

MINI_AD = REPO / "tests" / "fixtures" / "programmes" / "mini-ad"
MUNI = "noordwaard"
# Killed as soon as the step's ansible-playbook runs (these steps take a second or two).
KILLS = [
    ("presync", "presync.identity", "ansible"),
    ("presync", "presync.mail", "ansible"),
    ("cutover", "cutover.identity", "orchestrator"),
    ("cutover", "cutover.dns", "ansible"),
    ("cutover", "cutover.mail", "ansible"),
]


@pytest.fixture(scope="module")
def wave() -> Iterator[WaveCli]:
    with lab_session(MINI_AD, prefix="eendracht-wave-ad-") as state:
        yield WaveCli(MINI_AD, MUNI, state)


def test_killed_in_identity_dns_and_mail_resumed_verified_then_rolled_back(
    wave: WaveCli, tmp_path: Path
) -> None:
    log = tmp_path / "wave.log"
    programme = load_programme(MINI_AD)
    env = load_environment(wave.environment(), programme, MUNI)
    with SecretFiles(env, MUNI) as files:
        secrets = files.values()  # the DCs' binds and probes, the mailboxes' passwords, ...
    mu = programme.municipality(MUNI)
    assert mu.ad_domain == "noordwaard.local" and mu.mailboxes
    killed = []
    proc = wave.start(log=log)
    for phase, step, what in KILLS:
        killed.append(wave.kill_in(proc, phase, what, step=step, settle=0.2))
        proc = wave.start("--resume", log=log)
    assert proc.wait(timeout=STEP_TIMEOUT * 3) == 0, log.read_text()[-3000:]
    assert killed == [step for _, step, _ in KILLS]

    # Exactly as if it had never stopped.
    mapping = build_mapping(programme, {})
    report = verify_lab_wave(mu, lab_dir(wave.state), mapping)
    failed = [c for c in report.checks if not c.ok]
    assert not failed, failed
    checks = {(c.area, c.name): c for c in report.checks}
    assert checks[("accounts", "count")].ok  # one target account per person, none twice
    assert (
        checks[("mail", "mailboxes")].detail
        == f"{len(mu.mailboxes)} of {len(mu.mailboxes)} complete"
    )
    binds = [c for c in report.checks if c.name.endswith(" binds")]
    assert binds and all(c.detail == "data 533" for c in binds)  # refused: account disabled
    # The moves kept their includes in the lab's state (the environment's work_dir), 0700.
    moves = lab_dir(wave.state) / "mail" / "target" / "moves"
    assert moves.is_dir() and moves.stat().st_mode & 0o777 == 0o700
    assert not any(moves.glob("move.*.conf"))  # each removed when its move ended

    rollback = wave.run("rollback", timeout=STEP_TIMEOUT * 2)
    assert rollback.returncode == 0, rollback.stdout[-3000:] + rollback.stderr[-2000:]
    source = verify_lab_source(mu, lab_dir(wave.state), mapping)
    failed = [c for c in source.checks if not c.ok]
    assert not failed, failed
    binds = [c for c in source.checks if c.name.endswith(" binds")]
    assert binds and all(c.detail == "ok" for c in binds)  # their own passwords work again
    kept = next(c for c in source.checks if (c.area, c.name) == ("mail", "mailboxes"))
    assert kept.detail == f"{len(mu.mailboxes)} of {len(mu.mailboxes)} complete"
    assert {c.area for c in source.checks} >= {"files", "accounts", "dns", "mail"}

    # No secret of the lab in anything the wave wrote or printed.
    assert len(secrets) > len(mu.mailboxes)
    output = log.read_text() + rollback.stdout + rollback.stderr
    leaks = [f"{path}" for path in wave.wave_dir().rglob("*") if path.is_file()
             for secret in secrets if secret.encode() in path.read_bytes()]  # fmt: skip
    leaks += ["terminal output" for secret in secrets if secret in output]
    assert not leaks, leaks
