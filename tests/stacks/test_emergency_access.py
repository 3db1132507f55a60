"""Conditional Access rolled out report-only, the two emergency-access accounts and the alert
on their sign-in, under mocks (stacks/consolidated/conditional_access.py, emergency_access.py,
sign_in_alert.py; the rules in policy/ are shown catching each violation in
test_stack_security.py and test_policy_pack.py)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from pydantic import ValidationError

sys.path.insert(0, str(Path(__file__).parent))
from stack_graph import (
    ALERT_EMAIL,
    EXAMPLE_STACKS,
    SSH_KEY,
    example,
    mini,
    mini_settings,
    rules,
    violations,
)

from consolidated.conditional_access import STATES
from consolidated.emergency_access import EMPLOYEE_TYPE, PASSWORD_LENGTH
from consolidated.mocked import INITIAL_DOMAIN, MockedRun, run_stack_mocked
from consolidated.sign_in_alert import ENTRA_LOG_CATEGORIES
from eendracht.problems import ProblemsFound
from eendracht.stackconfig import read_stack
from eendracht.stacksettings import StackSettings

REPORT_ONLY = "enabledForReportingButNotEnforced"
MOCKED_PASSWORD = "mocked-random-password-"  # the mocks' stand-in for a generated password


def _states(run: MockedRun) -> set[str]:
    return {r.inputs["state"] for r in run.of_type(rules.T_CONDITIONAL_ACCESS)}


def _accounts(run: MockedRun) -> list[str]:
    return [r.id for r in run.of_type(rules.T_USER)]


def test_conditional_access_is_report_only_by_default() -> None:
    _, settings, run = mini()
    assert settings.conditional_access == "reportOnly"
    assert run.count(rules.T_CONDITIONAL_ACCESS) == 2
    assert _states(run) == {REPORT_ONLY} == {STATES["reportOnly"]}


@pytest.mark.parametrize("stack", EXAMPLE_STACKS)
def test_the_example_stacks_stay_report_only(stack: str) -> None:
    _, settings, run = example(stack)
    assert settings.conditional_access == "reportOnly"
    assert _states(run) == {REPORT_ONLY}


def test_enforced_enables_every_policy_and_the_rules_still_hold() -> None:
    programme = mini()[0]
    run = run_stack_mocked(programme, mini_settings(conditional_access="enforced"))
    assert _states(run) == {"enabled"}
    assert violations(run) == []


def test_any_other_value_is_one_error_naming_the_key(tmp_path: Path) -> None:
    with pytest.raises(ValidationError) as caught:
        StackSettings.from_config(
            {"programme": "x", "adminSshPublicKey": SSH_KEY, "conditionalAccess": "enabled"}
        )
    (error,) = caught.value.errors()
    assert error["loc"] == ("conditionalAccess",)
    assert (
        "eendracht:conditionalAccess must be reportOnly or enforced, not 'enabled'"
        in (error["msg"])
    )
    (tmp_path / "Pulumi.bad.yaml").write_text(
        "config:\n  eendracht:programme: inventory/altena\n  eendracht:conditionalAccess: on\n"
        f"  eendracht:adminSshPublicKey: {SSH_KEY}\n"
    )
    with pytest.raises(ProblemsFound) as problems:
        read_stack("bad", stacks_dir=tmp_path)
    (problem,) = problems.value.problems
    assert problem.field == "config.conditionalAccess"
    assert "must be reportOnly or enforced" in problem.message


def test_without_an_alert_address_the_program_stops_naming_the_key() -> None:
    programme = mini()[0]
    with pytest.raises(ValueError, match="eendracht:securityAlertEmail is not set"):
        run_stack_mocked(programme, mini_settings(security_alert_email=None))


def test_two_cloud_only_emergency_accounts_with_secret_random_passwords() -> None:
    _, _, run = mini()
    users = run.of_type(rules.T_USER)
    assert len(users) == 2
    for user in users:
        inputs = user.inputs
        assert user.parent == "emergency-access"
        assert inputs["userPrincipalName"].endswith(f"@{INITIAL_DOMAIN}")  # cloud-only
        assert inputs["employeeType"] == EMPLOYEE_TYPE == rules.EMERGENCY_ACCESS
        assert inputs["accountEnabled"] is True
        assert inputs["password"] == "[secret]"  # sent to the engine as a secret
        assert "onPremisesImmutableId" not in inputs
    passwords = run.of_type("random:index/randomPassword:RandomPassword")
    assert len(passwords) == 2
    for password in passwords:
        inputs = password.inputs
        assert inputs["length"] >= 32 and inputs["length"] == PASSWORD_LENGTH
        assert all(inputs[c] is True for c in ("lower", "upper", "numeric", "special"))
        assert all(inputs[f"min{c}"] >= 1 for c in ("Lower", "Upper", "Numeric", "Special"))
    # members of the break-glass group, Global Administrator
    group = run.named("grp-break-glass").id
    members = run.of_type("azuread:index/groupMember:GroupMember")
    assert {(m.inputs["groupObjectId"], m.inputs["memberObjectId"]) for m in members} == {
        (group, u) for u in _accounts(run)
    }
    roles = run.of_type("azuread:index/directoryRoleAssignment:DirectoryRoleAssignment")
    assert {r.inputs["principalObjectId"] for r in roles} == set(_accounts(run))


@pytest.mark.parametrize("stack", [*EXAMPLE_STACKS, "mini"])
def test_the_plain_passwords_are_nowhere_in_resources_or_outputs(stack: str) -> None:
    run = mini()[2] if stack == "mini" else example(stack)[2]
    assert run.count("random:index/randomPassword:RandomPassword") == 2
    assert MOCKED_PASSWORD not in json.dumps([r.as_json() for r in run.resources])
    assert MOCKED_PASSWORD not in json.dumps(run.outputs, default=str)
    assert run.outputs["emergency_access_accounts"] == [
        f"noodaccount-{n}@{INITIAL_DOMAIN}" for n in (1, 2)
    ]


def test_the_mock_does_generate_a_password_the_program_could_leak() -> None:
    """The check above can fail: the mocked password exists in the run, as a secret."""
    _, _, run = mini()
    assert any(r.type.startswith("random:") for r in run.resources)
    from consolidated.mocked import _state

    assert _state({}, "random:index/randomPassword:RandomPassword", "pw", "id")["result"] == (
        f"{MOCKED_PASSWORD}pw"
    )


def test_every_policy_excludes_both_accounts_and_the_group() -> None:
    _, _, run = mini()
    accounts = _accounts(run)
    group = run.named("grp-break-glass").id
    for policy in run.of_type(rules.T_CONDITIONAL_ACCESS):
        users = policy.inputs["conditions"]["users"]
        assert users["includedUsers"] == ["All"]
        assert sorted(users["excludedUsers"]) == sorted(accounts)
        assert users["excludedGroups"] == [group]


def test_entra_sign_in_logs_go_to_the_landing_zone_workspace() -> None:
    _, _, run = mini()
    (setting,) = run.of_type("azure-native:aadiam:DiagnosticSetting")
    assert setting.inputs["workspaceId"] == run.outputs["log_analytics_workspace_id"]
    categories = {log["category"] for log in setting.inputs["logs"] if log["enabled"]}
    assert categories == set(ENTRA_LOG_CATEGORIES)
    assert {"SignInLogs", "NonInteractiveUserSignInLogs", "AuditLogs"} <= categories


def test_a_sign_in_of_either_account_alerts_within_five_minutes() -> None:
    _, _, run = mini()
    (rule,) = run.of_type("azure-native:monitor:ScheduledQueryRule")
    inputs = rule.inputs
    assert inputs["severity"] in (0, 1)
    assert (inputs["evaluationFrequency"], inputs["windowSize"]) == ("PT5M", "PT5M")
    assert inputs["scopes"] == [run.outputs["log_analytics_workspace_id"]]
    assert inputs["location"] == mini()[0].settings.azure.primary_region
    (condition,) = inputs["criteria"]["allOf"]
    query = condition["query"]
    assert "SigninLogs" in query and "AADNonInteractiveUserSignInLogs" in query
    for user in run.of_type(rules.T_USER):
        assert f'"{user.id}"' in query  # by object id
        assert f'"{user.inputs["userPrincipalName"]}"' in query  # and by UPN
    assert (condition["operator"], condition["threshold"]) == ("GreaterThan", 0)
    (group_id,) = inputs["actions"]["actionGroups"]
    (group,) = run.of_type("azure-native:monitor:ActionGroup")
    assert group.id == group_id
    assert group.inputs["emailReceivers"][0]["emailAddress"] == ALERT_EMAIL
    assert len(group.inputs["groupShortName"]) <= 12
