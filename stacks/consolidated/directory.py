"""Directory: two AD DS domain controllers in the hub's identity subnet (also the DNS servers).

They carry the new organisation's AD domain (synchronised to Entra ID) and its DNS zone,
which takes the RFC 2136 updates of the cut-over. Static addresses, so the VPN sites and the
migration can be pointed at them before Azure is asked anything.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_azure_native.resources as resources

from consolidated.common import Place
from consolidated.names import Names
from consolidated.vm import WINDOWS_SERVER, BuiltVm, VmSpec, private_vm, send_logs
from eendracht.programme import models as m


def base_dn(domain: str) -> str:
    return ",".join(f"dc={part}" for part in domain.split("."))


@dataclass(frozen=True)
class DirectoryArgs:
    programme: m.Programme
    names: Names
    tags: dict[str, str]
    subnet_id: pulumi.Input[str]
    addresses: tuple[str, ...]  # one static address per domain controller
    vm_size: str
    admin_password: pulumi.Input[str]
    logs_rule_id: pulumi.Input[str]  # data collection rule for server events


class Directory(pulumi.ComponentResource):
    domain: str
    uri: str
    base_dn: str
    dns_server: str

    def __init__(
        self, name: str, args: DirectoryArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("eendracht:index:Directory", name, None, opts)
        names, org = args.names, args.programme.settings.organisation
        location = args.programme.settings.azure.primary_region
        me = pulumi.ResourceOptions(parent=self)
        group = resources.ResourceGroup(
            "rg-identity",
            resource_group_name=names("rg", "identity"),
            location=location,
            tags=args.tags,
            opts=me,
        )
        place = Place(group.name, location, args.tags)
        self.domain = org.ad_domain
        self.resource_group = names("rg", "identity")
        self.controllers: list[BuiltVm] = []
        for index, address in enumerate(args.addresses, start=1):
            built = private_vm(
                VmSpec(
                    key=f"dc-{index:02d}",
                    vm_name=names("vm", "dc", f"{index:02d}"),
                    computer_name=names.computer("dc", index),
                    size=args.vm_size,
                    image=WINDOWS_SERVER,
                    windows=True,
                    subnet_id=args.subnet_id,
                    admin_password=args.admin_password,
                    private_ip=address,
                    license_type="Windows_Server",
                ),
                place,
                self,
            )
            send_logs(f"dc-{index:02d}", built, True, args.logs_rule_id, place, self)
            self.controllers.append(built)
        self.uri = f"ldaps://{self.domain}:636"
        self.base_dn = base_dn(self.domain)
        self.dns_server = args.addresses[0]
        self.register_outputs(
            {"uri": self.uri, "base_dn": self.base_dn, "dns_server": self.dns_server}
        )
