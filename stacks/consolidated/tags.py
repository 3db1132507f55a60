"""Tags on every resource: programme, cost centre, environment, and origin where it applies."""

from __future__ import annotations

from collections.abc import Mapping

REQUIRED_TAGS = ("programme", "cost-centre", "environment", "managed-by")


def base_tags(programme: str, cost_centre: str, environment: str) -> dict[str, str]:
    return {
        "programme": programme,
        "cost-centre": cost_centre,
        "environment": environment,
        "managed-by": "pulumi",
    }


def with_origin(tags: Mapping[str, str], municipality: str) -> dict[str, str]:
    """Tags of a resource that belongs to one former municipality."""
    return {**tags, "municipality": municipality}


def with_role(tags: Mapping[str, str], role: str) -> dict[str, str]:
    return {**tags, "role": role}
