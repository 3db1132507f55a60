"""What the wave prints last: a tool's output quoted in the outcome is shown as it is written,
never read as rich markup and never with raw control characters."""

from __future__ import annotations

import pytest
import typer

from eendracht.commands import wave as wave_command
from eendracht.wave.orchestrator import WaveOutcome


def test_the_outcome_message_is_not_markup_and_has_no_raw_control_characters() -> None:
    message = "step x failed: [/] [bold]not bold[/bold] \x1b]0;title\x07 \x1b[31mred"
    with wave_command.console.capture() as captured, pytest.raises(typer.Exit) as exited:
        wave_command._finish(WaveOutcome("failed", 1, message))
    assert exited.value.exit_code == 1
    text = captured.get()
    assert "[/] [bold]not bold[/bold]" in text  # shown, not interpreted (nor a MarkupError)
    assert "\x1b]" not in text and "\x07" not in text and "\\x1b" in text


def test_status_shows_what_the_journal_holds_as_written() -> None:
    from eendracht.wave.status import print_status

    status = {
        "programme": "waardstad",
        "municipality": "noordwaard",
        "state": "failed: step x: [/] \x1b[2J cleared?",
        "gate": None,
        "steps": [
            {
                "run": 1,
                "phase": "presync",
                "step": "presync.files",
                "status": "failed",
                "started": "2027-03-05T18:00:00Z",
                "seconds": 1.0,
            },
        ],
        "counts": {"presync": {"bytes_transferred": 2048}},
    }
    with wave_command.console.capture() as captured:
        print_status(wave_command.console, status)
    text = captured.get()
    assert "[/]" in text and "\x1b[2J" not in text and "\\x1b[2J" in text


def test_the_live_progress_shows_hosts_and_tasks_as_written() -> None:
    from eendracht.wave.display import render
    from eendracht.wave.runner import Progress

    text = render(
        Progress(phase="presync", step="presync.files", task="copy \x1b[2J", host="fs\x1b]0;x\x07")
    ).plain
    assert "\x1b" not in text and "\x07" not in text and "\\x1b[2J" in text
