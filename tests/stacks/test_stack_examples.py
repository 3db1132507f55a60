"""Each example stack under mocks: outputs, resource counts that follow its programme, and a
well-formed component tree (one mocked run per stack, shared with the security tests)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from stack_graph import (
    EXAMPLE_STACKS,
    example,
    mini,
    rules,
    session_host_capacity,
    session_host_model,
)

from consolidated.integration import catalogue
from consolidated.sizing import size
from eendracht.outputs import STACK_OUTPUTS
from eendracht.programme import models as m

RUNS = [*EXAMPLE_STACKS, "mini"]


def _run(stack: str):  # type: ignore[no-untyped-def]
    return mini() if stack == "mini" else example(stack)


@pytest.mark.parametrize("stack", RUNS)
def test_every_stack_output_is_exported(stack: str) -> None:
    programme, _, run = _run(stack)
    assert set(STACK_OUTPUTS) <= set(run.outputs)
    outputs = run.outputs
    assert outputs["primary_region"] == programme.settings.azure.primary_region
    assert outputs["fallback_region"] == programme.settings.azure.fallback_region
    assert outputs["dns_zone"] == programme.settings.organisation.mail_domain
    shares = {f"{n}-{s.name}" for n, mu in programme.municipalities.items() for s in mu.shares}
    assert set(outputs["file_share_endpoints"]) == shares
    assert all(v.startswith("\\\\st") for v in outputs["file_share_endpoints"].values())
    assert set(outputs["host_pool_names"]) >= {"office", "standby"}
    assert outputs["directory_uri"].startswith("ldaps://")
    assert outputs["integration_hub_endpoint"].startswith("https://")


@pytest.mark.parametrize("stack", RUNS)
def test_resource_counts_follow_the_programme(stack: str) -> None:
    programme, settings, run = _run(stack)
    sizing = size(programme, settings)
    munis = programme.municipalities.values()
    sites = sum(len(mu.info.sites) for mu in munis)
    remote_apps = sum(
        1 for mu in munis for a in mu.applications if a.disposition is m.Disposition.REMOTEAPP
    )
    shares = sum(len(mu.shares) for mu in munis)

    office = session_host_capacity(run, "pool-office")
    assert office == sizing.office_hosts >= settings.min_office_hosts
    assert session_host_capacity(run, "pool-standby") == 0
    assert ("cad" in run.outputs["host_pool_names"]) == (sizing.cad_users > 0)
    if sizing.cad_users:
        assert session_host_capacity(run, "pool-cad") == sizing.cad_hosts
        assert session_host_model(run, "pool-cad").inputs["sku"]["name"].startswith("Standard_NV")
    # session hosts are scale sets; the VMs are the servers: app servers, 2 DCs, file sync
    assert run.count(rules.T_VMSS) == 2 + (sizing.cad_users > 0)
    assert run.count(rules.T_VM) == len(sizing.app_servers) + 3

    # one tunnel per site from each region: the primary's hub and the fallback network
    assert run.count("azure-native:network:LocalNetworkGateway") == 2 * sites
    assert run.count("azure-native:network:VirtualNetworkGatewayConnection") == 2 * sites
    assert run.count("azure-native:network:VirtualNetworkGateway") == 2
    assert run.count("azure-native:desktopvirtualization:Application") == remote_apps
    remote_groups = [
        r
        for r in run.of_type("azure-native:desktopvirtualization:ApplicationGroup")
        if r.inputs["applicationGroupType"] == "RemoteApp"
    ]
    assert len(remote_groups) == remote_apps
    files = [r for r in run.of_type("azure-native:storage:FileShare") if r.parent == "file-data"]
    assert len(files) == shares
    profiles = run.named("share-profiles").inputs
    assert profiles["shareQuota"] == sizing.profile_quota_gib >= sizing.head_count * 30
    servers = len(sizing.app_servers)
    assert run.count("azure-native:recoveryservices:ReplicationProtectedItem") == servers
    assert run.count(rules.T_RECOVERY_PLAN) == (1 if servers else 0)
    # backed up: application servers, the two domain controllers and every file share
    backed_up = run.count("azure-native:recoveryservices:ProtectedItem")
    assert backed_up == servers + 2 + shares
    hub = catalogue(programme)
    assert run.count("azure-native:apimanagement:Api") == len(hub.apis)
    assert run.count("azure-native:servicebus:Queue") == len(hub.queues)
    groups = {d for mu in munis for d in mu.info.departments}
    tags = {d.group_tag for mu in munis for d in mu.devices if d.group_tag}
    assert run.count("azuread:index/group:Group") == 2 + len(groups) + len(
        programme.municipalities
    ) + 1 + len(tags)


@pytest.mark.parametrize("stack", RUNS)
def test_component_tree_is_well_formed(stack: str) -> None:
    _, _, run = _run(stack)
    components = {r.name: r for r in run.resources if not r.custom}
    assert all(c.type.startswith("eendracht:index:") for c in components.values())
    top = {c.name for c in components.values() if c.parent not in components}
    assert top == {
        "landing-zone",
        "identity",
        "intune",
        "directory",
        "workstations",
        "applications",
        "file-data",
        "backup",
        "fallback-site",
        "integration-hub",
        "emergency-sign-in-alert",
    }
    orphans = [r.name for r in run.resources if r.custom and r.parent not in components]
    assert orphans == []
    names = [(r.type, r.name) for r in run.resources]
    assert len(names) == len(set(names))


@pytest.mark.parametrize("stack", RUNS)
def test_resources_are_json_and_secrets_are_redacted(stack: str) -> None:
    _, _, run = _run(stack)
    text = json.dumps([r.as_json() for r in run.resources])
    assert "mocked-admin-password" not in text
    assert "mocked-vpn-shared-key" not in text
    assert "mocked-graph-client-secret" not in text
    assert "mocked-random-password" not in text  # the emergency-access accounts' passwords
    assert '"[secret]"' in text
    connection = run.of_type("azure-native:network:VirtualNetworkGatewayConnection")[0]
    assert connection.inputs["sharedKey"] == "[secret]"


@pytest.mark.parametrize("stack", RUNS)
def test_fallback_site_is_in_the_fallback_region(stack: str) -> None:
    programme, _, run = _run(stack)
    fallback = programme.settings.azure.fallback_region
    assert run.named("rg-fallback").inputs["location"] == fallback
    assert run.named("rsv-asr").inputs["location"] == fallback
    assert run.named("rsv-backup").inputs["location"] == programme.settings.azure.primary_region
    pool = run.named("hp-standby").inputs
    assert pool["location"] == fallback
    template = run.named("asr-containers").inputs["properties"]["template"]
    assert [r["type"] for r in template["resources"]] == [
        "Microsoft.RecoveryServices/vaults/replicationFabrics/replicationProtectionContainers"
    ] * 2
