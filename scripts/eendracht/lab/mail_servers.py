"""The lab's mail: an IMAP server (Dovecot) for each municipality and one for the new
organisation, the municipality's with a mailbox per person and a function mailbox they share.

The target knows its people from the new organisation's directory (`TargetMail`): the target
Samba DC over LDAPS for a programme with Active Directory, the target slapd otherwise. A
person exists on the target as soon as the identity step created the account; the function
mailboxes (shared, room) are no persons there and are pre-created in its passwd-file, as an
Exchange admin creates them (New-Mailbox -Shared) before the weekend.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from eendracht.lab import ad_controllers, dovecot, dovecot_seed, samba_seed, slapd
from eendracht.lab.dovecot_conf import LdapUsers
from eendracht.lab.errors import LabError
from eendracht.lab.paths import LabPaths
from eendracht.lab.people import LabPerson
from eendracht.lab.plan import TARGET, LabPlan, MailHost
from eendracht.lab.samba import Domain
from eendracht.lab.services import Service
from eendracht.programme import models as m

# Messages per mailbox and the largest attachment, per scale (attachments on some messages).
VOLUME = {"small": (6, 256 * 1024), "full": (24, 2 * 1024 * 1024)}
SHARED = "secretariaat"  # the function mailbox every municipality's lab server has
POSTMASTER = dovecot.MailUser("postmaster", "postmaster@localhost", "Postmaster")
# The migration's admin on the target: reads any mailbox (SASL PLAIN, the mailbox as
# authorization identity), also of accounts still disabled or whose password must change.
MASTER = "eendracht-migratie"

AD, OPENLDAP = "ad", "openldap"
# The identity map's field that names a user on the target (the mail role's
# `target_user_field`), and the function mailboxes' default names, per directory.
USER_FIELD = {AD: "upn", OPENLDAP: "username"}
SHARED_TEMPLATE = {AD: "{local}.{municipality}@{domain}", OPENLDAP: "{local}.{municipality}"}
# AD's person filter as Exchange-era tooling writes it; OpenLDAP's lab people (slapd.py).
AD_PERSONS = "(objectCategory=person)(objectClass=user)"
OPENLDAP_PERSONS = "(objectClass=inetOrgPerson)"
# OpenLDAP has no account state its bind refuses: the identity step's eendrachtDisabled is.
OPENLDAP_ENABLED = "(!(eendrachtDisabled=TRUE))"


@dataclass(frozen=True)
class TargetMail:
    """Whom the target Dovecot knows: the people of `directory` ("ad" or "openldap") and the
    function mailboxes, named by `shared_template` ({local}, {municipality}, {domain})."""

    directory: str
    shared_template: str
    mailboxes: tuple[str, ...]  # the function mailboxes' names on the target
    # Per municipality, the local parts of its function mailboxes: logins on its own server.
    source_functions: Mapping[str, tuple[str, ...]] = dataclasses.field(default_factory=dict)

    @property
    def user_field(self) -> str:
        return USER_FIELD[self.directory]


def directory_kind(plan: LabPlan) -> str:
    """The new organisation's directory as the lab plan has it (`LabPlan.active_directory`:
    the identity step creates the new accounts in the target DC), else OpenLDAP."""
    return AD if plan.active_directory else OPENLDAP


def function_mailboxes(programme: m.Programme, template: str) -> dict[str, list[str]]:
    """Per municipality, the target names of its function mailboxes: every shared and room
    mailbox the programme lists and the lab's `secretariaat`, named by `template` (as the mail
    role names them: {local} the old address's local part, {domain} the new mail domain)."""
    domain = programme.settings.organisation.mail_domain
    out: dict[str, list[str]] = {}
    for name, mu in programme.municipalities.items():
        locals_ = [b.address.split("@", 1)[0] for b in mu.mailboxes if b.kind != m.MailboxKind.USER]
        names = []
        for local in dict.fromkeys([*locals_, SHARED]):
            try:
                target = template.format(local=local, municipality=name, domain=domain)
            except (KeyError, IndexError, ValueError) as exc:
                raise LabError(
                    f"the function mailbox template {template!r} cannot be filled: {exc}; it "
                    "knows {local}, {municipality} and {domain}"
                ) from None
            names.append(target.lower())
        out[name] = names
    return out


def target_mail(
    programme: m.Programme, directory: str, shared_template: str | None = None
) -> TargetMail:
    """The target's users for `programme` in `directory` (AD or OPENLDAP, see
    `directory_kind`); the template defaults to that directory's (SHARED_TEMPLATE)."""
    kind = directory
    if kind not in USER_FIELD:
        raise LabError(f"unknown target directory {kind!r}: {' or '.join(USER_FIELD)}")
    template = shared_template or SHARED_TEMPLATE[kind]
    names = [n for names in function_mailboxes(programme, template).values() for n in names]
    sources = {
        name: tuple(
            b.address.split("@", 1)[0] for b in mu.mailboxes if b.kind != m.MailboxKind.USER
        )
        for name, mu in programme.municipalities.items()
    }
    return TargetMail(kind, template, tuple(dict.fromkeys(names)), sources)


def ad_users(domain: Domain) -> LdapUsers:
    """The target DC's people over LDAPS, its Administrator binding; login = the UPN.

    Searched under the people's OU, as Dovecot setups on AD do: a subtree search from the
    domain's root also returns referrals to its DNS and configuration partitions, which
    libldap chases by resolving the domain's name with the system resolver; on a machine
    whose resolver does not know the domain that costs up to 5 s per lookup (measured)."""
    return LdapUsers(
        uri=f"ldaps://{domain.address}",
        base_dn=f"OU={samba_seed.PEOPLE_OU},{domain.base_dn}",
        bind_dn=domain.admin_dn,
        password_file=domain.admin_password_file,
        name_attribute="userPrincipalName",
        persons=AD_PERSONS,
        ca_file=domain.ca_cert,
    )


def openldap_users(paths: LabPaths, plan: LabPlan) -> LdapUsers:
    """The target slapd's people (uid=<name> under people_dn); login = the uid."""
    d = plan.directories[TARGET]
    return LdapUsers(
        uri=d.uri,
        base_dn=d.people_dn,
        bind_dn=d.bind_dn,
        password_file=slapd.password_file(paths, d),
        name_attribute="uid",
        persons=OPENLDAP_PERSONS,
        login_condition=OPENLDAP_ENABLED,
    )


def directory_users(paths: LabPaths, plan: LabPlan, kind: str) -> LdapUsers:
    if kind == AD:
        return ad_users(ad_controllers.domain_of(paths, plan.controllers[TARGET]))
    return openldap_users(paths, plan)


def server_of(
    paths: LabPaths,
    plan: LabPlan,
    host: MailHost,
    people: Sequence[LabPerson] = (),
    target: TargetMail | None = None,
) -> dovecot.MailServer:
    root = dovecot.mail_root(paths, host.name)
    if host.name != TARGET:
        functions = target.source_functions.get(host.name, ()) if target else ()
        users = tuple(dovecot.users_from_people(people, SHARED, functions))
        return dovecot.MailServer(host.name, host.address, root, users)
    # The target's people are in its directory; postmaster (first: the readiness login) and
    # the function mailboxes in its passwd-file. Without `target`, postmaster only.
    shared = [
        dovecot.MailUser(n, n if "@" in n else "", n.split("@", 1)[0].capitalize())
        for n in (target.mailboxes if target else ())
    ]
    directory = directory_users(paths, plan, target.directory) if target else None
    return dovecot.MailServer(
        host.name,
        host.address,
        root,
        (POSTMASTER, *shared),
        directory=directory,
        masters=(MASTER,) if target else (),
    )


def prepare(
    paths: LabPaths,
    plan: LabPlan,
    people: Mapping[str, Sequence[LabPerson]],
    scale: str,
    seed: int,
    target: TargetMail | None = None,
) -> dict[str, int]:
    """Configure and seed every server; returns messages per server. The target's function
    mailboxes start empty (only postmaster is seeded there)."""
    per_user, largest = VOLUME[scale]
    seeded = {}
    for name, host in plan.mail_hosts.items():
        server = server_of(paths, plan, host, people.get(name, ()), target)
        dovecot.prepare(server)
        filled = server if name != TARGET else dataclasses.replace(server, users=(POSTMASTER,))
        report = dovecot_seed.seed_server(filled, seed, per_user, attachment_max=largest)
        seeded[name] = report.messages
    return seeded


def services(
    paths: LabPaths,
    plan: LabPlan,
    people: Mapping[str, Sequence[LabPerson]],
    target: TargetMail | None = None,
) -> list[Service]:
    out = []
    for name, host in plan.mail_hosts.items():
        server = server_of(paths, plan, host, people.get(name, ()), target)
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
    paths: LabPaths,
    plan: LabPlan,
    people: Mapping[str, Sequence[LabPerson]],
    target: TargetMail | None = None,
) -> None:
    """Function mailboxes become visible to their readers (needs the running servers)."""
    for name, host in plan.mail_hosts.items():
        dovecot_seed.publish_shared(server_of(paths, plan, host, people.get(name, ()), target))


def details(
    paths: LabPaths, plan: LabPlan, target: TargetMail | None = None
) -> dict[str, dict[str, object]]:
    out: dict[str, dict[str, object]] = {}
    for name, host in plan.mail_hosts.items():
        server = server_of(paths, plan, host)
        out[name] = {
            "address": host.address,
            "imaps_port": server.imaps_port,
            "ca_file": str(server.files.cert),
            "root": str(server.root),
            "passwords": str(server.files.secrets),
            "config": str(server.files.config),
        }
        if name == TARGET and target is not None:
            out[name].update(
                users=target.directory,
                user_field=target.user_field,
                shared_template=target.shared_template,
                function_mailboxes=list(target.mailboxes),
                master_user=MASTER,
                master_password_file=str(server.password_file(MASTER)),
            )
    return out
