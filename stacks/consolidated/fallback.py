"""FallbackSite (uitwijklocatie): the programme's fallback region, ready to take over.

Its own resource group and network (peered to the hub, so the sites reach it through the same
VPN), the private DNS zones linked to it, a standby AVD host pool kept at zero session hosts
(scale it up on failover), Azure Site Recovery of the application servers, and Traffic
Manager priority profiles that move each application endpoint to the fallback site when the
primary stops answering its health check.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
import pulumi_azure_native.network as network
import pulumi_azure_native.privatedns as privatedns
import pulumi_azure_native.resources as resources
import pulumi_azure_native.trafficmanager as trafficmanager

from consolidated.addressing import NetworkPlan
from consolidated.common import Place, deny_internet_inbound, diagnostics, subnet_id
from consolidated.names import Names
from consolidated.session_host_pool import SessionHostPool, SessionHostPoolArgs
from consolidated.site_recovery import ReplicatedVm, SiteRecovery, SiteRecoveryArgs
from consolidated.tags import with_origin
from eendracht.programme import models as m

TRAFFIC_MANAGER_TTL = 30  # seconds: clients follow a failover within half a minute


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
    gateway: pulumi.Resource | None = None  # peering with remote gateways waits for it


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
            nsg = network.NetworkSecurityGroup(
                f"nsg-fallback-{subnet}",
                network_security_group_name=names("nsg", "fallback", subnet.removeprefix("snet-")),
                resource_group_name=group.name,
                location=location,
                security_rules=[deny_internet_inbound()],
                tags=tags,
                opts=me,
            )
            diagnostics(f"nsg-fallback-{subnet}", nsg.id, args.workspace_id, self, metrics=False)
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
        waits = [args.gateway] if args.gateway is not None else []
        network.VirtualNetworkPeering(
            "peer-hub-fallback",
            virtual_network_peering_name="hub-to-fallback",
            resource_group_name=args.platform_group,
            virtual_network_name=args.hub_vnet_name,
            remote_virtual_network=network.SubResourceArgs(id=vnet.id),
            allow_virtual_network_access=True,
            allow_forwarded_traffic=True,
            allow_gateway_transit=True,
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
            use_remote_gateways=True,
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
            ),
            opts=me,
        )
        self.standby_pool_name = standby.host_pool_name

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
            ),
            opts=me,
        )
        self.recovery_vault_name = recovery.vault_name

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
                        interval_in_seconds=30,
                        timeout_in_seconds=10,
                        tolerated_number_of_failures=3,
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
                "failover_profiles": self.failover_profiles,
            }
        )
