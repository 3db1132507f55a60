"""Environments: what a wave runs against (hosts, stack outputs, services, secret references)."""

from eendracht.environment.load import Environment, load_environment
from eendracht.environment.models import EnvironmentSpec

__all__ = ["Environment", "EnvironmentSpec", "load_environment"]
