"""The lab's mail: an IMAP server (Dovecot) for each municipality and one for the new
organisation, the municipality's with a mailbox per person and a function mailbox they share."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from eendracht.lab import dovecot, dovecot_seed
from eendracht.lab.paths import LabPaths
from eendracht.lab.people import LabPerson
from eendracht.lab.plan import TARGET, LabPlan, MailHost
from eendracht.lab.services import Service

# Messages per mailbox and the largest attachment, per scale (attachments on some messages).
VOLUME = {"small": (6, 256 * 1024), "full": (24, 2 * 1024 * 1024)}


def server_of(
    paths: LabPaths, host: MailHost, people: Sequence[LabPerson] = ()
) -> dovecot.MailServer:
    # The target's mailboxes are made by the migration; its postmaster answers until then.
    users = (
        tuple(dovecot.users_from_people(people))
        if host.name != TARGET
        else (dovecot.MailUser("postmaster", "postmaster@localhost", "Postmaster"),)
    )
    return dovecot.MailServer(host.name, host.address, dovecot.mail_root(paths, host.name), users)


def prepare(
    paths: LabPaths,
    plan: LabPlan,
    people: Mapping[str, Sequence[LabPerson]],
    scale: str,
    seed: int,
) -> dict[str, int]:
    """Configure and seed every server; returns messages per server."""
    per_user, largest = VOLUME[scale]
    seeded = {}
    for name, host in plan.mail_hosts.items():
        server = server_of(paths, host, people.get(name, ()))
        dovecot.prepare(server)
        report = dovecot_seed.seed_server(server, seed, per_user, attachment_max=largest)
        seeded[name] = report.messages
    return seeded


def services(
    paths: LabPaths, plan: LabPlan, people: Mapping[str, Sequence[LabPerson]]
) -> list[Service]:
    out = []
    for name, host in plan.mail_hosts.items():
        server = server_of(paths, host, people.get(name, ()))
        first = server.users[0].account if server.users else ""
        out.append(
            Service(
                server.service_name,
                "mail",
                host.address,
                server.imaps_port,
                dovecot.argv(server),
                credentials_file=str(server.password_file(first)) if first else "",
                probe={"root": str(server.root), "account": first},
            )
        )
    return out


def publish_shared(
    paths: LabPaths, plan: LabPlan, people: Mapping[str, Sequence[LabPerson]]
) -> None:
    """Function mailboxes become visible to their readers (needs the running servers)."""
    for name, host in plan.mail_hosts.items():
        dovecot_seed.publish_shared(server_of(paths, host, people.get(name, ())))


def details(paths: LabPaths, plan: LabPlan) -> dict[str, dict[str, str | int]]:
    out: dict[str, dict[str, str | int]] = {}
    for name, host in plan.mail_hosts.items():
        server = server_of(paths, host)
        out[name] = {
            "address": host.address,
            "imaps_port": server.imaps_port,
            "ca_file": str(server.files.cert),
            "root": str(server.root),
            "passwords": str(server.files.secrets),
        }
    return out
