"""The Pulumi program: read the stack's config once, build the environment, export its outputs."""

from __future__ import annotations

import secrets
from pathlib import Path

import pulumi
import pulumi_azure_native.authorization as authorization
import pulumi_azuread as azuread

from consolidated.program import Platform, Secrets, build
from eendracht.outputs import STACK_OUTPUTS
from eendracht.programme import load_programme
from eendracht.stacksettings import CONFIG_NAMESPACE, StackSettings

REPO = Path(__file__).resolve().parent.parent

config = pulumi.Config(CONFIG_NAMESPACE)
settings = StackSettings.from_config(
    {key: value for key in StackSettings.config_keys() if (value := config.get(key)) is not None}
)
programme = load_programme(REPO / settings.programme)

# Windows VMs need an initial admin password; without one configured a random one is used
# (the VMs ignore later changes to it and Windows LAPS takes over after deployment).
admin_password = config.get_secret("adminPassword") or pulumi.Output.secret(
    secrets.token_urlsafe(24) + "!a1A"
)
outputs = build(
    programme,
    settings,
    Platform(
        tenant_id=authorization.get_client_config_output().tenant_id,
        # the emergency-access accounts live on the tenant's initial *.onmicrosoft.com domain
        initial_domain=azuread.get_domains_output(only_initial=True).domains[0].domain_name,
    ),
    Secrets(
        admin_password=admin_password,
        vpn_shared_key=config.get_secret("vpnSharedKey"),
        graph_client_id=config.get("graphClientId"),
        graph_client_secret=config.get_secret("graphClientSecret"),
    ),
)
for name in STACK_OUTPUTS:
    pulumi.export(name, outputs[name])
for name in sorted(set(outputs) - set(STACK_OUTPUTS)):
    pulumi.export(name, outputs[name])
