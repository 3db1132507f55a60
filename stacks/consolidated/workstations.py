"""Workstations: Azure Virtual Desktop sized from the programme.

A workspace; a pooled office host pool (count from head count and density, see sizing.py);
a GPU pool for CAD users where the programme has them; one RemoteApp application group per
application with disposition `remoteapp`; FSLogix profiles on Azure Files premium behind a
private endpoint; a scaling plan on Dutch office hours (Europe/Amsterdam).
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_azure_native.authorization as authorization
import pulumi_azure_native.desktopvirtualization as avd
import pulumi_azure_native.resources as resources
import pulumi_azure_native.storage as storage

from consolidated.common import Place, diagnostics
from consolidated.names import Names
from consolidated.session_host_pool import SessionHostPool, SessionHostPoolArgs
from consolidated.sizing import Sizing
from consolidated.storage import StorageSpec, secure_account
from consolidated.tags import with_origin
from eendracht.programme import models as m
from eendracht.stacksettings import StackSettings

DESKTOP_VIRTUALIZATION_USER = "1d18fff3-a72a-46b5-b4a9-0b38a3cd7e63"
STORAGE_FILE_SMB_CONTRIBUTOR = "0c867c2a-1d8c-454a-a3db-ab2ea1bdc8bb"
TIME_ZONE = "W. Europe Standard Time"  # Windows name of Europe/Amsterdam


def role_definition(role_id: str) -> str:
    return f"/providers/Microsoft.Authorization/roleDefinitions/{role_id}"


def office_hours() -> list[avd.ScalingScheduleArgs]:
    """Weekdays 07:00-18:00 with ramp up and down; weekends a minimum of hosts."""
    return [
        avd.ScalingScheduleArgs(
            name="werkdagen",
            days_of_week=["Monday", "Tuesday", "Wednesday", "Thursday", "Friday"],
            ramp_up_start_time=avd.TimeArgs(hour=7, minute=0),
            ramp_up_load_balancing_algorithm="BreadthFirst",
            ramp_up_minimum_hosts_pct=20,
            ramp_up_capacity_threshold_pct=60,
            peak_start_time=avd.TimeArgs(hour=8, minute=30),
            peak_load_balancing_algorithm="BreadthFirst",
            ramp_down_start_time=avd.TimeArgs(hour=17, minute=30),
            ramp_down_load_balancing_algorithm="DepthFirst",
            ramp_down_minimum_hosts_pct=10,
            ramp_down_capacity_threshold_pct=90,
            ramp_down_force_logoff_users=False,
            ramp_down_stop_hosts_when="ZeroSessions",
            ramp_down_wait_time_minutes=30,
            ramp_down_notification_message="U wordt over 30 minuten afgemeld; sla uw werk op.",
            off_peak_start_time=avd.TimeArgs(hour=19, minute=0),
            off_peak_load_balancing_algorithm="DepthFirst",
        ),
        avd.ScalingScheduleArgs(
            name="weekend",
            days_of_week=["Saturday", "Sunday"],
            ramp_up_start_time=avd.TimeArgs(hour=8, minute=0),
            ramp_up_load_balancing_algorithm="DepthFirst",
            ramp_up_minimum_hosts_pct=0,
            ramp_up_capacity_threshold_pct=90,
            peak_start_time=avd.TimeArgs(hour=9, minute=0),
            peak_load_balancing_algorithm="DepthFirst",
            ramp_down_start_time=avd.TimeArgs(hour=16, minute=0),
            ramp_down_load_balancing_algorithm="DepthFirst",
            ramp_down_minimum_hosts_pct=0,
            ramp_down_capacity_threshold_pct=90,
            ramp_down_force_logoff_users=False,
            ramp_down_stop_hosts_when="ZeroSessions",
            ramp_down_wait_time_minutes=30,
            ramp_down_notification_message="U wordt over 30 minuten afgemeld; sla uw werk op.",
            off_peak_start_time=avd.TimeArgs(hour=18, minute=0),
            off_peak_load_balancing_algorithm="DepthFirst",
        ),
    ]


@dataclass(frozen=True)
class WorkstationsArgs:
    programme: m.Programme
    settings: StackSettings
    sizing: Sizing
    names: Names
    tags: dict[str, str]
    workspace_id: pulumi.Input[str]
    session_subnet_id: pulumi.Input[str]
    endpoint_subnet_id: pulumi.Input[str]
    file_dns_zone_id: pulumi.Input[str]
    staff_group_id: pulumi.Input[str]
    admin_password: pulumi.Input[str]
    registration_expiry: str | None = None


class Workstations(pulumi.ComponentResource):
    workspace_name: pulumi.Output[str]
    host_pool_names: dict[str, pulumi.Output[str]]
    profile_share: pulumi.Output[str]

    def __init__(
        self, name: str, args: WorkstationsArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("eendracht:index:Workstations", name, None, opts)
        names, prog, sizing, settings = args.names, args.programme, args.sizing, args.settings
        location = prog.settings.azure.primary_region
        me = pulumi.ResourceOptions(parent=self)
        group = resources.ResourceGroup(
            "rg-workplace",
            resource_group_name=names("rg", "workplace"),
            location=location,
            tags=args.tags,
            opts=me,
        )
        place = Place(group.name, location, args.tags)

        pools = {
            "office": SessionHostPool(
                "pool-office",
                SessionHostPoolArgs(
                    role="office",
                    names=names,
                    place=place,
                    workspace_id=args.workspace_id,
                    host_count=sizing.office_hosts,
                    max_sessions=settings.session_density,
                    vm_size=settings.office_vm_size,
                    admin_password=args.admin_password,
                    subnet_id=args.session_subnet_id,
                    friendly_name="Werkplek",
                    registration_expiry=args.registration_expiry,
                ),
                opts=me,
            )
        }
        if sizing.cad_hosts:
            pools["cad"] = SessionHostPool(
                "pool-cad",
                SessionHostPoolArgs(
                    role="cad",
                    names=names,
                    place=place,
                    workspace_id=args.workspace_id,
                    host_count=sizing.cad_hosts,
                    max_sessions=settings.cad_density,
                    vm_size=settings.gpu_vm_size,
                    admin_password=args.admin_password,
                    subnet_id=args.session_subnet_id,
                    gpu=True,
                    friendly_name="CAD-werkplek (GPU)",
                    registration_expiry=args.registration_expiry,
                ),
                opts=me,
            )
        self.host_pool_names = {role: pool.host_pool_name for role, pool in pools.items()}

        app_groups: list[avd.ApplicationGroup] = [pool.desktop_group for pool in pools.values()]
        office_pool = pools["office"].host_pool
        self.remote_apps = 0
        for muni_name, mu in prog.municipalities.items():
            for app in mu.applications:
                if app.disposition is not m.Disposition.REMOTEAPP:
                    continue
                key = f"{muni_name}-{app.name}"
                tags = with_origin(args.tags, muni_name)
                app_group = avd.ApplicationGroup(
                    f"rag-{key}",
                    application_group_name=names("vdag", key),
                    resource_group_name=group.name,
                    location=location,
                    application_group_type="RemoteApp",
                    host_pool_arm_path=office_pool.id,
                    friendly_name=app.display_name,
                    description=f"{app.display_name} ({app.supplier}), from {mu.info.display_name}",
                    tags=tags,
                    opts=me,
                )
                diagnostics(f"rag-{key}", app_group.id, args.workspace_id, self, metrics=False)
                avd.Application(
                    f"app-{key}",
                    application_name=app.name,
                    application_group_name=app_group.name,
                    resource_group_name=group.name,
                    friendly_name=app.display_name,
                    file_path=f"C:\\Program Files\\{app.supplier}\\{app.name}\\{app.name}.exe",
                    command_line_setting="DoNotAllow",
                    show_in_portal=True,
                    opts=me,
                )
                app_groups.append(app_group)
                self.remote_apps += 1

        workspace = avd.Workspace(
            "vdws",
            workspace_name=names("vdws"),
            resource_group_name=group.name,
            location=location,
            friendly_name=prog.settings.organisation.name,
            application_group_references=[g.id for g in app_groups],
            public_network_access="Enabled",  # the feed; session traffic stays on RDP Shortpath/relay
            tags=args.tags,
            opts=me,
        )
        self.workspace_name = workspace.name
        diagnostics("vdws", workspace.id, args.workspace_id, self, metrics=False)
        # Staff may use every desktop and RemoteApp group of the workplace resource group.
        authorization.RoleAssignment(
            "ra-avd-users",
            principal_id=args.staff_group_id,
            principal_type="Group",
            role_definition_id=role_definition(DESKTOP_VIRTUALIZATION_USER),
            scope=group.id,
            opts=pulumi.ResourceOptions(parent=self, depends_on=app_groups),
        )

        scaling = avd.ScalingPlan(
            "vdscaling",
            scaling_plan_name=names("vdscaling"),
            resource_group_name=group.name,
            location=location,
            time_zone=TIME_ZONE,
            host_pool_type="Pooled",
            friendly_name="Kantoortijden Europe/Amsterdam",
            schedules=office_hours(),
            host_pool_references=[
                avd.ScalingHostPoolReferenceArgs(
                    host_pool_arm_path=p.host_pool.id, scaling_plan_enabled=True
                )
                for p in pools.values()
            ],
            exclusion_tag="avd-scaling-exclude",
            tags=args.tags,
            opts=me,
        )
        diagnostics("vdscaling", scaling.id, args.workspace_id, self, metrics=False)

        # FSLogix profile containers: Azure Files premium, zone-redundant, private endpoint only.
        profiles = secure_account(
            StorageSpec(
                key="profiles",
                account_name=names.storage("profiles"),
                kind="FileStorage",
                sku="Premium_ZRS",
                subnet_id=args.endpoint_subnet_id,
                dns_zone_ids={"file": args.file_dns_zone_id},
                workspace_id=args.workspace_id,
                entra_kerberos=True,
            ),
            place,
            self,
        )
        share = storage.FileShare(
            "share-profiles",
            share_name="profiles",
            account_name=profiles.name,
            resource_group_name=group.name,
            share_quota=sizing.profile_quota_gib,
            enabled_protocols="SMB",
            opts=me,
        )
        authorization.RoleAssignment(
            "ra-profiles-smb",
            principal_id=args.staff_group_id,
            principal_type="Group",
            role_definition_id=role_definition(STORAGE_FILE_SMB_CONTRIBUTOR),
            scope=profiles.id,
            opts=me,
        )
        self.profile_share = pulumi.Output.concat(
            "\\\\", profiles.name, ".file.core.windows.net\\", share.name
        )
        self.register_outputs(
            {
                "workspace_name": workspace.name,
                "host_pool_names": self.host_pool_names,
                "profile_share": self.profile_share,
                "remote_app_groups": self.remote_apps,
            }
        )
