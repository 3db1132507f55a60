"""The Intune baseline of the consolidated workplace as one component.

A Windows compliance policy (BitLocker, Defender, minimum OS version, Secure Boot, TPM,
firewall; Graph beta, see kinds.py), a
device configuration profile (Defender real-time protection, SmartScreen, screen lock), a
Windows Autopilot deployment profile (Entra-joined, standard users, no OOBE privacy/EULA
pages, the programme's device name template) and their group assignments. All three go
through the Graph dynamic provider in provider.py; Graph itself is not reachable from this
development environment, see that module.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pulumi

from .graph_client import GRAPH_URL, LOGIN_URL
from .resources import (
    AutopilotProfile,
    CompliancePolicy,
    ConfigurationProfile,
    GraphConnection,
)
from .validation import VERSION, device_name_template_problem

# Windows 10 22H2; Windows 11 builds (10.0.22xxx and up) satisfy it too.
DEFAULT_MINIMUM_OS_VERSION = "10.0.19045"


@dataclass
class IntuneArgs:
    """What the Intune component needs. The client secret must come from
    config.require_secret (or pulumi.Output.secret); it is sent to the resources as a secret
    in any case."""

    programme: str
    tenant_id: pulumi.Input[str]
    client_id: pulumi.Input[str]
    client_secret: pulumi.Input[str]
    group_ids: Sequence[pulumi.Input[str]]
    device_name_template: str
    minimum_os_version: str = DEFAULT_MINIMUM_OS_VERSION
    # Autopilot profiles go to the dynamic Autopilot device group; default: group_ids.
    autopilot_group_ids: Sequence[pulumi.Input[str]] | None = None
    language: str = "nl-NL"
    graph_url: pulumi.Input[str] = GRAPH_URL
    token_url: pulumi.Input[str] | None = None
    login_url: str = LOGIN_URL

    def __post_init__(self) -> None:
        if not self.programme.strip():
            raise ValueError("IntuneArgs.programme: must be the programme's name")
        if not VERSION.match(self.minimum_os_version):
            raise ValueError(
                "IntuneArgs.minimum_os_version: must be a Windows version like 10.0.19045, "
                f"got {self.minimum_os_version!r}"
            )
        problem = device_name_template_problem(self.device_name_template)
        if problem:
            raise ValueError(f"IntuneArgs.device_name_template: {problem}")


def compliance_properties(args: IntuneArgs) -> dict[str, Any]:
    return {
        "displayName": f"{args.programme} - Windows compliance",
        "description": "BitLocker, Defender, Secure Boot and TPM required; minimum OS version.",
        "osMinimumVersion": args.minimum_os_version,
        "bitLockerEnabled": True,
        "secureBootEnabled": True,
        "codeIntegrityEnabled": True,
        "storageRequireEncryption": True,
        "tpmRequired": True,
        "defenderEnabled": True,
        "rtpEnabled": True,
        "signatureOutOfDate": True,
        "antivirusRequired": True,
        "antiSpywareRequired": True,
        "activeFirewallRequired": True,
    }


def configuration_properties(args: IntuneArgs) -> dict[str, Any]:
    return {
        "displayName": f"{args.programme} - Windows baseline",
        "description": "Defender protection, SmartScreen without override, screen lock.",
        "defenderRequireRealTimeMonitoring": True,
        "defenderRequireBehaviorMonitoring": True,
        "defenderRequireCloudProtection": True,
        "defenderRequireNetworkInspectionSystem": True,
        "smartScreenBlockPromptOverride": True,
        "smartScreenBlockPromptOverrideForFiles": True,
        "passwordRequired": True,
        "passwordMinutesOfInactivityBeforeScreenTimeout": 15,
    }


def autopilot_properties(args: IntuneArgs) -> dict[str, Any]:
    # Graph beta's current names: `language`, `extractHardwareHash` and
    # `outOfBoxExperienceSettings` are read-only and deprecated (May 2024) in favour of these.
    return {
        "displayName": f"{args.programme} - Autopilot (Entra joined)",
        "description": "User-driven Autopilot for the consolidated workplace.",
        "locale": args.language,
        "deviceNameTemplate": args.device_name_template,
        "deviceType": "windowsPc",
        "hardwareHashExtractionEnabled": True,
        "preprovisioningAllowed": False,
        "outOfBoxExperienceSetting": {
            "privacySettingsHidden": True,
            "eulaHidden": True,
            "userType": "standard",
            "deviceUsageType": "singleUser",
            "keyboardSelectionPageSkipped": True,
            "escapeLinkHidden": True,
        },
    }


class Intune(pulumi.ComponentResource):
    """Compliance policy, configuration profile and Autopilot profile with assignments."""

    compliance_policy: CompliancePolicy
    configuration_profile: ConfigurationProfile
    autopilot_profile: AutopilotProfile

    def __init__(
        self, name: str, args: IntuneArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("eendracht:index:Intune", name, None, opts)
        connection = GraphConnection(
            tenant_id=args.tenant_id,
            client_id=args.client_id,
            client_secret=pulumi.Output.secret(args.client_secret),
            graph_url=args.graph_url,
            token_url=args.token_url,
            login_url=args.login_url,
        )
        child = pulumi.ResourceOptions(parent=self)
        group_ids = list(args.group_ids)
        autopilot_groups = list(
            args.autopilot_group_ids if args.autopilot_group_ids is not None else group_ids
        )
        self.compliance_policy = CompliancePolicy(
            f"{name}-compliance",
            connection=connection,
            properties=compliance_properties(args),
            assignment_group_ids=group_ids,
            opts=child,
        )
        self.configuration_profile = ConfigurationProfile(
            f"{name}-configuration",
            connection=connection,
            properties=configuration_properties(args),
            assignment_group_ids=group_ids,
            opts=child,
        )
        self.autopilot_profile = AutopilotProfile(
            f"{name}-autopilot",
            connection=connection,
            properties=autopilot_properties(args),
            assignment_group_ids=autopilot_groups,
            opts=child,
        )
        self.compliance_policy_id: pulumi.Output[str] = self.compliance_policy.id
        self.configuration_profile_id: pulumi.Output[str] = self.configuration_profile.id
        self.autopilot_profile_id: pulumi.Output[str] = self.autopilot_profile.id
        self.register_outputs(
            {
                "compliance_policy_id": self.compliance_policy_id,
                "configuration_profile_id": self.configuration_profile_id,
                "autopilot_profile_id": self.autopilot_profile_id,
            }
        )
