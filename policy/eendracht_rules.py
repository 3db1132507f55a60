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
T_DCR = "azure-native:monitor:DataCollectionRule"
T_LOG_WORKSPACE = "azure-native:operationalinsights:Workspace"
T_SENTINEL = "azure-native:securityinsights:SentinelOnboardingState"
T_DEFENDER_PRICING = "azure-native:security:Pricing"
T_APP_GROUP = "azure-native:desktopvirtualization:ApplicationGroup"
T_AVD_WORKSPACE = "azure-native:desktopvirtualization:Workspace"
T_ROLE_ASSIGNMENT = "azure-native:authorization:RoleAssignment"
T_VPN_GATEWAY = "azure-native:network:VirtualNetworkGateway"
T_LOCAL_GATEWAY = "azure-native:network:LocalNetworkGateway"
T_CONNECTION = "azure-native:network:VirtualNetworkGatewayConnection"
T_PEERING = "azure-native:network:VirtualNetworkPeering"
T_PROTECTED_ITEM = "azure-native:recoveryservices:ReplicationProtectedItem"
T_CONTAINER_MAPPING = "azure-native:recoveryservices:ReplicationProtectionContainerMapping"
T_RECOVERY_PLAN = "azure-native:recoveryservices:ReplicationRecoveryPlan"
T_TRAFFIC_MANAGER = "azure-native:trafficmanager:Profile"

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
# Tag (role) of the one kind of storage account that must stay open to "All networks": Site
# Recovery's cache account. The A2A support matrix, "Cache storage": "Don't restrict virtual
# network access to your storage accounts used for Site Recovery. You should allow access from
# 'All networks'." The stack rule `site-recovery-supported` checks that an account so tagged
# really is the staging account of replicated servers.
ASR_CACHE_ROLE = "asr-cache"
# Built-in role "Desktop Virtualization User": what lets a user see an application group.
DESKTOP_VIRTUALIZATION_USER = "1d18fff3-a72a-46b5-b4a9-0b38a3cd7e63"
# Marketplace images (publisher, offer) whose operating system the Azure-to-Azure support matrix
# lists (learn.microsoft.com/azure/site-recovery/azure-to-azure-support-matrix, "Replicated
# machine operating systems", ms.date 06/13/2025): Windows Server 2012-2025, Ubuntu up to 22.04
# LTS. Ubuntu 24.04 LTS (offer ubuntu-24_04-lts) is not in it.
A2A_SUPPORTED_IMAGES = frozenset(
    {
        ("MicrosoftWindowsServer", "WindowsServer"),
        ("Canonical", "0001-com-ubuntu-server-jammy"),  # 22.04 LTS
        ("Canonical", "0001-com-ubuntu-server-focal"),  # 20.04 LTS
    }
)
# Streams a data collection rule sends that land only in a workspace with Microsoft Sentinel
# (or Defender for Servers) on it: the SecurityEvent table.
SECURITY_STREAMS = frozenset({"Microsoft-SecurityEvent"})
# Traffic Manager as the failover switch: a DNS answer lives at most this long in resolvers.
MAX_FAILOVER_TTL = 60


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
    asr_cache = _get(props, "tags", "role") == ASR_CACHE_ROLE
    if props.get("publicNetworkAccess") != "Disabled" and not firewalled and not asr_cache:
        out.append(
            "storage account is reachable from public networks (publicNetworkAccess must be "
            "Disabled, or the firewall must deny all but trusted Azure services)"
        )
    if asr_cache and props.get("allowSharedKeyAccess") is not True:
        out.append("Site Recovery cache account refuses shared key access, which ASR needs")
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


def site_recovery_managed_identity(type_: str, props: Mapping[str, Any]) -> list[str]:
    """Site Recovery's mobility agent auto-update runs as the automation account's
    system-assigned managed identity: Run As accounts were retired on 30 September 2023."""
    if type_ != T_CONTAINER_MAPPING:
        return []
    specific = _get(props, "properties", "providerSpecificInput") or {}
    if _get(specific, "agentAutoUpdateStatus") != "Enabled":
        return []
    out = []
    kind = _get(specific, "automationAccountAuthenticationType")
    if kind != "SystemAssignedIdentity":
        out.append(
            f"Site Recovery agent auto-update authenticates with {kind or 'RunAsAccount (the API default)'}"
            ", not SystemAssignedIdentity (Run As accounts were retired on 30 September 2023)"
        )
    if not _get(specific, "automationAccountArmId"):
        out.append("Site Recovery agent auto-update names no automation account")
    return out


def failover_profile(type_: str, props: Mapping[str, Any]) -> list[str]:
    """A Traffic Manager profile is a failover switch: priority routing, the primary at
    priority 1 and the fallback at 2, a short DNS TTL and a health probe with a path."""
    if type_ != T_TRAFFIC_MANAGER:
        return []
    out = []
    if props.get("trafficRoutingMethod") != "Priority":
        out.append(f"traffic manager routes by {props.get('trafficRoutingMethod')!r}, not Priority")
    priorities = {_get(e, "name"): _get(e, "priority") for e in _list(props.get("endpoints"))}
    if priorities.get("primary") != 1 or priorities.get("fallback") != 2:
        out.append(f"traffic manager priorities are {priorities}, not primary=1 fallback=2")
    ttl = _get(props, "dnsConfig", "ttl")
    if not isinstance(ttl, int | float) or ttl > MAX_FAILOVER_TTL:
        out.append(f"traffic manager DNS TTL {ttl!r} is not at most {MAX_FAILOVER_TTL} s")
    monitor = props.get("monitorConfig") or {}
    if not _get(monitor, "path") or not _get(monitor, "intervalInSeconds"):
        out.append("traffic manager has no health probe path and interval")
    return out


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
    "site-recovery-managed-identity": site_recovery_managed_identity,
    "failover-profile-priority": failover_profile,
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


def _referenced(
    resources: Iterable[Res], type_: str, prop: str, where: Callable[[Res], bool] = lambda r: True
) -> set[str]:
    """The keys that the resources of `type_` (those `where` holds for) refer to through `prop`."""
    return {
        key
        for r in resources
        if r.type == type_ and where(r)
        for key in r.refs.get(prop, frozenset())
    }


def diagnostics_to_log_analytics(resources: Iterable[Res]) -> list[str]:
    """Each resource of a diagnosable type has a diagnostic setting into Log Analytics."""
    resources = list(resources)
    diagnosed = _referenced(
        resources, T_DIAGNOSTICS, "resourceUri", lambda r: bool(r.props.get("workspaceId"))
    )
    return [
        f"{r.type} {r.name!r} sends no diagnostics to Log Analytics"
        for r in resources
        if r.type in DIAGNOSED_TYPES and r.key not in diagnosed
    ]


def server_events_to_log_analytics(resources: Iterable[Res]) -> list[str]:
    """Every VM or scale set except session hosts (tag role=sessionhost) is associated with a
    data collection rule, so its security and system events reach Log Analytics."""
    resources = list(resources)
    associated = _referenced(
        resources,
        T_DCR_ASSOCIATION,
        "resourceUri",
        lambda r: bool(r.props.get("dataCollectionRuleId")),
    )
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
    reached = _referenced(resources, T_PRIVATE_ENDPOINT, "privateLinkServiceConnections")
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


def _refers(r: Res, prop: str, others: Iterable[Res]) -> list[Res]:
    """The resources among `others` that `r` refers to through its property `prop`."""
    keys = r.refs.get(prop, frozenset())
    return [o for o in others if o.key in keys]


def application_groups_in_a_workspace(resources: Iterable[Res]) -> list[str]:
    """Every desktop and RemoteApp application group is registered in an AVD workspace
    (applicationGroupReferences) and assigned to users (Desktop Virtualization User on the
    group or on its resource group): Microsoft, "Create an application group, a workspace, and
    assign users": users get nothing from a group until both are done."""
    resources = list(resources)
    registered = _referenced(resources, T_AVD_WORKSPACE, "applicationGroupReferences")
    assigned = _referenced(
        resources,
        T_ROLE_ASSIGNMENT,
        "scope",
        lambda r: str(r.props.get("roleDefinitionId", "")).endswith(DESKTOP_VIRTUALIZATION_USER),
    )
    out = []
    for group in resources:
        if group.type != T_APP_GROUP:
            continue
        if group.key not in registered:
            out.append(
                f"application group {group.name!r} is in no AVD workspace: its users see nothing"
            )
        scopes = {group.key, *group.refs.get("resourceGroupName", frozenset())}
        if not scopes & assigned:
            out.append(f"application group {group.name!r} is assigned to no one")
    return out


def _fallback_regions(resources: list[Res]) -> set[str]:
    return {
        str(r.props.get("location"))
        for r in resources
        if r.type == T_RESOURCE_GROUP and _get(r.props, "tags", "site") == "fallback"
    }


def _site(r: Res) -> str:
    return str(r.props.get("fqdn") or r.props.get("gatewayIpAddress") or r.name)


def fallback_reaches_sites_itself(resources: Iterable[Res]) -> list[str]:
    """The fallback region reaches the municipal sites through a VPN gateway of its own, with
    a connection to every site the primary region connects to, and no network there uses
    another region's gateway (useRemoteGateways): when the primary region is down, so is its
    gateway."""
    resources = list(resources)
    fallback = _fallback_regions(resources)
    if not fallback:
        return []
    located = [r for r in resources if isinstance(r.props.get("location"), str)]
    gateways = [r for r in located if r.type == T_VPN_GATEWAY and r.props["location"] in fallback]
    out = []
    if not gateways:
        out.append(
            "the fallback region has no VPN gateway: it reaches the sites only through the "
            "primary region"
        )
    connected: dict[bool, set[str]] = {True: set(), False: set()}
    locals_ = [r for r in located if r.type == T_LOCAL_GATEWAY]
    for connection in (r for r in located if r.type == T_CONNECTION):
        in_fallback = connection.props["location"] in fallback
        for local in _refers(connection, "localNetworkGateway2", locals_):
            connected[in_fallback].add(_site(local))
    out += [
        f"site {site!r} has a VPN connection in the primary region only"
        for site in sorted(connected[False] - connected[True])
    ]
    fallback_nets = {
        str(r.props.get("virtualNetworkName"))
        for r in located
        if r.type == T_VNET and r.props["location"] in fallback
    }
    out += [
        f"peering {r.name!r} of the fallback network uses another region's gateway "
        "(useRemoteGateways)"
        for r in resources
        if r.type == T_PEERING
        and r.props.get("useRemoteGateways") is True
        and str(r.props.get("virtualNetworkName")) in fallback_nets
    ]
    return out


def site_recovery_supported(resources: Iterable[Res]) -> list[str]:
    """What Site Recovery replicates is what the Azure-to-Azure support matrix supports: no
    encryption at host on a replicated VM ("Encryption at host: Not supported"), an operating
    system the matrix lists, and a cache account open to "All networks" (tagged role=asr-cache,
    allowed by the storage rule) that is really the staging account of replicated servers."""
    resources = list(resources)
    vms = [r for r in resources if r.type == T_VM]
    accounts = [r for r in resources if r.type == T_STORAGE]
    items = [r for r in resources if r.type == T_PROTECTED_ITEM]
    out = []
    caches: set[str] = set()
    for item in items:
        for vm in _refers(item, "properties", vms):
            if _get(vm.props, "securityProfile", "encryptionAtHost") is True:
                out.append(
                    f"replicated virtual machine {vm.name!r} has encryption at host, which "
                    "Azure-to-Azure Site Recovery does not support"
                )
            image = _get(vm.props, "storageProfile", "imageReference") or {}
            pair = (_get(image, "publisher"), _get(image, "offer"))
            if pair not in A2A_SUPPORTED_IMAGES:
                out.append(
                    f"replicated virtual machine {vm.name!r} runs {'/'.join(map(str, pair))}, "
                    "not an operating system of the Azure-to-Azure support matrix"
                )
        caches.update(a.key for a in _refers(item, "properties", accounts))
    for account in accounts:
        tagged = _get(account.props, "tags", "role") == ASR_CACHE_ROLE
        if account.key in caches and _get(account.props, "networkRuleSet", "defaultAction") != (
            "Allow"
        ):
            out.append(
                f"Site Recovery cache account {account.name!r} restricts network access; the "
                "support matrix says to allow 'All networks'"
            )
        if tagged and account.key not in caches:
            out.append(
                f"storage account {account.name!r} is tagged as Site Recovery's cache but no "
                "replicated server stages through it"
            )
    return out


def replicated_servers_in_recovery_plan(resources: Iterable[Res]) -> list[str]:
    """Every server Site Recovery protects is in a recovery plan, so a drill or a failover
    brings it up in its boot group, not by hand."""
    resources = list(resources)
    planned = _referenced(resources, T_RECOVERY_PLAN, "properties")
    return [
        f"replicated server {r.name!r} is in no recovery plan"
        for r in resources
        if r.type == T_PROTECTED_ITEM and r.key not in planned
    ]


def security_events_land(resources: Iterable[Res]) -> list[str]:
    """A data collection rule that sends Windows security events (Microsoft-SecurityEvent) sends
    them to a workspace with Microsoft Sentinel on it (or with Defender for Servers on the
    subscription): without either the SecurityEvent table does not take them."""
    resources = list(resources)
    sentinel = _referenced(resources, T_SENTINEL, "workspaceName")
    defender = any(
        r.type == T_DEFENDER_PRICING
        and r.props.get("pricingName") == "VirtualMachines"
        and r.props.get("pricingTier") == "Standard"
        for r in resources
    )
    workspaces = [r for r in resources if r.type == T_LOG_WORKSPACE]
    out = []
    for rule in (r for r in resources if r.type == T_DCR):
        streams = {
            stream
            for flow in _list(rule.props.get("dataFlows"))
            for stream in _list(_get(flow, "streams"))
        }
        if not streams & SECURITY_STREAMS or defender:
            continue
        targets = _refers(rule, "destinations", workspaces)
        if not targets or any(w.key not in sentinel for w in targets):
            out.append(
                f"data collection rule {rule.name!r} sends Microsoft-SecurityEvent to a workspace "
                "without Microsoft Sentinel (or Defender for Servers): the events would not land"
            )
    return out


STACK_RULES: dict[str, Callable[[Iterable[Res]], list[str]]] = {
    "diagnostics-to-log-analytics": diagnostics_to_log_analytics,
    "server-events-to-log-analytics": server_events_to_log_analytics,
    "private-endpoints-for-paas": private_endpoints_for_paas,
    "fallback-region-distinct-eu": fallback_region_distinct,
    "conditional-access-mfa-compliant-device": conditional_access_mfa_and_compliant,
    "conditional-access-excludes-emergency-access": conditional_access_excludes_emergency_access,
    "application-groups-in-a-workspace": application_groups_in_a_workspace,
    "fallback-reaches-sites-itself": fallback_reaches_sites_itself,
    "site-recovery-supported": site_recovery_supported,
    "replicated-servers-in-recovery-plan": replicated_servers_in_recovery_plan,
    "security-events-land": security_events_land,
}
