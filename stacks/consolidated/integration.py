"""IntegrationHub: the platform the koppelingen run through after the migration.

Derived from the koppelingen catalogue (every application's `koppelingen`):
- synchronous koppelingen (ZGW APIs, Haal Centraal, REST, SOAP) become one API Management API
  per target (an application of a municipality, or a national service shared by all);
- asynchronous koppelingen (StUF, Digikoppeling ebMS, file transfer) become one Service Bus
  queue per koppeling, named `<municipality>.<source>.<target>`.
API Management runs in internal VNet mode in the integration spoke; Service Bus (Premium) is
reached through a private endpoint only and accepts Entra ID tokens only (no SAS keys).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

import pulumi
import pulumi_azure_native.apimanagement as apimanagement
import pulumi_azure_native.privatedns as privatedns
import pulumi_azure_native.resources as resources
import pulumi_azure_native.servicebus as servicebus

from consolidated.common import Place, diagnostics, private_endpoint
from consolidated.names import Names
from eendracht.programme import models as m

SYNCHRONOUS = frozenset(
    {m.Protocol.ZGW_API, m.Protocol.HAAL_CENTRAAL, m.Protocol.REST, m.Protocol.SOAP}
)


def _slug(value: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", value.lower()).strip("-")


@dataclass(frozen=True)
class ApiEntry:
    key: str  # API id and path
    display_name: str
    municipality: str | None  # None for national services
    soap: bool
    sources: tuple[str, ...]


@dataclass(frozen=True)
class QueueEntry:
    name: str
    municipality: str
    protocol: str
    critical: bool


@dataclass(frozen=True)
class Catalogue:
    apis: tuple[ApiEntry, ...] = field(default=())
    queues: tuple[QueueEntry, ...] = field(default=())


def catalogue(programme: m.Programme) -> Catalogue:
    """What the hub carries, derived from the koppelingen of every kept application."""
    apis: dict[str, dict[str, object]] = {}
    queues: dict[str, QueueEntry] = {}
    for muni_name, mu in programme.municipalities.items():
        for app in mu.applications:
            if app.disposition is m.Disposition.RETIRE:
                continue
            for k in app.koppelingen:
                national = k.target in m.NATIONAL_SERVICES
                if k.protocol in SYNCHRONOUS:
                    key = _slug(k.target) if national else f"{muni_name}-{_slug(k.target)}"
                    entry = apis.setdefault(
                        key,
                        {
                            "display": k.target if national else f"{k.target} ({muni_name})",
                            "municipality": None if national else muni_name,
                            "soap": k.protocol is m.Protocol.SOAP,
                            "sources": [],
                        },
                    )
                    sources = entry["sources"]
                    assert isinstance(sources, list)
                    sources.append(f"{muni_name}/{app.name}")
                else:
                    name = f"{muni_name}.{app.name}.{_slug(k.target)}"
                    if name in queues:
                        name = f"{name}.{k.protocol.value}"
                    queues[name] = QueueEntry(
                        name, muni_name, k.protocol.value, k.criticality is m.Criticality.CRITICAL
                    )
    return Catalogue(
        apis=tuple(
            ApiEntry(
                key,
                str(v["display"]),
                v["municipality"] if isinstance(v["municipality"], str) else None,
                bool(v["soap"]),
                tuple(v["sources"]) if isinstance(v["sources"], list) else (),
            )
            for key, v in sorted(apis.items())
        ),
        queues=tuple(queues[k] for k in sorted(queues)),
    )


@dataclass(frozen=True)
class IntegrationHubArgs:
    programme: m.Programme
    catalogue: Catalogue
    names: Names
    tags: dict[str, str]
    workspace_id: pulumi.Input[str]
    apim_subnet_id: pulumi.Input[str]
    endpoint_subnet_id: pulumi.Input[str]
    servicebus_dns_zone_id: pulumi.Input[str]
    linked_vnet_ids: Mapping[str, pulumi.Input[str]]
    publisher_email: str


class IntegrationHub(pulumi.ComponentResource):
    gateway_url: pulumi.Output[str]
    servicebus_namespace: pulumi.Output[str]

    def __init__(
        self, name: str, args: IntegrationHubArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("eendracht:index:IntegrationHub", name, None, opts)
        names, prog = args.names, args.programme
        location = prog.settings.azure.primary_region
        me = pulumi.ResourceOptions(parent=self)
        group = resources.ResourceGroup(
            "rg-integration",
            resource_group_name=names("rg", "integration"),
            location=location,
            tags=args.tags,
            opts=me,
        )
        place = Place(group.name, location, args.tags)

        namespace = servicebus.Namespace(
            "sbns",
            namespace_name=names.unique("sbns", "koppelingen", max_length=50),
            resource_group_name=group.name,
            location=location,
            sku=servicebus.SBSkuArgs(
                name=servicebus.SkuName.PREMIUM, tier=servicebus.SkuTier.PREMIUM, capacity=1
            ),
            premium_messaging_partitions=1,
            zone_redundant=True,
            disable_local_auth=True,
            minimum_tls_version="1.2",
            public_network_access="Disabled",
            tags=args.tags,
            opts=me,
        )
        self.servicebus_namespace = namespace.name
        diagnostics("sbns", namespace.id, args.workspace_id, self)
        private_endpoint(
            "sbns",
            place,
            args.endpoint_subnet_id,
            namespace.id,
            "namespace",
            args.servicebus_dns_zone_id,
            self,
        )
        for queue in args.catalogue.queues:
            servicebus.Queue(
                f"sbq-{queue.name}",
                queue_name=queue.name,
                namespace_name=namespace.name,
                resource_group_name=group.name,
                dead_lettering_on_message_expiration=True,
                max_delivery_count=10,
                requires_duplicate_detection=queue.critical,
                lock_duration="PT1M",
                default_message_time_to_live="P14D",
                opts=me,
            )

        service_name = names.unique("apim", "koppelingen", max_length=50)
        apim = apimanagement.ApiManagementService(
            "apim",
            service_name=service_name,
            resource_group_name=group.name,
            location=location,
            sku=apimanagement.ApiManagementServiceSkuPropertiesArgs(name="Premium", capacity=1),
            zones=["1"],
            publisher_name=prog.settings.organisation.name,
            publisher_email=args.publisher_email,
            identity=apimanagement.ApiManagementServiceIdentityArgs(type="SystemAssigned"),
            virtual_network_type="Internal",
            virtual_network_configuration=apimanagement.VirtualNetworkConfigurationArgs(
                subnet_resource_id=args.apim_subnet_id
            ),
            custom_properties={  # TLS 1.2 and up only
                "Microsoft.WindowsAzure.ApiManagement.Gateway.Security.Protocols.Tls10": "false",
                "Microsoft.WindowsAzure.ApiManagement.Gateway.Security.Protocols.Tls11": "false",
                "Microsoft.WindowsAzure.ApiManagement.Gateway.Security.Backend.Protocols.Tls10": "false",
                "Microsoft.WindowsAzure.ApiManagement.Gateway.Security.Backend.Protocols.Tls11": "false",
                "Microsoft.WindowsAzure.ApiManagement.Gateway.Security.Backend.Protocols.Ssl30": "false",
            },
            tags=args.tags,
            opts=me,
        )
        diagnostics("apim", apim.id, args.workspace_id, self)
        self.gateway_url = pulumi.Output.concat("https://", service_name, ".azure-api.net")
        domain = prog.settings.organisation.mail_domain
        for api in args.catalogue.apis:
            backend = (
                f"https://{api.key.removeprefix(f'{api.municipality}-')}.{api.municipality}."
                f"primary.apps.{domain}"
                if api.municipality
                else None  # national services: the supplier's endpoint, set with its mTLS cert
            )
            apimanagement.Api(
                f"api-{api.key}",
                api_id=api.key,
                service_name=apim.name,
                resource_group_name=group.name,
                display_name=api.display_name,
                description="Used by " + ", ".join(api.sources),
                path=api.key,
                protocols=["https"],
                service_url=backend,
                api_type="soap" if api.soap else "http",
                subscription_required=True,
                opts=me,
            )

        # Internal mode: the gateway's name resolves privately to its private address.
        zone = privatedns.PrivateZone(
            "pdz-apim",
            private_zone_name="azure-api.net",
            resource_group_name=group.name,
            location="global",
            tags=args.tags,
            opts=me,
        )
        for record in (service_name, f"{service_name}.portal", f"{service_name}.management"):
            privatedns.PrivateRecordSet(
                f"pdr-apim-{record.removeprefix(service_name).lstrip('.') or 'gateway'}",
                private_zone_name=zone.name,
                resource_group_name=group.name,
                record_type="A",
                relative_record_set_name=record,
                ttl=300,
                a_records=[
                    privatedns.ARecordArgs(
                        ipv4_address=apim.private_ip_addresses.apply(lambda ips: (ips or [""])[0])
                    )
                ],
                opts=me,
            )
        for net_name, vnet_id in args.linked_vnet_ids.items():
            privatedns.VirtualNetworkLink(
                f"pdz-apim-{net_name}",
                resource_group_name=group.name,
                private_zone_name=zone.name,
                location="global",
                virtual_network=privatedns.SubResourceArgs(id=vnet_id),
                registration_enabled=False,
                tags=args.tags,
                opts=me,
            )
        self.register_outputs(
            {
                "gateway_url": self.gateway_url,
                "servicebus_namespace": namespace.name,
                "apis": len(args.catalogue.apis),
                "queues": len(args.catalogue.queues),
            }
        )
