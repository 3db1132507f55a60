"""Identity mapping: one new account and address per person, collisions resolved in order."""

from eendracht.identity.fold import fold
from eendracht.identity.mapping import PeopleOf, map_identities, map_people
from eendracht.identity.models import (
    Change,
    ChangeKind,
    Claimant,
    Collision,
    Identity,
    IdentityMapping,
    IdentityReport,
)

__all__ = [
    "Change",
    "ChangeKind",
    "Claimant",
    "Collision",
    "Identity",
    "IdentityMapping",
    "IdentityReport",
    "PeopleOf",
    "fold",
    "map_identities",
    "map_people",
]
