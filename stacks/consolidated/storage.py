"""A storage account the way every account in this environment is built.

HTTPS only, TLS 1.2 minimum, no public blob access, no public network access (private
endpoints only), shared keys off where the workload allows it, diagnostics to Log Analytics.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
import pulumi_azure_native.storage as storage

from consolidated.common import Place, diagnostics, private_endpoint
from consolidated.tags import with_role

ASR_CACHE_ROLE = "asr-cache"  # the tag the security rules know (policy/eendracht_rules.py)


@dataclass(frozen=True)
class StorageSpec:
    key: str  # logical name part
    account_name: str
    kind: str  # FileStorage | StorageV2
    sku: str  # Premium_ZRS | Standard_GZRS | ...
    subnet_id: pulumi.Input[str]  # for the private endpoints
    dns_zone_ids: Mapping[str, pulumi.Input[str]]  # sub-resource (file, blob) -> private DNS zone
    workspace_id: pulumi.Input[str]
    entra_kerberos: bool = False  # SMB with Entra ID identities (FSLogix, file shares)
    shared_key_access: bool = False
    # Only for Site Recovery's cache account: the A2A support matrix ("Cache storage") says not
    # to restrict virtual network access to it and to allow access from "All networks". The
    # account is tagged role=asr-cache; the security rules allow that only for an account
    # replicated servers really stage through (policy/eendracht_rules.py).
    asr_cache: bool = False


def secure_account(
    spec: StorageSpec, place: Place, parent: pulumi.Resource
) -> storage.StorageAccount:
    account = storage.StorageAccount(
        f"st-{spec.key}",
        account_name=spec.account_name,
        resource_group_name=place.resource_group,
        location=place.location,
        kind=spec.kind,
        sku=storage.SkuArgs(name=spec.sku),
        enable_https_traffic_only=True,
        minimum_tls_version="TLS1_2",
        allow_blob_public_access=False,
        allow_shared_key_access=spec.shared_key_access,
        allow_cross_tenant_replication=False,
        public_network_access="Enabled" if spec.asr_cache else "Disabled",
        network_rule_set=storage.NetworkRuleSetArgs(
            default_action=storage.DefaultAction.ALLOW
            if spec.asr_cache
            else storage.DefaultAction.DENY,
            bypass="AzureServices",
        ),
        azure_files_identity_based_authentication=storage.AzureFilesIdentityBasedAuthenticationArgs(
            directory_service_options="AADKERB"
        )
        if spec.entra_kerberos
        else None,
        tags=with_role(place.tags, ASR_CACHE_ROLE) if spec.asr_cache else place.tags,
        opts=pulumi.ResourceOptions(parent=parent),
    )
    diagnostics(f"st-{spec.key}", account.id, spec.workspace_id, parent, logs=False)
    for group, zone_id in spec.dns_zone_ids.items():
        service = pulumi.Output.concat(account.id, f"/{group}Services/default")
        diagnostics(f"st-{spec.key}-{group}", service, spec.workspace_id, parent)
        private_endpoint(
            f"st-{spec.key}-{group}", place, spec.subnet_id, account.id, group, zone_id, parent
        )
    return account
