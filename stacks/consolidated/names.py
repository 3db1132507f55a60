"""Azure resource names, following the Cloud Adoption Framework abbreviations.

Globally unique names (storage accounts, Key Vault, Service Bus, API Management, PostgreSQL)
get a short, stable suffix derived from programme and environment, so a name is the same on
every run and the endpoints derived from it can be exported without waiting for Azure.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass


def _alnum(value: str) -> str:
    return re.sub(r"[^a-z0-9]", "", value.lower())


@dataclass(frozen=True)
class Names:
    programme: str
    environment: str

    @property
    def suffix(self) -> str:
        digest = hashlib.sha256(f"{self.programme}/{self.environment}".encode()).hexdigest()
        return digest[:5]

    def __call__(self, abbreviation: str, *parts: str) -> str:
        """Regional resource name, e.g. `vnet-waardstad-prod-hub`."""
        return "-".join([abbreviation, self.programme, self.environment, *parts])

    def unique(self, abbreviation: str, purpose: str, max_length: int = 24) -> str:
        """Globally unique name with hyphens (Key Vault, Service Bus, APIM, PostgreSQL)."""
        head = f"{abbreviation}-{self.programme}-{purpose}"
        return f"{head[: max_length - len(self.suffix) - 1]}-{self.suffix}"

    def storage(self, purpose: str) -> str:
        """Storage account name: 3-24 lower-case letters and digits."""
        head = f"st{_alnum(self.programme)}{_alnum(purpose)}"
        return f"{head[: 24 - len(self.suffix)]}{self.suffix}"

    def computer(self, prefix: str, index: int) -> str:
        """Windows computer name: at most 15 characters."""
        return f"{_alnum(prefix)[:11]}-{index:03d}"[:15]

    def computer_prefix(self, prefix: str) -> str:
        """Computer name prefix of a scale set's Windows VMs: at most 9 characters (Azure
        appends 6 to make each host's name, 15 in all)."""
        return _alnum(prefix)[:9]
