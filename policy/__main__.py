"""The eendracht CrossGuard pack: `pulumi preview --policy-pack policy` runs it on every stack."""

from eendracht_policies import POLICIES
from pulumi_policy import EnforcementLevel, PolicyPack

PolicyPack(
    name="eendracht-bio2",
    enforcement_level=EnforcementLevel.MANDATORY,
    policies=POLICIES,
)
