"""CrossGuard policies over eendracht_rules: one ResourceValidationPolicy or StackValidationPolicy
per rule, mandatory. The validate functions are module-level so tests can call them directly."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import eendracht_rules as rules
from pulumi_policy import (
    EnforcementLevel,
    Policy,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)

DESCRIPTIONS = {
    "no-public-ip-on-vms": "Session hosts (scale set models) and servers have no public IP (BIO2 8.20, 8.22).",
    "vms-trusted-launch": "VMs and scale set models use Trusted Launch: Secure Boot and vTPM (BIO2 8.7, 8.9).",
    "storage-secure-transport-private": "Storage: HTTPS only, TLS 1.2+, no public blob or network access (BIO2 8.24, 8.20).",
    "key-vault-purge-protection": "Key Vault: purge protection, soft delete, RBAC, private (BIO2 8.24, 8.13).",
    "backups-geo-redundant": "Backups are geo-redundant (BIO2 8.13, 8.14).",
    "subnets-have-nsg": "Every subnet has a network security group (BIO2 8.20, 8.22).",
    "region-in-eu": "Resources stay in EU regions (BIO2 5.34, AVG).",
    "tags-present": "Resources carry programme, cost-centre, environment and managed-by tags (BIO2 5.9).",
    "conditional-access-mfa": "Enabled and report-only Conditional Access policies block or require MFA (BIO2 5.17.01, 8.5).",
    "diagnostics-to-log-analytics": "Resources send diagnostics to Log Analytics (BIO2 8.15, 8.16).",
    "server-events-to-log-analytics": "Servers send security and system events to Log Analytics (BIO2 8.15, 8.16).",
    "private-endpoints-for-paas": "Storage, Key Vault and Service Bus have private endpoints (BIO2 8.20, 8.22).",
    "fallback-region-distinct-eu": "The fallback site is in another EU region (BIO2 5.30, 8.14).",
    "conditional-access-mfa-compliant-device": "Conditional Access (enabled or report-only) requires MFA and a compliant device (BIO2 5.17.01, 8.1).",
    "conditional-access-excludes-emergency-access": "Every active Conditional Access policy excludes both emergency-access accounts (BIO2 5.17, 8.2, 5.29).",
    "site-recovery-managed-identity": "Site Recovery's agent auto-update uses a managed identity, not a retired Run As account (BIO2 8.8, 5.17).",
    "failover-profile-priority": "Traffic Manager failover profiles: priority 1/2, short TTL, health probe (BIO2 5.30, 8.14).",
    "application-groups-in-a-workspace": "Every AVD application group is in a workspace and assigned to users (BIO2 5.30, 5.15).",
    "fallback-reaches-sites-itself": "The fallback region reaches the sites through its own VPN gateway (BIO2 5.30, 8.14).",
    "site-recovery-supported": "Replicated servers and the cache account are as the A2A support matrix supports (BIO2 5.30, 8.14).",
    "replicated-servers-in-recovery-plan": "Every replicated server is in a recovery plan (BIO2 5.30, 5.29).",
    "security-events-land": "Security events go to a workspace with Microsoft Sentinel or Defender for Servers (BIO2 8.15, 8.16).",
}


def resource_validator(
    rule: Callable[[str, Mapping[str, Any]], list[str]],
) -> Callable[[ResourceValidationArgs, ReportViolation], None]:
    def validate(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
        for message in rule(args.resource_type, args.props):
            report_violation(message, None)

    validate.__name__ = f"validate_{rule.__name__}"
    return validate


def as_res(resources: list[Any]) -> list[rules.Res]:
    """CrossGuard resources as rules.Res: the URN is the key, references come from the
    property dependencies (ids are unknown during a preview, dependencies are not)."""
    return [
        rules.Res(
            type=r.resource_type,
            name=r.name,
            props=r.props,
            key=r.urn,
            refs={
                prop: frozenset(dep.urn for dep in deps)
                for prop, deps in (r.property_dependencies or {}).items()
            },
        )
        for r in resources
    ]


def stack_validator(
    rule: Callable[[list[rules.Res]], list[str]],
) -> Callable[[StackValidationArgs, ReportViolation], None]:
    def validate(args: StackValidationArgs, report_violation: ReportViolation) -> None:
        for message in rule(as_res(list(args.resources))):
            report_violation(message, None)

    validate.__name__ = f"validate_{rule.__name__}"
    return validate


RESOURCE_VALIDATORS = {name: resource_validator(fn) for name, fn in rules.RESOURCE_RULES.items()}
STACK_VALIDATORS = {name: stack_validator(fn) for name, fn in rules.STACK_RULES.items()}

POLICIES: list[Policy] = [
    *(
        ResourceValidationPolicy(
            name=name,
            description=DESCRIPTIONS[name],
            validate=validate,
            enforcement_level=EnforcementLevel.MANDATORY,
        )
        for name, validate in RESOURCE_VALIDATORS.items()
    ),
    *(
        StackValidationPolicy(
            name=name,
            description=DESCRIPTIONS[name],
            validate=validate,
            enforcement_level=EnforcementLevel.MANDATORY,
        )
        for name, validate in STACK_VALIDATORS.items()
    ),
]
