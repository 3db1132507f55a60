"""File shares: bulk copy ahead, read-only at freeze, delta copy, checksum manifests."""

from __future__ import annotations

from eendracht.plan.context import EXTRA_SHARES, Context, human_bytes, share_bytes
from eendracht.plan.models import Step, Touches
from eendracht.plan.steps.base import make_step, undo
from eendracht.programme.models import PhaseName, Share

CONCERN = "files"


def _copy_tool(ctx: Context, share: Share) -> str:
    if ctx.host_os(share.server) == "windows" or share.path[1:2] == ":":
        return "robocopy (/E /COPYALL /DCOPY:DAT, its own verification)"
    return "rsync over SSH keeping owners, modes, times, symlinks and hard links"


def _where(ctx: Context, share: Share) -> str:
    return (
        f"{share.server}:{share.path} -> file_target_host:file_target_root/{ctx.name}/{share.name}"
    )


def _touches(share: Share) -> Touches:
    return Touches(
        hosts=[share.server],
        targets=["file_target_host", "file_target_root"],
        shares=[share.name],
        bytes=share_bytes(share),
        files=share.files,
    )


def presync(ctx: Context) -> list[Step]:
    return [
        make_step(
            PhaseName.PRESYNC,
            CONCERN,
            f"Bulk copy of share {share.name}",
            item=share.name,
            extra_vars={EXTRA_SHARES: [share.name]},
            actions=[
                f"copy {_where(ctx, share)} with {_copy_tool(ctx, share)}",
                "nothing on the target is deleted"
                if not share.mirror
                else "mirror: the target loses what the source no longer has",
            ],
            touches=_touches(share),
            check=f"the copy ends without error; the target holds {share.files} files, "
            f"{human_bytes(share_bytes(share))}",
        )
        for share in ctx.shares
    ]


def freeze(ctx: Context) -> list[Step]:
    if not ctx.shares:
        return []
    names = [s.name for s in ctx.shares]
    return [
        make_step(
            PhaseName.FREEZE,
            CONCERN,
            "Make the source shares read-only",
            actions=[f"make {', '.join(names)} read-only at the source"],
            touches=Touches(
                hosts=sorted({s.server for s in ctx.shares}),
                shares=names,
                bytes=ctx.total_share_bytes,
                files=ctx.total_files,
            ),
            check="a write test on every share is refused",
            rollback=undo("make the source shares writable again", CONCERN),
        )
    ]


def final_sync(ctx: Context) -> list[Step]:
    return [
        make_step(
            PhaseName.FINAL_SYNC,
            CONCERN,
            f"Delta copy of share {share.name}",
            item=share.name,
            extra_vars={EXTRA_SHARES: [share.name]},
            actions=[
                f"copy what changed since the bulk copy: {_where(ctx, share)}",
                "delete on the target what the source no longer has (mirror)"
                if share.mirror
                else "nothing on the target is deleted",
            ],
            touches=_touches(share),
            check="the copy ends without error and a dry run afterwards finds nothing to copy",
        )
        for share in ctx.shares
    ]


def verify(ctx: Context) -> list[Step]:
    if not ctx.shares:
        return []
    ratio = ctx.programme.settings.go_no_go.min_verified_file_ratio
    return [
        make_step(
            PhaseName.VERIFY,
            CONCERN,
            "Compare checksum manifests of source and target",
            extra_vars={EXTRA_SHARES: [s.name for s in ctx.shares]},
            actions=[
                "build a checksum manifest (path, size, mode, owner, mtime, sha256) of every "
                "share at the source and at the target",
                "compare the manifests; list every difference",
            ],
            touches=Touches(
                hosts=sorted({s.server for s in ctx.shares}),
                targets=["file_target_host", "file_target_root"],
                shares=[s.name for s in ctx.shares],
                bytes=ctx.total_share_bytes,
                files=ctx.total_files,
            ),
            check=f"verified file ratio ≥ {ratio:g}; no file differs",
        )
    ]
