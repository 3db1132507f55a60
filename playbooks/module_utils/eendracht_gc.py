"""Python's garbage collector held back while much long-lived data is built.

Shared by the DNS batch (in Ansible's worker: a fork of ansible-playbook, its whole heap
included), `eendracht check` and `plan` (a programme of 100,000 people is millions of objects)
and the stacks under Pulumi's mocks: with the default thresholds the collector scanned every
long-lived object again and again while new ones were made, a quarter to a third of the run.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def fewer_collections() -> Iterator[None]:
    """What exists is frozen and the old generation collected rarely while the block runs; the
    young one still is, so short-lived cycles are freed as before."""
    old = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(200_000, 50, 100)
    try:
        yield
    finally:
        gc.set_threshold(*old)
        gc.unfreeze()
