"""Conditional Access policies (pulumi_azuread), all in one state and with one exclusion.

Every policy runs in the state the reviewed stack setting `eendracht:conditionalAccess`
gives (report-only unless it says `enforced`, docs/stacks.md) and excludes the
emergency-access accounts by object id as well as the break-glass group, so a change of the
group's members cannot lock the tenant out, and the security rules can see the exclusion.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_azuread as azuread

# eendracht:conditionalAccess -> the state of every Conditional Access policy (Graph's names).
STATES = {"reportOnly": "enabledForReportingButNotEnforced", "enforced": "enabled"}


@dataclass(frozen=True)
class Exclusions:
    """Who no Conditional Access policy applies to: the emergency-access accounts."""

    user_ids: Sequence[pulumi.Input[str]]
    group_ids: Sequence[pulumi.Input[str]]


def conditional_access_policies(
    organisation: str, mode: str, exclusions: Exclusions, parent: pulumi.Resource
) -> list[azuread.ConditionalAccessPolicy]:
    """MFA and a compliant device for all users (operator AND); legacy authentication blocked."""
    state = STATES[mode]
    users = azuread.ConditionalAccessPolicyConditionsUsersArgs(
        included_users=["All"],
        excluded_users=list(exclusions.user_ids),
        excluded_groups=list(exclusions.group_ids),
    )
    all_apps = azuread.ConditionalAccessPolicyConditionsApplicationsArgs(
        included_applications=["All"]
    )
    me = pulumi.ResourceOptions(parent=parent)
    return [
        azuread.ConditionalAccessPolicy(
            "ca-mfa-compliant-device",
            display_name=f"{organisation}: MFA en compliant apparaat vereist",
            state=state,
            conditions=azuread.ConditionalAccessPolicyConditionsArgs(
                client_app_types=["all"], applications=all_apps, users=users
            ),
            grant_controls=azuread.ConditionalAccessPolicyGrantControlsArgs(
                operator="AND", built_in_controls=["mfa", "compliantDevice"]
            ),
            opts=me,
        ),
        azuread.ConditionalAccessPolicy(
            "ca-block-legacy-auth",
            display_name=f"{organisation}: verouderde aanmeldprotocollen blokkeren",
            state=state,
            conditions=azuread.ConditionalAccessPolicyConditionsArgs(
                client_app_types=["exchangeActiveSync", "other"],
                applications=all_apps,
                users=users,
            ),
            grant_controls=azuread.ConditionalAccessPolicyGrantControlsArgs(
                operator="OR", built_in_controls=["block"]
            ),
            opts=me,
        ),
    ]
