"""Helpers shared by the components: diagnostics, private endpoints, resource options."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_azure_native.monitor as monitor
import pulumi_azure_native.network as network


@dataclass(frozen=True)
class Place:
    """Where a component's resources go: resource group, region and tags."""

    resource_group: pulumi.Input[str]
    location: str
    tags: dict[str, str]


def child(parent: pulumi.Resource, *depends_on: pulumi.Resource) -> pulumi.ResourceOptions:
    return pulumi.ResourceOptions(parent=parent, depends_on=list(depends_on) or None)


def diagnostics(
    name: str,
    target: pulumi.Input[str],
    workspace_id: pulumi.Input[str],
    parent: pulumi.Resource,
    *,
    logs: bool = True,
    metrics: bool = True,
) -> monitor.DiagnosticSetting:
    """Send a resource's logs (all categories) and/or metrics to the Log Analytics workspace."""
    return monitor.DiagnosticSetting(
        f"diag-{name}",
        name="to-log-analytics",
        resource_uri=target,
        workspace_id=workspace_id,
        log_analytics_destination_type="Dedicated",
        logs=[monitor.DiagnosticsLogSettingsArgs(enabled=True, category_group="allLogs")]
        if logs
        else None,
        metrics=[monitor.DiagnosticsMetricSettingsArgs(enabled=True, category="AllMetrics")]
        if metrics
        else None,
        opts=pulumi.ResourceOptions(parent=parent),
    )


def private_endpoint(
    name: str,
    place: Place,
    subnet_id: pulumi.Input[str],
    target_id: pulumi.Input[str],
    group: str,
    dns_zone_id: pulumi.Input[str],
    parent: pulumi.Resource,
) -> network.PrivateEndpoint:
    """A private endpoint for one sub-resource (`file`, `vault`, ...) with its DNS registration."""
    endpoint = network.PrivateEndpoint(
        f"pe-{name}",
        resource_group_name=place.resource_group,
        location=place.location,
        subnet=network.SubnetArgs(id=subnet_id),
        private_link_service_connections=[
            network.PrivateLinkServiceConnectionArgs(
                name=f"{name}-{group}", private_link_service_id=target_id, group_ids=[group]
            )
        ],
        tags=place.tags,
        opts=pulumi.ResourceOptions(parent=parent),
    )
    network.PrivateDnsZoneGroup(
        f"pdzg-{name}",
        resource_group_name=place.resource_group,
        private_endpoint_name=endpoint.name,
        private_dns_zone_group_name="default",
        private_dns_zone_configs=[
            network.PrivateDnsZoneConfigArgs(name=group, private_dns_zone_id=dns_zone_id)
        ],
        opts=pulumi.ResourceOptions(parent=parent),
    )
    return endpoint


def deny_internet_inbound() -> network.SecurityRuleArgs:
    """The last inbound rule of every NSG: nothing from the internet reaches a subnet."""
    return network.SecurityRuleArgs(
        name="deny-internet-inbound",
        priority=4096,
        direction="Inbound",
        access="Deny",
        protocol="*",
        source_address_prefix="Internet",
        source_port_range="*",
        destination_address_prefix="*",
        destination_port_range="*",
    )


def subnet_id(vnet: network.VirtualNetwork, subnet: str) -> pulumi.Output[str]:
    """Subnets are declared inline in their VNet; their ids follow ARM's fixed pattern."""
    return pulumi.Output.concat(vnet.id, "/subnets/", subnet)
