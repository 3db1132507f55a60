"""Intune through Microsoft Graph: a Pulumi dynamic provider and the `Intune` component.

Microsoft Graph is not reachable from this development environment; the provider is tested
against a local server that follows Graph's documented request and response shapes
(tests/stacks/graph_contract_server.py). See provider.py and kinds.py.
"""

from .component import Intune, IntuneArgs
from .graph_client import GraphAuthError, GraphError, GraphNotFound, GraphThrottled, RetryPolicy
from .provider import GraphObjectProvider
from .resources import AutopilotProfile, CompliancePolicy, ConfigurationProfile, GraphConnection

__all__ = [
    "AutopilotProfile",
    "CompliancePolicy",
    "ConfigurationProfile",
    "GraphAuthError",
    "GraphConnection",
    "GraphError",
    "GraphNotFound",
    "GraphObjectProvider",
    "GraphThrottled",
    "Intune",
    "IntuneArgs",
    "RetryPolicy",
]
