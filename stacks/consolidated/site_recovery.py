"""SiteRecovery: Azure Site Recovery (Azure-to-Azure) of the application servers.

The Recovery Services vault lives at the fallback site (ASR needs the vault in the target
region). Fabrics, replication policy, container mapping, network mapping and one replicated
item per application server are azure-native resources. The *protection containers* inside
the two fabrics are not: pulumi-azure-native has no resource for
`Microsoft.RecoveryServices/vaults/replicationFabrics/replicationProtectionContainers`.
They are created by a small ARM template deployment (`resources.Deployment`, incremental
mode) that holds exactly those two containers, so they are declared, diffed and deleted with
the stack like everything else; the mapping and replicated items refer to them by their
ARM ids and depend on the deployment. (Alternatives rejected: creating them with the
Azure CLI in the pipeline leaves them outside the state; a dynamic provider over ARM would
duplicate what the Deployment resource already does well.)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_azure_native.authorization as authorization
import pulumi_azure_native.automation as automation
import pulumi_azure_native.recoveryservices as recoveryservices
import pulumi_azure_native.resources as resources

from consolidated.common import Place, diagnostics
from consolidated.names import Names
from consolidated.storage import StorageSpec, secure_account

CONTAINER_TYPE = (
    "Microsoft.RecoveryServices/vaults/replicationFabrics/replicationProtectionContainers"
)
# Built-in role Owner: Microsoft's "Migrate from a Run As account to Managed Identities" (Site
# Recovery) has the automation account's system-assigned identity hold Owner on the vault.
OWNER = "8e3af657-a8ff-443c-a75c-2fe8c4bcb635"
RECOVERY_PLAN_NAME = "applicatieservers"
# What the plan's last boot group waits for before a failover is called done.
CHECK_ACTION = (
    "Controleer de gezondheid van elke applicatie (Traffic Manager-eindpunt 'fallback' Online) "
    "en meld de failover in het crisisteam."
)


@dataclass(frozen=True)
class ReplicatedVm:
    key: str
    vm_id: pulumi.Input[str]
    os_disk_id: pulumi.Input[str]


@dataclass(frozen=True)
class SiteRecoveryArgs:
    names: Names
    place: Place  # fallback site
    primary: Place  # where the protected servers run (cache account goes here)
    workspace_id: pulumi.Input[str]
    primary_vnet_id: pulumi.Input[str]
    primary_vnet_name: str
    recovery_vnet_id: pulumi.Input[str]
    recovery_subnet: str
    recovery_group_id: pulumi.Input[str]
    cache_subnet_id: pulumi.Input[str]
    blob_dns_zone_id: pulumi.Input[str]
    vms: tuple[ReplicatedVm, ...]
    # The recovery plan's boot groups, by ReplicatedVm.key, first group first (sizing.py).
    boot_groups: tuple[tuple[str, ...], ...] = ()


def containers_template(vault: str, fabrics: dict[str, str]) -> dict[str, Any]:
    """ARM template with one A2A protection container per fabric: `<fabric>-container`."""
    return {
        "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
        "contentVersion": "1.0.0.0",
        "resources": [
            {
                "type": CONTAINER_TYPE,
                "apiVersion": "2024-04-01",
                "name": f"{vault}/{fabric}/{fabric}-container",
                "properties": {"providerSpecificInput": [{"instanceType": "A2A"}]},
            }
            for fabric in fabrics
        ],
    }


class SiteRecovery(pulumi.ComponentResource):
    vault_name: pulumi.Output[str]

    def __init__(
        self, name: str, args: SiteRecoveryArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("eendracht:index:SiteRecovery", name, None, opts)
        names, place = args.names, args.place
        me = pulumi.ResourceOptions(parent=self)
        vault_name = names("rsv", "asr")
        vault = recoveryservices.Vault(
            "rsv-asr",
            vault_name=vault_name,
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
            ),
            tags=place.tags,
            opts=me,
        )
        self.vault_name = vault.name
        diagnostics("rsv-asr", vault.id, args.workspace_id, self)

        # ASR stages changes in a cache account in the source region.
        cache = secure_account(
            StorageSpec(
                key="asrcache",
                account_name=names.storage("asrcache"),
                kind="StorageV2",
                sku="Standard_LRS",
                subnet_id=args.cache_subnet_id,
                dns_zone_ids={"blob": args.blob_dns_zone_id},
                workspace_id=args.workspace_id,
                shared_key_access=True,  # ASR's replication agent writes with the account key
                asr_cache=True,  # "All networks", as the A2A support matrix says
            ),
            args.primary,
            self,
        )

        # Mobility agent auto-update: a runbook in this automation account, run as the account's
        # system-assigned managed identity (Run As accounts were retired on 30 September 2023).
        updater = automation.AutomationAccount(
            "aa-asr",
            automation_account_name=names("aa", "asr"),
            resource_group_name=place.resource_group,
            location=place.location,
            sku=automation.SkuArgs(name="Basic"),
            identity=automation.IdentityArgs(type=automation.ResourceIdentityType.SYSTEM_ASSIGNED),
            tags=place.tags,
            opts=me,
        )
        diagnostics("aa-asr", updater.id, args.workspace_id, self)
        updater_role = authorization.RoleAssignment(
            "ra-aa-asr-vault",
            principal_id=updater.identity.apply(lambda i: i.principal_id if i else ""),
            principal_type="ServicePrincipal",
            role_definition_id=f"/providers/Microsoft.Authorization/roleDefinitions/{OWNER}",
            scope=vault.id,
            opts=me,
        )

        fabrics = {"primary": args.primary.location, "recovery": place.location}
        fabric_resources = {
            key: recoveryservices.ReplicationFabric(
                f"asr-fabric-{key}",
                resource_name_=vault.name,
                resource_group_name=place.resource_group,
                fabric_name=key,
                properties=recoveryservices.FabricCreationInputPropertiesArgs(
                    custom_details=recoveryservices.AzureFabricCreationInputArgs(
                        instance_type="Azure", location=location
                    )
                ),
                opts=me,
            )
            for key, location in fabrics.items()
        }
        containers = resources.Deployment(
            "asr-containers",
            deployment_name=f"{vault_name}-containers",
            resource_group_name=place.resource_group,
            properties=resources.DeploymentPropertiesArgs(
                mode=resources.DeploymentMode.INCREMENTAL,
                template=containers_template(vault_name, fabrics),
            ),
            opts=pulumi.ResourceOptions(parent=self, depends_on=list(fabric_resources.values())),
        )

        def container_id(fabric: str) -> pulumi.Output[str]:
            return pulumi.Output.concat(
                vault.id,
                f"/replicationFabrics/{fabric}/replicationProtectionContainers/{fabric}-container",
            )

        policy = recoveryservices.ReplicationPolicy(
            "asr-policy",
            resource_name_=vault.name,
            resource_group_name=place.resource_group,
            policy_name="a2a-24h",
            properties=recoveryservices.CreatePolicyInputPropertiesArgs(
                provider_specific_input=recoveryservices.A2APolicyCreationInputArgs(
                    instance_type="A2A",
                    multi_vm_sync_status="Enable",
                    recovery_point_history=1440,  # minutes: 24 hours of recovery points
                    app_consistent_frequency_in_minutes=240,
                    crash_consistent_frequency_in_minutes=5,
                )
            ),
            opts=me,
        )
        mapping = recoveryservices.ReplicationProtectionContainerMapping(
            "asr-mapping",
            resource_name_=vault.name,
            resource_group_name=place.resource_group,
            fabric_name="primary",
            protection_container_name="primary-container",
            mapping_name="primary-to-recovery",
            properties=recoveryservices.CreateProtectionContainerMappingInputPropertiesArgs(
                policy_id=policy.id,
                target_protection_container_id=container_id("recovery"),
                provider_specific_input=recoveryservices.A2AContainerMappingInputArgs(
                    instance_type="A2A",
                    agent_auto_update_status="Enabled",
                    automation_account_arm_id=updater.id,
                    automation_account_authentication_type="SystemAssignedIdentity",
                ),
            ),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[containers, updater_role]),
        )
        recoveryservices.ReplicationNetworkMapping(
            "asr-network",
            resource_name_=vault.name,
            resource_group_name=place.resource_group,
            fabric_name="primary",
            network_name=args.primary_vnet_name,
            network_mapping_name="applications-to-fallback",
            properties=recoveryservices.CreateNetworkMappingInputPropertiesArgs(
                recovery_fabric_name="recovery",
                recovery_network_id=args.recovery_vnet_id,
                fabric_specific_details=recoveryservices.AzureToAzureCreateNetworkMappingInputArgs(
                    instance_type="AzureToAzure", primary_network_id=args.primary_vnet_id
                ),
            ),
            opts=pulumi.ResourceOptions(parent=self, depends_on=list(fabric_resources.values())),
        )
        items: dict[str, recoveryservices.ReplicationProtectedItem] = {}
        for vm in args.vms:
            items[vm.key] = recoveryservices.ReplicationProtectedItem(
                f"asr-item-{vm.key}",
                resource_name_=vault.name,
                resource_group_name=place.resource_group,
                fabric_name="primary",
                protection_container_name="primary-container",
                replicated_protected_item_name=vm.key,
                properties=recoveryservices.EnableProtectionInputPropertiesArgs(
                    policy_id=policy.id,
                    protectable_item_id=vm.vm_id,
                    provider_specific_details=recoveryservices.A2AEnableProtectionInputArgs(
                        instance_type="A2A",
                        fabric_object_id=vm.vm_id,
                        recovery_container_id=container_id("recovery"),
                        recovery_resource_group_id=args.recovery_group_id,
                        recovery_azure_network_id=args.recovery_vnet_id,
                        recovery_subnet_name=args.recovery_subnet,
                        vm_managed_disks=[
                            recoveryservices.A2AVmManagedDiskInputDetailsArgs(
                                disk_id=vm.os_disk_id,
                                primary_staging_azure_storage_account_id=cache.id,
                                recovery_resource_group_id=args.recovery_group_id,
                                recovery_replica_disk_account_type="Premium_LRS",
                                recovery_target_disk_account_type="Premium_LRS",
                            )
                        ],
                    ),
                ),
                opts=pulumi.ResourceOptions(parent=self, depends_on=[mapping]),
            )

        # The drill and the real failover: one recovery plan, the servers in boot order.
        vm_ids = {vm.key: vm.vm_id for vm in args.vms}
        groups = [g for g in args.boot_groups if g] or ([tuple(items)] if items else [])
        self.recovery_plan_name = RECOVERY_PLAN_NAME
        self.boot_groups = tuple(tuple(g) for g in groups)
        if items:
            last = len(groups) - 1
            recoveryservices.ReplicationRecoveryPlan(
                "asr-plan",
                resource_name_=vault.name,
                resource_group_name=place.resource_group,
                recovery_plan_name=RECOVERY_PLAN_NAME,
                properties=recoveryservices.CreateRecoveryPlanInputPropertiesArgs(
                    primary_fabric_id=fabric_resources["primary"].id,
                    recovery_fabric_id=fabric_resources["recovery"].id,
                    failover_deployment_model="ResourceManager",
                    groups=[
                        recoveryservices.RecoveryPlanGroupArgs(
                            group_type="Boot",
                            replication_protected_items=[
                                recoveryservices.RecoveryPlanProtectedItemArgs(
                                    id=items[key].id, virtual_machine_id=vm_ids[key]
                                )
                                for key in group
                            ],
                            start_group_actions=[],
                            end_group_actions=[
                                recoveryservices.RecoveryPlanActionArgs(
                                    action_name="controle-applicaties",
                                    failover_directions=["PrimaryToRecovery"],
                                    failover_types=["TestFailover", "UnplannedFailover"],
                                    custom_details=recoveryservices.RecoveryPlanManualActionDetailsArgs(
                                        instance_type="ManualActionDetails",
                                        description=CHECK_ACTION,
                                    ),
                                )
                            ]
                            if n == last
                            else [],
                        )
                        for n, group in enumerate(groups)
                    ],
                    provider_specific_input=[
                        recoveryservices.RecoveryPlanA2AInputArgs(instance_type="A2A")
                    ],
                ),
                opts=pulumi.ResourceOptions(parent=self, depends_on=list(items.values())),
            )
        self.register_outputs(
            {
                "vault_name": vault.name,
                "replicated_vms": len(args.vms),
                "recovery_plan": RECOVERY_PLAN_NAME if items else None,
            }
        )
