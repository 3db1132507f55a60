"""FallbackSite (uitwijklocatie): the programme's fallback region, ready to take over.

Its own resource group and network (peered to the hub for everyday traffic) with its own VPN
gateway and a connection to every municipal site (a gateway serves its own region: when the
primary region is down, so is the primary's gateway), the private DNS zones linked to it, a
standby AVD host pool kept at zero session hosts (scaled up on failover) whose desktop is
registered in a workspace of its own in the fallback region and assigned to staff, Azure Site
Recovery of the application servers with a recovery plan in boot order and an isolated
network for test failovers, and Traffic Manager priority profiles that move each application
endpoint to the fallback site when the primary stops answering its health check.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
import pulumi_azure_native.authorization as authorization
import pulumi_azure_native.desktopvirtualization as avd
import pulumi_azure_native.network as network
import pulumi_azure_native.privatedns as privatedns
import pulumi_azure_native.resources as resources
import pulumi_azure_native.trafficmanager as trafficmanager

from consolidated.addressing import NO_NSG, NetworkPlan
from consolidated.common import Place, deny_internet_inbound, diagnostics, subnet_id
from consolidated.landing_zone import SiteVpnArgs, site_vpn
from consolidated.names import Names
from consolidated.session_host_pool import SessionHostPool, SessionHostPoolArgs
from consolidated.site_recovery import ReplicatedVm, SiteRecovery, SiteRecoveryArgs
from consolidated.tags import with_origin
from eendracht.programme import models as m

TRAFFIC_MANAGER_TTL = 30  # seconds: clients follow a failover within half a minute
PROBE_INTERVAL = 30  # seconds between health probes (Traffic Manager: 30 or 10)
PROBE_TIMEOUT = 10  # seconds a probe waits for an answer
PROBE_TOLERATED_FAILURES = 3  # failed probes before an endpoint is Degraded
DESKTOP_VIRTUALIZATION_USER = "1d18fff3-a72a-46b5-b4a9-0b38a3cd7e63"


def _closed_nsg(
    logical: str,
    name: str,
    place: Place,
    workspace_id: pulumi.Input[str],
    parent: pulumi.Resource,
) -> network.NetworkSecurityGroup:
    """An NSG whose one rule keeps the internet out, with its diagnostics (an NSG has no metrics)."""
    nsg = network.NetworkSecurityGroup(
        logical,
        network_security_group_name=name,
        resource_group_name=place.resource_group,
        location=place.location,
        security_rules=[deny_internet_inbound()],
        tags=place.tags,
        opts=pulumi.ResourceOptions(parent=parent),
    )
    diagnostics(logical, nsg.id, workspace_id, parent, metrics=False)
    return nsg


@dataclass(frozen=True)
class FallbackSiteArgs:
    programme: m.Programme
    names: Names
    tags: dict[str, str]
    plan: NetworkPlan
    workspace_id: pulumi.Input[str]
    hub_vnet_id: pulumi.Input[str]
    hub_vnet_name: pulumi.Input[str]
    platform_group: pulumi.Input[str]
    dns_zone_names: Mapping[str, pulumi.Input[str]]
    primary: Place  # the applications' resource group, for the ASR cache account
    primary_vnet_id: pulumi.Input[str]
    primary_vnet_name: str
    cache_subnet_id: pulumi.Input[str]
    blob_dns_zone_id: pulumi.Input[str]
    replicated_vms: tuple[ReplicatedVm, ...]
    standby_max_sessions: int
    standby_vm_size: str
    admin_password: pulumi.Input[str]
    staff_group_id: pulumi.Input[str]  # may use the standby desktop, like the office desktop
    gateway: pulumi.Resource | None = None  # the hub's gateway: peerings wait for it
    vpn_shared_key: pulumi.Input[str] | None = None  # the same IPsec key as the primary's
    boot_groups: tuple[tuple[str, ...], ...] = ()  # ReplicatedVm keys in boot order
    failover_capacity: int = 0  # standby session hosts after a failover (the office pool's)


class FallbackSite(pulumi.ComponentResource):
    location: str
    recovery_vault_name: pulumi.Output[str]
    standby_pool_name: pulumi.Output[str]

    def __init__(
        self, name: str, args: FallbackSiteArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("eendracht:index:FallbackSite", name, None, opts)
        names, prog = args.names, args.programme
        self.location = location = prog.settings.azure.fallback_region
        tags = {**args.tags, "site": "fallback"}
        me = pulumi.ResourceOptions(parent=self)
        group = resources.ResourceGroup(
            "rg-fallback",
            resource_group_name=names("rg", "fallback"),
            location=location,
            tags=tags,
            opts=me,
        )
        place = Place(group.name, location, tags)

        subnets = []
        for subnet, prefix in args.plan.subnets.items():
            if subnet in NO_NSG:  # GatewaySubnet: Azure refuses an NSG on it
                subnets.append(network.SubnetArgs(name=subnet, address_prefix=prefix))
                continue
            nsg = _closed_nsg(
                f"nsg-fallback-{subnet}",
                names("nsg", "fallback", subnet.removeprefix("snet-")),
                place,
                args.workspace_id,
                self,
            )
            subnets.append(
                network.SubnetArgs(
                    name=subnet,
                    address_prefix=prefix,
                    network_security_group=network.NetworkSecurityGroupArgs(id=nsg.id),
                    default_outbound_access=False,
                )
            )
        vnet = network.VirtualNetwork(
            "vnet-fallback",
            virtual_network_name=names("vnet", "fallback"),
            resource_group_name=group.name,
            location=location,
            address_space=network.AddressSpaceArgs(address_prefixes=[args.plan.prefix]),
            subnets=subnets,
            tags=tags,
            opts=me,
        )
        diagnostics("vnet-fallback", vnet.id, args.workspace_id, self)
        # Its own VPN to every site, the same shape as the primary's (landing_zone.site_vpn).
        # A network with a gateway of its own cannot use a peer's (useRemoteGateways), and must
        # not: that gateway is in the region whose loss this site is for.
        self.gateway, self.site_connections = site_vpn(
            SiteVpnArgs(
                programme=prog,
                names=names,
                place=place,
                gateway_subnet_id=subnet_id(vnet, "GatewaySubnet"),
                workspace_id=args.workspace_id,
                shared_key=args.vpn_shared_key,
                site="fallback",
            ),
            self,
        )
        # Peered with the hub for everyday traffic between the regions, no gateway transit:
        # each region reaches the sites through its own gateway.
        waits = [w for w in (args.gateway, self.gateway) if w is not None]
        network.VirtualNetworkPeering(
            "peer-hub-fallback",
            virtual_network_peering_name="hub-to-fallback",
            resource_group_name=args.platform_group,
            virtual_network_name=args.hub_vnet_name,
            remote_virtual_network=network.SubResourceArgs(id=vnet.id),
            allow_virtual_network_access=True,
            allow_forwarded_traffic=True,
            allow_gateway_transit=False,
            opts=pulumi.ResourceOptions(parent=self, depends_on=waits),
        )
        network.VirtualNetworkPeering(
            "peer-fallback-hub",
            virtual_network_peering_name="fallback-to-hub",
            resource_group_name=group.name,
            virtual_network_name=vnet.name,
            remote_virtual_network=network.SubResourceArgs(id=args.hub_vnet_id),
            allow_virtual_network_access=True,
            allow_forwarded_traffic=True,
            use_remote_gateways=False,
            opts=pulumi.ResourceOptions(parent=self, depends_on=waits),
        )
        for key, zone_name in args.dns_zone_names.items():
            privatedns.VirtualNetworkLink(
                f"pdz-{key}-fallback",
                resource_group_name=args.platform_group,
                private_zone_name=zone_name,
                location="global",
                virtual_network=privatedns.SubResourceArgs(id=vnet.id),
                registration_enabled=False,
                tags=tags,
                opts=me,
            )

        standby = SessionHostPool(
            "pool-standby",
            SessionHostPoolArgs(
                role="standby",
                names=names,
                place=place,
                workspace_id=args.workspace_id,
                host_count=0,  # kept at zero; the failover runbook adds session hosts
                max_sessions=args.standby_max_sessions,
                vm_size=args.standby_vm_size,
                admin_password=args.admin_password,
                subnet_id=subnet_id(vnet, "snet-sessionhosts"),
                friendly_name="Werkplek (uitwijklocatie)",
                failover_capacity=args.failover_capacity,
            ),
            opts=me,
        )
        self.standby_pool_name = standby.host_pool_name
        # The standby desktop is in a workspace of its own in the fallback region: a workspace
        # is regional metadata, and this feed entry must outlive the primary region. Users
        # subscribed to the AVD feed see every workspace they are assigned to, so it appears
        # next to the primary workspace, with the staff group assigned as on the office desktop.
        standby_workspace = avd.Workspace(
            "vdws-fallback",
            workspace_name=names("vdws", "fallback"),
            resource_group_name=group.name,
            location=location,
            friendly_name=f"{prog.settings.organisation.name} (uitwijklocatie)",
            description="Alleen in gebruik na een uitwijk; tot dan heeft deze werkplek geen hosts.",
            application_group_references=[standby.desktop_group.id],
            public_network_access="Enabled",  # the feed, as the primary workspace
            tags=tags,
            opts=me,
        )
        diagnostics("vdws-fallback", standby_workspace.id, args.workspace_id, self, metrics=False)
        self.standby_workspace_name = standby_workspace.name
        authorization.RoleAssignment(
            "ra-avd-users-standby",
            principal_id=args.staff_group_id,
            principal_type="Group",
            role_definition_id=(
                f"/providers/Microsoft.Authorization/roleDefinitions/{DESKTOP_VIRTUALIZATION_USER}"
            ),
            scope=standby.desktop_group.id,
            opts=me,
        )

        # Test failovers land in an isolated network: the recovery subnet's prefix (so servers
        # keep their addresses), not peered, no gateway, nothing from the internet.
        drill_nsg = _closed_nsg("nsg-drill", names("nsg", "drill"), place, args.workspace_id, self)
        recovery_prefix = args.plan.subnets["snet-recovery"]
        drill = network.VirtualNetwork(
            "vnet-drill",
            virtual_network_name=names("vnet", "drill"),
            resource_group_name=group.name,
            location=location,
            address_space=network.AddressSpaceArgs(address_prefixes=[recovery_prefix]),
            subnets=[
                network.SubnetArgs(
                    name="snet-recovery",
                    address_prefix=recovery_prefix,
                    network_security_group=network.NetworkSecurityGroupArgs(id=drill_nsg.id),
                    default_outbound_access=False,
                )
            ],
            tags={**tags, "purpose": "test-failover"},
            opts=me,
        )
        diagnostics("vnet-drill", drill.id, args.workspace_id, self)
        self.drill_network_id = drill.id

        recovery = SiteRecovery(
            "site-recovery",
            SiteRecoveryArgs(
                names=names,
                place=place,
                primary=args.primary,
                workspace_id=args.workspace_id,
                primary_vnet_id=args.primary_vnet_id,
                primary_vnet_name=args.primary_vnet_name,
                recovery_vnet_id=vnet.id,
                recovery_subnet="snet-recovery",
                recovery_group_id=group.id,
                cache_subnet_id=args.cache_subnet_id,
                blob_dns_zone_id=args.blob_dns_zone_id,
                vms=args.replicated_vms,
                boot_groups=args.boot_groups,
            ),
            opts=me,
        )
        self.recovery_vault_name = recovery.vault_name
        self.recovery_plan_name = recovery.recovery_plan_name
        self.boot_groups = recovery.boot_groups

        # DNS failover: one Traffic Manager priority profile per application endpoint.
        domain = prog.settings.organisation.mail_domain
        self.failover_profiles = 0
        for muni_name, mu in prog.municipalities.items():
            for app in mu.applications:
                if app.disposition not in (m.Disposition.REHOST, m.Disposition.REMOTEAPP):
                    continue
                key = f"{muni_name}-{app.name}"
                path = app.health if app.health.startswith("/") else "/"
                profile = trafficmanager.Profile(
                    f"traf-{key}",
                    profile_name=names("traf", key)[:63],
                    resource_group_name=group.name,
                    location="global",
                    profile_status="Enabled",
                    traffic_routing_method="Priority",
                    dns_config=trafficmanager.DnsConfigArgs(
                        relative_name=f"{names.unique('traf', key, max_length=63)}",
                        ttl=TRAFFIC_MANAGER_TTL,
                    ),
                    monitor_config=trafficmanager.MonitorConfigArgs(
                        protocol="HTTPS",
                        port=443,
                        path=path,
                        interval_in_seconds=PROBE_INTERVAL,
                        timeout_in_seconds=PROBE_TIMEOUT,
                        tolerated_number_of_failures=PROBE_TOLERATED_FAILURES,
                    ),
                    endpoints=[
                        trafficmanager.EndpointArgs(
                            name=site,
                            type="Microsoft.Network/trafficManagerProfiles/externalEndpoints",
                            target=f"{app.name}.{muni_name}.{site}.apps.{domain}",
                            priority=priority,
                            endpoint_status="Enabled",
                        )
                        for priority, site in ((1, "primary"), (2, "fallback"))
                    ],
                    tags=with_origin(tags, muni_name),
                    opts=me,
                )
                diagnostics(f"traf-{key}", profile.id, args.workspace_id, self)
                self.failover_profiles += 1
        self.register_outputs(
            {
                "recovery_vault_name": recovery.vault_name,
                "standby_pool_name": standby.host_pool_name,
                "standby_workspace_name": standby_workspace.name,
                "drill_network_id": drill.id,
                "site_connections": self.site_connections,
                "failover_profiles": self.failover_profiles,
            }
        )
