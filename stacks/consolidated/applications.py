"""Applications: the application landing zone of the rehosted and RemoteApp back-end servers.

One private VM per on-premises server that carries a `rehost` or `remoteapp` application,
behind an internal load balancer whose static front-end address is the landing zone's entry
point; one PostgreSQL flexible server (private access, zone-redundant HA, geo-redundant
backups, Entra ID authentication only) with one database per source database.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
import pulumi_azure_native.dbforpostgresql as postgresql
import pulumi_azure_native.network as network
import pulumi_azure_native.privatedns as privatedns
import pulumi_azure_native.resources as resources

from consolidated.common import Place, diagnostics
from consolidated.names import Names
from consolidated.sizing import Sizing
from consolidated.tags import with_origin
from consolidated.vm import (
    UBUNTU_REPLICATED,
    WINDOWS_SERVER,
    BuiltVm,
    VmSpec,
    private_vm,
    send_logs,
)
from eendracht.programme import models as m
from eendracht.stacksettings import StackSettings


@dataclass(frozen=True)
class AppVm:
    municipality: str
    host: str
    built: BuiltVm


@dataclass(frozen=True)
class ApplicationsArgs:
    programme: m.Programme
    settings: StackSettings
    sizing: Sizing
    names: Names
    tags: dict[str, str]
    workspace_id: pulumi.Input[str]
    tenant_id: pulumi.Input[str]
    apps_subnet_id: pulumi.Input[str]
    frontend_subnet_id: pulumi.Input[str]
    frontend_ip: str
    database_subnet_id: pulumi.Input[str]
    linked_vnet_ids: Mapping[str, pulumi.Input[str]]
    admin_password: pulumi.Input[str]
    ssh_public_key: str
    logs_rule_id: pulumi.Input[str]  # data collection rule for server events


def database_name(municipality: str, database: str) -> str:
    """Databases of different municipalities share one server, so the name carries its origin."""
    return f"{municipality.replace('-', '_')}_{database}"[:63]


class Applications(pulumi.ComponentResource):
    resource_group_name: pulumi.Output[str]
    database_fqdn: pulumi.Output[str]
    frontend_ip: str

    def __init__(
        self, name: str, args: ApplicationsArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("eendracht:index:Applications", name, None, opts)
        names, prog = args.names, args.programme
        location = prog.settings.azure.primary_region
        me = pulumi.ResourceOptions(parent=self)
        group = resources.ResourceGroup(
            "rg-apps",
            resource_group_name=names("rg", "apps"),
            location=location,
            tags=args.tags,
            opts=me,
        )
        self.resource_group_name = group.name

        lb_name = names("lbi", "apps")
        balancer = network.LoadBalancer(
            "lbi-apps",
            load_balancer_name=lb_name,
            resource_group_name=group.name,
            location=location,
            sku=network.LoadBalancerSkuArgs(name="Standard", tier="Regional"),
            frontend_ip_configurations=[
                network.FrontendIPConfigurationArgs(
                    name="apps",
                    private_ip_allocation_method="Static",
                    private_ip_address=args.frontend_ip,
                    subnet=network.SubnetArgs(id=args.frontend_subnet_id),
                    zones=["1", "2", "3"],
                )
            ],
            backend_address_pools=[network.BackendAddressPoolArgs(name="apps")],
            tags=args.tags,
            opts=me,
        )
        diagnostics("lbi-apps", balancer.id, args.workspace_id, self, logs=False)
        self.frontend_ip = args.frontend_ip
        pool_id = pulumi.Output.concat(balancer.id, "/backendAddressPools/apps")

        self.app_vms: list[AppVm] = []
        for index, server in enumerate(args.sizing.app_servers, start=1):
            windows = server.os == "windows"
            built = private_vm(
                VmSpec(
                    key=f"app-{server.municipality}-{server.host}",
                    vm_name=names("vm", server.municipality, server.host)[:64],
                    computer_name=names.computer("app", index),
                    size=args.settings.app_vm_size,
                    # Replicated by Site Recovery (fallback.py): an OS of the A2A support
                    # matrix and no encryption at host (vm.py says why).
                    image=WINDOWS_SERVER if windows else UBUNTU_REPLICATED,
                    windows=windows,
                    subnet_id=args.apps_subnet_id,
                    admin_password=args.admin_password,
                    ssh_public_key=args.ssh_public_key,
                    backend_pool_id=pool_id,
                    license_type="Windows_Server" if windows else None,
                    encryption_at_host=False,
                ),
                Place(group.name, location, with_origin(args.tags, server.municipality)),
                self,
            )
            send_logs(
                f"app-{server.municipality}-{server.host}",
                built,
                windows,
                args.logs_rule_id,
                Place(group.name, location, with_origin(args.tags, server.municipality)),
                self,
            )
            self.app_vms.append(AppVm(server.municipality, server.host, built))

        # PostgreSQL flexible server: private access through a delegated subnet and its own zone.
        server_name = names.unique("psql", "apps", max_length=63)
        zone = privatedns.PrivateZone(
            "pdz-postgres",
            private_zone_name=f"{server_name}.private.postgres.database.azure.com",
            resource_group_name=group.name,
            location="global",
            tags=args.tags,
            opts=me,
        )
        for net_name, vnet_id in args.linked_vnet_ids.items():
            privatedns.VirtualNetworkLink(
                f"pdz-postgres-{net_name}",
                resource_group_name=group.name,
                private_zone_name=zone.name,
                location="global",
                virtual_network=privatedns.SubResourceArgs(id=vnet_id),
                registration_enabled=False,
                tags=args.tags,
                opts=me,
            )
        database_server = postgresql.Server(
            "psql",
            server_name=server_name,
            resource_group_name=group.name,
            location=location,
            version="16",
            sku=postgresql.SkuArgs(name="Standard_D4ds_v5", tier="GeneralPurpose"),
            storage=postgresql.StorageArgs(
                storage_size_gb=args.sizing.database_storage_gib, auto_grow="Enabled"
            ),
            backup=postgresql.BackupArgs(backup_retention_days=35, geo_redundant_backup="Enabled"),
            high_availability=postgresql.HighAvailabilityArgs(mode="ZoneRedundant"),
            network=postgresql.NetworkArgs(
                delegated_subnet_resource_id=args.database_subnet_id,
                private_dns_zone_arm_resource_id=zone.id,
                public_network_access="Disabled",
            ),
            auth_config=postgresql.AuthConfigArgs(
                active_directory_auth="Enabled", password_auth="Disabled", tenant_id=args.tenant_id
            ),
            tags=args.tags,
            opts=me,
        )
        diagnostics("psql", database_server.id, args.workspace_id, self)
        self.database_fqdn = pulumi.Output.concat(server_name, ".postgres.database.azure.com")
        self.databases = 0
        for muni_name, mu in prog.municipalities.items():
            for app in mu.applications:
                if app.disposition is m.Disposition.RETIRE:
                    continue
                for db in app.databases:
                    if db.engine is not m.DatabaseEngine.POSTGRESQL:
                        continue  # MSSQL/Oracle move with their application server
                    db_name = database_name(muni_name, db.name)
                    postgresql.Database(
                        f"db-{muni_name}-{app.name}-{db.name}",
                        database_name=db_name,
                        server_name=database_server.name,
                        resource_group_name=group.name,
                        charset="UTF8",
                        collation="en_US.utf8",
                        opts=me,
                    )
                    self.databases += 1
        self.register_outputs(
            {
                "frontend_ip": args.frontend_ip,
                "database_fqdn": self.database_fqdn,
                "app_servers": len(self.app_vms),
                "databases": self.databases,
            }
        )
