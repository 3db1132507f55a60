"""The three Intune object kinds managed through Microsoft Graph, with their documented paths.

Version choice: v1.0 wherever the object exists there; beta only where it does not.
- Compliance policies: v1.0 (#microsoft.graph.windows10CompliancePolicy).
  https://learn.microsoft.com/graph/api/intune-deviceconfig-windows10compliancepolicy-create?view=graph-rest-1.0
  https://learn.microsoft.com/graph/api/intune-deviceconfig-devicecompliancepolicy-assign?view=graph-rest-1.0
- Configuration profiles: v1.0 (#microsoft.graph.windows10GeneralConfiguration and the custom
  OMA-URI profile #microsoft.graph.windows10CustomConfiguration).
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


# Intune refuses a compliance policy without a scheduled "block" action, although the create
# page's example omits it; the deviceCompliancePolicy resource lists scheduledActionsForRule and
# community tooling (e.g. MSGraphFunctions New-GraphDeviceCompliancePolicy) adds exactly this one.
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
    api_version="v1.0",
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
