"""A private VM: NIC without public IP, Trusted Launch, managed OS disk with a known name.

Not a component of its own: application servers, domain controllers and the file sync host call
it with their component as parent. The OS disk gets a fixed name so Site Recovery and backup
can refer to it without waiting for Azure.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_azure_native.compute as compute
import pulumi_azure_native.monitor as monitor
import pulumi_azure_native.network as network

from consolidated.common import Place

WINDOWS_SERVER = compute.ImageReferenceArgs(
    publisher="MicrosoftWindowsServer",
    offer="WindowsServer",
    sku="2022-datacenter-azure-edition",
    version="latest",
)
UBUNTU = compute.ImageReferenceArgs(
    publisher="Canonical",
    offer="ubuntu-24_04-lts",
    sku="server",
    version="latest",
)
# Servers Site Recovery replicates run Ubuntu 22.04 LTS (Gen2, for Trusted Launch): the
# Azure-to-Azure support matrix (learn.microsoft.com/azure/site-recovery/
# azure-to-azure-support-matrix, "Replicated machine operating systems") lists Ubuntu up to
# 22.04, not 24.04. The file sync host, which is not replicated, keeps 24.04.
UBUNTU_REPLICATED = compute.ImageReferenceArgs(
    publisher="Canonical",
    offer="0001-com-ubuntu-server-jammy",
    sku="22_04-lts-gen2",
    version="latest",
)
WINDOWS_MULTI_SESSION = compute.ImageReferenceArgs(
    publisher="MicrosoftWindowsDesktop",
    offer="office-365",
    sku="win11-24h2-avd-m365",
    version="latest",
)


@dataclass(frozen=True)
class VmSpec:
    key: str  # unique logical name part, e.g. "avd-office-001"
    vm_name: str
    computer_name: str
    size: str
    image: compute.ImageReferenceArgs
    windows: bool
    subnet_id: pulumi.Input[str]
    admin_password: pulumi.Input[str]
    ssh_public_key: str = ""
    private_ip: str | None = None  # static address, e.g. for domain controllers
    backend_pool_id: pulumi.Input[str] | None = None
    license_type: str | None = None
    # Encryption at host (temp disk and disk caches encrypted on the host). Off for servers Site
    # Recovery replicates: the A2A support matrix lists it as not supported ("the failed over VM
    # won't have Encryption at host enabled"); their disks keep server-side encryption at rest.
    encryption_at_host: bool = True


@dataclass(frozen=True)
class BuiltVm:
    vm: compute.VirtualMachine
    nic: network.NetworkInterface
    os_disk_name: str


def _network_profile(
    spec: VmSpec, place: Place, parent: pulumi.Resource
) -> tuple[compute.NetworkProfileArgs, network.NetworkInterface]:
    nic = network.NetworkInterface(
        f"nic-{spec.key}",
        network_interface_name=f"nic-{spec.vm_name}",
        resource_group_name=place.resource_group,
        location=place.location,
        enable_accelerated_networking=True,
        ip_configurations=[
            network.NetworkInterfaceIPConfigurationArgs(
                name="ipconfig1",
                primary=True,
                subnet=network.SubnetArgs(id=spec.subnet_id),
                private_ip_allocation_method="Static" if spec.private_ip else "Dynamic",
                private_ip_address=spec.private_ip,
                load_balancer_backend_address_pools=[
                    network.BackendAddressPoolArgs(id=spec.backend_pool_id)
                ]
                if spec.backend_pool_id is not None
                else None,
            )
        ],
        tags=place.tags,
        opts=pulumi.ResourceOptions(parent=parent),
    )
    return compute.NetworkProfileArgs(
        network_interfaces=[
            compute.NetworkInterfaceReferenceArgs(id=nic.id, primary=True, delete_option="Delete")
        ]
    ), nic


def private_vm(spec: VmSpec, place: Place, parent: pulumi.Resource) -> BuiltVm:
    network_profile, nic = _network_profile(spec, place, parent)
    os_disk_name = f"osdisk-{spec.vm_name}"
    if spec.windows:
        os_profile = compute.OSProfileArgs(
            computer_name=spec.computer_name,
            admin_username="eendrachtadmin",
            admin_password=spec.admin_password,
            windows_configuration=compute.WindowsConfigurationArgs(
                enable_automatic_updates=True,
                provision_vm_agent=True,
                time_zone="W. Europe Standard Time",
            ),
        )
    else:
        os_profile = compute.OSProfileArgs(
            computer_name=spec.computer_name,
            admin_username="eendrachtadmin",
            linux_configuration=compute.LinuxConfigurationArgs(
                disable_password_authentication=True,
                provision_vm_agent=True,
                ssh=compute.SshConfigurationArgs(
                    public_keys=[
                        compute.SshPublicKeyArgs(
                            path="/home/eendrachtadmin/.ssh/authorized_keys",
                            key_data=spec.ssh_public_key,
                        )
                    ]
                ),
            ),
        )
    vm = compute.VirtualMachine(
        f"vm-{spec.key}",
        vm_name=spec.vm_name,
        resource_group_name=place.resource_group,
        location=place.location,
        hardware_profile=compute.HardwareProfileArgs(vm_size=spec.size),
        # Trusted Launch: Secure Boot and a virtual TPM.
        security_profile=compute.SecurityProfileArgs(
            security_type="TrustedLaunch",
            uefi_settings=compute.UefiSettingsArgs(secure_boot_enabled=True, v_tpm_enabled=True),
            encryption_at_host=spec.encryption_at_host,
        ),
        identity=compute.VirtualMachineIdentityArgs(
            type=compute.ResourceIdentityType.SYSTEM_ASSIGNED
        ),
        storage_profile=compute.StorageProfileArgs(
            image_reference=spec.image,
            os_disk=compute.OSDiskArgs(
                name=os_disk_name,
                create_option="FromImage",
                caching=compute.CachingTypes.READ_WRITE,
                delete_option="Delete",
                managed_disk=compute.ManagedDiskParametersArgs(storage_account_type="Premium_ZRS"),
            ),
        ),
        os_profile=os_profile,
        network_profile=network_profile,
        diagnostics_profile=compute.DiagnosticsProfileArgs(
            boot_diagnostics=compute.BootDiagnosticsArgs(enabled=True)  # managed storage
        ),
        license_type=spec.license_type,
        tags=place.tags,
        # The admin password is set once at creation; Windows LAPS manages it afterwards.
        opts=pulumi.ResourceOptions(parent=parent, ignore_changes=["osProfile.adminPassword"]),
    )
    return BuiltVm(vm, nic, os_disk_name)


def extension(
    key: str,
    vm: compute.VirtualMachine,
    place: Place,
    parent: pulumi.Resource,
    *,
    publisher: str,
    type_: str,
    version: str,
    settings: pulumi.Input[dict[str, object]] | None = None,
    protected_settings: pulumi.Input[dict[str, object]] | None = None,
    after: list[str] | None = None,
) -> compute.VirtualMachineExtension:
    return compute.VirtualMachineExtension(
        f"ext-{key}",
        vm_extension_name=type_,
        vm_name=vm.name,
        resource_group_name=place.resource_group,
        location=place.location,
        publisher=publisher,
        type=type_,
        type_handler_version=version,
        auto_upgrade_minor_version=True,
        settings=settings,
        protected_settings=pulumi.Output.secret(protected_settings)
        if protected_settings is not None
        else None,
        provision_after_extensions=after,
        tags=place.tags,
        opts=pulumi.ResourceOptions(parent=parent),
    )


def send_logs(
    key: str,
    built: BuiltVm,
    windows: bool,
    rule_id: pulumi.Input[str],
    place: Place,
    parent: pulumi.Resource,
) -> None:
    """Azure Monitor Agent on a server, associated with the servers' data collection rule."""
    agent = extension(
        f"{key}-ama",
        built.vm,
        place,
        parent,
        publisher="Microsoft.Azure.Monitor",
        type_="AzureMonitorWindowsAgent" if windows else "AzureMonitorLinuxAgent",
        version="1.0",
    )
    monitor.DataCollectionRuleAssociation(
        f"dcra-{key}",
        association_name="servers",
        resource_uri=built.vm.id,
        data_collection_rule_id=rule_id,
        description="Server events to Log Analytics",
        opts=pulumi.ResourceOptions(parent=parent, depends_on=[agent]),
    )
