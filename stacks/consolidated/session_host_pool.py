"""SessionHostPool: one pooled AVD host pool, its desktop application group and session hosts.

Used three times: the office pool, the GPU pool for CAD work (NV-series) and the standby pool
at the fallback site, which is created with zero session hosts and scaled up on failover.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_azure_native.desktopvirtualization as avd

from consolidated.common import Place, diagnostics
from consolidated.names import Names
from consolidated.tags import with_role
from consolidated.vm import WINDOWS_MULTI_SESSION, VmSpec, extension, private_vm

# The AVD agent installer Microsoft publishes for the DSC extension.
AVD_DSC_MODULE = (
    "https://wvdportalstorageblob.blob.core.windows.net/galleryartifacts/"
    "Configuration_1.0.02790.438.zip"
)
INTUNE_MDM_ID = "0000000a-0000-0000-c000-000000000000"  # Microsoft Intune's MDM application
RDP_PROPERTIES = (
    "targetisaadjoined:i:1;enablerdsaadauth:i:1;redirectclipboard:i:1;"
    "drivestoredirect:s:;usbdevicestoredirect:s:;audiocapturemode:i:1"
)


@dataclass(frozen=True)
class SessionHostPoolArgs:
    role: str  # office | cad | standby
    names: Names
    place: Place
    workspace_id: pulumi.Input[str]  # Log Analytics
    host_count: int
    max_sessions: int
    vm_size: str
    admin_password: pulumi.Input[str]
    subnet_id: pulumi.Input[str] | None = None
    gpu: bool = False
    friendly_name: str = ""
    registration_expiry: str | None = None  # ISO time; without it hosts register later


class SessionHostPool(pulumi.ComponentResource):
    host_pool: avd.HostPool
    desktop_group: avd.ApplicationGroup
    host_pool_name: pulumi.Output[str]

    def __init__(
        self, name: str, args: SessionHostPoolArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("eendracht:index:SessionHostPool", name, None, opts)
        names, place, role = args.names, args.place, args.role
        me = pulumi.ResourceOptions(parent=self)
        self.host_pool = avd.HostPool(
            f"hp-{role}",
            host_pool_name=names("vdpool", role),
            resource_group_name=place.resource_group,
            location=place.location,
            host_pool_type="Pooled",
            load_balancer_type="BreadthFirst",
            preferred_app_group_type="Desktop",
            max_session_limit=args.max_sessions,
            start_vm_on_connect=True,
            validation_environment=False,
            custom_rdp_property=RDP_PROPERTIES,
            friendly_name=args.friendly_name or f"Werkplek ({role})",
            registration_info=avd.RegistrationInfoArgs(
                expiration_time=args.registration_expiry, registration_token_operation="Update"
            )
            if args.registration_expiry
            else None,
            tags=place.tags,
            opts=me,
        )
        self.host_pool_name = self.host_pool.name
        diagnostics(f"hp-{role}", self.host_pool.id, args.workspace_id, self, metrics=False)
        self.desktop_group = avd.ApplicationGroup(
            f"dag-{role}",
            application_group_name=names("vdag", role, "desktop"),
            resource_group_name=place.resource_group,
            location=place.location,
            application_group_type="Desktop",
            host_pool_arm_path=self.host_pool.id,
            friendly_name=args.friendly_name or f"Bureaublad ({role})",
            tags=place.tags,
            opts=me,
        )
        diagnostics(f"dag-{role}", self.desktop_group.id, args.workspace_id, self, metrics=False)

        # Session hosts are tagged as such: endpoints, watched by Defender for Endpoint, not the
        # servers' data collection rule.
        host_place = Place(
            place.resource_group, place.location, with_role(place.tags, "sessionhost")
        )
        token = self.host_pool.registration_info.apply(lambda info: info.token if info else None)
        self.session_hosts = []
        for index in range(1, args.host_count + 1):
            if args.subnet_id is None:
                raise ValueError(f"{role} pool: session hosts need a subnet")
            key = f"avd-{role}-{index:03d}"
            built = private_vm(
                VmSpec(
                    key=key,
                    vm_name=names("vm", role, f"{index:03d}"),
                    computer_name=names.computer(f"avd{role}", index),
                    size=args.vm_size,
                    image=WINDOWS_MULTI_SESSION,
                    windows=True,
                    subnet_id=args.subnet_id,
                    admin_password=args.admin_password,
                    license_type="Windows_Client",
                    inline_nic=True,
                ),
                host_place,
                self,
            )
            extension(
                f"{key}-aadlogin",
                built.vm,
                host_place,
                self,
                publisher="Microsoft.Azure.ActiveDirectory",
                type_="AADLoginForWindows",
                version="2.0",
                settings={"mdmId": INTUNE_MDM_ID},  # Entra join with Intune enrolment
            )
            after = ["AADLoginForWindows"]
            if args.gpu:
                extension(
                    f"{key}-gpu",
                    built.vm,
                    host_place,
                    self,
                    publisher="Microsoft.HpcCompute",
                    type_="NvidiaGpuDriverWindows",
                    version="1.6",
                )
                after.append("NvidiaGpuDriverWindows")
            extension(
                f"{key}-avdagent",
                built.vm,
                host_place,
                self,
                publisher="Microsoft.Powershell",
                type_="DSC",
                version="2.83",
                settings={
                    "modulesUrl": AVD_DSC_MODULE,
                    "configurationFunction": "Configuration.ps1\\AddSessionHost",
                    "properties": {"hostPoolName": names("vdpool", role), "aadJoin": True},
                },
                protected_settings=token.apply(
                    lambda t: {"properties": {"registrationInfoToken": t}}
                ),
                after=after,
            )
            self.session_hosts.append(built.vm)
        self.register_outputs(
            {
                "host_pool_name": self.host_pool.name,
                "desktop_group_id": self.desktop_group.id,
                "session_hosts": args.host_count,
            }
        )
