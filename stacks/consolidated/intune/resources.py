"""Dynamic resources for the Intune objects: one class per Graph object kind.

Each carries its group assignments as an input (`assignment_group_ids`) instead of a separate
assignment resource: Graph's assign action replaces the whole set, so one resource owning
object and assignments gives clean diffs (a group change is an update of that resource).

Type tokens: pulumi.dynamic.Resource subclasses register as `pulumi-python:dynamic:Resource`
unless given a module and name; these use `pulumi-python:dynamic/intune:<Class>` so previews
can count them apart.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
from pulumi.dynamic import Resource

from .graph_client import GRAPH_URL, LOGIN_URL, token_url_for
from .kinds import AUTOPILOT_PROFILE, COMPLIANCE_POLICY, CONFIGURATION_PROFILE, GraphKind
from .provider import GraphObjectProvider

WINDOWS10_COMPLIANCE = "#microsoft.graph.windows10CompliancePolicy"
WINDOWS10_GENERAL_CONFIGURATION = "#microsoft.graph.windows10GeneralConfiguration"
WINDOWS10_CUSTOM_CONFIGURATION = "#microsoft.graph.windows10CustomConfiguration"
AZURE_AD_AUTOPILOT = "#microsoft.graph.azureADWindowsAutopilotDeploymentProfile"


@dataclass(frozen=True)
class GraphConnection:
    """Where and as whom to call Graph. The defaults are the real services; tests override
    both URLs with a local contract server. `client_secret` is always sent as a secret."""

    tenant_id: pulumi.Input[str]
    client_id: pulumi.Input[str]
    client_secret: pulumi.Input[str]
    graph_url: pulumi.Input[str] = GRAPH_URL
    token_url: pulumi.Input[str] | None = None  # default: the tenant's v2.0 endpoint
    login_url: str = LOGIN_URL

    def inputs(self) -> dict[str, Any]:
        token_url: pulumi.Input[str]
        if self.token_url is not None:
            token_url = self.token_url
        else:
            login_url = self.login_url
            token_url = pulumi.Output.from_input(self.tenant_id).apply(
                lambda tenant: token_url_for(tenant, login_url)
            )
        return {
            "graph_url": self.graph_url,
            "token_url": token_url,
            "tenant_id": self.tenant_id,
            "client_id": self.client_id,
            "client_secret": pulumi.Output.secret(self.client_secret),
        }


def _props(
    connection: GraphConnection,
    odata_type: str,
    properties: Mapping[str, pulumi.Input[Any]],
    assignment_group_ids: Sequence[pulumi.Input[str]],
) -> dict[str, Any]:
    return {
        **connection.inputs(),
        "odata_type": odata_type,
        "properties": dict(properties),
        "assignment_group_ids": list(assignment_group_ids),
        "created_date_time": None,
        "last_modified_date_time": None,
    }


def _options(opts: pulumi.ResourceOptions | None) -> pulumi.ResourceOptions:
    secret = pulumi.ResourceOptions(additional_secret_outputs=["client_secret"])
    return pulumi.ResourceOptions.merge(opts, secret)


class _GraphObject(Resource):
    kind: GraphKind
    default_odata_type: str
    odata_type: pulumi.Output[str]
    properties: pulumi.Output[dict[str, Any]]
    assignment_group_ids: pulumi.Output[list[str]]
    created_date_time: pulumi.Output[str]
    last_modified_date_time: pulumi.Output[str]

    def __init__(
        self,
        resource_name: str,
        *,
        connection: GraphConnection,
        properties: Mapping[str, pulumi.Input[Any]],
        assignment_group_ids: Sequence[pulumi.Input[str]] = (),
        odata_type: str | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(
            GraphObjectProvider(self.kind.key),
            resource_name,
            _props(
                connection,
                odata_type or self.default_odata_type,
                properties,
                assignment_group_ids,
            ),
            _options(opts),
        )


class CompliancePolicy(_GraphObject, module="intune", name="CompliancePolicy"):
    """A Windows 10/11 device compliance policy (Graph beta) and its group assignments."""

    kind = COMPLIANCE_POLICY
    default_odata_type = WINDOWS10_COMPLIANCE


class ConfigurationProfile(_GraphObject, module="intune", name="ConfigurationProfile"):
    """A Windows 10/11 device configuration profile (Graph v1.0), general or custom OMA-URI."""

    kind = CONFIGURATION_PROFILE
    default_odata_type = WINDOWS10_GENERAL_CONFIGURATION


class AutopilotProfile(_GraphObject, module="intune", name="AutopilotProfile"):
    """A Windows Autopilot deployment profile (Graph beta only) and its group assignments."""

    kind = AUTOPILOT_PROFILE
    default_odata_type = AZURE_AD_AUTOPILOT
