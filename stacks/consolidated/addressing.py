"""The address plan: the programme's address space cut into the hub, spokes and fallback network.

The space is split into eight equal blocks: hub, workstations, applications, integration,
fallback; the last three are kept free for growth. Inside a block, subnets are carved in the
order listed, each a fixed fraction of the block, so a plan is the same for the same space.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

# network -> [(subnet, prefix length below the block)]; GatewaySubnet is Azure's fixed name.
LAYOUT: dict[str, list[tuple[str, int]]] = {
    "hub": [("GatewaySubnet", 3), ("snet-identity", 3), ("snet-privateendpoints", 3)],
    "workstations": [("snet-sessionhosts", 1), ("snet-privateendpoints", 3)],
    "applications": [
        ("snet-apps", 1),
        ("snet-frontend", 3),
        ("snet-database", 3),
        ("snet-privateendpoints", 3),
    ],
    "integration": [("snet-apim", 3), ("snet-privateendpoints", 3)],
    "fallback": [
        ("snet-recovery", 1),
        ("snet-sessionhosts", 2),
        ("snet-privateendpoints", 3),
        ("GatewaySubnet", 3),  # the fallback region's own VPN gateway
    ],
}
BLOCK_ORDER = ("hub", "workstations", "applications", "integration", "fallback")
NO_NSG = frozenset({"GatewaySubnet"})  # Azure refuses an NSG on the VPN gateway subnet


@dataclass(frozen=True)
class NetworkPlan:
    name: str
    prefix: str
    subnets: dict[str, str]

    def host(self, subnet: str, index: int) -> str:
        """The index-th usable address of a subnet (Azure keeps .0-.3 and the last one);
        a negative index counts from the end, where dynamic allocation reaches last."""
        net = ipaddress.ip_network(self.subnets[subnet])
        if index < 0:
            return str(net.broadcast_address + index)
        return str(net.network_address + 4 + index)


@dataclass(frozen=True)
class AddressPlan:
    space: str
    networks: dict[str, NetworkPlan]

    def __getitem__(self, name: str) -> NetworkPlan:
        return self.networks[name]


def plan(space: str) -> AddressPlan:
    net = ipaddress.IPv4Network(space, strict=True)
    blocks = list(net.subnets(prefixlen_diff=3))
    networks: dict[str, NetworkPlan] = {}
    for block, name in zip(blocks, BLOCK_ORDER, strict=False):
        subnets: dict[str, str] = {}
        cursor = int(block.network_address)
        for subnet, diff in LAYOUT[name]:
            size = block.num_addresses >> diff
            cursor = -(-cursor // size) * size  # align to the subnet's own size
            carved = ipaddress.IPv4Network((cursor, block.prefixlen + diff))
            if not carved.subnet_of(block):
                raise ValueError(f"{name}/{subnet} does not fit in {block}")
            subnets[subnet] = str(carved)
            cursor += size
        networks[name] = NetworkPlan(name, str(block), subnets)
    return AddressPlan(space, networks)


def overlaps(plan_: AddressPlan, others: list[str]) -> list[str]:
    """Site address spaces that collide with the Azure address space (VPN routing would break)."""
    space = ipaddress.ip_network(plan_.space)
    return [o for o in others if ipaddress.ip_network(o).overlaps(space)]
