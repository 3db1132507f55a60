"""The identity mapping's results: one new account per person, and a report of the whole."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, computed_field

from eendracht.programme.models import UsernamePattern, Workplace


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ChangeKind(StrEnum):
    ACCENTS = "accents"  # diacritics folded: ë -> e
    TUSSENVOEGSEL = "tussenvoegsel"  # prefix joined to the surname
    SEPARATORS = "separators"  # spaces, hyphens, apostrophes dropped
    DROPPED = "dropped"  # characters with no Latin spelling left out
    FALLBACK = "fallback"  # a name part was empty after folding
    SHORTENED = "shortened"  # cut to the longest local part a mail address allows
    COLLISION = "collision"  # base name taken; another candidate used
    LOGON_NAME = "logon_name"  # sAMAccountName cut to AD's 20 characters (and numbered)


class Change(_Frozen):
    kind: ChangeKind
    detail: str


class Identity(_Frozen):
    """One person's new account. `key` is `<municipality>/<old account>`."""

    key: str
    municipality: str
    old_account: str
    old_mail: str
    username: str
    upn: str
    mail: str
    aliases: list[str]
    display_name: str  # diacritics kept: "Daniëlle van den Berg"
    given_name: str
    prefix: str
    surname: str
    department: str
    workplace: Workplace
    enabled: bool
    base_username: str  # what the pattern gives before collisions
    resolved_by: str  # "pattern", or the candidate rule that resolved a collision
    changes: list[Change]
    # POSIX numbers of the new account and its department group (identity/numbering.py):
    # the target directory gets them, and file owners are translated to them.
    uid_number: int = 0
    gid_number: int = 0
    # The pre-Windows 2000 logon name, at most 20 characters (identity/samaccount.py).
    sam_account_name: str = ""

    @computed_field  # type: ignore[prop-decorator]
    @property
    def proxy_addresses(self) -> list[str]:
        """Active Directory's proxyAddresses: the new address primary, every old one kept."""
        return [f"SMTP:{self.mail}", *(f"smtp:{a}" for a in self.aliases)]


class Claimant(_Frozen):
    key: str
    display_name: str
    username: str
    resolved_by: str


class Collision(_Frozen):
    """Several people whose pattern gives the same username, in the order they were served."""

    base_username: str
    holder: str  # key of the person who kept the base name ("" if reserved by an old address)
    claimants: list[Claimant]


class IdentityReport(_Frozen):
    accounts: int
    per_municipality: dict[str, int]
    enabled: int
    aliases: int
    collisions: int  # base names wanted by more than one person
    renamed: int  # people who did not get their base name
    accents_folded: int
    tussenvoegsels_joined: int
    separators_dropped: int
    fallbacks: int
    shortened: int
    logon_names_cut: int = 0  # sAMAccountNames cut to 20 characters
    from_directory: list[str]  # municipalities whose people are read at migration time
    collision_groups: list[Collision]


class IdentityMapping(_Frozen):
    organisation: str
    mail_domain: str
    upn_suffix: str
    username_pattern: UsernamePattern
    identities: list[Identity]  # in service order: wave, then old account
    report: IdentityReport

    def for_municipality(self, municipality: str) -> list[Identity]:
        return [i for i in self.identities if i.municipality == municipality]

    def lookup(self, municipality: str, old_account: str) -> Identity | None:
        """One person's identity; for many look-ups build `by_key()` once instead."""
        key = f"{municipality}/{old_account}"
        return next((i for i in self.identities if i.key == key), None)

    def by_key(self) -> dict[str, Identity]:
        """`<municipality>/<old account>` -> identity."""
        return {i.key: i for i in self.identities}

    def by_username(self) -> dict[str, Identity]:
        return {i.username: i for i in self.identities}

    def collisions_of(self, municipality: str) -> list[Collision]:
        """Collision groups in which someone of this municipality took part."""
        prefix = f"{municipality}/"
        return [
            c
            for c in self.report.collision_groups
            if any(cl.key.startswith(prefix) for cl in c.claimants)
        ]
