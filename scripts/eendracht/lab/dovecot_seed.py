"""Seeding a lab mail server: Maildir files written directly, deterministic from the seed.

Writing Maildir++ files (one file per message, `S=`/`W=` sizes in the name) is what a
delivery agent does; Dovecot indexes them on first access. That is thousands of messages a
second, where a `doveadm save` per message would cost a process each.
Each user gets INBOX, "Verzonden items", "Archief", "Archief/2023" and two folders with non-ASCII
names; a function mailbox (`MailUser.readers`) gets dovecot-acl files granting its readers
lookup+read, and `publish_shared` (doveadm acl recalc) publishes it in the shared-mailbox dictionary so they
see it under shared/<mailbox>/.
"""

from __future__ import annotations

import base64
import email.utils
import os
import random
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.header import Header
from pathlib import Path

from eendracht.lab.dovecot import MailServer, MailUser
from eendracht.lab.dovecot_conf import MailIds
from eendracht.lab.dovecot_imap import mutf7_encode
from eendracht.lab.procs import run

# "Archief" holds mail itself, as every Exchange folder can: a parent that only exists
# implicitly (\Noselect in Maildir++) is created empty on the target by the first dsync run
# and removed by the next, so both sides would not hold the same folders in between.
FOLDERS = ("INBOX", "Verzonden items", "Archief", "Archief/2023", "Gemeentehuis – Café", "Ærø")
WEIGHTS = (40, 25, 5, 15, 10, 5)
SUBJECTS = (
    "Agenda raadsvergadering", "Bezwaar en beroep: dossier", "Vergunning dakkapel",
    "Notulen overleg – Daniëlle", "Begroting 2024 concept", "Overdracht zaak",
    "Verlof aanvraag", "Uitnodiging: heidag", "Klacht afvalinzameling", "Subsidie café-terras",
)  # fmt: skip
SHARED_RIGHTS = "lr"  # readers may list and read a function mailbox, not change it
OWNER_RIGHTS = "lrwstipekxa"
ATTACHMENT_MIN = 256 * 1024


@dataclass(frozen=True)
class SeedReport:
    messages: int
    bytes: int
    seconds: float


def maildir_folder(home: Path, folder: str) -> Path:
    """Maildir++: INBOX is the root, others `.name` with `/` as `.` and names in mUTF-7."""
    base = home / "Maildir"
    if folder == "INBOX":
        return base
    encoded = mutf7_encode(folder)
    if "." in encoded:
        raise ValueError(f"{folder!r}: Maildir++ uses '.' as its separator")
    return base / ("." + encoded.replace("/", "."))


def _address(u: MailUser) -> str:
    return email.utils.formataddr((u.display_name, u.mail), charset="utf-8")


def _date(rng: random.Random, folder: str) -> float:
    if folder == "Archief/2023":
        lo, hi = datetime(2023, 1, 1, tzinfo=UTC), datetime(2023, 12, 31, tzinfo=UTC)
    else:
        lo, hi = datetime(2016, 1, 1, tzinfo=UTC), datetime(2025, 6, 30, tzinfo=UTC)
    return rng.uniform(lo.timestamp(), hi.timestamp())


def _message(
    rng: random.Random, msgid: str, when: float, sender: MailUser, to: MailUser, attach: int
) -> bytes:
    subject = rng.choice(SUBJECTS) + f" {rng.randrange(1000, 9999)}"
    headers = [
        f"Return-Path: <{sender.mail}>",
        f"Message-ID: {msgid}",
        f"Date: {email.utils.formatdate(when, localtime=False)}",
        f"From: {_address(sender)}",
        f"To: {_address(to)}",
        f"Subject: {subject if subject.isascii() else Header(subject, 'utf-8').encode()}",
        "MIME-Version: 1.0",
    ]
    text = f"Beste {to.display_name},\n\nZie onderwerp: {subject}.\n\nMet vriendelijke groet,\n{sender.display_name}\n"
    if not attach:
        headers += ["Content-Type: text/plain; charset=utf-8", "Content-Transfer-Encoding: 8bit"]
        return ("\n".join(headers) + "\n\n" + text).encode()
    boundary = f"=_eendracht_{rng.getrandbits(64):016x}"
    blob = base64.encodebytes(rng.randbytes(attach)).decode()
    body = (
        f"--{boundary}\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\n"
        f"{text}\n--{boundary}\nContent-Type: application/pdf; name=bijlage.pdf\n"
        "Content-Disposition: attachment; filename=bijlage.pdf\nContent-Transfer-Encoding: base64\n\n"
        f"{blob}--{boundary}--\n"
    )
    headers.append(f'Content-Type: multipart/mixed; boundary="{boundary}"')
    return ("\n".join(headers) + "\n\n" + body).encode()


def _mkdirs(folder: Path, ids: MailIds, created: list[Path]) -> None:
    for sub in ("", "cur", "new", "tmp"):
        path = folder / sub if sub else folder
        if not path.exists():
            path.mkdir(mode=0o700, parents=True)
            created.append(path)
    if folder.name.startswith("."):
        marker = folder / "maildirfolder"
        marker.touch()
        created.append(marker)


def seed_user(
    server: MailServer,
    user: MailUser,
    seed: int,
    count: int,
    attachments: int = 1,
    attachment_max: int = 2 * 1024 * 1024,
) -> tuple[int, int]:
    """Write `count` messages into the user's folders; returns (messages, bytes). A user who
    has a Maildir already is left alone (seeded data is never re-seeded)."""
    home = server.files.home(user.account)
    if (home / "Maildir").exists():
        return 0, 0
    ids = MailIds.of_mail_user()
    rng = random.Random(f"{seed}:mail:{server.name}:{user.account}")
    others = [u for u in server.users if u.account != user.account] or [user]
    with_attachment = set(rng.sample(range(count), min(attachments, count)))
    created: list[Path] = [home] if not home.exists() else []
    home.mkdir(mode=0o700, parents=True, exist_ok=True)
    for folder in FOLDERS:
        _mkdirs(maildir_folder(home, folder), ids, created)
    total = 0
    for n in range(count):
        folder = FOLDERS[n] if n < len(FOLDERS) else rng.choices(FOLDERS, WEIGHTS)[0]
        peer = rng.choice(others)
        sender, to = (user, peer) if folder == "Verzonden items" else (peer, user)
        when = _date(rng, folder)
        msgid = f"<{seed}.{n}.{user.account}.{server.name}@{user.mail.split('@', 1)[1]}>"
        size = rng.randrange(ATTACHMENT_MIN, attachment_max + 1) if n in with_attachment else 0
        raw = _message(rng, msgid, when, sender, to, size)
        flags = "S" if rng.random() < 0.8 else ""
        flags = "F" + flags if rng.random() < 0.05 else flags
        vsize = len(raw) + raw.count(b"\n")  # size with CRLF line ends, as IMAP counts it
        name = f"{int(when)}.M{n:06d}P{seed}.eendracht,S={len(raw)},W={vsize}:2,{flags}"
        path = maildir_folder(home, folder) / "cur" / name
        path.write_bytes(raw)
        os.utime(path, (when, when))
        created.append(path)
        total += len(raw)
    if user.readers:
        _grant(home, user.readers, created)
    for path in created:
        os.chown(path, ids.uid, ids.gid)
    return count, total


def _grant(home: Path, readers: tuple[str, ...], created: list[Path]) -> None:
    rules = f"owner {OWNER_RIGHTS}\n" + "".join(f"user={r} {SHARED_RIGHTS}\n" for r in readers)
    for folder in FOLDERS:
        acl = maildir_folder(home, folder) / "dovecot-acl"
        acl.write_text(rules)
        created.append(acl)


def seed_server(
    server: MailServer,
    seed: int,
    per_user: int = 24,
    counts: Mapping[str, int] | None = None,
    attachments: int = 1,
    attachment_max: int = 2 * 1024 * 1024,
) -> SeedReport:
    """Seed every mailbox of the server (`counts` overrides `per_user` for some)."""
    started = time.monotonic()
    messages = size = 0
    for user in server.users:
        n = (counts or {}).get(user.account, per_user)
        got, written = seed_user(server, user, seed, n, attachments, attachment_max)
        messages, size = messages + got, size + written
    return SeedReport(messages, size, time.monotonic() - started)


def publish_shared(server: MailServer) -> None:
    """List every function mailbox in the shared-mailbox dictionary, so its readers see it
    under shared/<mailbox>/. Needs the running server: doveadm looks users up through its
    auth socket."""
    for user in server.users:
        if user.readers:
            run(
                ["doveadm", "-c", str(server.files.config), "acl", "recalc", "-u", user.account],
                f"publishing the shared mailbox {user.account} on {server.name}",
                timeout=30,
            )
