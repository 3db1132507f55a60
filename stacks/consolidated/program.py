"""The whole consolidated environment: build every component from the programme and settings.

`stacks/__main__.py` calls `build` with what it read from config; the tests, the benchmark
and `eendracht preview` call it under mocks. It returns every output named in
eendracht.outputs.STACK_OUTPUTS.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi

from consolidated.addressing import overlaps, plan
from consolidated.aliases import drop_type_aliases
from consolidated.applications import Applications, ApplicationsArgs
from consolidated.backup import Backup, BackupArgs, ProtectedVm
from consolidated.common import Place
from consolidated.directory import Directory, DirectoryArgs
from consolidated.fallback import FallbackSite, FallbackSiteArgs
from consolidated.file_data import FileData, FileDataArgs
from consolidated.identity import Identity, IdentityArgs
from consolidated.integration import IntegrationHub, IntegrationHubArgs, catalogue
from consolidated.intune import Intune, IntuneArgs
from consolidated.landing_zone import LandingZone, LandingZoneArgs
from consolidated.names import Names
from consolidated.sign_in_alert import EmergencySignInAlert, EmergencySignInAlertArgs
from consolidated.site_recovery import ReplicatedVm
from consolidated.sizing import size
from consolidated.tags import base_tags
from consolidated.workstations import Workstations, WorkstationsArgs
from eendracht.programme import models as m
from eendracht.stacksettings import StackSettings

AVD_FEED_HOST = "rdweb.wvd.microsoft.com"  # the AVD feed is global; users subscribe to it


@dataclass(frozen=True)
class Secrets:
    """Secret inputs, read by __main__ as Pulumi secrets (never plain strings in state)."""

    admin_password: pulumi.Input[str]
    vpn_shared_key: pulumi.Input[str] | None = None
    graph_client_id: pulumi.Input[str] | None = None
    graph_client_secret: pulumi.Input[str] | None = None


@dataclass(frozen=True)
class Platform:
    """What the program needs from Azure itself, resolved once by __main__."""

    tenant_id: pulumi.Input[str]
    initial_domain: pulumi.Input[str]  # the tenant's `<name>.onmicrosoft.com`


def build_intune(
    programme: m.Programme, identity: Identity, platform: Platform, secrets: Secrets
) -> pulumi.ComponentResource | None:
    """The Intune component (stacks/consolidated/intune/), assigned to the staff group and the
    Autopilot device group; left out, with a warning, when no Graph credentials are set."""
    if secrets.graph_client_id is None or secrets.graph_client_secret is None:
        pulumi.log.warn(
            "eendracht:graphClientId/graphClientSecret not set: Intune objects are not managed"
        )
        return None
    return Intune(
        "intune",
        IntuneArgs(
            programme=programme.name,
            tenant_id=platform.tenant_id,
            client_id=secrets.graph_client_id,
            client_secret=secrets.graph_client_secret,
            group_ids=[identity.staff_group_id],
            autopilot_group_ids=[identity.autopilot_group_id],
            device_name_template=device_name_template(programme),
        ),
    )


def device_name_template(programme: m.Programme) -> str:
    """Autopilot device names: up to 15 characters, e.g. `WAARDS-%RAND:5%`."""
    prefix = "".join(c for c in programme.name.upper() if c.isalnum())[:6]
    return f"{prefix}-%RAND:5%"


def build(
    programme: m.Programme,
    settings: StackSettings,
    platform: Platform,
    secrets: Secrets,
) -> dict[str, Any]:
    drop_type_aliases()
    azure = programme.settings.azure
    org = programme.settings.organisation
    names = Names(programme.name, settings.environment)
    tags = base_tags(programme.name, org.cost_centre, settings.environment)
    address_plan = plan(settings.address_space or azure.address_space)
    sites = [s.address_space for mu in programme.municipalities.values() for s in mu.info.sites]
    clashes = overlaps(address_plan, sites)
    if clashes:
        raise ValueError(
            f"site address spaces {', '.join(clashes)} overlap the Azure address space "
            f"{address_plan.space}; choose another eendracht:addressSpace"
        )
    sizing = size(programme, settings)

    zone = LandingZone(
        "landing-zone",
        LandingZoneArgs(
            programme=programme,
            names=names,
            plan=address_plan,
            tags=tags,
            tenant_id=platform.tenant_id,
            log_retention_days=settings.log_retention_days,
            vpn_shared_key=secrets.vpn_shared_key,
        ),
    )
    log = zone.workspace_id
    subnets = zone.subnet_ids
    identity = Identity(
        "identity",
        IdentityArgs(
            programme=programme,
            initial_domain=platform.initial_domain,
            conditional_access=settings.conditional_access,
        ),
    )
    EmergencySignInAlert(
        "emergency-sign-in-alert",
        EmergencySignInAlertArgs(
            names=names,
            place=zone.place,
            workspace_id=log,
            object_ids=identity.emergency_access.object_ids,
            user_principal_names=identity.emergency_access.user_principal_names,
            alert_email=settings.security_alert_email,
        ),
    )
    build_intune(programme, identity, platform, secrets)

    directory = Directory(
        "directory",
        DirectoryArgs(
            programme=programme,
            names=names,
            tags=tags,
            subnet_id=subnets[("hub", "snet-identity")],
            addresses=(
                address_plan["hub"].host("snet-identity", 0),
                address_plan["hub"].host("snet-identity", 1),
            ),
            vm_size=settings.domain_controller_vm_size,
            admin_password=secrets.admin_password,
            logs_rule_id=zone.server_logs_rule_id,
        ),
    )
    workstations = Workstations(
        "workstations",
        WorkstationsArgs(
            programme=programme,
            settings=settings,
            sizing=sizing,
            names=names,
            tags=tags,
            workspace_id=log,
            session_subnet_id=subnets[("workstations", "snet-sessionhosts")],
            endpoint_subnet_id=subnets[("workstations", "snet-privateendpoints")],
            file_dns_zone_id=zone.dns_zone_ids["file"],
            staff_group_id=identity.staff_group_id,
            admin_password=secrets.admin_password,
            registration_expiry=settings.registration_expiry,
        ),
    )
    vnet_ids = {name: vnet.id for name, vnet in zone.vnets.items()}
    applications = Applications(
        "applications",
        ApplicationsArgs(
            programme=programme,
            settings=settings,
            sizing=sizing,
            names=names,
            tags=tags,
            workspace_id=log,
            tenant_id=platform.tenant_id,
            apps_subnet_id=subnets[("applications", "snet-apps")],
            frontend_subnet_id=subnets[("applications", "snet-frontend")],
            frontend_ip=address_plan["applications"].host("snet-frontend", 0),
            database_subnet_id=subnets[("applications", "snet-database")],
            linked_vnet_ids=vnet_ids,
            admin_password=secrets.admin_password,
            ssh_public_key=settings.admin_ssh_public_key,
            logs_rule_id=zone.server_logs_rule_id,
        ),
    )
    files = FileData(
        "file-data",
        FileDataArgs(
            programme=programme,
            sizing=sizing,
            names=names,
            tags=tags,
            workspace_id=log,
            endpoint_subnet_id=subnets[("applications", "snet-privateendpoints")],
            file_dns_zone_id=zone.dns_zone_ids["file"],
            sync_host_subnet_id=subnets[("applications", "snet-apps")],
            sync_host_ip=address_plan["applications"].host("snet-apps", -2),
            vm_size=settings.app_vm_size,
            ssh_public_key=settings.admin_ssh_public_key,
            logs_rule_id=zone.server_logs_rule_id,
        ),
    )
    apps_group = names("rg", "apps")
    backup = Backup(
        "backup",
        BackupArgs(
            names=names,
            place=Place(zone.resource_group_name, azure.primary_region, tags),
            workspace_id=log,
            retention_days=settings.backup_retention_days,
            vms=tuple(
                ProtectedVm(
                    f"{vm.municipality}-{vm.host}",
                    apps_group,
                    names("vm", vm.municipality, vm.host)[:64],
                    vm.built.vm.id,
                )
                for vm in applications.app_vms
            )
            + tuple(
                ProtectedVm(
                    f"dc-{i:02d}", directory.resource_group, names("vm", "dc", f"{i:02d}"), dc.vm.id
                )
                for i, dc in enumerate(directory.controllers, start=1)
            ),
            file_account_group=names("rg", "files"),
            file_account_name=names.storage("files"),
            file_account_id=files.account_id,
            file_shares=tuple(files.share_names),
        ),
    )
    fallback = FallbackSite(
        "fallback-site",
        FallbackSiteArgs(
            programme=programme,
            names=names,
            tags=tags,
            plan=address_plan["fallback"],
            workspace_id=log,
            hub_vnet_id=zone.vnets["hub"].id,
            hub_vnet_name=zone.vnets["hub"].name,
            platform_group=zone.resource_group_name,
            dns_zone_names=zone.dns_zone_names,
            primary=Place(applications.resource_group_name, azure.primary_region, tags),
            primary_vnet_id=zone.vnets["applications"].id,
            primary_vnet_name=names("vnet", "applications"),
            cache_subnet_id=subnets[("applications", "snet-privateendpoints")],
            blob_dns_zone_id=zone.dns_zone_ids["blob"],
            replicated_vms=tuple(
                ReplicatedVm(
                    key=f"{vm.municipality}-{vm.host}",
                    vm_id=vm.built.vm.id,
                    os_disk_id=pulumi.Output.concat(
                        "/subscriptions/",
                        vm.built.vm.id.apply(lambda i: str(i).split("/")[2]),
                        f"/resourceGroups/{apps_group}/providers/Microsoft.Compute/disks/",
                        vm.built.os_disk_name,
                    ),
                )
                for vm in applications.app_vms
            ),
            standby_max_sessions=settings.session_density,
            standby_vm_size=settings.office_vm_size,
            admin_password=secrets.admin_password,
            staff_group_id=identity.staff_group_id,
            gateway=zone.gateway,
            vpn_shared_key=secrets.vpn_shared_key,
            boot_groups=tuple(
                tuple(f"{s.municipality}-{s.host}" for s in group) for group in sizing.boot_groups
            ),
            failover_capacity=sizing.office_hosts,
        ),
    )
    hub = IntegrationHub(
        "integration-hub",
        IntegrationHubArgs(
            programme=programme,
            catalogue=catalogue(programme),
            names=names,
            tags=tags,
            workspace_id=log,
            apim_subnet_id=subnets[("integration", "snet-apim")],
            endpoint_subnet_id=subnets[("integration", "snet-privateendpoints")],
            servicebus_dns_zone_id=zone.dns_zone_ids["servicebus"],
            linked_vnet_ids=vnet_ids,
            publisher_email=f"ict@{org.mail_domain}",
        ),
    )

    pools = dict(workstations.host_pool_names)
    pools["standby"] = fallback.standby_pool_name
    return {
        "resource_group": zone.resource_group_name,
        "primary_region": azure.primary_region,
        "fallback_region": azure.fallback_region,
        "key_vault_name": zone.key_vault_name,
        "log_analytics_workspace_id": zone.workspace_id,
        "file_target_host": files.target_host,
        "file_target_root": files.target_root,
        "file_share_endpoints": files.endpoints,
        "directory_uri": directory.uri,
        "directory_base_dn": directory.base_dn,
        "dns_server": directory.dns_server,
        "dns_zone": org.mail_domain,
        "workplace_fqdn": AVD_FEED_HOST,
        "application_gateway_ip": applications.frontend_ip,
        "database_server_fqdn": applications.database_fqdn,
        "integration_hub_endpoint": hub.gateway_url,
        "host_pool_names": pools,
        "recovery_vault_name": fallback.recovery_vault_name,
        "backup_vault_name": backup.vault_name,
        "recovery_plan_name": fallback.recovery_plan_name,
        "drill_network_id": fallback.drill_network_id,
        "standby_workspace_name": fallback.standby_workspace_name,
        "emergency_access_accounts": identity.emergency_access.user_principal_names,
    }
