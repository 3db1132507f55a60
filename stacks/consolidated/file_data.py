"""FileData: where the municipalities' file shares land, geo-redundant.

One Azure Files account (StorageV2, Standard_GZRS: zone-redundant here, replicated to the paired
region) with one share per source share, named `<municipality>-<share>` and sized by the
rule in sizing.py; a private endpoint; and the sync host, a private Linux VM that mounts every
share under `<root>/<municipality>/<share>` and receives the migration's rsync.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_azure_native.resources as resources
import pulumi_azure_native.storage as storage

from consolidated.common import Place
from consolidated.names import Names
from consolidated.sizing import Sizing
from consolidated.storage import StorageSpec, secure_account
from consolidated.tags import with_origin
from consolidated.vm import UBUNTU, VmSpec, private_vm, send_logs
from eendracht.programme import models as m

TARGET_ROOT = "/mnt/shares"


@dataclass(frozen=True)
class FileDataArgs:
    programme: m.Programme
    sizing: Sizing
    names: Names
    tags: dict[str, str]
    workspace_id: pulumi.Input[str]
    endpoint_subnet_id: pulumi.Input[str]
    file_dns_zone_id: pulumi.Input[str]
    sync_host_subnet_id: pulumi.Input[str]
    sync_host_ip: str
    vm_size: str
    ssh_public_key: str
    logs_rule_id: pulumi.Input[str]  # data collection rule for server events


class FileData(pulumi.ComponentResource):
    account_name: pulumi.Output[str]
    endpoints: dict[str, pulumi.Output[str]]
    target_host: str
    target_root: str

    def __init__(
        self, name: str, args: FileDataArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("eendracht:index:FileData", name, None, opts)
        names, prog = args.names, args.programme
        location = prog.settings.azure.primary_region
        me = pulumi.ResourceOptions(parent=self)
        group = resources.ResourceGroup(
            "rg-files",
            resource_group_name=names("rg", "files"),
            location=location,
            tags=args.tags,
            opts=me,
        )
        self.resource_group_name = group.name
        place = Place(group.name, location, args.tags)
        account = secure_account(
            StorageSpec(
                key="files",
                account_name=names.storage("files"),
                kind="StorageV2",
                sku="Standard_GZRS",
                subnet_id=args.endpoint_subnet_id,
                dns_zone_ids={"file": args.file_dns_zone_id},
                workspace_id=args.workspace_id,
                entra_kerberos=True,
            ),
            place,
            self,
        )
        self.account_name = account.name
        self.account_id = account.id
        self.endpoints = {}
        self.share_names: list[str] = []
        for share in args.sizing.file_shares:
            created = storage.FileShare(
                f"share-{share.name}",
                share_name=share.name,
                account_name=account.name,
                resource_group_name=group.name,
                share_quota=share.quota_gib,
                enabled_protocols="SMB",
                metadata=with_origin({}, share.municipality),
                opts=me,
            )
            self.share_names.append(share.name)
            self.endpoints[share.name] = pulumi.Output.concat(
                "\\\\", account.name, ".file.core.windows.net\\", created.name
            )

        sync_host = private_vm(
            VmSpec(
                key="filesync",
                vm_name=names("vm", "filesync"),
                computer_name=names.computer("filesync", 1),
                size=args.vm_size,
                image=UBUNTU,
                windows=False,
                subnet_id=args.sync_host_subnet_id,
                admin_password="",
                ssh_public_key=args.ssh_public_key,
                private_ip=args.sync_host_ip,
            ),
            place,
            self,
        )
        send_logs("filesync", sync_host, False, args.logs_rule_id, place, self)
        self.target_host = args.sync_host_ip
        self.target_root = TARGET_ROOT
        self.register_outputs(
            {
                "account_name": account.name,
                "shares": len(self.share_names),
                "target_host": self.target_host,
                "target_root": self.target_root,
            }
        )
