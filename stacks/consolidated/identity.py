"""Identity: Entra ID groups, emergency access and Conditional Access (pulumi_azuread).

Groups per department of the new organisation and per former municipality, a dynamic device
group for Autopilot-registered devices (and one per Autopilot group tag), the two
emergency-access accounts (emergency_access.py) in the break-glass group, and Conditional
Access (conditional_access.py) that requires MFA *and* a compliant device for everyone but
those accounts, report-only until the stack setting enforces it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pulumi
import pulumi_azuread as azuread

from consolidated.conditional_access import Exclusions, conditional_access_policies
from consolidated.emergency_access import EmergencyAccess, EmergencyAccessArgs
from eendracht.programme import models as m

AUTOPILOT_RULE = '(device.devicePhysicalIDs -any (_ -startsWith "[ZTDId]"))'


def slug(value: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", value.lower()).strip("-")


def group_tag_rule(tag: str) -> str:
    return f'(device.devicePhysicalIds -any (_ -eq "[OrderID]:{tag}"))'


@dataclass(frozen=True)
class IdentityArgs:
    programme: m.Programme
    initial_domain: pulumi.Input[str]  # the tenant's `<name>.onmicrosoft.com`
    conditional_access: str = "reportOnly"  # eendracht:conditionalAccess (StackSettings)


class Identity(pulumi.ComponentResource):
    staff_group_id: pulumi.Output[str]
    autopilot_group_id: pulumi.Output[str]

    def __init__(
        self, name: str, args: IdentityArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("eendracht:index:Identity", name, None, opts)
        prog = args.programme
        me = pulumi.ResourceOptions(parent=self)
        org = prog.settings.organisation.name

        def group(key: str, display: str, description: str) -> azuread.Group:
            return azuread.Group(
                f"grp-{key}",
                display_name=display,
                description=description,
                security_enabled=True,
                mail_enabled=False,
                prevent_duplicate_names=True,
                opts=me,
            )

        staff = group("staff", f"{org} - medewerkers", "All staff; filled by the migration waves")
        break_glass = group(
            "break-glass", f"{org} - noodaccounts", "Break-glass accounts, excluded from CA"
        )
        self.staff_group_id = staff.object_id

        departments = sorted(
            {d for mu in prog.municipalities.values() for d in mu.info.departments}
        )
        self.department_group_ids: dict[str, pulumi.Output[str]] = {
            dept: group(
                f"dept-{slug(dept)}", f"{org} - afdeling {dept}", f"Department {dept}"
            ).object_id
            for dept in departments
        }
        self.municipality_group_ids: dict[str, pulumi.Output[str]] = {
            name: group(
                f"muni-{name}",
                f"{org} - voorheen {mu.info.display_name}",
                f"Staff who came from {mu.info.display_name}",
            ).object_id
            for name, mu in prog.municipalities.items()
        }

        autopilot = azuread.Group(
            "grp-autopilot-devices",
            display_name=f"{org} - Autopilot apparaten",
            description="Every device registered with Windows Autopilot",
            security_enabled=True,
            mail_enabled=False,
            types=["DynamicMembership"],
            dynamic_membership=azuread.GroupDynamicMembershipArgs(
                enabled=True, rule=AUTOPILOT_RULE
            ),
            opts=me,
        )
        self.autopilot_group_id = autopilot.object_id
        tags = sorted(
            {d.group_tag for mu in prog.municipalities.values() for d in mu.devices if d.group_tag}
        )
        self.device_tag_group_ids: dict[str, pulumi.Output[str]] = {
            tag: azuread.Group(
                f"grp-devices-{slug(tag)}",
                display_name=f"{org} - apparaten {tag}",
                description=f"Autopilot devices with group tag {tag}",
                security_enabled=True,
                mail_enabled=False,
                types=["DynamicMembership"],
                dynamic_membership=azuread.GroupDynamicMembershipArgs(
                    enabled=True, rule=group_tag_rule(tag)
                ),
                opts=me,
            ).object_id
            for tag in tags
        }

        self.emergency_access = EmergencyAccess(
            "emergency-access",
            EmergencyAccessArgs(
                organisation=org,
                initial_domain=args.initial_domain,
                group_id=break_glass.object_id,
            ),
            opts=me,
        )
        conditional_access_policies(
            org,
            args.conditional_access,
            Exclusions(
                user_ids=self.emergency_access.object_ids, group_ids=[break_glass.object_id]
            ),
            self,
        )
        self.register_outputs(
            {
                "staff_group_id": staff.object_id,
                "autopilot_group_id": autopilot.object_id,
                "department_groups": len(departments),
            }
        )
