"""The security rules hold on the mocked resource graph of every stack (and the mini fixture),
and each rule does catch its violation when the graph is changed to break it."""

from __future__ import annotations

import copy
import dataclasses
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from stack_graph import EXAMPLE_STACKS, as_res, example, mini, rules, violations

from consolidated.mocked import MockedRun


def test_there_are_example_stacks() -> None:
    assert set(EXAMPLE_STACKS) >= {"altena-prod", "ple1n-prod"}


@pytest.mark.parametrize("stack", EXAMPLE_STACKS)
def test_every_rule_holds_on_the_example_stack(stack: str) -> None:
    _, _, run = example(stack)
    assert violations(run) == []


def test_every_rule_holds_on_the_mini_programme() -> None:
    assert violations(mini()[2]) == []


def _changed(run: MockedRun, type_: str, change: object) -> MockedRun:
    """A copy of the run where the first resource of `type_` has its inputs changed."""
    resources = []
    done = False
    for r in run.resources:
        if r.type == type_ and not done:
            inputs = copy.deepcopy(r.inputs)
            change(inputs)  # type: ignore[operator]
            r = dataclasses.replace(r, inputs=inputs)
            done = True
        resources.append(r)
    assert done, f"no {type_} in the graph"
    return MockedRun(resources=resources, outputs=run.outputs)


def _without(run: MockedRun, keep: object) -> MockedRun:
    return MockedRun(resources=[r for r in run.resources if keep(r)], outputs=run.outputs)  # type: ignore[operator]


BREAKS = {
    "public IP on a server NIC": (
        rules.T_NIC,
        lambda i: i["ipConfigurations"][0].update(publicIPAddress={"id": "/pip"}),
        "has a public IP",
    ),
    "public IP in the session hosts' scale set model": (
        rules.T_VMSS,
        lambda i: i["virtualMachineProfile"]["networkProfile"]["networkInterfaceConfigurations"][0][
            "ipConfigurations"
        ][0].update(publicIPAddressConfiguration={"name": "pip"}),
        "scale set VM model network configuration requests a public IP",
    ),
    "VM without Trusted Launch": (
        rules.T_VM,
        lambda i: i["securityProfile"].update(securityType="Standard"),
        "virtual machine is not Trusted Launch",
    ),
    "session hosts without Trusted Launch": (
        rules.T_VMSS,
        lambda i: i["virtualMachineProfile"]["securityProfile"]["uefiSettings"].update(
            vTpmEnabled=False
        ),
        "scale set VM model is not Trusted Launch",
    ),
    "storage over plain HTTP": (
        rules.T_STORAGE,
        lambda i: i.update(enableHttpsTrafficOnly=False),
        "plain HTTP",
    ),
    "storage with TLS 1.0": (
        rules.T_STORAGE,
        lambda i: i.update(minimumTlsVersion="TLS1_0"),
        "TLS",
    ),
    "public blob access": (
        rules.T_STORAGE,
        lambda i: i.update(allowBlobPublicAccess=True),
        "public blob",
    ),
    "key vault without purge protection": (
        rules.T_KEY_VAULT,
        lambda i: i["properties"].update(enablePurgeProtection=False),
        "purge protection",
    ),
    "locally redundant backups": (
        rules.T_RECOVERY_VAULT,
        lambda i: i["properties"]["redundancySettings"].update(
            standardTierStorageRedundancy="LocallyRedundant"
        ),
        "not GeoRedundant",
    ),
    "subnet without NSG": (
        rules.T_VNET,
        lambda i: [s.pop("networkSecurityGroup", None) for s in i["subnets"]],
        "no network security group",
    ),
    "resource outside the EU": (
        rules.T_KEY_VAULT,
        lambda i: i.update(location="eastus"),
        "not an Azure region in the EU",
    ),
    "missing tags": (
        rules.T_KEY_VAULT,
        lambda i: i.update(tags={"programme": "x"}),
        "missing tags",
    ),
    "conditional access without MFA": (  # the policy is report-only (the default)
        rules.T_CONDITIONAL_ACCESS,
        lambda i: i["grantControls"].update(builtInControls=["compliantDevice"]),
        "without MFA",
    ),
    "enforced conditional access without MFA": (
        rules.T_CONDITIONAL_ACCESS,
        lambda i: i.update(
            state="enabled",
            grantControls={"operator": "OR", "builtInControls": ["domainJoinedDevice"]},
        ),
        "without MFA",
    ),
    "conditional access that leaves out an emergency-access account": (
        rules.T_CONDITIONAL_ACCESS,
        lambda i: i["conditions"]["users"]["excludedUsers"].pop(),
        "does not exclude the emergency-access account(s) 'user-noodaccount-2'",
    ),
    "an emergency-access account no longer marked as one": (
        rules.T_USER,
        lambda i: i.pop("employeeType"),
        "1 emergency-access account(s)",
    ),
}


@pytest.mark.parametrize("case", sorted(BREAKS))
def test_each_resource_rule_catches_its_violation(case: str) -> None:
    type_, change, expected = BREAKS[case]
    broken = _changed(mini()[2], type_, change)
    found = violations(broken)
    assert any(expected in v for v in found), found


def test_missing_diagnostics_are_caught() -> None:
    run = mini()[2]
    vault = next(r for r in run.resources if r.type == rules.T_KEY_VAULT)
    broken = _without(
        run,
        lambda r: not (r.type == rules.T_DIAGNOSTICS and r.inputs.get("resourceUri") == vault.id),
    )
    assert any("sends no diagnostics" in v and vault.name in v for v in violations(broken))


def test_a_server_without_event_collection_is_caught() -> None:
    broken = _without(mini()[2], lambda r: r.name != "dcra-dc-01")
    assert any("'vm-dc-01' sends no events" in v for v in violations(broken))


def test_missing_private_endpoint_is_caught() -> None:
    broken = _without(mini()[2], lambda r: r.name != "pe-kv")
    assert any("has no private endpoint" in v for v in violations(broken))


def test_fallback_in_primary_region_is_caught() -> None:
    run = mini()[2]
    primary = run.named("rg-platform").inputs["location"]
    moved = [
        dataclasses.replace(r, inputs={**r.inputs, "location": primary})
        if r.name == "rg-fallback"
        else r
        for r in run.resources
    ]
    found = rules.fallback_region_distinct(as_res(MockedRun(resources=moved)))
    assert found == [f"fallback region {primary!r} is also a primary region"]


def test_the_mini_graph_rolls_conditional_access_out_report_only() -> None:
    """The broken copies above start from report-only policies: the rules hold them too."""
    states = {r.inputs["state"] for r in mini()[2].of_type(rules.T_CONDITIONAL_ACCESS)}
    assert states == {"enabledForReportingButNotEnforced"}


def test_conditional_access_without_emergency_access_accounts_is_caught() -> None:
    broken = _without(mini()[2], lambda r: r.type != rules.T_USER)
    assert any("0 emergency-access account(s)" in v for v in violations(broken))


def test_a_disabled_mfa_and_compliant_device_policy_is_caught() -> None:
    run = _changed(mini()[2], rules.T_CONDITIONAL_ACCESS, lambda i: i.update(state="disabled"))
    assert run.named("ca-mfa-compliant-device").inputs["state"] == "disabled"
    assert any("MFA and a compliant device" in v for v in violations(run))


def test_mfa_and_compliant_device_must_be_combined() -> None:
    run = _changed(
        mini()[2],
        rules.T_CONDITIONAL_ACCESS,
        lambda i: i["grantControls"].update(operator="OR"),
    )
    assert any("MFA and a compliant device" in v for v in violations(run))


def test_no_vm_and_no_session_host_model_has_a_public_ip() -> None:
    run = mini()[2]
    nics = run.of_type(rules.T_NIC)
    assert nics and all(
        not c.get("publicIPAddress") for n in nics for c in n.inputs["ipConfigurations"]
    )
    # the public IPs are the two VPN gateways' (primary and fallback region), nothing else
    addresses = run.of_type("azure-native:network:PublicIPAddress")
    assert [a.name for a in addresses] == ["pip-vpn", "pip-vpn-fallback"]
    machines = [*run.of_type(rules.T_VM), *run.of_type(rules.T_VMSS)]
    assert run.count(rules.T_VMSS) == 3  # office, CAD and standby session hosts
    assert not any("publicIPAddressConfiguration" in str(r.inputs) for r in machines)


def test_a_scale_set_of_servers_without_event_collection_is_caught() -> None:
    """Only session hosts are exempt: a scale set not tagged as such needs a data collection
    rule like any server."""
    run = _changed(mini()[2], rules.T_VMSS, lambda i: i["tags"].update(role="application"))
    assert any("scale set 'vmss-office' sends no events" in v for v in violations(run))


# --- the fallback site and the drill: each rule fails on what the stack did before ----------

FALLBACK_BREAKS = {
    "container mapping auto-update as Run As account (the API default)": (
        rules.T_CONTAINER_MAPPING,
        lambda i: i["properties"]["providerSpecificInput"].update(
            automationAccountAuthenticationType="RunAsAccount"
        ),
        "authenticates with RunAsAccount, not SystemAssignedIdentity",
    ),
    "traffic manager with a long TTL": (
        rules.T_TRAFFIC_MANAGER,
        lambda i: i["dnsConfig"].update(ttl=300),
        "DNS TTL 300",
    ),
    "traffic manager that prefers the fallback": (
        rules.T_TRAFFIC_MANAGER,
        lambda i: [e.update(priority=3 - e["priority"]) for e in i["endpoints"]],
        "not primary=1 fallback=2",
    ),
}


@pytest.mark.parametrize("case", sorted(FALLBACK_BREAKS))
def test_each_fallback_resource_rule_catches_its_violation(case: str) -> None:
    type_, change, expected = FALLBACK_BREAKS[case]
    found = violations(_changed(mini()[2], type_, change))
    assert any(expected in v for v in found), found


def _changed_named(run: MockedRun, name: str, change: object) -> MockedRun:
    """A copy of the run where the resource called `name` has its inputs changed."""
    resources = []
    for r in run.resources:
        if r.name == name:
            inputs = copy.deepcopy(r.inputs)
            change(inputs)  # type: ignore[operator]
            r = dataclasses.replace(r, inputs=inputs)
        resources.append(r)
    return MockedRun(resources=resources, outputs=run.outputs)


def test_a_standby_desktop_in_no_workspace_is_caught() -> None:
    """What the stack did before: dag-standby was in no workspace, so nobody saw it."""
    broken = _without(mini()[2], lambda r: r.name != "vdws-fallback")
    assert (
        "application-groups-in-a-workspace: application group 'dag-standby' is in no AVD "
        "workspace: its users see nothing" in violations(broken)
    )


def test_an_unassigned_standby_desktop_is_caught() -> None:
    broken = _without(mini()[2], lambda r: r.name != "ra-avd-users-standby")
    assert any("'dag-standby' is assigned to no one" in v for v in violations(broken))


def test_every_application_group_is_in_a_workspace_and_assigned() -> None:
    run = mini()[2]
    groups = run.of_type(rules.T_APP_GROUP)
    assert {g.name for g in groups} >= {"dag-office", "dag-cad", "dag-standby"}
    assert rules.application_groups_in_a_workspace(as_res(run)) == []


def test_a_fallback_network_on_the_primary_gateway_is_caught() -> None:
    """What the stack did before: fallback-to-hub with useRemoteGateways, no gateway of its
    own; the sites were reachable from the fallback only through the primary region."""
    run = _changed_named(mini()[2], "peer-fallback-hub", lambda i: i.update(useRemoteGateways=True))
    assert any(
        "peering 'peer-fallback-hub' of the fallback network uses another region's gateway" in v
        for v in violations(run)
    )
    fallback_vpn = [
        r.name
        for r in mini()[2].resources
        if r.name in ("vgw-fallback", "pip-vpn-fallback")
        or r.name.startswith(("con-fallback-", "lgw-fallback-"))
    ]
    assert fallback_vpn
    without = _without(mini()[2], lambda r: r.name not in fallback_vpn)
    found = violations(without)
    assert any("the fallback region has no VPN gateway" in v for v in found), found
    assert any("has a VPN connection in the primary region only" in v for v in found), found


def test_a_site_without_a_fallback_tunnel_is_caught() -> None:
    run = mini()[2]
    one = next(r.name for r in run.resources if r.name.startswith("con-fallback-"))
    found = violations(_without(run, lambda r: r.name != one))
    assert any("has a VPN connection in the primary region only" in v for v in found), found


def test_the_fallback_region_has_its_own_vpn_to_every_site() -> None:
    programme, _, run = mini()
    fallback = programme.settings.azure.fallback_region
    gateway = run.named("vgw-fallback").inputs
    assert gateway["location"] == fallback
    assert gateway["ipConfigurations"][0]["subnet"]["id"].endswith(
        f"/virtualNetworks/{run.named('vnet-fallback').inputs['virtualNetworkName']}/subnets/GatewaySubnet"
    )
    primary = {
        r.inputs["fqdn"]
        for r in run.resources
        if r.name.startswith("lgw-") and not r.name.startswith("lgw-fallback-")
    }
    secondary = {r.inputs["fqdn"] for r in run.resources if r.name.startswith("lgw-fallback-")}
    assert primary == secondary and primary
    peerings = {r.name: r.inputs for r in run.of_type(rules.T_PEERING) if "fallback" in r.name}
    assert peerings["peer-fallback-hub"]["useRemoteGateways"] is False
    assert peerings["peer-hub-fallback"]["allowGatewayTransit"] is False


def test_encryption_at_host_on_a_replicated_server_is_caught() -> None:
    run = mini()[2]
    server = next(r for r in run.of_type(rules.T_VM) if r.name.startswith("vm-app-"))
    broken = _changed_named(
        run, server.name, lambda i: i["securityProfile"].update(encryptionAtHost=True)
    )
    assert any(
        f"replicated virtual machine {server.name!r} has encryption at host" in v
        for v in violations(broken)
    )


def test_ubuntu_24_04_on_a_replicated_server_is_caught() -> None:
    run = mini()[2]
    server = next(r for r in run.of_type(rules.T_VM) if r.name.startswith("vm-app-"))
    broken = _changed_named(
        run,
        server.name,
        lambda i: i["storageProfile"].update(
            imageReference={"publisher": "Canonical", "offer": "ubuntu-24_04-lts", "sku": "server"}
        ),
    )
    assert any(
        "runs Canonical/ubuntu-24_04-lts, not an operating system of the Azure-to-Azure" in v
        for v in violations(broken)
    )


def test_a_restricted_site_recovery_cache_is_caught() -> None:
    """What the stack did before: deny all networks but trusted services."""
    broken = _changed_named(
        mini()[2], "st-asrcache", lambda i: i["networkRuleSet"].update(defaultAction="Deny")
    )
    assert any(
        "Site Recovery cache account 'st-asrcache' restricts network access" in v
        for v in violations(broken)
    )


def test_only_the_real_site_recovery_cache_may_be_open() -> None:
    """The storage rule lets an account tagged role=asr-cache stay open to all networks; the
    stack rule holds that tag to the account replicated servers really stage through."""
    run = _changed_named(
        mini()[2],
        "st-files",
        lambda i: i.update(
            tags={**i["tags"], "role": "asr-cache"},
            publicNetworkAccess="Enabled",
            allowSharedKeyAccess=True,
        ),
    )
    assert any(
        "'st-files' is tagged as Site Recovery's cache but no replicated server" in v
        for v in violations(run)
    )


def test_a_replicated_server_outside_the_recovery_plan_is_caught() -> None:
    broken = _without(mini()[2], lambda r: r.type != rules.T_RECOVERY_PLAN)
    found = violations(broken)
    assert any("replicated server 'asr-item-" in v and "in no recovery plan" in v for v in found)


def test_security_events_without_sentinel_are_caught() -> None:
    """What the stack did before: Microsoft-SecurityEvent to a plain workspace."""
    broken = _without(mini()[2], lambda r: r.type != rules.T_SENTINEL)
    assert any(
        "data collection rule 'dcr-servers' sends Microsoft-SecurityEvent to a workspace without "
        "Microsoft Sentinel" in v
        for v in violations(broken)
    )
