"""`eendracht wave run|approve|rollback|status`: one municipality's migration weekend."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from eendracht.commands.common import (
    EXIT_INVALID,
    console,
    err_console,
    load_or_exit,
    municipality_or_exit,
    report_problems,
)
from eendracht.problems import ProblemsFound
from eendracht.wave.display import LiveProgress
from eendracht.wave.lock import LOCKED_EXIT, WaveLocked
from eendracht.wave.orchestrator import Wave, WaveOutcome
from eendracht.wave.paths import wave_dir
from eendracht.wave.status import print_status, wave_status
from eendracht.wave.steps import WAVE_PHASES

app = typer.Typer(
    help="Migrate one municipality: run, approve, roll back, status.", no_args_is_help=True
)

ProgrammeArg = Annotated[Path, typer.Argument(help="programme folder, e.g. inventory/altena")]
MunicipalityOpt = Annotated[str, typer.Option("--municipality", "-m", help="the municipality")]
LabOpt = Annotated[bool, typer.Option("--lab", help="run against the rehearsal lab")]
StateOpt = Annotated[
    Path | None, typer.Option("--state", help="state root (default $EENDRACHT_STATE or .state)")
]


def _wave(programme: Path, municipality: str, lab: bool, state: Path | None, **kw: object) -> Wave:
    prog = load_or_exit(programme)
    municipality_or_exit(prog, municipality)
    return Wave(programme, municipality, lab=lab, state=state, programme=prog, **kw)  # type: ignore[arg-type]


def _lab_only(programme: Path, municipality: str, lab: bool, state: Path | None) -> bool:
    """status/approve without --lab read the lab's journal when only the lab has one."""
    if lab:
        return True
    prog = load_or_exit(programme)
    real = wave_dir(prog.name, municipality, state) / "journal.sqlite"
    in_lab = wave_dir(prog.name, municipality, state, lab=True) / "journal.sqlite"
    return not real.exists() and in_lab.exists()


def _finish(outcome: WaveOutcome) -> None:
    style = "green" if outcome.exit_code == 0 else "red"
    console.print(f"[{style}]{outcome.status}[/]: {outcome.message}", soft_wrap=True)
    raise typer.Exit(outcome.exit_code)


@app.command()
def run(
    programme: ProgrammeArg,
    municipality: MunicipalityOpt,
    lab: LabOpt = False,
    until: Annotated[
        str | None, typer.Option(help=f"stop after this phase ({', '.join(WAVE_PHASES)})")
    ] = None,
    resume: Annotated[
        bool, typer.Option("--resume", help="continue from the first step that did not finish")
    ] = False,
    yes: Annotated[
        bool, typer.Option("--yes", help="approve the go/no-go gate automatically (rehearsals)")
    ] = False,
    outputs: Annotated[
        Path | None, typer.Option(help="stack outputs JSON (`pulumi stack output --json`)")
    ] = None,
    state: StateOpt = None,
) -> None:
    """Run the wave's phases in order, stopping at the go/no-go gate."""
    if until is not None and until not in WAVE_PHASES:
        err_console.print(f"--until: unknown phase {until!r} (one of {', '.join(WAVE_PHASES)})")
        raise typer.Exit(EXIT_INVALID)
    with LiveProgress(console) as live:
        try:
            wave = _wave(programme, municipality, lab, state, outputs_file=outputs, listener=live)
            outcome = wave.run(until=until, resume=resume, yes=yes)
        except WaveLocked as exc:
            err_console.print(str(exc))
            raise typer.Exit(LOCKED_EXIT) from None
        except ProblemsFound as exc:
            report_problems(exc, programme)
            raise typer.Exit(EXIT_INVALID) from None
    _finish(outcome)


@app.command()
def approve(
    programme: ProgrammeArg,
    municipality: MunicipalityOpt,
    by: Annotated[str, typer.Option("--by", help="who takes the go decision")],
    lab: LabOpt = False,
    state: StateOpt = None,
) -> None:
    """Record the go decision at the gate: who and when."""
    lab = _lab_only(programme, municipality, lab, state)
    _finish(_wave(programme, municipality, lab, state).approve(by))


@app.command()
def rollback(
    programme: ProgrammeArg,
    municipality: MunicipalityOpt,
    lab: LabOpt = False,
    outputs: Annotated[Path | None, typer.Option(help="stack outputs JSON")] = None,
    state: StateOpt = None,
) -> None:
    """Until the gate is passed: restore the source side to service and verify it."""
    with LiveProgress(console) as live:
        try:
            wave = _wave(programme, municipality, lab, state, outputs_file=outputs, listener=live)
            outcome = wave.rollback()
        except WaveLocked as exc:
            err_console.print(str(exc))
            raise typer.Exit(LOCKED_EXIT) from None
        except ProblemsFound as exc:
            report_problems(exc, programme)
            raise typer.Exit(EXIT_INVALID) from None
    _finish(outcome)


@app.command()
def status(
    programme: ProgrammeArg,
    municipality: MunicipalityOpt,
    as_json: Annotated[bool, typer.Option("--json", help="machine-readable")] = False,
    lab: LabOpt = False,
    state: StateOpt = None,
) -> None:
    """Phases, steps, timings, and the counts moved and verified."""
    wave = _wave(programme, municipality, _lab_only(programme, municipality, lab, state), state)
    data = wave_status(wave.journal, wave.programme.name, municipality)
    if as_json:
        print(json.dumps(data, indent=2))
    else:
        print_status(console, data)
