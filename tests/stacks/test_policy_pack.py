"""The CrossGuard pack's validate functions, called directly with CrossGuard's own argument
objects (the pack itself runs under `pulumi preview --policy-pack policy`, not here)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from pulumi_policy import (
    PolicyCustomTimeouts,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    StackValidationArgs,
    StackValidationPolicy,
)

sys.path.insert(0, str(Path(__file__).parent))
from stack_graph import REPO, mini, policy_module, rules

pack = policy_module("eendracht_policies")
TAGS = {"programme": "p", "cost-centre": "C", "environment": "prod", "managed-by": "pulumi"}


def _opts() -> PolicyResourceOptions:
    return PolicyResourceOptions(False, [], None, [], PolicyCustomTimeouts(0, 0, 0), [])


def resource_violations(name: str, type_: str, props: dict[str, Any]) -> list[str]:
    reported: list[str] = []
    args = ResourceValidationArgs(type_, props, f"urn:pulumi:s::p::{type_}::r", "r", _opts(), None)
    pack.RESOURCE_VALIDATORS[name](args, lambda message, urn=None: reported.append(message))
    return reported


def stack_violations(name: str, resources: list[PolicyResource]) -> list[str]:
    reported: list[str] = []
    pack.STACK_VALIDATORS[name](
        StackValidationArgs(resources), lambda m, urn=None: reported.append(m)
    )
    return reported


def policy_resource(
    type_: str,
    name: str,
    props: dict[str, Any],
    deps: dict[str, list[PolicyResource]] | None = None,
) -> PolicyResource:
    urn = f"urn:pulumi:s::p::{type_}::{name}"
    flat = [d for ds in (deps or {}).values() for d in ds]
    return PolicyResource(type_, props, urn, name, _opts(), None, None, flat, deps or {})


GOOD_STORAGE = {
    "location": "westeurope",
    "tags": TAGS,
    "enableHttpsTrafficOnly": True,
    "minimumTlsVersion": "TLS1_2",
    "allowBlobPublicAccess": False,
    "publicNetworkAccess": "Disabled",
}


def test_the_pack_has_one_policy_per_rule_and_a_description_each() -> None:
    names = [p.name for p in pack.POLICIES]
    assert sorted(names) == sorted([*rules.RESOURCE_RULES, *rules.STACK_RULES])
    assert set(pack.DESCRIPTIONS) == set(names)
    assert all("BIO2" in d for d in pack.DESCRIPTIONS.values())
    stack_policies = {p.name for p in pack.POLICIES if isinstance(p, StackValidationPolicy)}
    assert stack_policies == set(rules.STACK_RULES)


def test_pack_files_are_complete() -> None:
    meta = yaml.safe_load((REPO / "policy/PulumiPolicy.yaml").read_text())
    assert meta["runtime"]["name"] == "python"
    requirements = (REPO / "policy/requirements.txt").read_text()
    assert "pulumi-policy==" in requirements
    assert "PolicyPack(" in (REPO / "policy/__main__.py").read_text()
    # The EU regions ship with the pack; the programme model reads the same file.
    assert "westeurope" in rules.EU_REGIONS and "eastus" not in rules.EU_REGIONS


def test_storage_rule() -> None:
    type_ = rules.T_STORAGE
    assert resource_violations("storage-secure-transport-private", type_, GOOD_STORAGE) == []
    bad = {**GOOD_STORAGE, "enableHttpsTrafficOnly": False, "minimumTlsVersion": "TLS1_0"}
    found = resource_violations("storage-secure-transport-private", type_, bad)
    assert len(found) == 2
    firewalled = {
        **GOOD_STORAGE,
        "publicNetworkAccess": "Enabled",
        "networkRuleSet": {"defaultAction": "Deny"},
    }
    assert resource_violations("storage-secure-transport-private", type_, firewalled) == []
    opened = {
        **firewalled,
        "networkRuleSet": {"defaultAction": "Deny", "ipRules": [{"iPAddressOrRange": "1.2.3.4"}]},
    }
    assert len(resource_violations("storage-secure-transport-private", type_, opened)) == 1
    public = {**GOOD_STORAGE, "allowBlobPublicAccess": True, "publicNetworkAccess": "Enabled"}
    assert len(resource_violations("storage-secure-transport-private", type_, public)) == 2


def test_no_public_ip_rule() -> None:
    nic = {"ipConfigurations": [{"name": "ipconfig1", "subnet": {"id": "/s"}}]}
    assert resource_violations("no-public-ip-on-vms", rules.T_NIC, nic) == []
    nic["ipConfigurations"][0]["publicIPAddress"] = {"id": "/pip"}
    assert resource_violations("no-public-ip-on-vms", rules.T_NIC, nic) == [
        "network interface ip configuration 'ipconfig1' has a public IP"
    ]
    vm = {
        "networkProfile": {
            "networkInterfaceConfigurations": [
                {"ipConfigurations": [{"publicIPAddressConfiguration": {"name": "x"}}]}
            ]
        }
    }
    assert resource_violations("no-public-ip-on-vms", rules.T_VM, vm)
    scale_set = {"virtualMachineProfile": vm}
    assert resource_violations("no-public-ip-on-vms", rules.T_VMSS, scale_set) == [
        "scale set VM model network configuration requests a public IP"
    ]
    del vm["networkProfile"]["networkInterfaceConfigurations"][0]["ipConfigurations"][0][
        "publicIPAddressConfiguration"
    ]
    assert resource_violations("no-public-ip-on-vms", rules.T_VMSS, scale_set) == []


TRUSTED = {
    "securityType": "TrustedLaunch",
    "uefiSettings": {"secureBootEnabled": True, "vTpmEnabled": True},
}


@pytest.mark.parametrize(
    ("security", "ok"),
    [
        (TRUSTED, True),
        ({**TRUSTED, "securityType": "Standard"}, False),
        ({**TRUSTED, "uefiSettings": {"secureBootEnabled": True}}, False),
        (None, False),
    ],
)
def test_trusted_launch_rule_on_vms_and_scale_set_models(
    security: dict[str, Any] | None, ok: bool
) -> None:
    vm = {"securityProfile": security} if security else {}
    for type_, props in ((rules.T_VM, vm), (rules.T_VMSS, {"virtualMachineProfile": vm})):
        found = resource_violations("vms-trusted-launch", type_, props)
        assert (found == []) == ok, (type_, found)
    # a scale set without any model is not Trusted Launch either
    assert resource_violations("vms-trusted-launch", rules.T_VMSS, {}) != []


def test_key_vault_rule() -> None:
    good = {
        "properties": {
            "enablePurgeProtection": True,
            "enableRbacAuthorization": True,
            "publicNetworkAccess": "Disabled",
        }
    }
    assert resource_violations("key-vault-purge-protection", rules.T_KEY_VAULT, good) == []
    bad = {"properties": {"enableRbacAuthorization": True, "publicNetworkAccess": "Disabled"}}
    assert resource_violations("key-vault-purge-protection", rules.T_KEY_VAULT, bad) == [
        "key vault without purge protection"
    ]


def test_backup_rule() -> None:
    vault = {
        "properties": {"redundancySettings": {"standardTierStorageRedundancy": "GeoRedundant"}}
    }
    assert resource_violations("backups-geo-redundant", rules.T_RECOVERY_VAULT, vault) == []
    vault["properties"]["redundancySettings"]["standardTierStorageRedundancy"] = "ZoneRedundant"
    assert resource_violations("backups-geo-redundant", rules.T_RECOVERY_VAULT, vault)
    assert resource_violations("backups-geo-redundant", rules.T_POSTGRES, {"backup": {}})


def test_region_and_tag_rules() -> None:
    assert resource_violations("region-in-eu", rules.T_STORAGE, {"location": "eastus"})
    assert resource_violations("region-in-eu", rules.T_STORAGE, {"location": "global"}) == []
    assert resource_violations("tags-present", rules.T_STORAGE, {"location": "westeurope"}) == [
        "missing tags: programme, cost-centre, environment, managed-by"
    ]
    assert resource_violations("tags-present", rules.T_DIAGNOSTICS, {"resourceUri": "/x"}) == []


def test_nsg_rule_exempts_only_gateway_subnets() -> None:
    vnet = {
        "subnets": [
            {"name": "GatewaySubnet"},
            {"name": "snet-a", "networkSecurityGroup": {"id": "/n"}},
        ]
    }
    assert resource_violations("subnets-have-nsg", rules.T_VNET, vnet) == []
    vnet["subnets"].append({"name": "snet-b"})
    assert resource_violations("subnets-have-nsg", rules.T_VNET, vnet) == [
        "subnet 'snet-b' has no network security group"
    ]


REPORT_ONLY = "enabledForReportingButNotEnforced"


@pytest.mark.parametrize(
    ("state", "checked"), [("enabled", True), (REPORT_ONLY, True), ("disabled", False)]
)
def test_conditional_access_rules(state: str, checked: bool) -> None:
    """Enabled and report-only policies are held to the rules; a disabled one does nothing."""
    type_ = rules.T_CONDITIONAL_ACCESS
    mfa_only = {"state": state, "grantControls": {"operator": "OR", "builtInControls": ["mfa"]}}
    assert resource_violations("conditional-access-mfa", type_, mfa_only) == []
    weak = {
        "state": state,
        "grantControls": {"operator": "OR", "builtInControls": ["domainJoinedDevice"]},
    }
    assert bool(resource_violations("conditional-access-mfa", type_, weak)) == checked
    policy = policy_resource(type_, "ca", mfa_only)
    assert stack_violations("conditional-access-mfa-compliant-device", [policy])
    both = {
        "state": state,
        "conditions": {"users": {"includedUsers": ["All"]}},
        "grantControls": {"operator": "AND", "builtInControls": ["mfa", "compliantDevice"]},
    }
    policy = policy_resource(type_, "ca", both)
    found = stack_violations("conditional-access-mfa-compliant-device", [policy])
    assert found == (
        []
        if checked
        else [
            "no enabled or report-only Conditional Access policy requires MFA and a compliant "
            "device for all users"
        ]
    )


def _emergency_account(name: str, marked: bool = True) -> PolicyResource:
    props = {"userPrincipalName": f"{name}@t.onmicrosoft.com", "accountEnabled": True}
    if marked:
        props["employeeType"] = rules.EMERGENCY_ACCESS
    return policy_resource(rules.T_USER, name, props)


def _policy(state: str, excluded: list[PolicyResource]) -> PolicyResource:
    props = {
        "state": state,
        "conditions": {"users": {"includedUsers": ["All"], "excludedUsers": ["(unknown)"]}},
        "grantControls": {"operator": "OR", "builtInControls": ["block"]},
    }
    return policy_resource(
        rules.T_CONDITIONAL_ACCESS, f"ca-{state}", props, {"conditions": excluded}
    )


@pytest.mark.parametrize("state", ["enabled", REPORT_ONLY])
def test_emergency_access_rule_follows_property_dependencies(state: str) -> None:
    name = "conditional-access-excludes-emergency-access"
    one, two = _emergency_account("nood-1"), _emergency_account("nood-2")
    group = policy_resource("azuread:index/group:Group", "grp-break-glass", {})
    assert stack_violations(name, [one, two, group, _policy(state, [one, two, group])]) == []
    # one account left out of the policy's exclusions (the group alone is not enough)
    assert stack_violations(name, [one, two, group, _policy(state, [one, group])]) == [
        f"conditional access policy 'ca-{state}' does not exclude the emergency-access "
        "account(s) 'nood-2'"
    ]
    # no emergency-access accounts at all while a policy acts
    assert stack_violations(name, [_policy(state, [])]) == [
        "0 emergency-access account(s) (azuread users with employeeType 'emergency-access') "
        "while Conditional Access policies exist; at least 2 are needed, excluded from every "
        "policy"
    ]
    # an ordinary user is not an emergency-access account, even when excluded
    plain = _emergency_account("nood-2", marked=False)
    found = stack_violations(name, [one, plain, _policy(state, [one, plain])])
    assert len(found) == 1 and found[0].startswith("1 emergency-access account(s)")


def test_emergency_access_rule_ignores_disabled_policies_and_stacks_without_any() -> None:
    name = "conditional-access-excludes-emergency-access"
    assert stack_violations(name, []) == []
    assert stack_violations(name, [_policy("disabled", [])]) == []
    one, two = _emergency_account("nood-1"), _emergency_account("nood-2")
    assert stack_violations(name, [one, two, _policy("disabled", [])]) == []


def test_diagnostics_rule_follows_property_dependencies() -> None:
    vault = policy_resource(rules.T_KEY_VAULT, "kv", {"location": "westeurope"})
    assert stack_violations("diagnostics-to-log-analytics", [vault]) == [
        "azure-native:keyvault:Vault 'kv' sends no diagnostics to Log Analytics"
    ]
    diag = policy_resource(
        rules.T_DIAGNOSTICS, "diag-kv", {"workspaceId": "/log"}, {"resourceUri": [vault]}
    )
    assert stack_violations("diagnostics-to-log-analytics", [vault, diag]) == []
    no_workspace = policy_resource(rules.T_DIAGNOSTICS, "diag-kv", {}, {"resourceUri": [vault]})
    assert stack_violations("diagnostics-to-log-analytics", [vault, no_workspace])


def test_private_endpoint_rule_follows_property_dependencies() -> None:
    account = policy_resource(rules.T_STORAGE, "st", GOOD_STORAGE)
    assert stack_violations("private-endpoints-for-paas", [account])
    endpoint = policy_resource(
        rules.T_PRIVATE_ENDPOINT, "pe", {}, {"privateLinkServiceConnections": [account]}
    )
    assert stack_violations("private-endpoints-for-paas", [account, endpoint]) == []


@pytest.mark.parametrize(
    ("primary", "fallback", "expected"),
    [
        ("westeurope", "northeurope", []),
        ("westeurope", "westeurope", ["fallback region 'westeurope' is also a primary region"]),
        ("westeurope", "eastus", ["region 'eastus' is not in the EU"]),
    ],
)
def test_fallback_region_rule(primary: str, fallback: str, expected: list[str]) -> None:
    groups = [
        policy_resource(rules.T_RESOURCE_GROUP, "rg-a", {"location": primary, "tags": TAGS}),
        policy_resource(
            rules.T_RESOURCE_GROUP,
            "rg-b",
            {"location": fallback, "tags": {**TAGS, "site": "fallback"}},
        ),
    ]
    assert stack_violations("fallback-region-distinct-eu", groups) == expected


def test_the_pack_passes_the_mini_graph_as_crossguard_would_see_it() -> None:
    """Feed every mocked resource through the resource validators (props = inputs)."""
    run = mini()[2]
    found = [
        (name, r.name, message)
        for r in run.resources
        if r.custom
        for name in pack.RESOURCE_VALIDATORS
        for message in resource_violations(name, r.type, r.inputs)
    ]
    assert found == []


def test_server_events_rule_exempts_only_session_hosts() -> None:
    server = policy_resource(rules.T_VM, "vm-dc", {"tags": TAGS})
    host = policy_resource(rules.T_VMSS, "vmss-avd", {"tags": {**TAGS, "role": "sessionhost"}})
    servers = policy_resource(rules.T_VMSS, "vmss-web", {"tags": TAGS})
    assert stack_violations("server-events-to-log-analytics", [server, host, servers]) == [
        "virtual machine 'vm-dc' sends no events to Log Analytics (no data collection rule)",
        "scale set 'vmss-web' sends no events to Log Analytics (no data collection rule)",
    ]
    associations = [
        policy_resource(
            rules.T_DCR_ASSOCIATION,
            f"dcra-{r.name}",
            {"dataCollectionRuleId": "/dcr"},
            {"resourceUri": [r]},
        )
        for r in (server, servers)
    ]
    assert (
        stack_violations("server-events-to-log-analytics", [server, host, servers, *associations])
        == []
    )


def test_application_group_rule_follows_property_dependencies() -> None:
    name = "application-groups-in-a-workspace"
    group = policy_resource(rules.T_RESOURCE_GROUP, "rg-fallback", {"location": "northeurope"})
    desktop = policy_resource(
        rules.T_APP_GROUP,
        "dag-standby",
        {"applicationGroupType": "Desktop"},
        {"resourceGroupName": [group]},
    )
    assert stack_violations(name, [group, desktop]) == [
        "application group 'dag-standby' is in no AVD workspace: its users see nothing",
        "application group 'dag-standby' is assigned to no one",
    ]
    workspace = policy_resource(
        rules.T_AVD_WORKSPACE, "vdws-fallback", {}, {"applicationGroupReferences": [desktop]}
    )
    role = f"/providers/Microsoft.Authorization/roleDefinitions/{rules.DESKTOP_VIRTUALIZATION_USER}"
    on_group = policy_resource(
        rules.T_ROLE_ASSIGNMENT, "ra", {"roleDefinitionId": role}, {"scope": [group]}
    )
    assert stack_violations(name, [group, desktop, workspace, on_group]) == []
    other_role = policy_resource(
        rules.T_ROLE_ASSIGNMENT, "ra", {"roleDefinitionId": "/x/owner"}, {"scope": [desktop]}
    )
    assert stack_violations(name, [group, desktop, workspace, other_role]) == [
        "application group 'dag-standby' is assigned to no one"
    ]


def test_fallback_vpn_rule() -> None:
    name = "fallback-reaches-sites-itself"
    groups = [
        policy_resource(rules.T_RESOURCE_GROUP, "rg-a", {"location": "westeurope", "tags": TAGS}),
        policy_resource(
            rules.T_RESOURCE_GROUP,
            "rg-b",
            {"location": "northeurope", "tags": {**TAGS, "site": "fallback"}},
        ),
    ]
    vnet = policy_resource(
        rules.T_VNET, "vnet-fallback", {"location": "northeurope", "virtualNetworkName": "vnet-f"}
    )
    local = policy_resource(
        rules.T_LOCAL_GATEWAY, "lgw-a", {"location": "westeurope", "fqdn": "vpn-a.nl"}
    )
    primary = policy_resource(
        rules.T_CONNECTION, "con-a", {"location": "westeurope"}, {"localNetworkGateway2": [local]}
    )
    peering = policy_resource(
        rules.T_PEERING, "peer", {"virtualNetworkName": "vnet-f", "useRemoteGateways": True}
    )
    assert stack_violations(name, [*groups, vnet, local, primary, peering]) == [
        "the fallback region has no VPN gateway: it reaches the sites only through the primary region",
        "site 'vpn-a.nl' has a VPN connection in the primary region only",
        "peering 'peer' of the fallback network uses another region's gateway (useRemoteGateways)",
    ]
    gateway = policy_resource(rules.T_VPN_GATEWAY, "vgw-f", {"location": "northeurope"})
    local_f = policy_resource(
        rules.T_LOCAL_GATEWAY, "lgw-f", {"location": "northeurope", "fqdn": "vpn-a.nl"}
    )
    secondary = policy_resource(
        rules.T_CONNECTION,
        "con-f",
        {"location": "northeurope"},
        {"localNetworkGateway2": [local_f]},
    )
    own = policy_resource(rules.T_PEERING, "peer", {"virtualNetworkName": "vnet-f"})
    found = stack_violations(
        name, [*groups, vnet, local, primary, gateway, local_f, secondary, own]
    )
    assert found == []


def test_site_recovery_rules() -> None:
    mapping = {
        "properties": {
            "providerSpecificInput": {"instanceType": "A2A", "agentAutoUpdateStatus": "Enabled"}
        }
    }
    found = resource_violations(
        "site-recovery-managed-identity", rules.T_CONTAINER_MAPPING, mapping
    )
    assert found == [
        "Site Recovery agent auto-update authenticates with RunAsAccount (the API default), not "
        "SystemAssignedIdentity (Run As accounts were retired on 30 September 2023)",
        "Site Recovery agent auto-update names no automation account",
    ]
    mapping["properties"]["providerSpecificInput"].update(
        automationAccountAuthenticationType="SystemAssignedIdentity", automationAccountArmId="/aa"
    )
    assert (
        resource_violations("site-recovery-managed-identity", rules.T_CONTAINER_MAPPING, mapping)
        == []
    )

    vm = policy_resource(
        rules.T_VM,
        "vm-app",
        {
            "securityProfile": {"encryptionAtHost": True},
            "storageProfile": {
                "imageReference": {"publisher": "Canonical", "offer": "ubuntu-24_04-lts"}
            },
        },
    )
    cache = policy_resource(
        rules.T_STORAGE,
        "st-cache",
        {
            **GOOD_STORAGE,
            "tags": {**TAGS, "role": "asr-cache"},
            "networkRuleSet": {"defaultAction": "Deny"},
        },
    )
    item = policy_resource(rules.T_PROTECTED_ITEM, "asr-item", {}, {"properties": [vm, cache]})
    assert stack_violations("site-recovery-supported", [vm, cache, item]) == [
        "replicated virtual machine 'vm-app' has encryption at host, which Azure-to-Azure Site "
        "Recovery does not support",
        "replicated virtual machine 'vm-app' runs Canonical/ubuntu-24_04-lts, not an operating "
        "system of the Azure-to-Azure support matrix",
        "Site Recovery cache account 'st-cache' restricts network access; the support matrix says "
        "to allow 'All networks'",
    ]
    assert stack_violations("replicated-servers-in-recovery-plan", [item]) == [
        "replicated server 'asr-item' is in no recovery plan"
    ]
    plan_ = policy_resource(rules.T_RECOVERY_PLAN, "asr-plan", {}, {"properties": [item]})
    assert stack_violations("replicated-servers-in-recovery-plan", [item, plan_]) == []


def test_the_asr_cache_may_be_open_to_all_networks_with_shared_keys() -> None:
    open_ = {
        **GOOD_STORAGE,
        "publicNetworkAccess": "Enabled",
        "networkRuleSet": {"defaultAction": "Allow"},
    }
    rule = "storage-secure-transport-private"
    assert len(resource_violations(rule, rules.T_STORAGE, open_)) == 1
    cache = {**open_, "tags": {**TAGS, "role": "asr-cache"}, "allowSharedKeyAccess": True}
    assert resource_violations(rule, rules.T_STORAGE, cache) == []
    assert resource_violations(rule, rules.T_STORAGE, {**cache, "allowSharedKeyAccess": False}) == [
        "Site Recovery cache account refuses shared key access, which ASR needs"
    ]


def test_security_events_rule_follows_property_dependencies() -> None:
    name = "security-events-land"
    workspace = policy_resource(rules.T_LOG_WORKSPACE, "log", {"location": "westeurope"})
    dcr = policy_resource(
        rules.T_DCR,
        "dcr",
        {"dataFlows": [{"streams": ["Microsoft-SecurityEvent", "Microsoft-Event"]}]},
        {"destinations": [workspace]},
    )
    assert len(stack_violations(name, [workspace, dcr])) == 1
    sentinel = policy_resource(rules.T_SENTINEL, "sentinel", {}, {"workspaceName": [workspace]})
    assert stack_violations(name, [workspace, dcr, sentinel]) == []
    defender = policy_resource(
        rules.T_DEFENDER_PRICING,
        "mdc",
        {"pricingName": "VirtualMachines", "pricingTier": "Standard"},
    )
    assert stack_violations(name, [workspace, dcr, defender]) == []
    events_only = policy_resource(
        rules.T_DCR,
        "dcr",
        {"dataFlows": [{"streams": ["Microsoft-Event"]}]},
        {"destinations": [workspace]},
    )
    assert stack_violations(name, [workspace, events_only]) == []
