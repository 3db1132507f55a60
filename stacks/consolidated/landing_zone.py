"""LandingZone: hub and spokes, VPN to every municipal site, private DNS, logging, Key Vault."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_azure_native.keyvault as keyvault
import pulumi_azure_native.monitor as monitor
import pulumi_azure_native.network as network
import pulumi_azure_native.operationalinsights as operationalinsights
import pulumi_azure_native.privatedns as privatedns
import pulumi_azure_native.resources as resources
import pulumi_azure_native.securityinsights as securityinsights

from consolidated.addressing import NO_NSG, AddressPlan
from consolidated.common import (
    Place,
    deny_internet_inbound,
    diagnostics,
    private_endpoint,
    subnet_id,
)
from consolidated.names import Names
from consolidated.tags import with_origin
from eendracht.programme import models as m

SPOKES = ("workstations", "applications", "integration")
# Private DNS zones for the PaaS services reached through private endpoints.
PRIVATE_DNS_ZONES = {
    "file": "privatelink.file.core.windows.net",
    "blob": "privatelink.blob.core.windows.net",
    "vault": "privatelink.vaultcore.azure.net",
    "servicebus": "privatelink.servicebus.windows.net",
    "siterecovery": "privatelink.siterecovery.windowsazure.com",
}
DELEGATIONS = {("applications", "snet-database"): "Microsoft.DBforPostgreSQL/flexibleServers"}


@dataclass(frozen=True)
class LandingZoneArgs:
    programme: m.Programme
    names: Names
    plan: AddressPlan
    tags: dict[str, str]
    tenant_id: pulumi.Input[str]
    log_retention_days: int
    vpn_shared_key: pulumi.Input[str] | None = (
        None  # a Pulumi secret; Azure generates one if absent
    )


@dataclass(frozen=True)
class SiteVpnArgs:
    """A region's VPN to every municipal site: the primary's hub and the fallback network."""

    programme: m.Programme
    names: Names
    place: Place
    gateway_subnet_id: pulumi.Input[str]
    workspace_id: pulumi.Input[str]
    shared_key: pulumi.Input[str] | None = None
    site: str = ""  # "" for the primary region, "fallback" for the fallback region


def site_vpn(
    args: SiteVpnArgs, parent: pulumi.Resource
) -> tuple[network.VirtualNetworkGateway, int]:
    """One route-based, zone-redundant gateway (VpnGw2AZ) with one local network gateway and
    IPsec/IKEv2 connection per municipal site. A VPN gateway serves its own region only, so
    the fallback region has one of its own: each site's VPN device keeps a tunnel to each."""
    names, place, suffix = args.names, args.place, args.site
    logical = f"-{suffix}" if suffix else ""
    parts = (suffix,) if suffix else ()
    me = pulumi.ResourceOptions(parent=parent)
    gateway_ip = network.PublicIPAddress(
        f"pip-vpn{logical}",
        public_ip_address_name=names("pip", "vpn", *parts),
        resource_group_name=place.resource_group,
        location=place.location,
        sku=network.PublicIPAddressSkuArgs(name="Standard", tier="Regional"),
        public_ip_allocation_method="Static",
        zones=["1", "2", "3"],
        tags=place.tags,
        opts=me,
    )
    diagnostics(f"pip-vpn{logical}", gateway_ip.id, args.workspace_id, parent)
    gateway = network.VirtualNetworkGateway(
        f"vgw{logical}",
        virtual_network_gateway_name=names("vgw", *parts),
        resource_group_name=place.resource_group,
        location=place.location,
        gateway_type="Vpn",
        vpn_type="RouteBased",
        vpn_gateway_generation="Generation2",
        sku=network.VirtualNetworkGatewaySkuArgs(name="VpnGw2AZ", tier="VpnGw2AZ"),
        ip_configurations=[
            network.VirtualNetworkGatewayIPConfigurationArgs(
                name="default",
                private_ip_allocation_method="Dynamic",
                public_ip_address=network.SubResourceArgs(id=gateway_ip.id),
                subnet=network.SubResourceArgs(id=args.gateway_subnet_id),
            )
        ],
        tags=place.tags,
        opts=me,
    )
    diagnostics(f"vgw{logical}", gateway.id, args.workspace_id, parent)
    connections = 0
    for muni_name, mu in args.programme.municipalities.items():
        tags = with_origin(place.tags, muni_name)
        for site in mu.info.sites:
            key = f"{muni_name}-{site.name}"
            local = network.LocalNetworkGateway(
                f"lgw{logical}-{key}",
                local_network_gateway_name=names("lgw", *parts, key),
                resource_group_name=place.resource_group,
                location=place.location,
                fqdn=f"vpn-{site.name}.{mu.info.mail_domain}",  # the site's VPN device
                local_network_address_space=network.AddressSpaceArgs(
                    address_prefixes=[site.address_space]
                ),
                tags=tags,
                opts=me,
            )
            network.VirtualNetworkGatewayConnection(
                f"con{logical}-{key}",
                virtual_network_gateway_connection_name=names("con", *parts, key),
                resource_group_name=place.resource_group,
                location=place.location,
                connection_type="IPsec",
                connection_protocol="IKEv2",
                virtual_network_gateway1=network.VirtualNetworkGatewayArgs(id=gateway.id),
                local_network_gateway2=network.LocalNetworkGatewayArgs(id=local.id),
                shared_key=args.shared_key,
                tags=tags,
                opts=me,
            )
            connections += 1
    return gateway, connections


def _nsg_rules(subnet: str) -> list[network.SecurityRuleArgs]:
    rules = [deny_internet_inbound()]
    if subnet == "snet-apim":  # API Management's control plane and load balancer probes
        for priority, source, port in (
            (100, "ApiManagement", "3443"),
            (110, "AzureLoadBalancer", "6390"),
        ):
            rules.append(
                network.SecurityRuleArgs(
                    name=f"allow-{source.lower()}-{port}",
                    priority=priority,
                    direction="Inbound",
                    access="Allow",
                    protocol="Tcp",
                    source_address_prefix=source,
                    source_port_range="*",
                    destination_address_prefix="VirtualNetwork",
                    destination_port_range=port,
                )
            )
    return rules


class LandingZone(pulumi.ComponentResource):
    resource_group_name: pulumi.Output[str]
    workspace_id: pulumi.Output[str]
    key_vault_name: pulumi.Output[str]

    def __init__(
        self, name: str, args: LandingZoneArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("eendracht:index:LandingZone", name, None, opts)
        names, prog = args.names, args.programme
        location = prog.settings.azure.primary_region
        me = pulumi.ResourceOptions(parent=self)

        group = resources.ResourceGroup(
            "rg-platform",
            resource_group_name=names("rg", "platform"),
            location=location,
            tags=args.tags,
            opts=me,
        )
        self.place = Place(group.name, location, args.tags)
        self.resource_group_name = group.name

        workspace = operationalinsights.Workspace(
            "log",
            workspace_name=names("log"),
            resource_group_name=group.name,
            location=location,
            sku=operationalinsights.WorkspaceSkuArgs(name="PerGB2018"),
            retention_in_days=args.log_retention_days,
            tags=args.tags,
            opts=me,
        )
        self.workspace_id = workspace.id
        diagnostics("log", workspace.id, workspace.id, self)

        # What servers send through the Azure Monitor Agent: security and system events, syslog.
        server_logs = monitor.DataCollectionRule(
            "dcr-servers",
            data_collection_rule_name=names("dcr", "servers"),
            resource_group_name=group.name,
            location=location,
            description="Security and system events of Windows servers, syslog of Linux servers",
            data_sources=monitor.DataCollectionRuleDataSourcesArgs(
                windows_event_logs=[
                    monitor.WindowsEventLogDataSourceArgs(
                        name="security-and-system",
                        streams=["Microsoft-SecurityEvent", "Microsoft-Event"],
                        x_path_queries=[
                            "Security!*",
                            "System!*[System[(Level=1 or Level=2 or Level=3)]]",
                            "Directory Service!*[System[(Level=1 or Level=2 or Level=3)]]",
                        ],
                    )
                ],
                syslog=[
                    monitor.SyslogDataSourceArgs(
                        name="syslog",
                        streams=["Microsoft-Syslog"],
                        facility_names=["auth", "authpriv", "daemon", "kern", "syslog"],
                        log_levels=["Notice", "Warning", "Error", "Critical", "Alert", "Emergency"],
                    )
                ],
            ),
            destinations=monitor.DataCollectionRuleDestinationsArgs(
                log_analytics=[
                    monitor.LogAnalyticsDestinationArgs(
                        name="log", workspace_resource_id=workspace.id
                    )
                ]
            ),
            data_flows=[
                monitor.DataFlowArgs(
                    streams=["Microsoft-SecurityEvent", "Microsoft-Event", "Microsoft-Syslog"],
                    destinations=["log"],
                )
            ],
            tags=args.tags,
            opts=me,
        )
        self.server_logs_rule_id = server_logs.id
        # Microsoft-SecurityEvent lands (table SecurityEvent) only in a workspace with Microsoft
        # Sentinel or Defender for Servers; Sentinel on this workspace takes the servers'
        # security events (the Windows Security Events via AMA connector of
        # learn.microsoft.com/azure/sentinel/connect-windows-security-events).
        securityinsights.SentinelOnboardingState(
            "sentinel",
            sentinel_onboarding_state_name="default",
            resource_group_name=group.name,
            workspace_name=workspace.name,
            customer_managed_key=False,
            opts=me,
        )

        # Networks: every subnet except GatewaySubnet gets its own NSG with a deny-internet rule.
        self.vnets: dict[str, network.VirtualNetwork] = {}
        self.subnet_ids: dict[tuple[str, str], pulumi.Output[str]] = {}
        for net_name in ("hub", *SPOKES):
            net_plan = args.plan[net_name]
            subnets = []
            for subnet, prefix in net_plan.subnets.items():
                nsg_ref = None
                if subnet not in NO_NSG:
                    nsg = network.NetworkSecurityGroup(
                        f"nsg-{net_name}-{subnet}",
                        network_security_group_name=names(
                            "nsg", net_name, subnet.removeprefix("snet-")
                        ),
                        resource_group_name=group.name,
                        location=location,
                        security_rules=_nsg_rules(subnet),
                        tags=args.tags,
                        opts=me,
                    )
                    diagnostics(
                        f"nsg-{net_name}-{subnet}", nsg.id, workspace.id, self, metrics=False
                    )
                    nsg_ref = network.NetworkSecurityGroupArgs(id=nsg.id)
                delegation = DELEGATIONS.get((net_name, subnet))
                subnets.append(
                    network.SubnetArgs(
                        name=subnet,
                        address_prefix=prefix,
                        network_security_group=nsg_ref,
                        default_outbound_access=False,
                        private_endpoint_network_policies="Enabled",
                        delegations=[
                            network.DelegationArgs(name="delegation", service_name=delegation)
                        ]
                        if delegation
                        else None,
                    )
                )
            vnet = network.VirtualNetwork(
                f"vnet-{net_name}",
                virtual_network_name=names("vnet", net_name),
                resource_group_name=group.name,
                location=location,
                address_space=network.AddressSpaceArgs(address_prefixes=[net_plan.prefix]),
                subnets=subnets,
                tags=args.tags,
                opts=me,
            )
            diagnostics(f"vnet-{net_name}", vnet.id, workspace.id, self)
            self.vnets[net_name] = vnet
            for subnet in net_plan.subnets:
                self.subnet_ids[(net_name, subnet)] = subnet_id(vnet, subnet)
        hub = self.vnets["hub"]

        # VPN: one route-based, zone-redundant gateway; one connection per municipal site.
        self.gateway, self.site_connections = site_vpn(
            SiteVpnArgs(
                programme=prog,
                names=names,
                place=self.place,
                gateway_subnet_id=self.subnet_ids[("hub", "GatewaySubnet")],
                workspace_id=workspace.id,
                shared_key=args.vpn_shared_key,
            ),
            self,
        )
        gateway = self.gateway

        # Hub <-> spoke peerings; spokes reach the sites through the hub's gateway.
        for spoke in SPOKES:
            vnet = self.vnets[spoke]
            network.VirtualNetworkPeering(
                f"peer-hub-{spoke}",
                virtual_network_peering_name=f"hub-to-{spoke}",
                resource_group_name=group.name,
                virtual_network_name=hub.name,
                remote_virtual_network=network.SubResourceArgs(id=vnet.id),
                allow_virtual_network_access=True,
                allow_forwarded_traffic=True,
                allow_gateway_transit=True,
                opts=pulumi.ResourceOptions(parent=self, depends_on=[gateway]),
            )
            network.VirtualNetworkPeering(
                f"peer-{spoke}-hub",
                virtual_network_peering_name=f"{spoke}-to-hub",
                resource_group_name=group.name,
                virtual_network_name=vnet.name,
                remote_virtual_network=network.SubResourceArgs(id=hub.id),
                allow_virtual_network_access=True,
                allow_forwarded_traffic=True,
                use_remote_gateways=True,
                opts=pulumi.ResourceOptions(parent=self, depends_on=[gateway]),
            )

        # Private DNS zones for PaaS, linked to every network of the landing zone.
        self.dns_zone_ids: dict[str, pulumi.Output[str]] = {}
        self.dns_zone_names: dict[str, pulumi.Output[str]] = {}
        for key, zone_name in PRIVATE_DNS_ZONES.items():
            zone = privatedns.PrivateZone(
                f"pdz-{key}",
                private_zone_name=zone_name,
                resource_group_name=group.name,
                location="global",
                tags=args.tags,
                opts=me,
            )
            self.dns_zone_ids[key] = zone.id
            self.dns_zone_names[key] = zone.name
            for net_name, vnet in self.vnets.items():
                self.link_zone(f"pdz-{key}-{net_name}", zone.name, vnet, self)

        # Key Vault: RBAC only, soft delete with purge protection, reachable only privately.
        vault = keyvault.Vault(
            "kv",
            vault_name=names.unique("kv", "core"),
            resource_group_name=group.name,
            location=location,
            properties=keyvault.VaultPropertiesArgs(
                tenant_id=args.tenant_id,
                sku=keyvault.SkuArgs(family="A", name=keyvault.SkuName.PREMIUM),
                enable_rbac_authorization=True,
                enable_soft_delete=True,
                soft_delete_retention_in_days=90,
                enable_purge_protection=True,
                public_network_access="Disabled",
                network_acls=keyvault.NetworkRuleSetArgs(
                    bypass="AzureServices", default_action="Deny"
                ),
            ),
            tags=args.tags,
            opts=me,
        )
        self.key_vault_name = vault.name
        diagnostics("kv", vault.id, workspace.id, self)
        private_endpoint(
            "kv",
            self.place,
            self.subnet_ids[("hub", "snet-privateendpoints")],
            vault.id,
            "vault",
            self.dns_zone_ids["vault"],
            self,
        )

        self.register_outputs(
            {
                "resource_group_name": group.name,
                "workspace_id": workspace.id,
                "key_vault_name": vault.name,
                "hub_vnet_id": hub.id,
            }
        )

    def link_zone(
        self,
        name: str,
        zone_name: pulumi.Input[str],
        vnet: network.VirtualNetwork,
        parent: pulumi.Resource,
        resource_group: pulumi.Input[str] | None = None,
    ) -> privatedns.VirtualNetworkLink:
        """Link a private DNS zone to a network (also used for the fallback network)."""
        return privatedns.VirtualNetworkLink(
            name,
            resource_group_name=resource_group or self.place.resource_group,
            private_zone_name=zone_name,
            location="global",
            virtual_network=privatedns.SubResourceArgs(id=vnet.id),
            registration_enabled=False,
            tags=self.place.tags,
            opts=pulumi.ResourceOptions(parent=parent),
        )
