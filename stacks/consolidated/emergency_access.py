"""EmergencyAccess: the tenant's two emergency-access (break-glass) accounts (pulumi_azuread).

Cloud-only users on the tenant's initial `*.onmicrosoft.com` domain, so they sign in when
federation, sync or a custom domain fail; Global Administrator permanently; members of the
break-glass group; excluded from every Conditional Access policy by object id (identity.py).
Each password is a 64-character random password (pulumi_random) that only ever exists as a
Pulumi secret: it is not exported, and `pulumi stack export --show-secrets` is how it is read
once to be stored offline (docs/security.md). The security rule
`conditional-access-excludes-emergency-access` recognises the accounts by EMPLOYEE_TYPE.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_azuread as azuread
import pulumi_random as random

ACCOUNTS = 2  # Microsoft's guidance: at least two, so one lost credential locks nobody out
# employeeType of the accounts; policy/eendracht_rules.py EMERGENCY_ACCESS recognises it.
EMPLOYEE_TYPE = "emergency-access"
GLOBAL_ADMINISTRATOR = "62e90394-69f5-4237-9190-012177145e10"  # built-in role template id
PASSWORD_LENGTH = 64  # Entra ID accepts up to 256 characters
PASSWORD_SPECIALS = "!#$%&*()-_=+[]{}<>:?"  # symbols Entra ID accepts in passwords


@dataclass(frozen=True)
class EmergencyAccessArgs:
    organisation: str
    initial_domain: pulumi.Input[str]  # the tenant's `<name>.onmicrosoft.com`
    group_id: pulumi.Input[str]  # the break-glass group


class EmergencyAccess(pulumi.ComponentResource):
    object_ids: list[pulumi.Output[str]]
    user_principal_names: list[pulumi.Output[str]]

    def __init__(
        self, name: str, args: EmergencyAccessArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("eendracht:index:EmergencyAccess", name, None, opts)
        me = pulumi.ResourceOptions(parent=self)
        self.object_ids = []
        self.user_principal_names = []
        for number in range(1, ACCOUNTS + 1):
            key = f"noodaccount-{number}"
            password = random.RandomPassword(
                f"pw-{key}",
                length=PASSWORD_LENGTH,
                lower=True,
                upper=True,
                numeric=True,
                special=True,
                min_lower=4,
                min_upper=4,
                min_numeric=4,
                min_special=4,
                override_special=PASSWORD_SPECIALS,
                opts=pulumi.ResourceOptions(parent=self, additional_secret_outputs=["result"]),
            )
            secret: pulumi.Output[str] = pulumi.Output.secret(password.result)
            user = azuread.User(
                f"user-{key}",
                user_principal_name=pulumi.Output.concat(key, "@", args.initial_domain),
                display_name=f"{args.organisation} - noodaccount {number}",
                mail_nickname=key,
                employee_type=EMPLOYEE_TYPE,
                account_enabled=True,
                password=secret,  # only ever a secret: never exported, never logged
                force_password_change=False,
                disable_password_expiration=True,
                show_in_address_list=False,
                opts=me,
            )
            azuread.GroupMember(
                f"member-{key}",
                group_object_id=args.group_id,
                member_object_id=user.object_id,
                opts=me,
            )
            azuread.DirectoryRoleAssignment(
                f"role-{key}-global-admin",
                role_id=GLOBAL_ADMINISTRATOR,
                principal_object_id=user.object_id,
                opts=me,
            )
            self.object_ids.append(user.object_id)
            self.user_principal_names.append(user.user_principal_name)
        self.register_outputs(
            {"object_ids": self.object_ids, "user_principal_names": self.user_principal_names}
        )
