"""The three Intune object kinds managed through Microsoft Graph, with their documented paths.

API version per kind, chosen against Microsoft's published metadata (the CSDL in
microsoftgraph/msgraph-metadata; the tests hold every body against a vendored subset of it,
tests/stacks/graph_schema/):
- Compliance policies: BETA. v1.0's windows10CompliancePolicy lacks the TPM, Defender,
  real-time protection, signature, antivirus, antispyware and firewall rules (tpmRequired,
  defenderEnabled, rtpEnabled, signatureOutOfDate, antivirusRequired, antiSpywareRequired,
  activeFirewallRequired); beta has them. Moving them into a configuration profile would only
  *set* those features, not make a device non-compliant when they are off, and Conditional
  Access grants on compliance: the security requirement lives in the compliance policy.
  https://learn.microsoft.com/graph/api/intune-deviceconfig-windows10compliancepolicy-create?view=graph-rest-beta
  https://learn.microsoft.com/graph/api/intune-deviceconfig-devicecompliancepolicy-assign?view=graph-rest-beta
- Configuration profiles: v1.0 (#microsoft.graph.windows10GeneralConfiguration and the custom
  OMA-URI profile #microsoft.graph.windows10CustomConfiguration): everything set exists there.
  https://learn.microsoft.com/graph/api/intune-deviceconfig-windows10generalconfiguration-create?view=graph-rest-1.0
  https://learn.microsoft.com/graph/api/intune-deviceconfig-deviceconfiguration-assign?view=graph-rest-1.0
- Windows Autopilot deployment profiles: BETA ONLY. v1.0 has Autopilot device identities but no
  deployment profiles (#microsoft.graph.azureADWindowsAutopilotDeploymentProfile).
  https://learn.microsoft.com/graph/api/intune-enrollment-azureadwindowsautopilotdeploymentprofile-create?view=graph-rest-beta
  Assignments are a collection there (POST/DELETE .../{id}/assignments), not an assign action:
  https://learn.microsoft.com/graph/api/intune-enrollment-windowsautopilotdeploymentprofileassignment-create?view=graph-rest-beta
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType
from typing import Any

GROUP_TARGET = "#microsoft.graph.groupAssignmentTarget"


class AssignmentStyle(StrEnum):
    ASSIGN_ACTION = "assign-action"  # POST {id}/assign replaces the whole set
    COLLECTION = "collection"  # POST/DELETE {id}/assignments one by one


@dataclass(frozen=True)
class GraphKind:
    key: str
    label: str
    api_version: str
    collection: str
    odata_types: frozenset[str]
    assignment_odata_type: str
    assignment_style: AssignmentStyle
    # Sent on create only and never diffed (Graph does not return them on GET).
    create_defaults: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))

    def collection_path(self) -> str:
        return f"/{self.api_version}/{self.collection}"

    def item_path(self, object_id: str) -> str:
        return f"{self.collection_path()}/{object_id}"


# Graph's metadata calls scheduledActionsForRule "a required property when creating any
# individual per-platform compliance policies", and Intune refuses a policy without a "block"
# action, although the create page's example omits it; community tooling (e.g. MSGraphFunctions
# New-GraphDeviceCompliancePolicy) adds exactly this one.
_BLOCK_IMMEDIATELY = MappingProxyType(
    {
        "scheduledActionsForRule": [
            {
                "ruleName": "PasswordRequired",
                "scheduledActionConfigurations": [
                    {
                        "actionType": "block",
                        "gracePeriodHours": 0,
                        "notificationTemplateId": "",
                        "notificationMessageCCList": [],
                    }
                ],
            }
        ]
    }
)

COMPLIANCE_POLICY = GraphKind(
    key="compliance_policy",
    label="compliance policy",
    api_version="beta",  # the TPM, Defender and firewall rules exist only there
    collection="deviceManagement/deviceCompliancePolicies",
    odata_types=frozenset({"#microsoft.graph.windows10CompliancePolicy"}),
    assignment_odata_type="#microsoft.graph.deviceCompliancePolicyAssignment",
    assignment_style=AssignmentStyle.ASSIGN_ACTION,
    create_defaults=_BLOCK_IMMEDIATELY,
)

CONFIGURATION_PROFILE = GraphKind(
    key="configuration_profile",
    label="configuration profile",
    api_version="v1.0",
    collection="deviceManagement/deviceConfigurations",
    odata_types=frozenset(
        {
            "#microsoft.graph.windows10GeneralConfiguration",
            "#microsoft.graph.windows10CustomConfiguration",
        }
    ),
    assignment_odata_type="#microsoft.graph.deviceConfigurationAssignment",
    assignment_style=AssignmentStyle.ASSIGN_ACTION,
)

AUTOPILOT_PROFILE = GraphKind(
    key="autopilot_profile",
    label="Autopilot deployment profile",
    api_version="beta",  # no v1.0 equivalent exists
    collection="deviceManagement/windowsAutopilotDeploymentProfiles",
    odata_types=frozenset(
        {
            "#microsoft.graph.azureADWindowsAutopilotDeploymentProfile",
            "#microsoft.graph.activeDirectoryWindowsAutopilotDeploymentProfile",
        }
    ),
    assignment_odata_type="#microsoft.graph.windowsAutopilotDeploymentProfileAssignment",
    assignment_style=AssignmentStyle.COLLECTION,
)

KINDS: Mapping[str, GraphKind] = MappingProxyType(
    {kind.key: kind for kind in (COMPLIANCE_POLICY, CONFIGURATION_PROFILE, AUTOPILOT_PROFILE)}
)
