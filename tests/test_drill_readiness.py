"""When a drill may fail over: the standby streams, in the mode the environment declares, with
nothing to replay, and the file mirror is current. Each condition alone refuses."""

from __future__ import annotations

import pytest

from eendracht.drill.measure import Readiness

READY = {"streaming": True, "sync_state": "sync", "lag_bytes": 0, "files_error": "",
         "declared": "synchronous"}  # fmt: skip


def test_in_sync_when_every_condition_holds() -> None:
    assert Readiness(**READY).in_sync
    assert Readiness(**{**READY, "sync_state": "async", "declared": "asynchronous"}).in_sync


@pytest.mark.parametrize(
    ("change", "said"),
    [
        ({"streaming": False, "sync_state": ""}, "not streaming"),
        ({"lag_bytes": 8192}, "8192 bytes to replay"),
        ({"sync_state": "async"}, "declares synchronous"),
        ({"sync_state": "sync", "declared": "asynchronous"}, "declares asynchronous"),
        ({"files_error": "rsync exit 255: connection refused"}, "file mirror: rsync exit 255"),
    ],
)
def test_each_condition_alone_refuses_and_is_named(change: dict[str, object], said: str) -> None:
    ready = Readiness(**{**READY, **change})  # type: ignore[arg-type]
    assert not ready.in_sync
    assert said in ready.describe()
