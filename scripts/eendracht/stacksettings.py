"""Stack settings: the Pulumi config of one stack, validated once, in one place.

`stacks/__main__.py` reads the `eendracht:*` config keys into `StackSettings`; the preview
command reads the same keys from `stacks/Pulumi.<stack>.yaml`. Components never read config:
they get these values (and the programme) through their typed args.

A model of the package, like the programme's: `stacks/consolidated` imports both, and the
package (`stackconfig.py`) needs this one without importing the stacks.
"""

from __future__ import annotations

import ipaddress
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic.alias_generators import to_camel

CONFIG_NAMESPACE = "eendracht"
# eendracht:conditionalAccess: how every Conditional Access policy runs. Report-only until a
# reviewed change of the stack file says `enforced` (docs/stacks.md).
CONDITIONAL_ACCESS_MODES = ("reportOnly", "enforced")
MAIL = r"^[^@\s]+@[^@\s]+\.[a-z]{2,}$"
# Config keys the program reads with `config.get_secret` (stacks/__main__.py): only ever set
# with `pulumi config set --secret`, so a stack file holds them as `secure: <ciphertext>`.
SECRET_CONFIG_KEYS = frozenset({"adminPassword", "vpnSharedKey", "graphClientSecret"})
# Config keys the program reads besides the settings, in plain text.
OTHER_CONFIG_KEYS = frozenset({"graphClientId"})


class StackSettings(BaseModel):
    """Overrides a stack may set on top of its programme; the defaults are documented sizing."""

    model_config = ConfigDict(
        extra="forbid", frozen=True, alias_generator=to_camel, populate_by_name=True
    )

    programme: Annotated[str, Field(min_length=1)]  # folder, relative to the repository root
    environment: Annotated[str, Field(pattern=r"^[a-z][a-z0-9]{1,7}$")] = "prod"
    session_density: Annotated[int, Field(ge=1, le=64)] = 12  # office users per session host
    cad_density: Annotated[int, Field(ge=1, le=16)] = 2  # CAD users per GPU session host
    concurrency: Annotated[float, Field(gt=0, le=1)] = 0.8  # share of staff online at once
    min_office_hosts: Annotated[int, Field(ge=1, le=10)] = 2
    office_vm_size: str = "Standard_D8s_v5"
    gpu_vm_size: str = "Standard_NV12ads_A10_v5"
    app_vm_size: str = "Standard_D4s_v5"
    domain_controller_vm_size: str = "Standard_D2s_v5"
    profile_gib_per_user: Annotated[int, Field(ge=5, le=200)] = 30
    file_headroom: Annotated[float, Field(ge=1.0, le=3.0)] = 1.25
    address_space: str | None = None  # overrides programme.azure.address_space
    backup_retention_days: Annotated[int, Field(ge=7, le=9999)] = 30
    log_retention_days: Annotated[int, Field(ge=30, le=730)] = 365
    # Linux VMs: the only key accepted besides Entra ID SSH login; the public half only.
    admin_ssh_public_key: Annotated[
        str, Field(pattern=r"^(ssh-ed25519|ssh-rsa|ecdsa-sha2-\S+) \S+")
    ]
    registration_expiry: str | None = None  # AVD registration token expiry (ISO 8601)
    # Conditional Access: report-only (`enabledForReportingButNotEnforced`) or enforced.
    conditional_access: Literal["reportOnly", "enforced"] = "reportOnly"
    # Who is mailed when an emergency-access account signs in; the program requires it.
    security_alert_email: Annotated[str, Field(pattern=MAIL)] | None = None

    @field_validator("conditional_access", mode="before")
    @classmethod
    def _conditional_access(cls, value: Any) -> Any:
        if value not in CONDITIONAL_ACCESS_MODES:
            raise ValueError(
                f"eendracht:conditionalAccess must be reportOnly or enforced, not {value!r} "
                "(report-only until a reviewed change of the stack file enforces it)"
            )
        return value

    @field_validator("office_vm_size", "gpu_vm_size", "app_vm_size", "domain_controller_vm_size")
    @classmethod
    def _vm_size(cls, value: str) -> str:
        if not value.startswith("Standard_"):
            raise ValueError(f"{value!r} is not an Azure VM size (Standard_...)")
        return value

    @field_validator("gpu_vm_size")
    @classmethod
    def _nv_series(cls, value: str) -> str:
        if not value.startswith("Standard_NV"):
            raise ValueError(f"{value!r} is not an NV-series (GPU) size")
        return value

    @field_validator("address_space")
    @classmethod
    def _cidr(cls, value: str | None) -> str | None:
        if value is None:
            return None
        net = ipaddress.ip_network(value, strict=True)
        if not net.is_private or net.prefixlen > 20:
            raise ValueError(f"address space {value!r} must be private and /20 or larger")
        return value

    @classmethod
    def config_keys(cls) -> list[str]:
        """The `eendracht:<key>` names a stack file may set (camelCase, as Pulumi writes them)."""
        return [f.alias or name for name, f in cls.model_fields.items()]

    @classmethod
    def from_config(cls, values: dict[str, Any]) -> StackSettings:
        """From `{camelCaseKey: value}` as found under the `eendracht:` namespace."""
        return cls.model_validate(values)
