"""EmergencySignInAlert: every sign-in of an emergency-access account alerts at once.

Entra ID's sign-in and audit logs go to the landing zone's Log Analytics workspace through a
tenant-level diagnostic setting (azure-native `aadiam`); a scheduled query rule looks at the
sign-in tables every five minutes for the accounts' object ids or UPNs and, on any hit, fires
a severity 0 alert to an action group that mails the address in `eendracht:securityAlertEmail`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_azure_native.aadiam as aadiam
import pulumi_azure_native.monitor as monitor

from consolidated.common import Place
from consolidated.names import Names

# Entra ID log categories sent to Log Analytics: interactive and non-interactive user
# sign-ins (tables SigninLogs, AADNonInteractiveUserSignInLogs), service principal and managed
# identity sign-ins, and the audit log (who changed the accounts, the group, the policies).
ENTRA_LOG_CATEGORIES = (
    "SignInLogs",
    "NonInteractiveUserSignInLogs",
    "ServicePrincipalSignInLogs",
    "ManagedIdentitySignInLogs",
    "AuditLogs",
)
SIGN_IN_TABLES = ("SigninLogs", "AADNonInteractiveUserSignInLogs")
EVERY = "PT5M"  # evaluation frequency and window (Microsoft's example for these accounts)
SEVERITY = 0  # critical


@dataclass(frozen=True)
class EmergencySignInAlertArgs:
    names: Names
    place: Place  # the platform resource group, primary region, tags
    workspace_id: pulumi.Input[str]  # the landing zone's Log Analytics workspace
    object_ids: Sequence[pulumi.Input[str]]  # the emergency-access accounts
    user_principal_names: Sequence[pulumi.Input[str]]
    alert_email: str | None  # eendracht:securityAlertEmail


def required_alert_email(value: str | None) -> str:
    if not value:
        raise ValueError(
            "eendracht:securityAlertEmail is not set: a sign-in of an emergency-access account "
            "must alert someone (pulumi config set eendracht:securityAlertEmail <address>)"
        )
    return value


def sign_in_query(object_ids: Sequence[str], user_principal_names: Sequence[str]) -> str:
    """KQL over the sign-in tables: any sign-in (successful or not) of one of the accounts."""

    def names(values: Sequence[str]) -> str:
        return ", ".join(f'"{v}"' for v in values)

    return (
        f"union isfuzzy=true {', '.join(SIGN_IN_TABLES)}\n"
        f"| where UserId in~ ({names(object_ids)})"
        f" or UserPrincipalName in~ ({names(user_principal_names)})\n"
        "| project TimeGenerated, UserPrincipalName, UserId, ResultType, IPAddress, "
        "AppDisplayName, Location"
    )


class EmergencySignInAlert(pulumi.ComponentResource):
    def __init__(
        self,
        name: str,
        args: EmergencySignInAlertArgs,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("eendracht:index:EmergencySignInAlert", name, None, opts)
        email = required_alert_email(args.alert_email)
        me = pulumi.ResourceOptions(parent=self)
        place, names = args.place, args.names
        aadiam.DiagnosticSetting(
            "diag-entra-id",
            name=names("diag", "entra-id"),
            workspace_id=args.workspace_id,
            logs=[
                aadiam.LogSettingsArgs(category=category, enabled=True)
                for category in ENTRA_LOG_CATEGORIES
            ],
            opts=me,
        )
        group = monitor.ActionGroup(
            "ag-security",
            action_group_name=names("ag", "security"),
            resource_group_name=place.resource_group,
            location="Global",  # action groups are global resources
            group_short_name="noodaccount",  # 12 characters at most
            enabled=True,
            email_receivers=[
                monitor.MicrosoftCommonEmailReceiverArgs(
                    name="security", email_address=email, use_common_alert_schema=True
                )
            ],
            tags=place.tags,
            opts=me,
        )
        ids = pulumi.Output.all(*args.object_ids)
        upns = pulumi.Output.all(*args.user_principal_names)
        query = pulumi.Output.all(ids, upns).apply(lambda both: sign_in_query(*both))
        monitor.ScheduledQueryRule(
            "alert-emergency-sign-in",
            rule_name=names("alert", "emergency-sign-in"),
            resource_group_name=place.resource_group,
            location=place.location,
            display_name="Aanmelding met een noodaccount",
            description="An emergency-access (break-glass) account signed in, or tried to",
            kind="LogAlert",
            enabled=True,
            severity=SEVERITY,
            evaluation_frequency=EVERY,
            window_size=EVERY,
            scopes=[args.workspace_id],
            criteria=monitor.ScheduledQueryRuleCriteriaArgs(
                all_of=[
                    monitor.ConditionArgs(
                        query=query,
                        time_aggregation="Count",
                        operator="GreaterThan",
                        threshold=0,
                        failing_periods=monitor.ConditionFailingPeriodsArgs(
                            number_of_evaluation_periods=1, min_failing_periods_to_alert=1
                        ),
                    )
                ]
            ),
            auto_mitigate=False,
            actions=monitor.ActionsArgs(action_groups=[group.id]),
            tags=place.tags,
            opts=me,
        )
        self.register_outputs({"action_group_id": group.id})
