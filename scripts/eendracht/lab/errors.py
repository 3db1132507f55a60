"""The lab's one error type: a message an operator can act on."""

from __future__ import annotations


class LabError(Exception):
    """Something the lab cannot do; the message says what and what to do instead."""
