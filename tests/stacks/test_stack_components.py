"""Components and sizing rules, each on its own: synthesised programmes, the mini fixture,
and the program's entry point (stacks/__main__.py) under mocks."""

from __future__ import annotations

import ipaddress
import runpy
import sys
from pathlib import Path
from typing import Any

import pulumi
import pytest
from pydantic import ValidationError

sys.path.insert(0, str(Path(__file__).parent))
from stack_graph import (
    ALERT_EMAIL,
    MINI,
    REPO,
    SSH_KEY,
    mini,
    mini_settings,
    rules,
    session_host_capacity,
    session_host_model,
)
from synth import synthesise

from consolidated import sizing
from consolidated.addressing import LAYOUT, NO_NSG, plan
from consolidated.integration import catalogue
from consolidated.mocked import INITIAL_DOMAIN, run_mocked, run_stack_mocked
from consolidated.names import Names
from consolidated.workstations import TIME_ZONE
from eendracht.outputs import STACK_OUTPUTS
from eendracht.problems import ProblemsFound
from eendracht.programme import load_programme
from eendracht.stackconfig import read_stack
from eendracht.stacksettings import StackSettings

# --- sizing rules (docs/stacks.md) ---------------------------------------------------


@pytest.mark.parametrize(
    ("users", "concurrency", "density", "minimum", "hosts"),
    [
        (0, 0.8, 12, 2, 0),
        (1, 0.8, 12, 2, 2),
        (100, 0.8, 12, 2, 7),
        (200, 0.8, 12, 2, 14),
        (365, 0.8, 12, 2, 25),
    ],
)
def test_session_host_rule(
    users: int, concurrency: float, density: int, minimum: int, hosts: int
) -> None:
    assert sizing.session_hosts(users, concurrency, density, minimum) == hosts


def test_profile_quota_rounds_up_to_premium_steps() -> None:
    assert sizing.profile_quota_gib(1, 30) == 100
    assert sizing.profile_quota_gib(4, 30) == 200
    assert sizing.profile_quota_gib(402, 30) == 12100


def test_share_and_database_sizes() -> None:
    assert sizing.share_quota_gib(0, 1.25) == 1
    assert sizing.share_quota_gib(100, 1.25) == 117  # 100 GB = 93.1 GiB, x 1.25
    assert sizing.share_quota_gib(10_000, 1.25) == sizing.STANDARD_SHARE_MAX_GIB
    assert sizing.database_storage_gib(0.5) == 32
    assert sizing.database_storage_gib(40) == 128


def test_without_a_people_list_head_count_is_office() -> None:
    programme, _, _ = mini()
    mu = next(iter(programme.municipalities.values()))
    unlisted = mu.model_copy(update={"people": []})
    assert sizing.workplace_counts(unlisted) == (mu.info.head_count, 0)


def test_doubling_the_head_count_adds_session_hosts_by_the_rule() -> None:
    settings = mini_settings(session_density=8)
    small = run_stack_mocked(synthesise(2, head_count=100, cad=0), settings)
    large = run_stack_mocked(synthesise(2, head_count=200, cad=6), settings)
    office = session_host_capacity(small, "pool-office")
    assert office == sizing.session_hosts(200, 0.8, 8, 2) == 20
    assert session_host_capacity(large, "pool-office") == sizing.session_hosts(388, 0.8, 8, 2)
    assert sizing.session_hosts(388, 0.8, 8, 2) == 39
    assert "cad" not in small.outputs["host_pool_names"]
    assert not any(r.parent == "pool-cad" for r in small.resources)
    assert large.outputs["host_pool_names"]["cad"]
    assert session_host_capacity(large, "pool-cad") == sizing.session_hosts(12, 0.8, 2, 1) == 5
    # the hosts are one scale set per pool: the graph does not grow with the head count
    assert small.count(rules.T_VMSS) == 2 and large.count(rules.T_VMSS) == 3
    assert small.count(rules.T_VM) == large.count(rules.T_VM)
    assert (
        large.named("share-profiles").inputs["shareQuota"]
        > small.named("share-profiles").inputs["shareQuota"]
    )


# --- address plan, names, settings, stack files ----------------------------------------


@pytest.mark.parametrize("space", ["10.100.0.0/16", "10.100.0.0/20", "172.16.0.0/12"])
def test_address_plan_subnets_fit_and_do_not_overlap(space: str) -> None:
    address_plan = plan(space)
    nets = [
        ipaddress.ip_network(p) for n in address_plan.networks.values() for p in n.subnets.values()
    ]
    assert all(n.subnet_of(ipaddress.ip_network(space)) for n in nets)  # type: ignore[arg-type]
    assert not any(a.overlaps(b) for i, a in enumerate(nets) for b in nets[i + 1 :])
    assert set(address_plan.networks) == set(LAYOUT)
    assert all(
        ipaddress.ip_network(address_plan["hub"].subnets["GatewaySubnet"]).prefixlen <= 27
        for _ in [0]
    )


def test_overlapping_site_address_space_is_refused() -> None:
    programme = synthesise(1)
    settings = mini_settings(address_space="10.21.0.0/16")  # the synthesised sites use 10.21.x
    with pytest.raises(ValueError, match="overlap the Azure address space"):
        run_stack_mocked(programme, settings)


def test_globally_unique_names_are_short_and_stable() -> None:
    names = Names("een-heel-lange-programmanaam", "prod")
    assert names.storage("profiles") == Names("een-heel-lange-programmanaam", "prod").storage(
        "profiles"
    )
    assert len(names.storage("profiles")) <= 24 and names.storage("profiles").isalnum()
    assert len(names.unique("kv", "core")) <= 24
    assert len(names.computer("avdoffice", 123)) <= 15


def test_settings_read_camel_case_config_and_check_values() -> None:
    settings = StackSettings.from_config(
        {"programme": "inventory/x", "sessionDensity": "10", "adminSshPublicKey": SSH_KEY}
    )
    assert settings.session_density == 10
    with pytest.raises(ValidationError):
        StackSettings.from_config(
            {"programme": "x", "adminSshPublicKey": SSH_KEY, "gpuVmSize": "Standard_D8s_v5"}
        )
    with pytest.raises(ValidationError):
        StackSettings.from_config(
            {"programme": "x", "adminSshPublicKey": SSH_KEY, "sessionDensty": 3}
        )
    assert "sessionDensity" in StackSettings.config_keys()


def test_stack_files_validate_like_the_program(tmp_path: Path) -> None:
    with pytest.raises(ProblemsFound, match="unknown stack 'nope'"):
        read_stack("nope")
    (tmp_path / "Pulumi.bad.yaml").write_text(
        "config:\n  eendracht:programme: inventory/altena\n  eendracht:sessionDensity: 0\n"
        f"  eendracht:adminSshPublicKey: {SSH_KEY}\n"
    )
    with pytest.raises(ProblemsFound) as caught:
        read_stack("bad", stacks_dir=tmp_path)
    assert [p.field for p in caught.value.problems] == ["config.sessionDensity"]


# --- components on the mini programme ---------------------------------------------------


def test_session_hosts_are_a_flexible_scale_set_of_private_trusted_launch_vms() -> None:
    _, settings, run = mini()
    for pool in ("pool-office", "pool-cad", "pool-standby"):
        scale_set = session_host_model(run, pool).inputs
        assert scale_set["orchestrationMode"] == "Flexible"
        assert scale_set["platformFaultDomainCount"] == 1
        assert scale_set["upgradePolicy"] == {"mode": "Manual"}
        assert scale_set["tags"]["role"] == "sessionhost"
        model = scale_set["virtualMachineProfile"]
        security = model["securityProfile"]
        assert security["securityType"] == "TrustedLaunch"
        assert security["uefiSettings"] == {"secureBootEnabled": True, "vTpmEnabled": True}
        assert model["osProfile"]["adminPassword"] == "[secret]"
        assert len(model["osProfile"]["computerNamePrefix"]) <= 9
        (nic,) = model["networkProfile"]["networkInterfaceConfigurations"]
        (ip,) = nic["ipConfigurations"]
        assert "publicIPAddressConfiguration" not in ip
        assert ip["subnet"]["id"].endswith("/subnets/snet-sessionhosts")
        extensions = {e["name"]: e for e in model["extensionProfile"]["extensions"]}
        assert extensions["AADLoginForWindows"]["settings"]["mdmId"]  # Entra join + Intune
        agent = extensions["AvdAgent"]
        assert agent["protectedSettings"] == "[secret]"  # the registration token
        assert "AADLoginForWindows" in agent["provisionAfterExtensions"]
        assert agent["settings"]["properties"]["hostPoolName"].endswith(pool.split("-")[1])
        assert ("NvidiaGpuDriverWindows" in extensions) == (pool == "pool-cad")
    assert session_host_model(run, "pool-office").inputs["sku"]["name"] == settings.office_vm_size
    assert session_host_capacity(run, "pool-standby") == 0


def test_scaling_plan_follows_dutch_office_hours() -> None:
    plan_ = mini()[2].named("vdscaling").inputs
    assert plan_["timeZone"] == TIME_ZONE == "W. Europe Standard Time"
    weekdays = plan_["schedules"][0]
    assert weekdays["daysOfWeek"] == ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday"]
    assert weekdays["rampUpStartTime"] == {"hour": 7, "minute": 0}
    assert len(plan_["hostPoolReferences"]) == len(mini()[2].outputs["host_pool_names"]) - 1


def test_profiles_are_on_premium_files_behind_a_private_endpoint() -> None:
    run = mini()[2]
    account = run.named("st-profiles").inputs
    assert (account["kind"], account["sku"]["name"]) == ("FileStorage", "Premium_ZRS")
    endpoint = run.named("pe-st-profiles-file").inputs
    assert endpoint["privateLinkServiceConnections"][0]["groupIds"] == ["file"]
    files = run.named("st-files").inputs
    assert files["sku"]["name"] == "Standard_GZRS"


def test_every_subnet_but_the_gateway_subnet_has_an_nsg() -> None:
    run = mini()[2]
    for vnet in run.of_type("azure-native:network:VirtualNetwork"):
        for subnet in vnet.inputs["subnets"]:
            assert bool(subnet.get("networkSecurityGroup")) == (subnet["name"] not in NO_NSG)


def test_identity_groups_and_conditional_access() -> None:
    programme, _, run = mini()
    groups = {r.name: r.inputs for r in run.of_type("azuread:index/group:Group")}
    assert "[ZTDId]" in groups["grp-autopilot-devices"]["dynamicMembership"]["rule"]
    for name in programme.municipalities:
        assert f"grp-muni-{name}" in groups
    ca = run.named("ca-mfa-compliant-device").inputs
    assert ca["grantControls"] == {"operator": "AND", "builtInControls": ["mfa", "compliantDevice"]}
    break_glass = run.named("grp-break-glass").id
    assert ca["conditions"]["users"]["excludedGroups"] == [break_glass]


def test_intune_is_wired_to_the_entra_groups() -> None:
    run = mini()[2]
    assert run.named("intune").type == "eendracht:index:Intune"
    assert {
        r.parent for r in run.resources if r.type.startswith("pulumi-python:dynamic/intune")
    } == {"intune"}


def test_integration_catalogue_from_the_koppelingen() -> None:
    programme = mini()[0]
    hub = catalogue(programme)
    national = [a for a in hub.apis if a.municipality is None]
    assert {a.key for a in national} >= {"brp"}
    assert len({a.key for a in hub.apis}) == len(hub.apis)
    assert all(q.protocol in ("stuf", "digikoppeling", "file") for q in hub.queues)


def test_entry_point_exports_every_stack_output() -> None:
    exported: dict[str, Any] = {}
    config = {
        "eendracht:programme": str(MINI.relative_to(REPO)),
        "eendracht:adminSshPublicKey": SSH_KEY,
        "eendracht:sessionDensity": "6",
        "eendracht:securityAlertEmail": ALERT_EMAIL,
    }

    def program() -> dict[str, Any]:
        original = pulumi.export
        pulumi.export = lambda name, value: exported.__setitem__(name, value)
        try:
            runpy.run_path(str(REPO / "stacks/__main__.py"), run_name="__main__")
        finally:
            pulumi.export = original
        return exported

    run = run_mocked(program, config=config)
    assert set(STACK_OUTPUTS) <= set(run.outputs)
    # the accounts' domain is the tenant's initial domain, looked up through azuread
    assert all(u.endswith(f"@{INITIAL_DOMAIN}") for u in run.outputs["emergency_access_accounts"])
    assert session_host_capacity(run, "pool-office") == 2  # 15 people, 80 % at once, 6 per host
    assert not any(
        r.type.startswith("pulumi-python:dynamic") for r in run.resources
    )  # no Graph secret


def test_trusted_launch_vms_get_an_enhanced_backup_policy() -> None:
    policy = mini()[2].named("bkpol-vm").inputs["properties"]
    assert policy["policyType"] == "V2"
    assert policy["schedulePolicy"]["schedulePolicyType"] == "SimpleSchedulePolicyV2"
    vault = mini()[2].named("rsv-backup").inputs["properties"]["redundancySettings"]
    assert vault == {
        "standardTierStorageRedundancy": "GeoRedundant",
        "crossRegionRestore": "Enabled",
    }


def test_project_file_and_one_stack_per_example_programme() -> None:
    import yaml

    project = yaml.safe_load((REPO / "Pulumi.yaml").read_text())
    assert project["name"] == "eendracht"
    assert project["runtime"]["name"] == "python"
    assert project["runtime"]["options"]["virtualenv"] == ".venv"
    assert (project["main"], project["stackConfigDir"]) == ("stacks/", "stacks")
    programmes = {read_stack(stack).settings.programme for stack in ("altena-prod", "ple1n-prod")}
    assert programmes == {"inventory/altena", "inventory/ple1n"}
    assert all((REPO / p / "hosts.yml").is_file() for p in programmes)


# --- the fallback site and the drill in Azure ------------------------------------------------


def test_boot_groups_start_the_servers_others_call_first() -> None:
    """A server whose application is the target of another server's koppeling boots earlier."""
    programme = load_programme(REPO / "inventory/ple1n")
    groups = sizing.boot_groups(programme, sizing.app_servers(programme))
    order = {f"{s.municipality}-{s.host}": n for n, g in enumerate(groups) for s in g}
    assert set(order) == {f"{s.municipality}-{s.host}" for s in sizing.app_servers(programme)}
    # the servers' own applications (rehost/remoteapp), as sizing.app_servers lists them;
    # ple1n's smg-app01 and smg-rds01 call each other (a cycle): they boot together
    host = {
        (s.municipality, a): s.host for s in sizing.app_servers(programme) for a in s.applications
    }
    for name, mu in programme.municipalities.items():
        for app in mu.applications:
            source = host.get((name, app.name))
            for koppeling in app.koppelingen:
                target = host.get((name, koppeling.target))
                if source and target and target != source:
                    first, then = order[f"{name}-{target}"], order[f"{name}-{source}"]
                    cycle = {source, target} == {"smg-app01", "smg-rds01"}
                    assert first == then if cycle else first < then, (app.name, koppeling.target)
    assert len(groups) > 1  # ple1n has koppelingen between its own servers


def test_the_recovery_plan_holds_every_replicated_server_in_boot_order() -> None:
    programme, settings, run = mini()
    plan_ = run.named("asr-plan").inputs
    assert plan_["recoveryPlanName"] == "applicatieservers"
    props = plan_["properties"]
    assert props["failoverDeploymentModel"] == "ResourceManager"
    assert props["providerSpecificInput"] == [{"instanceType": "A2A"}]
    items = {r.id: r.name for r in run.of_type(rules.T_PROTECTED_ITEM)}
    planned = [p["id"] for g in props["groups"] for p in g["replicationProtectedItems"]]
    assert sorted(planned) == sorted(items)
    assert all(g["groupType"] == "Boot" for g in props["groups"])
    expected = sizing.size(programme, settings).boot_groups
    assert [len(g["replicationProtectedItems"]) for g in props["groups"]] == [
        len(g) for g in expected
    ]
    (check,) = props["groups"][-1]["endGroupActions"]
    assert check["customDetails"]["instanceType"] == "ManualActionDetails"
    assert check["failoverTypes"] == ["TestFailover", "UnplannedFailover"]
    assert run.outputs["recovery_plan_name"] == "applicatieservers"


def test_test_failovers_land_in_an_isolated_network() -> None:
    run = mini()[2]
    drill = run.named("vnet-drill")
    fallback = run.named("vnet-fallback").inputs
    recovery = next(s for s in fallback["subnets"] if s["name"] == "snet-recovery")
    (subnet,) = drill.inputs["subnets"]
    assert subnet["name"] == "snet-recovery"
    assert subnet["addressPrefix"] == recovery["addressPrefix"]  # servers keep their addresses
    assert subnet["networkSecurityGroup"]["id"].endswith(
        "/networkSecurityGroups/" + run.named("nsg-drill").inputs["networkSecurityGroupName"]
    )
    # nothing is peered with it and no gateway is in it
    name = drill.inputs["virtualNetworkName"]
    assert not any(
        name in str(r.inputs)
        for r in run.resources
        if r.type in (rules.T_PEERING, rules.T_VPN_GATEWAY)
    )
    assert run.outputs["drill_network_id"] == drill.id


def test_the_standby_desktop_is_in_a_fallback_workspace_assigned_to_staff() -> None:
    programme, _, run = mini()
    workspace = run.named("vdws-fallback").inputs
    assert workspace["location"] == programme.settings.azure.fallback_region
    assert workspace["applicationGroupReferences"] == [run.named("dag-standby").id]
    assignment = run.named("ra-avd-users-standby").inputs
    assert assignment["scope"] == run.named("dag-standby").id
    assert assignment["principalId"] == run.named("ra-avd-users").inputs["principalId"]
    assert assignment["roleDefinitionId"].endswith(rules.DESKTOP_VIRTUALIZATION_USER)
    # the primary workspace stays in the primary region with the primary's groups only
    primary = run.named("vdws").inputs
    assert primary["location"] == programme.settings.azure.primary_region
    assert run.named("dag-standby").id not in primary["applicationGroupReferences"]


def test_the_standby_pool_knows_its_failover_capacity() -> None:
    programme, settings, run = mini()
    scale_set = session_host_model(run, "pool-standby").inputs
    assert scale_set["sku"]["capacity"] == 0
    assert scale_set["tags"]["failover-capacity"] == str(
        sizing.size(programme, settings).office_hosts
    )


def test_site_recovery_follows_the_support_matrix() -> None:
    run = mini()[2]
    mapping = run.named("asr-mapping").inputs["properties"]["providerSpecificInput"]
    account = run.named("aa-asr")
    assert mapping == {
        "instanceType": "A2A",
        "agentAutoUpdateStatus": "Enabled",
        "automationAccountArmId": account.id,
        "automationAccountAuthenticationType": "SystemAssignedIdentity",
    }
    assert account.inputs["identity"] == {"type": "SystemAssigned"}
    role = run.named("ra-aa-asr-vault").inputs
    assert role["scope"] == run.named("rsv-asr").id
    cache = run.named("st-asrcache").inputs
    assert cache["networkRuleSet"]["defaultAction"] == "Allow"  # "All networks"
    assert cache["publicNetworkAccess"] == "Enabled" and cache["allowSharedKeyAccess"] is True
    assert cache["enableHttpsTrafficOnly"] is True and cache["allowBlobPublicAccess"] is False
    servers = [r for r in run.of_type(rules.T_VM) if r.name.startswith("vm-app-")]
    assert servers
    for server in servers:
        assert server.inputs["securityProfile"]["encryptionAtHost"] is False
        image = server.inputs["storageProfile"]["imageReference"]
        assert (image["publisher"], image["offer"]) in rules.A2A_SUPPORTED_IMAGES
    # servers that are not replicated keep encryption at host (and the file host 24.04)
    others = [r for r in run.of_type(rules.T_VM) if not r.name.startswith("vm-app-")]
    assert others and all(r.inputs["securityProfile"]["encryptionAtHost"] is True for r in others)


def test_sentinel_takes_the_servers_security_events() -> None:
    run = mini()[2]
    sentinel = run.named("sentinel").inputs
    assert sentinel["workspaceName"] == run.named("log").inputs["workspaceName"]
    assert sentinel["sentinelOnboardingStateName"] == "default"
    streams = run.named("dcr-servers").inputs["dataFlows"][0]["streams"]
    assert "Microsoft-SecurityEvent" in streams


def test_traffic_manager_is_the_failover_switch() -> None:
    profiles = mini()[2].of_type(rules.T_TRAFFIC_MANAGER)
    assert profiles
    for profile in profiles:
        inputs = profile.inputs
        assert inputs["trafficRoutingMethod"] == "Priority"
        assert inputs["dnsConfig"]["ttl"] == 30
        assert {e["name"]: e["priority"] for e in inputs["endpoints"]} == {
            "primary": 1,
            "fallback": 2,
        }
        monitor = inputs["monitorConfig"]
        assert (monitor["intervalInSeconds"], monitor["toleratedNumberOfFailures"]) == (30, 3)
        assert monitor["path"].startswith("/")
