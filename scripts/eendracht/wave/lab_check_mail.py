"""Independent verification of the mail step on the lab: the municipality's mailboxes (every
one up to SAMPLE, else the function mailboxes and a seeded sample) read over IMAP at both
servers with the lab's own reader (not the mail module), per folder the Message-IDs compared:
nothing missing, nothing twice."""

from __future__ import annotations

import imaplib
import random
import ssl
import subprocess
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from eendracht.identity import IdentityMapping
from eendracht.lab.dovecot_imap import FolderState, inventory
from eendracht.programme.models import MailboxKind, Municipality

Report = Callable[[str, str, bool, str], None]
TIMEOUT = 30.0
SAMPLE = 25  # mailboxes read at both sides; every one when there are no more


def _connect(server: dict[str, Any]) -> imaplib.IMAP4_SSL:
    context = ssl.create_default_context(cafile=server["ca_file"])
    return imaplib.IMAP4_SSL(
        server["address"], int(server["imaps_port"]), ssl_context=context, timeout=TIMEOUT
    )


def read_source(server: dict[str, Any], account: str) -> dict[str, FolderState]:
    client = _connect(server)
    try:
        password = (Path(server["passwords"]) / f"{account}.password").read_text(encoding="utf-8")
        client.login(account, password)
        return inventory(client)
    finally:
        client.shutdown()


def holds_mail(server: dict[str, Any], user: str) -> bool:
    """Whether the target user's mailbox holds any folder, asked with doveadm on the server:
    an IMAP login would make its INBOX, which a later first move could not replace."""
    done = subprocess.run(
        ["doveadm", "-f", "tab", "-c", server["config"], "mailbox", "status", "-u", user,
         "messages", "*"],
        capture_output=True, text=True, check=False, timeout=TIMEOUT,
    )  # fmt: skip
    return done.returncode == 0 and len(done.stdout.splitlines()) > 1


def read_target(server: dict[str, Any], user: str) -> dict[str, FolderState]:
    """As the target's migration master user (SASL PLAIN, the mailbox as authorization id)."""
    client = _connect(server)
    try:
        password = Path(server["master_password_file"]).read_text(encoding="utf-8")
        token = f"{user}\0{server['master_user']}\0{password}".encode()
        client.authenticate("PLAIN", lambda _challenge: token)
        return inventory(client)
    finally:
        client.shutdown()


def differences(source: dict[str, FolderState], target: dict[str, FolderState]) -> list[str]:
    """Per folder: messages missing at the target and messages there twice."""
    found = []
    for folder, state in source.items():
        have = Counter(target[folder].message_ids) if folder in target else Counter()
        missing = Counter(state.message_ids) - have
        if missing:
            found.append(f"{folder}: {sum(missing.values())} missing")
    for folder, state in target.items():
        if state.duplicates:
            found.append(f"{folder}: {len(state.duplicates)} twice")
    return found


def sample(pairs: list[tuple[str, str, str]]) -> list[tuple[str, str, str]]:
    """Every mailbox up to SAMPLE; beyond it the function mailboxes and a seeded sample of
    the personal ones (the mail module itself compares every mailbox, at cutover and verify)."""
    if len(pairs) <= SAMPLE:
        return pairs
    functions = [p for p in pairs if p[1] == p[0].split("@", 1)[0]]
    persons = [p for p in pairs if p not in functions]
    chosen = random.Random(7).sample(persons, max(0, SAMPLE - len(functions)))
    return [p for p in pairs if p in functions or p in chosen][:SAMPLE]


def _pairs(
    add: Report, mu: Municipality, lab: dict[str, Any], mapping: IdentityMapping
) -> list[tuple[str, str, str]]:
    """(address, source account, target user) of every mailbox the wave moves."""
    target = lab["mail_servers"]["target"]
    by_account = {i.old_account: i for i in mapping.for_municipality(mu.name)}
    field = target.get("user_field", "username")
    out = []
    for box in mu.mailboxes:
        local = box.address.split("@", 1)[0]
        if box.kind is MailboxKind.USER:
            identity = by_account.get(box.owner)
            if identity is None:
                add("mail", box.address, False, f"no new account for {box.owner}")
                continue
            out.append((box.address, box.owner, str(getattr(identity, field))))
        else:
            user = target["shared_template"].format(
                local=local, municipality=mu.name, domain=lab.get("mail_domain", "")
            )
            out.append((box.address, local, user))
    return out


def _compare(
    add: Report,
    mu: Municipality,
    lab: dict[str, Any],
    mapping: IdentityMapping,
    after_rollback: bool,
) -> None:
    servers = lab.get("mail_servers", {})
    source, target = servers.get(mu.name), servers.get("target")
    if not mu.mailboxes or source is None or target is None or "master_user" not in target:
        return
    complete = 0
    pairs = _pairs(add, mu, lab, mapping)
    for address, account, user in sample(pairs):
        try:
            kept = read_source(source, account)
            if after_rollback and not holds_mail(target, user):
                moved = {}  # never moved (a check run, or no target user): nothing to lose
            else:
                moved = read_target(target, user)
        except (OSError, imaplib.IMAP4.error, ssl.SSLError) as exc:
            add("mail", address, False, f"{type(exc).__name__}: {exc}")
            continue
        # After a rollback the source must still hold everything that was moved.
        found = differences(moved, kept) if after_rollback else differences(kept, moved)
        complete += not found
        where = f"kept at {account}" if after_rollback else f"complete at {user}"
        add("mail", address, not found, "; ".join(found) or where)
    total = min(len(pairs), SAMPLE)
    read = "" if total == len(mu.mailboxes) else f" (a sample of {len(mu.mailboxes)})"
    add("mail", "mailboxes", complete == total, f"{complete} of {total} complete{read}")


def check_mail(
    add: Report, mu: Municipality, lab: dict[str, Any], mapping: IdentityMapping
) -> None:
    """After the wave: every message of every mailbox at the target, none twice."""
    _compare(add, mu, lab, mapping, after_rollback=False)


def check_mail_source(
    add: Report, mu: Municipality, lab: dict[str, Any], mapping: IdentityMapping
) -> None:
    """After a rollback: the source mailboxes still hold every message that was moved."""
    _compare(add, mu, lab, mapping, after_rollback=True)
