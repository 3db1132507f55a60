"""Assign every person one new account, deterministically, in service order.

People are served in a fixed order: the wave order of their municipality, then their old
account. Each takes the first candidate of the organisation's pattern that nobody served
before has taken and that is not still someone else's address in the new mail domain. So
the same programme always gives the same names, and adding people to a later wave never
changes the names of an earlier wave.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from eendracht.identity.candidates import (
    PATTERN,
    candidates,
    compose,
    name_parts,
    naming_changes,
    numbering_stem,
)
from eendracht.identity.models import (
    Change,
    ChangeKind,
    Claimant,
    Collision,
    Identity,
    IdentityMapping,
    IdentityReport,
)
from eendracht.identity.numbering import posix_numbers
from eendracht.identity.samaccount import with_logon_names
from eendracht.programme.models import Mailbox, MailboxKind, Organisation, Person, Programme


@dataclass(frozen=True)
class PeopleOf:
    """The people of one municipality, as the mapping reads them."""

    municipality: str
    wave: int  # position in the programme's wave order
    people: Sequence[Person]
    mailboxes: Sequence[Mailbox] = ()
    from_directory: bool = False  # people are read from its source directory at migration time


@dataclass(frozen=True)
class _Entry:
    wave: int
    municipality: str
    person: Person
    old_addresses: tuple[str, ...]

    @property
    def key(self) -> str:
        return f"{self.municipality}/{self.person.account}"

    @property
    def number_key(self) -> tuple[str, str]:
        return (self.municipality, self.person.account)

    @property
    def order(self) -> tuple[int, str, str, str]:
        return (self.wave, self.municipality, self.person.account, self.person.mail)


def map_identities(
    programme: Programme, extra_people: Mapping[str, Sequence[Person]] | None = None
) -> IdentityMapping:
    """The mapping of every listed person of the programme.

    A municipality with a `people_source` and no people listed is mapped from
    `extra_people[name]` when given (the people read from its directory), else it is
    reported in `report.from_directory`.
    """
    extra = extra_people or {}
    waves = {w.municipality: i for i, w in enumerate(programme.settings.waves)}
    groups = []
    for name, mu in programme.municipalities.items():
        people = list(mu.people) or list(extra.get(name, ()))
        groups.append(
            PeopleOf(
                municipality=name,
                wave=waves.get(name, len(waves)),
                people=people,
                mailboxes=mu.mailboxes,
                from_directory=not people and mu.people_source is not None,
            )
        )
    return map_people(programme.settings.organisation, groups)


def map_people(organisation: Organisation, groups: Sequence[PeopleOf]) -> IdentityMapping:
    entries: list[_Entry] = []
    for g in groups:
        owned = _user_mailboxes(g.mailboxes)
        entries.extend(
            _Entry(g.wave, g.municipality, person, _old_addresses(person, owned))
            for person in g.people
        )
    entries.sort(key=lambda e: e.order)
    domain = organisation.mail_domain
    names = {e.key: f"{e.person.full_name} ({e.key})" for e in entries}
    reserved: dict[str, str] = {}
    for e in entries:
        for address in e.old_addresses:
            local, _, at = address.partition("@")
            if at == domain:
                reserved.setdefault(local, e.key)

    state = _Taken(names=names, reserved=reserved)
    numbers = _numbers(entries, groups)
    identities = with_logon_names(
        [_assign(e, organisation, state, numbers[e.number_key]) for e in entries]
    )
    return IdentityMapping(
        organisation=organisation.name,
        mail_domain=domain,
        upn_suffix=organisation.upn_suffix,
        username_pattern=organisation.username_pattern,
        identities=identities,
        report=_report(identities, groups),
    )


def _numbers(
    entries: Sequence[_Entry], groups: Sequence[PeopleOf]
) -> dict[tuple[str, str], tuple[int, int]]:
    """(municipality, old account) -> the uid and gid that numbering.posix_numbers gives."""
    order = [g.municipality for g in sorted(groups, key=lambda g: (g.wave, g.municipality))]
    return posix_numbers(
        order, [(e.municipality, e.person.account, e.person.department) for e in entries]
    )


def _user_mailboxes(mailboxes: Sequence[Mailbox]) -> dict[str, list[str]]:
    """Old account -> the addresses of the user mailboxes it owns, sorted (read once per
    municipality, so each person's look-up does not read every mailbox)."""
    owned: dict[str, list[str]] = {}
    for box in mailboxes:
        if box.kind is MailboxKind.USER:
            owned.setdefault(box.owner, []).append(box.address)
    for addresses in owned.values():
        addresses.sort()
    return owned


def _old_addresses(person: Person, owned: Mapping[str, Sequence[str]]) -> tuple[str, ...]:
    """The person's mail first, then the other addresses of the user mailboxes they own."""
    others = [a for a in owned.get(person.account, ()) if a != person.mail]
    return (person.mail, *others)


@dataclass
class _Taken:
    """Names handed out so far, and where the numbered candidates of a stem become free."""

    names: Mapping[str, str]  # key -> "Jan de Vries (noordwaard/jdevries)"
    reserved: Mapping[str, str]  # local part in the new domain -> key of its owner
    users: dict[str, str] = field(default_factory=dict)  # username -> key
    # Per stem, number -> a later number; every numbered name in between is taken. A name,
    # once taken, stays taken, so nobody needs to try those numbers again: not even past a
    # number held back as someone's old address, which stops a floor below it.
    onwards: dict[tuple[str, str], dict[int, int]] = field(default_factory=dict)

    def take(self, username: str, key: str) -> None:
        self.users[username] = key

    def next_number(self, stem: tuple[str, str], number: int) -> int:
        """The first number from `number` on whose name in `stem` nobody has taken."""
        onwards = self.onwards.setdefault(stem, {})
        followed = []
        while True:
            later = onwards.get(number)
            if later is None:
                if compose(*stem, str(number)) not in self.users:
                    break
                later = number + 1
            followed.append(number)
            number = later
        for passed in followed:
            onwards[passed] = number
        return number


def _blocked_detail(blocked: list[str], stem: tuple[str, str], number: int) -> str:
    """Why the first candidates were passed over; numbers below the one taken are summed up."""
    if number == 3:
        blocked.append(f"{compose(*stem, '2')} is in use")
    elif number > 3:
        first, last = compose(*stem, "2"), compose(*stem, str(number - 1))
        blocked.append(f"{first} … {last} ({number - 2} names) are in use")
    return "; ".join(blocked)


def _assign(
    entry: _Entry, organisation: Organisation, state: _Taken, numbers: tuple[int, int]
) -> Identity:
    person = entry.person
    parts = name_parts(person)
    pattern = organisation.username_pattern
    domain = organisation.mail_domain
    stem = numbering_stem(parts, pattern)
    blocked: list[str] = []  # reasons for the named candidates and reserved numbers
    base = ""
    for candidate, candidate_rule, number in candidates(
        parts, pattern, next_number=lambda n: state.next_number(stem, n)
    ):
        base = base or candidate
        holder = state.users.get(candidate)
        owner = state.reserved.get(candidate)
        if holder is not None:
            if not number:
                blocked.append(f"{candidate} is taken by {state.names[holder]}")
        elif owner is not None and owner != entry.key:
            blocked.append(f"{candidate}@{domain} is still the address of {state.names[owner]}")
        else:
            username, rule, chosen_number = candidate, candidate_rule, number
            break
    state.take(username, entry.key)
    changes = naming_changes(person, parts, username, rule)
    if base != username:
        changes.append(
            Change(
                kind=ChangeKind.COLLISION,
                detail=f"{_blocked_detail(blocked, stem, chosen_number)}; "
                f"resolved by {rule}: {username}",
            )
        )
    mail = f"{username}@{domain}"
    return Identity(
        key=entry.key,
        municipality=entry.municipality,
        old_account=person.account,
        old_mail=person.mail,
        username=username,
        upn=f"{username}@{organisation.upn_suffix}",
        mail=mail,
        aliases=[a for a in entry.old_addresses if a != mail],
        display_name=person.full_name,
        given_name=person.given_name,
        prefix=person.prefix,
        surname=person.surname,
        department=person.department,
        workplace=person.workplace,
        enabled=person.enabled,
        base_username=base,
        resolved_by=rule if base != username else PATTERN,
        changes=changes,
        uid_number=numbers[0],
        gid_number=numbers[1],
    )


def _report(identities: Sequence[Identity], groups: Sequence[PeopleOf]) -> IdentityReport:
    by_base: dict[str, list[Identity]] = {}
    for identity in identities:
        by_base.setdefault(identity.base_username, []).append(identity)
    collision_groups = [
        Collision(
            base_username=base,
            holder=next((i.key for i in claimants if i.username == base), ""),
            claimants=[
                Claimant(
                    key=i.key,
                    display_name=i.display_name,
                    username=i.username,
                    resolved_by=i.resolved_by,
                )
                for i in claimants
            ],
        )
        for base, claimants in sorted(by_base.items())
        if any(i.username != base for i in claimants)
    ]

    def count(kind: ChangeKind) -> int:
        return sum(any(c.kind is kind for c in i.changes) for i in identities)

    per_municipality = {g.municipality: 0 for g in sorted(groups, key=lambda g: g.wave)}
    for identity in identities:
        per_municipality[identity.municipality] += 1
    return IdentityReport(
        accounts=len(identities),
        per_municipality=per_municipality,
        enabled=sum(i.enabled for i in identities),
        aliases=sum(len(i.aliases) for i in identities),
        collisions=len(collision_groups),
        renamed=sum(i.username != i.base_username for i in identities),
        accents_folded=count(ChangeKind.ACCENTS),
        tussenvoegsels_joined=count(ChangeKind.TUSSENVOEGSEL),
        separators_dropped=count(ChangeKind.SEPARATORS),
        fallbacks=count(ChangeKind.FALLBACK),
        shortened=count(ChangeKind.SHORTENED),
        logon_names_cut=count(ChangeKind.LOGON_NAME),
        from_directory=[g.municipality for g in groups if g.from_directory],
        collision_groups=collision_groups,
    )
