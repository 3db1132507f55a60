"""The contract between the stacks and the migration: stack outputs by name.

The Pulumi program exports every one of these (`stacks/__main__.py`); the rehearsal lab
writes the same names pointing at its own services; `eendracht wave run` hands them to
the playbooks as the extra var `target`. `docs/stacks.md` documents each one.
"""

from __future__ import annotations

STACK_OUTPUTS: dict[str, str] = {
    "resource_group": "name of the programme's main resource group",
    "primary_region": "Azure region of the consolidated environment",
    "fallback_region": "Azure region of the fallback site (uitwijklocatie)",
    "key_vault_name": "Key Vault holding the migration's secrets",
    "log_analytics_workspace_id": "resource id of the Log Analytics workspace",
    "file_target_host": "host that receives migrated file shares (Azure Files via its sync host)",
    "file_target_root": "folder under which each municipality's shares land",
    "file_share_endpoints": "map of share name -> SMB endpoint on Azure Files",
    "directory_uri": "LDAP URI of the target directory (AD DS domain controllers)",
    "directory_base_dn": "base DN of the target directory",
    "dns_server": "address of the authoritative DNS server that takes RFC 2136 updates",
    "dns_zone": "the new organisation's DNS zone",
    "workplace_fqdn": "host name of the Azure Virtual Desktop workspace feed",
    "application_gateway_ip": "front-end address of the application landing zone",
    "database_server_fqdn": "PostgreSQL flexible server that receives rehosted databases",
    "integration_hub_endpoint": "gateway URL of the integration hub (API Management)",
    "host_pool_names": "map of pool role (office, cad, standby) -> AVD host pool name",
    "recovery_vault_name": "Recovery Services vault at the fallback site",
}
