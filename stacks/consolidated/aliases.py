"""Drop azure-native's type aliases: this project has no state from older provider versions.

pulumi-azure-native attaches one alias per historical API version to every resource (about
25 each). Aliases only matter when state holds resources created under those old type names;
this is a new environment with none. Computing their URNs made the program several times
slower, under mocks and in a real preview alike (see tests/bench/bench_stacks.py, docs/stacks.md).
"""

from __future__ import annotations

import pulumi


def _drop_aliases(
    args: pulumi.ResourceTransformationArgs,
) -> pulumi.ResourceTransformationResult | None:
    if args.type_.startswith("azure-native:") and args.opts.aliases:
        args.opts.aliases = None
        return pulumi.ResourceTransformationResult(args.props, args.opts)
    return None


def drop_type_aliases() -> None:
    """Register the transformation once on the current root stack."""
    root = pulumi.runtime.get_root_resource()
    if _drop_aliases in (getattr(root, "_transformations", None) or []):
        return
    pulumi.runtime.register_stack_transformation(_drop_aliases)
