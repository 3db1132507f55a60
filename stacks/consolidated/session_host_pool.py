"""SessionHostPool: one pooled AVD host pool, its desktop application group and its session
hosts as one Virtual Machine Scale Set in Flexible orchestration.

Used three times: the office pool, the GPU pool for CAD work (NV-series) and the standby pool
at the fallback site, whose scale set is kept at capacity 0 and scaled up on failover.

Why a scale set: the session hosts of a pool are identical, so they are one model (image,
size, Trusted Launch, network, extensions) with a capacity from the sizing rule, not N VMs
described one by one. Flexible orchestration keeps each host an ordinary VM (AVD autoscale
starts and deallocates them one by one, drain mode works per host) while the stack declares
the pool once; the scale set creates, names and deletes the hosts, their NICs and OS disks.
Fault domain count 1 lets Azure spread the hosts over as many fault domains as it can.
Changes to the model (a new image) reach new hosts; existing hosts are replaced by draining
and deleting them (upgrade policy Manual), never by a reboot under working users.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_azure_native.compute as compute
import pulumi_azure_native.desktopvirtualization as avd

from consolidated.common import Place, diagnostics
from consolidated.names import Names
from consolidated.tags import with_role
from consolidated.vm import WINDOWS_MULTI_SESSION

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
# Flexible orchestration needs a network API version in the scale set's network profile.
NETWORK_API_VERSION = compute.NetworkApiVersion.NETWORK_API_VERSION_2020_11_01


@dataclass(frozen=True)
class SessionHostPoolArgs:
    role: str  # office | cad | standby
    names: Names
    place: Place
    workspace_id: pulumi.Input[str]  # Log Analytics
    host_count: int  # the scale set's capacity (sizing.py)
    max_sessions: int
    vm_size: str
    admin_password: pulumi.Input[str]
    subnet_id: pulumi.Input[str]
    gpu: bool = False
    friendly_name: str = ""
    registration_expiry: str | None = None  # ISO time; without it hosts register later
    # Standby pool only: the capacity a failover raises the scale set to (tag failover-capacity).
    failover_capacity: int | None = None


def _extensions(
    args: SessionHostPoolArgs, token: pulumi.Output[str | None]
) -> list[compute.VirtualMachineScaleSetExtensionArgs]:
    """Entra join with Intune enrolment, the NVIDIA driver on GPU hosts, then the AVD agent
    registering the host with the pool (its token a secret)."""
    before = ["AADLoginForWindows", *(["NvidiaGpuDriverWindows"] if args.gpu else [])]
    extensions = [
        compute.VirtualMachineScaleSetExtensionArgs(
            name="AADLoginForWindows",
            publisher="Microsoft.Azure.ActiveDirectory",
            type="AADLoginForWindows",
            type_handler_version="2.0",
            auto_upgrade_minor_version=True,
            settings={"mdmId": INTUNE_MDM_ID},
        )
    ]
    if args.gpu:
        extensions.append(
            compute.VirtualMachineScaleSetExtensionArgs(
                name="NvidiaGpuDriverWindows",
                publisher="Microsoft.HpcCompute",
                type="NvidiaGpuDriverWindows",
                type_handler_version="1.6",
                auto_upgrade_minor_version=True,
            )
        )
    extensions.append(
        compute.VirtualMachineScaleSetExtensionArgs(
            name="AvdAgent",
            publisher="Microsoft.Powershell",
            type="DSC",
            type_handler_version="2.83",
            auto_upgrade_minor_version=True,
            settings={
                "modulesUrl": AVD_DSC_MODULE,
                "configurationFunction": "Configuration.ps1\\AddSessionHost",
                "properties": {"hostPoolName": args.names("vdpool", args.role), "aadJoin": True},
            },
            protected_settings=pulumi.Output.secret(
                token.apply(lambda t: {"properties": {"registrationInfoToken": t}})
            ),
            provision_after_extensions=before,
        )
    )
    return extensions


def _host_model(
    args: SessionHostPoolArgs, token: pulumi.Output[str | None]
) -> compute.VirtualMachineScaleSetVMProfileArgs:
    """What every session host of the pool is: Windows 11 multi-session + M365, Trusted
    Launch, encryption at host, a NIC in the session subnet without any public IP."""
    return compute.VirtualMachineScaleSetVMProfileArgs(
        license_type="Windows_Client",
        os_profile=compute.VirtualMachineScaleSetOSProfileArgs(
            computer_name_prefix=args.names.computer_prefix(f"avd{args.role}"),
            admin_username="eendrachtadmin",
            admin_password=args.admin_password,
            windows_configuration=compute.WindowsConfigurationArgs(
                enable_automatic_updates=True,
                provision_vm_agent=True,
                time_zone="W. Europe Standard Time",
            ),
        ),
        storage_profile=compute.VirtualMachineScaleSetStorageProfileArgs(
            image_reference=WINDOWS_MULTI_SESSION,
            os_disk=compute.VirtualMachineScaleSetOSDiskArgs(
                create_option="FromImage",
                caching=compute.CachingTypes.READ_WRITE,
                delete_option="Delete",
                managed_disk=compute.VirtualMachineScaleSetManagedDiskParametersArgs(
                    storage_account_type="Premium_ZRS"
                ),
            ),
        ),
        # Trusted Launch: Secure Boot and a virtual TPM.
        security_profile=compute.SecurityProfileArgs(
            security_type="TrustedLaunch",
            uefi_settings=compute.UefiSettingsArgs(secure_boot_enabled=True, v_tpm_enabled=True),
            encryption_at_host=True,
        ),
        network_profile=compute.VirtualMachineScaleSetNetworkProfileArgs(
            network_api_version=NETWORK_API_VERSION,
            network_interface_configurations=[
                compute.VirtualMachineScaleSetNetworkConfigurationArgs(
                    name="nic-sessionhost",
                    primary=True,
                    delete_option="Delete",
                    enable_accelerated_networking=True,
                    ip_configurations=[
                        compute.VirtualMachineScaleSetIPConfigurationArgs(
                            name="ipconfig1",
                            primary=True,
                            subnet=compute.ApiEntityReferenceArgs(id=args.subnet_id),
                        )
                    ],
                )
            ],
        ),
        diagnostics_profile=compute.DiagnosticsProfileArgs(
            boot_diagnostics=compute.BootDiagnosticsArgs(enabled=True)  # managed storage
        ),
        extension_profile=compute.VirtualMachineScaleSetExtensionProfileArgs(
            extensions=_extensions(args, token)
        ),
    )


class SessionHostPool(pulumi.ComponentResource):
    host_pool: avd.HostPool
    desktop_group: avd.ApplicationGroup
    host_pool_name: pulumi.Output[str]
    scale_set: compute.VirtualMachineScaleSet

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

        token = self.host_pool.registration_info.apply(lambda info: info.token if info else None)
        # Session hosts are tagged as such: endpoints, watched by Defender for Endpoint, not the
        # servers' data collection rule.
        self.scale_set = compute.VirtualMachineScaleSet(
            f"vmss-{role}",
            vm_scale_set_name=names("vmss", role),
            resource_group_name=place.resource_group,
            location=place.location,
            orchestration_mode=compute.OrchestrationMode.FLEXIBLE,
            platform_fault_domain_count=1,
            single_placement_group=False,
            sku=compute.SkuArgs(name=args.vm_size, tier="Standard", capacity=args.host_count),
            upgrade_policy=compute.UpgradePolicyArgs(mode=compute.UpgradeMode.MANUAL),
            identity=compute.VirtualMachineScaleSetIdentityArgs(
                type=compute.ResourceIdentityType.SYSTEM_ASSIGNED  # Entra join needs it
            ),
            virtual_machine_profile=_host_model(args, token),
            tags={
                **with_role(place.tags, "sessionhost"),
                **(
                    {"failover-capacity": str(args.failover_capacity)}
                    if args.failover_capacity is not None
                    else {}
                ),
            },
            # The admin password is set once at creation; Windows LAPS manages it afterwards.
            opts=pulumi.ResourceOptions(
                parent=self, ignore_changes=["virtualMachineProfile.osProfile.adminPassword"]
            ),
        )
        self.register_outputs(
            {
                "host_pool_name": self.host_pool.name,
                "desktop_group_id": self.desktop_group.id,
                "scale_set_id": self.scale_set.id,
                "session_hosts": args.host_count,
            }
        )
