"""The security rules of the consolidated environment, as plain functions over resource props.

No Pulumi imports here: the CrossGuard pack (eendracht_policies.py, run by
`pulumi preview --policy-pack policy`) and the stack tests (over the mocked resource graph)
call the same functions. `docs/security.md` maps each rule to its BIO2 measure.

Props are the resource inputs as Pulumi sends them to CrossGuard: camelCase keys.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# Azure regions inside the European Union (BIO2 / AVG: data stays in the EU). The one list is
# eu_regions.json in this folder, so it ships with the pack; the programme model reads it too.
EU_REGIONS = frozenset(json.loads(Path(__file__).with_name("eu_regions.json").read_text("utf-8")))
REQUIRED_TAGS = ("programme", "cost-centre", "environment", "managed-by")
NO_NSG_SUBNETS = frozenset({"GatewaySubnet", "AzureBastionSubnet", "AzureFirewallSubnet"})

T_NIC = "azure-native:network:NetworkInterface"
T_VM = "azure-native:compute:VirtualMachine"
T_VMSS = "azure-native:compute:VirtualMachineScaleSet"  # the session hosts of a host pool
T_VNET = "azure-native:network:VirtualNetwork"
T_STORAGE = "azure-native:storage:StorageAccount"
T_KEY_VAULT = "azure-native:keyvault:Vault"
T_RECOVERY_VAULT = "azure-native:recoveryservices:Vault"
T_POSTGRES = "azure-native:dbforpostgresql:Server"
T_CONDITIONAL_ACCESS = "azuread:index/conditionalAccessPolicy:ConditionalAccessPolicy"
T_USER = "azuread:index/user:User"
T_DIAGNOSTICS = "azure-native:monitor:DiagnosticSetting"
T_PRIVATE_ENDPOINT = "azure-native:network:PrivateEndpoint"
T_RESOURCE_GROUP = "azure-native:resources:ResourceGroup"
T_SERVICE_BUS = "azure-native:servicebus:Namespace"
T_DCR_ASSOCIATION = "azure-native:monitor:DataCollectionRuleAssociation"

# Resources that must send logs/metrics to Log Analytics (the types that support it here).
DIAGNOSED_TYPES = frozenset(
    {
        T_KEY_VAULT,
        T_RECOVERY_VAULT,
        T_VNET,
        T_POSTGRES,
        T_SERVICE_BUS,
        T_STORAGE,
        "azure-native:network:NetworkSecurityGroup",
        "azure-native:network:PublicIPAddress",
        "azure-native:network:VirtualNetworkGateway",
        "azure-native:network:LoadBalancer",
        "azure-native:operationalinsights:Workspace",
        "azure-native:desktopvirtualization:HostPool",
        "azure-native:desktopvirtualization:ApplicationGroup",
        "azure-native:desktopvirtualization:Workspace",
        "azure-native:desktopvirtualization:ScalingPlan",
        "azure-native:apimanagement:ApiManagementService",
        "azure-native:trafficmanager:Profile",
    }
)
# Conditional Access states in which a policy acts: enforced, or evaluated and logged
# (report-only, how every policy is rolled out); only `disabled` does nothing.
CA_ACTIVE_STATES = frozenset({"enabled", "enabledForReportingButNotEnforced"})
# employeeType of the stack's emergency-access (break-glass) accounts
# (stacks/consolidated/emergency_access.py); Microsoft's guidance is at least two.
EMERGENCY_ACCESS = "emergency-access"
EMERGENCY_ACCOUNTS_MIN = 2
# PaaS that must be reachable through a private endpoint only.
PRIVATE_TYPES = frozenset({T_STORAGE, T_KEY_VAULT, T_SERVICE_BUS})


def _get(props: Mapping[str, Any], *path: str) -> Any:
    value: Any = props
    for key in path:
        if not isinstance(value, Mapping):
            return None
        value = value.get(key)
    return value


def _list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list | tuple) else []


# --- rules on one resource: (type, props) -> violation messages ------------------------


def _vm_model(type_: str, props: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """What a VM is made of: the VM's own properties, or a scale set's model of its VMs."""
    if type_ == T_VM:
        return props
    if type_ == T_VMSS:
        model = props.get("virtualMachineProfile")
        return model if isinstance(model, Mapping) else {}
    return None


def no_public_ip(type_: str, props: Mapping[str, Any]) -> list[str]:
    """Session hosts and application servers have no public address: not on a NIC, not in a
    VM's own network configuration, not in a scale set's model of its VMs."""
    out = []
    if type_ == T_NIC:
        for config in _list(props.get("ipConfigurations")):
            if _get(config, "publicIPAddress"):
                out.append(
                    f"network interface ip configuration {_get(config, 'name')!r} has a public IP"
                )
    model = _vm_model(type_, props)
    if model is not None:
        what = "virtual machine" if type_ == T_VM else "scale set VM model"
        for nic in _list(_get(model, "networkProfile", "networkInterfaceConfigurations")):
            for config in _list(_get(nic, "ipConfigurations")):
                if _get(config, "publicIPAddressConfiguration"):
                    out.append(f"{what} network configuration requests a public IP")
    return out


def trusted_launch(type_: str, props: Mapping[str, Any]) -> list[str]:
    """Every VM, and every VM a scale set makes, runs with Trusted Launch (Secure Boot, vTPM)."""
    model = _vm_model(type_, props)
    if model is None:
        return []
    profile = model.get("securityProfile") or {}
    ok = (
        _get(profile, "securityType") == "TrustedLaunch"
        and _get(profile, "uefiSettings", "secureBootEnabled") is True
        and _get(profile, "uefiSettings", "vTpmEnabled") is True
    )
    what = "virtual machine" if type_ == T_VM else "scale set VM model"
    return [] if ok else [f"{what} is not Trusted Launch with Secure Boot and vTPM"]


def storage_secure(type_: str, props: Mapping[str, Any]) -> list[str]:
    """Storage: HTTPS only, TLS 1.2 minimum, no public blob access, no public network access."""
    if type_ != T_STORAGE:
        return []
    out = []
    if props.get("enableHttpsTrafficOnly") is not True:
        out.append("storage account allows plain HTTP (enableHttpsTrafficOnly must be true)")
    if props.get("minimumTlsVersion") not in ("TLS1_2", "TLS1_3"):
        out.append(
            f"storage account allows TLS below 1.2 (minimumTlsVersion={props.get('minimumTlsVersion')!r})"
        )
    if props.get("allowBlobPublicAccess") is not False:
        out.append(
            "storage account allows public blob access (allowBlobPublicAccess must be false)"
        )
    firewalled = _get(props, "networkRuleSet", "defaultAction") == "Deny" and not _list(
        _get(props, "networkRuleSet", "ipRules")
    )
    if props.get("publicNetworkAccess") != "Disabled" and not firewalled:
        out.append(
            "storage account is reachable from public networks (publicNetworkAccess must be "
            "Disabled, or the firewall must deny all but trusted Azure services)"
        )
    return out


def key_vault_protected(type_: str, props: Mapping[str, Any]) -> list[str]:
    """Key Vault: purge protection, soft delete, RBAC authorisation, no public network access."""
    if type_ != T_KEY_VAULT:
        return []
    properties = props.get("properties") or {}
    out = []
    if _get(properties, "enablePurgeProtection") is not True:
        out.append("key vault without purge protection")
    if _get(properties, "enableSoftDelete") is False:
        out.append("key vault with soft delete disabled")
    if _get(properties, "enableRbacAuthorization") is not True:
        out.append("key vault uses access policies instead of RBAC")
    if _get(properties, "publicNetworkAccess") != "Disabled":
        out.append("key vault is reachable from public networks")
    return out


def backups_geo_redundant(type_: str, props: Mapping[str, Any]) -> list[str]:
    """Recovery Services vaults and database backups are geo-redundant."""
    if type_ == T_RECOVERY_VAULT:
        redundancy = _get(
            props, "properties", "redundancySettings", "standardTierStorageRedundancy"
        )
        if redundancy != "GeoRedundant":
            return [
                f"recovery services vault storage is {redundancy or 'not set'}, not GeoRedundant"
            ]
    if type_ == T_POSTGRES and _get(props, "backup", "geoRedundantBackup") != "Enabled":
        return ["PostgreSQL server backups are not geo-redundant"]
    return []


def subnets_have_nsg(type_: str, props: Mapping[str, Any]) -> list[str]:
    """Every subnet (except Azure's gateway subnets, which refuse one) has an NSG."""
    if type_ != T_VNET:
        return []
    return [
        f"subnet {_get(s, 'name')!r} has no network security group"
        for s in _list(props.get("subnets"))
        if _get(s, "name") not in NO_NSG_SUBNETS and not _get(s, "networkSecurityGroup")
    ]


def region_in_eu(type_: str, props: Mapping[str, Any]) -> list[str]:
    """Every located resource is in an EU region (or global)."""
    location = props.get("location")
    if not type_.startswith("azure-native:") or not isinstance(location, str):
        return []
    if location.lower() in ("global", *EU_REGIONS):
        return []
    return [f"location {location!r} is not an Azure region in the EU"]


def tags_present(type_: str, props: Mapping[str, Any]) -> list[str]:
    """Every located (taggable) Azure resource carries the programme's tags."""
    if not type_.startswith("azure-native:") or "location" not in props:
        return []
    tags = props.get("tags") or {}
    missing = [t for t in REQUIRED_TAGS if not (isinstance(tags, Mapping) and tags.get(t))]
    return [f"missing tags: {', '.join(missing)}"] if missing else []


def _active_policy(type_: str, props: Mapping[str, Any]) -> bool:
    """A Conditional Access policy that is enforced or in report-only mode."""
    return type_ == T_CONDITIONAL_ACCESS and props.get("state") in CA_ACTIVE_STATES


def conditional_access_requires_mfa(type_: str, props: Mapping[str, Any]) -> list[str]:
    """An enabled or report-only Conditional Access policy either blocks or requires MFA
    (a report-only policy is the one that will be enforced)."""
    if not _active_policy(type_, props):
        return []
    controls = set(_list(_get(props, "grantControls", "builtInControls")))
    if "block" in controls or "mfa" in controls:
        return []
    return ["conditional access policy grants access without MFA"]


RESOURCE_RULES: dict[str, Callable[[str, Mapping[str, Any]], list[str]]] = {
    "no-public-ip-on-vms": no_public_ip,
    "vms-trusted-launch": trusted_launch,
    "storage-secure-transport-private": storage_secure,
    "key-vault-purge-protection": key_vault_protected,
    "backups-geo-redundant": backups_geo_redundant,
    "subnets-have-nsg": subnets_have_nsg,
    "region-in-eu": region_in_eu,
    "tags-present": tags_present,
    "conditional-access-mfa": conditional_access_requires_mfa,
}


# --- rules on the whole stack ---------------------------------------------------------


@dataclass(frozen=True)
class Res:
    """A resource of the stack: its key (resource id or URN) and what its properties refer to."""

    type: str
    name: str
    props: Mapping[str, Any]
    key: str
    refs: Mapping[str, frozenset[str]] = field(default_factory=dict)


def diagnostics_to_log_analytics(resources: Iterable[Res]) -> list[str]:
    """Each resource of a diagnosable type has a diagnostic setting into Log Analytics."""
    resources = list(resources)
    diagnosed = {
        key
        for r in resources
        if r.type == T_DIAGNOSTICS and r.props.get("workspaceId")
        for key in r.refs.get("resourceUri", frozenset())
    }
    return [
        f"{r.type} {r.name!r} sends no diagnostics to Log Analytics"
        for r in resources
        if r.type in DIAGNOSED_TYPES and r.key not in diagnosed
    ]


def server_events_to_log_analytics(resources: Iterable[Res]) -> list[str]:
    """Every VM or scale set except session hosts (tag role=sessionhost) is associated with a
    data collection rule, so its security and system events reach Log Analytics."""
    resources = list(resources)
    associated = {
        key
        for r in resources
        if r.type == T_DCR_ASSOCIATION and r.props.get("dataCollectionRuleId")
        for key in r.refs.get("resourceUri", frozenset())
    }
    return [
        f"{'virtual machine' if r.type == T_VM else 'scale set'} {r.name!r} sends no events "
        "to Log Analytics (no data collection rule)"
        for r in resources
        if r.type in (T_VM, T_VMSS)
        and _get(r.props, "tags", "role") != "sessionhost"
        and r.key not in associated
    ]


def private_endpoints_for_paas(resources: Iterable[Res]) -> list[str]:
    """Storage, Key Vault and Service Bus each have a private endpoint."""
    resources = list(resources)
    reached = {
        key
        for r in resources
        if r.type == T_PRIVATE_ENDPOINT
        for key in r.refs.get("privateLinkServiceConnections", frozenset())
    }
    return [
        f"{r.type} {r.name!r} has no private endpoint"
        for r in resources
        if r.type in PRIVATE_TYPES and r.key not in reached
    ]


def fallback_region_distinct(resources: Iterable[Res]) -> list[str]:
    """The fallback site (resource group tagged site=fallback) is in another EU region."""
    groups = [r for r in resources if r.type == T_RESOURCE_GROUP]
    fallback = {
        str(g.props.get("location")) for g in groups if _get(g.props, "tags", "site") == "fallback"
    }
    primary = {
        str(g.props.get("location")) for g in groups if _get(g.props, "tags", "site") != "fallback"
    }
    if not fallback:
        return ["no fallback site: no resource group is tagged site=fallback"]
    out = [f"fallback region {f!r} is also a primary region" for f in sorted(fallback & primary)]
    out += [
        f"region {r!r} is not in the EU" for r in sorted(fallback | primary) if r not in EU_REGIONS
    ]
    return out


def conditional_access_mfa_and_compliant(resources: Iterable[Res]) -> list[str]:
    """At least one policy for all users requires MFA AND a compliant device, enforced or in
    report-only mode (the rollout); a disabled one does not count."""
    for r in resources:
        if not _active_policy(r.type, r.props):
            continue
        controls = set(_list(_get(r.props, "grantControls", "builtInControls")))
        users = set(_list(_get(r.props, "conditions", "users", "includedUsers")))
        operator = _get(r.props, "grantControls", "operator")
        if {"mfa", "compliantDevice"} <= controls and operator == "AND" and "All" in users:
            return []
    return [
        "no enabled or report-only Conditional Access policy requires MFA and a compliant "
        "device for all users"
    ]


def conditional_access_excludes_emergency_access(resources: Iterable[Res]) -> list[str]:
    """Every enabled or report-only Conditional Access policy excludes each emergency-access
    account (azuread users with employeeType `emergency-access`) by itself, and there are at
    least two such accounts. A policy refers to the users it excludes: CrossGuard gives that as
    the property dependencies of `conditions`, the tests as the excluded object ids."""
    resources = list(resources)
    policies = [r for r in resources if _active_policy(r.type, r.props)]
    if not policies:
        return []
    accounts = [
        r for r in resources if r.type == T_USER and r.props.get("employeeType") == EMERGENCY_ACCESS
    ]
    out = []
    if len(accounts) < EMERGENCY_ACCOUNTS_MIN:
        out.append(
            f"{len(accounts)} emergency-access account(s) (azuread users with employeeType "
            f"{EMERGENCY_ACCESS!r}) while Conditional Access policies exist; at least "
            f"{EMERGENCY_ACCOUNTS_MIN} are needed, excluded from every policy"
        )
    for policy in policies:
        excluded = policy.refs.get("conditions", frozenset())
        missing = [a.name for a in accounts if a.key not in excluded]
        if missing:
            out.append(
                f"conditional access policy {policy.name!r} does not exclude the "
                f"emergency-access account(s) {', '.join(repr(n) for n in missing)}"
            )
    return out


STACK_RULES: dict[str, Callable[[Iterable[Res]], list[str]]] = {
    "diagnostics-to-log-analytics": diagnostics_to_log_analytics,
    "server-events-to-log-analytics": server_events_to_log_analytics,
    "private-endpoints-for-paas": private_endpoints_for_paas,
    "fallback-region-distinct-eu": fallback_region_distinct,
    "conditional-access-mfa-compliant-device": conditional_access_mfa_and_compliant,
    "conditional-access-excludes-emergency-access": conditional_access_excludes_emergency_access,
}
