"""Paths the wave tests share."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
MINI = REPO / "tests" / "fixtures" / "programmes" / "mini"
FAKE_PLAYBOOKS = Path(__file__).parent / "fake_playbooks"
