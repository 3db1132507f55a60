"""Backup: a Recovery Services vault next to the workloads, geo-redundant, with cross-region restore.

Azure Backup needs the vault in the region of what it protects, so this vault is in the
primary region; GeoRedundant storage copies every recovery point to the paired region and
cross-region restore makes them usable there. Application servers, domain controllers and
every file share are protected; the vault keeps soft delete always on and is immutable.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_azure_native.recoveryservices as recoveryservices

from consolidated.common import Place, diagnostics
from consolidated.names import Names

BACKUP_TIME = "2026-01-01T01:00:00Z"  # only the time of day counts: 01:00 UTC


@dataclass(frozen=True)
class ProtectedVm:
    key: str
    resource_group: str
    vm_name: str
    vm_id: pulumi.Input[str]


@dataclass(frozen=True)
class BackupArgs:
    names: Names
    place: Place
    workspace_id: pulumi.Input[str]
    retention_days: int
    vms: tuple[ProtectedVm, ...]
    file_account_group: str
    file_account_name: str
    file_account_id: pulumi.Input[str]
    file_shares: tuple[str, ...]


def _daily(days: int) -> recoveryservices.LongTermRetentionPolicyArgs:
    return recoveryservices.LongTermRetentionPolicyArgs(
        retention_policy_type="LongTermRetentionPolicy",
        daily_schedule=recoveryservices.DailyRetentionScheduleArgs(
            retention_times=[BACKUP_TIME],
            retention_duration=recoveryservices.RetentionDurationArgs(
                count=days, duration_type="Days"
            ),
        ),
    )


def _enhanced_schedule() -> recoveryservices.SimpleSchedulePolicyV2Args:
    """Trusted Launch VMs can only be protected by an Enhanced (V2) policy."""
    return recoveryservices.SimpleSchedulePolicyV2Args(
        schedule_policy_type="SimpleSchedulePolicyV2",
        schedule_run_frequency="Daily",
        daily_schedule=recoveryservices.DailyScheduleArgs(schedule_run_times=[BACKUP_TIME]),
    )


def _schedule() -> recoveryservices.SimpleSchedulePolicyArgs:
    return recoveryservices.SimpleSchedulePolicyArgs(
        schedule_policy_type="SimpleSchedulePolicy",
        schedule_run_frequency="Daily",
        schedule_run_times=[BACKUP_TIME],
    )


class Backup(pulumi.ComponentResource):
    vault_name: pulumi.Output[str]

    def __init__(
        self, name: str, args: BackupArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("eendracht:index:Backup", name, None, opts)
        names, place = args.names, args.place
        me = pulumi.ResourceOptions(parent=self)
        vault = recoveryservices.Vault(
            "rsv-backup",
            vault_name=names("rsv", "backup"),
            resource_group_name=place.resource_group,
            location=place.location,
            sku=recoveryservices.SkuArgs(name="RS0", tier="Standard"),
            identity=recoveryservices.IdentityDataArgs(type="SystemAssigned"),
            properties=recoveryservices.VaultPropertiesArgs(
                public_network_access="Disabled",
                redundancy_settings=recoveryservices.VaultPropertiesRedundancySettingsArgs(
                    standard_tier_storage_redundancy="GeoRedundant",
                    cross_region_restore="Enabled",
                ),
                security_settings=recoveryservices.SecuritySettingsArgs(
                    soft_delete_settings=recoveryservices.SoftDeleteSettingsArgs(
                        soft_delete_state="AlwaysON", soft_delete_retention_period_in_days=14
                    ),
                    immutability_settings=recoveryservices.ImmutabilitySettingsArgs(
                        state="Unlocked"
                    ),
                ),
            ),
            tags=place.tags,
            opts=me,
        )
        self.vault_name = vault.name
        diagnostics("rsv-backup", vault.id, args.workspace_id, self)

        vm_policy = recoveryservices.ProtectionPolicy(
            "bkpol-vm",
            policy_name="vm-daily",
            vault_name=vault.name,
            resource_group_name=place.resource_group,
            properties=recoveryservices.AzureIaaSVMProtectionPolicyArgs(
                backup_management_type="AzureIaasVM",
                policy_type="V2",
                instant_rp_retention_range_in_days=5,
                schedule_policy=_enhanced_schedule(),
                retention_policy=_daily(args.retention_days),
                time_zone="W. Europe Standard Time",
            ),
            opts=me,
        )
        share_policy = recoveryservices.ProtectionPolicy(
            "bkpol-files",
            policy_name="files-daily",
            vault_name=vault.name,
            resource_group_name=place.resource_group,
            properties=recoveryservices.AzureFileShareProtectionPolicyArgs(
                backup_management_type="AzureStorage",
                work_load_type="AzureFileShare",
                schedule_policy=_schedule(),
                retention_policy=_daily(args.retention_days),
                time_zone="W. Europe Standard Time",
            ),
            opts=me,
        )
        for vm in args.vms:
            container = f"iaasvmcontainer;iaasvmcontainerv2;{vm.resource_group};{vm.vm_name}"
            recoveryservices.ProtectedItem(
                f"bkp-{vm.key}",
                vault_name=vault.name,
                resource_group_name=place.resource_group,
                fabric_name="Azure",
                container_name=container,
                protected_item_name=f"vm;iaasvmcontainerv2;{vm.resource_group};{vm.vm_name}",
                properties=recoveryservices.AzureIaaSComputeVMProtectedItemArgs(
                    protected_item_type="Microsoft.Compute/virtualMachines",
                    policy_id=vm_policy.id,
                    source_resource_id=vm.vm_id,
                ),
                opts=me,
            )
        storage_container = (
            f"StorageContainer;Storage;{args.file_account_group};{args.file_account_name}"
        )
        registration = recoveryservices.ProtectionContainer(
            "bkc-files",
            vault_name=vault.name,
            resource_group_name=place.resource_group,
            fabric_name="Azure",
            container_name=storage_container,
            properties=recoveryservices.AzureStorageContainerArgs(
                container_type="StorageContainer",
                backup_management_type="AzureStorage",
                source_resource_id=args.file_account_id,
                acquire_storage_account_lock="Acquire",
            ),
            opts=me,
        )
        for share in args.file_shares:
            recoveryservices.ProtectedItem(
                f"bkp-share-{share}",
                vault_name=vault.name,
                resource_group_name=place.resource_group,
                fabric_name="Azure",
                container_name=storage_container,
                protected_item_name=f"AzureFileShare;{share}",
                properties=recoveryservices.AzureFileshareProtectedItemArgs(
                    protected_item_type="AzureFileShareProtectedItem",
                    policy_id=share_policy.id,
                    source_resource_id=args.file_account_id,
                    friendly_name=share,
                ),
                opts=pulumi.ResourceOptions(parent=self, depends_on=[registration]),
            )
        self.register_outputs(
            {
                "vault_name": vault.name,
                "protected_vms": len(args.vms),
                "protected_shares": len(args.file_shares),
            }
        )
