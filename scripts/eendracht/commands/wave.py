"""`eendracht wave run|prepare|approve|rollback|status|serve`: one municipality's migration weekend.

Every command names the environment it works on: `--environment DIR` or `--lab` (the lab's
environment). There is no default; a run against an environment asks for confirmation.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer
from rich.text import Text

from eendracht.commands.common import (
    EXIT_INVALID,
    VaultPasswordFile,
    console,
    err_console,
    load_or_exit,
    municipality_or_exit,
    report_problems,
    vault_or_exit,
)
from eendracht.display_text import shown
from eendracht.problems import ProblemsFound
from eendracht.report.hook import plan_for, report_after
from eendracht.state import StateRootError, usable_state_root
from eendracht.wave.display import LiveProgress
from eendracht.wave.lock import LOCKED_EXIT, WaveLocked
from eendracht.wave.orchestrator import Wave, WaveOutcome
from eendracht.wave.paths import JOURNAL, lab_environment
from eendracht.wave.status import print_status, wave_status
from eendracht.wave.steps import WAVE_PHASES
from eendracht.wave.targets import describe_targets

app = typer.Typer(
    help="Migrate one municipality: run, approve, roll back, status; serve the live page.",
    no_args_is_help=True,
)

ProgrammeArg = Annotated[Path, typer.Argument(help="programme folder, e.g. inventory/altena")]
MunicipalityOpt = Annotated[str, typer.Option("--municipality", "-m", help="the municipality")]
EnvironmentOpt = Annotated[
    Path | None,
    typer.Option(
        "--environment", "-e", help="environment directory (docs/migration.md: Environments)"
    ),
]
LabOpt = Annotated[
    bool, typer.Option("--lab", help="the rehearsal lab's environment (`eendracht lab up`)")
]
StateOpt = Annotated[
    Path | None, typer.Option("--state", help="state root (default $EENDRACHT_STATE or .state)")
]


def _environment_or_exit(environment: Path | None, lab: bool, state: Path | None) -> Path:
    try:
        usable_state_root(state)
    except StateRootError as exc:
        err_console.print(exc.line, markup=False)
        raise typer.Exit(EXIT_INVALID) from None
    if (environment is None) == (not lab):
        err_console.print(
            "--environment DIR or --lab: name exactly one environment to work on", markup=False
        )
        raise typer.Exit(EXIT_INVALID)
    if lab and not lab_environment(state).is_dir():
        err_console.print(
            "--lab: the lab is not up: start it with `eendracht lab up PROGRAMME`", markup=False
        )
        raise typer.Exit(EXIT_INVALID)
    return lab_environment(state) if lab else Path(environment or ".")


def _wave(
    programme: Path,
    municipality: str,
    environment: Path | None,
    lab: bool,
    state: Path | None,
    vault_password_file: Path | None = None,
) -> Wave:
    directory = _environment_or_exit(environment, lab, state)
    prog = load_or_exit(programme, vault_password_file)
    municipality_or_exit(prog, municipality)
    try:
        return Wave(
            programme, municipality, environment=directory, rehearsal=lab, state=state,
            programme=prog, vault_password_file=vault_password_file,
        )  # fmt: skip
    except ProblemsFound as exc:
        report_problems(exc, directory)
        raise typer.Exit(EXIT_INVALID) from None


def _confirm_or_exit(wave: Wave, action: str, confirm: bool) -> None:
    """A run against a named environment shows what it touches and is confirmed first."""
    console.print(describe_targets(wave), soft_wrap=True, markup=False, highlight=False)
    if confirm:
        return
    if not sys.stdin.isatty():
        err_console.print(
            f"{action} against environment {wave.env.name}: without a terminal, pass --confirm",
            markup=False,
        )
        raise typer.Exit(EXIT_INVALID)
    if not typer.confirm(f"{action} against environment {wave.env.name}?", default=False):
        err_console.print("not confirmed: nothing was done", markup=False)
        raise typer.Exit(EXIT_INVALID)


def _report(wave: Wave, run_id: int | None) -> None:
    """The run's weekend report (docs/report.md), written after it; never changes its result.

    `run_id` None: the journal's last run (after an approval, its report shows the decision)."""
    report_after(
        wave.dir / JOURNAL,
        run_id=run_id,
        plan=lambda: plan_for(wave.programme, wave.municipality, wave.state),
        say=lambda line: err_console.print(line, markup=False),
    )


def _say_notifications(wave: Wave) -> None:
    """One line when a notification did not reach its channel (the warnings above say which
    and why); nothing when all arrived or none are configured."""
    tally = wave.notifier.tally
    if tally.failed or tally.dropped:
        err_console.print(
            f"notifications: {tally.delivered} delivered, {tally.failed} failed, "
            f"{tally.dropped} not sent (the wave itself is not affected)",
            markup=False,
        )


def _finish(outcome: WaveOutcome) -> None:
    style = "green" if outcome.exit_code == 0 else "red"
    # The message may quote a tool's output: never read as markup, control characters escaped.
    console.print(
        Text.assemble((outcome.status, style), ": ", shown(outcome.message)),
        soft_wrap=True,
        highlight=False,
    )
    raise typer.Exit(outcome.exit_code)


def _outcome_or_exit(wave: Wave, action: Callable[[], WaveOutcome]) -> WaveOutcome:
    """What `action` of the wave came to; exit 3 when another run holds the lock, 2 when the
    environment turns out unusable (every problem on a line of its own)."""
    try:
        return action()
    except WaveLocked as exc:
        err_console.print(str(exc), markup=False)
        raise typer.Exit(LOCKED_EXIT) from None
    except ProblemsFound as exc:
        report_problems(exc, wave.env.root)
        raise typer.Exit(EXIT_INVALID) from None


ConfirmOpt = Annotated[
    bool,
    typer.Option("--confirm", help="confirm the environment without a terminal (pipelines)"),
]


@app.command()
def run(
    programme: ProgrammeArg,
    municipality: MunicipalityOpt,
    environment: EnvironmentOpt = None,
    lab: LabOpt = False,
    until: Annotated[
        str | None, typer.Option(help=f"stop after this phase ({', '.join(WAVE_PHASES)})")
    ] = None,
    resume: Annotated[
        bool, typer.Option("--resume", help="continue from the first step that did not finish")
    ] = False,
    yes: Annotated[
        bool, typer.Option("--yes", help="approve the go/no-go gate automatically (lab only)")
    ] = False,
    check: Annotated[
        bool,
        typer.Option("--check", help="every step up to cutover in check mode: nothing changes"),
    ] = False,
    confirm: ConfirmOpt = False,
    state: StateOpt = None,
    vault_password_file: VaultPasswordFile = None,
) -> None:
    """Run the wave's phases in order, stopping at the go/no-go gate."""
    if until is not None and until not in WAVE_PHASES:
        err_console.print(f"--until: unknown phase {until!r} (one of {', '.join(WAVE_PHASES)})")
        raise typer.Exit(EXIT_INVALID)
    if yes and not lab:
        err_console.print("--yes: automatic approval of the gate is for the lab only (--lab)")
        raise typer.Exit(EXIT_INVALID)
    wave = _wave(programme, municipality, environment, lab, state, vault_password_file)
    if not lab:
        _confirm_or_exit(wave, "run the wave", confirm)
    with LiveProgress(console) as live:
        wave.listener = live
        outcome = _outcome_or_exit(
            wave, lambda: wave.run(until=until, resume=resume, yes=yes, check=check)
        )
    _report(wave, outcome.run_id)
    _say_notifications(wave)
    _finish(outcome)


@app.command()
def prepare(
    programme: ProgrammeArg,
    municipality: MunicipalityOpt,
    environment: EnvironmentOpt = None,
    lab: LabOpt = False,
    state: StateOpt = None,
    vault_password_file: VaultPasswordFile = None,
) -> None:
    """Write the wave's inventory, identity map and extra vars for jobs of AWX; run nothing."""
    wave = _wave(programme, municipality, environment, lab, state, vault_password_file)
    _finish(_outcome_or_exit(wave, wave.prepare))


@app.command()
def approve(
    programme: ProgrammeArg,
    municipality: MunicipalityOpt,
    by: Annotated[str, typer.Option("--by", help="who takes the go decision (an approver)")],
    environment: EnvironmentOpt = None,
    lab: LabOpt = False,
    state: StateOpt = None,
    vault_password_file: VaultPasswordFile = None,
) -> None:
    """Record the go decision at the gate: who, when, from where."""
    wave = _wave(programme, municipality, environment, lab, state, vault_password_file)
    outcome = _outcome_or_exit(wave, lambda: wave.approve(by))
    if outcome.status == "complete":
        _report(wave, None)
    _say_notifications(wave)
    _finish(outcome)


@app.command()
def rollback(
    programme: ProgrammeArg,
    municipality: MunicipalityOpt,
    environment: EnvironmentOpt = None,
    lab: LabOpt = False,
    confirm: ConfirmOpt = False,
    state: StateOpt = None,
    vault_password_file: VaultPasswordFile = None,
) -> None:
    """Until the gate is passed: restore the source side to service and verify it."""
    wave = _wave(programme, municipality, environment, lab, state, vault_password_file)
    if not lab:
        _confirm_or_exit(wave, "roll the wave back", confirm)
    with LiveProgress(console) as live:
        wave.listener = live
        outcome = _outcome_or_exit(wave, wave.rollback)
    _report(wave, outcome.run_id)
    _say_notifications(wave)
    _finish(outcome)


@app.command()
def status(
    programme: ProgrammeArg,
    municipality: MunicipalityOpt,
    environment: EnvironmentOpt = None,
    lab: LabOpt = False,
    as_json: Annotated[bool, typer.Option("--json", help="machine-readable")] = False,
    state: StateOpt = None,
    vault_password_file: VaultPasswordFile = None,
) -> None:
    """Phases, steps, timings, and the counts moved and verified."""
    wave = _wave(programme, municipality, environment, lab, state, vault_password_file)
    if not wave.has_run():
        err_console.print(
            f"no wave of {municipality} has run in environment {wave.env.name}", markup=False
        )
        raise typer.Exit(EXIT_INVALID)
    data = wave_status(wave.journal, wave.programme.name, municipality)
    if as_json:
        print(json.dumps(data, indent=2))
    else:
        print_status(console, data)


SERVE_HELP = """Serve the live page of every wave, rollback and rehearsal of the programme found
under the state, read-only (docs/control-room.md).

\b
On loopback by default: http://127.0.0.1:PORT/. To share it on the weekend, serve it over TLS
with a per-weekend token in a 0600 file; hand out https://HOST:PORT/?token=TOKEN once (the
browser then keeps a cookie), or send `Authorization: Bearer TOKEN`:
  eendracht wave serve inventory/altena --host 0.0.0.0 --port 8443 \\
      --tls-cert cert.pem --tls-key key.pem --token-file ~/.eendracht/weekend.token
A --host beyond loopback without TLS and a token is refused. The page shows nothing secret:
it is made from the journals, which are redacted as they are written."""


@app.command(help=SERVE_HELP)
def serve(
    programme: ProgrammeArg,
    port: Annotated[int, typer.Option("--port", help="TCP port", min=1, max=65535)] = 8765,
    host: Annotated[
        str, typer.Option("--host", help="address to listen on (loopback unless TLS + token)")
    ] = "127.0.0.1",
    tls_cert: Annotated[
        Path | None, typer.Option("--tls-cert", help="TLS certificate (PEM)")
    ] = None,
    tls_key: Annotated[Path | None, typer.Option("--tls-key", help="TLS private key (PEM)")] = None,
    token_file: Annotated[
        Path | None,
        typer.Option("--token-file", help="the weekend's token: a 0600 file, one line"),
    ] = None,
    state: StateOpt = None,
    vault_password_file: VaultPasswordFile = None,
) -> None:
    import uvicorn

    from eendracht.live.access import AccessError, check_options, read_token
    from eendracht.live.serve import live_app, uvicorn_config
    from eendracht.programme.loader import load_programme

    try:
        check_options(host, tls_cert, tls_key, token_file is not None)
        token = read_token(token_file) if token_file is not None else None
    except AccessError as exc:
        err_console.print(str(exc), markup=False)
        raise typer.Exit(EXIT_INVALID) from None
    try:
        root = usable_state_root(state)
    except StateRootError as exc:
        err_console.print(exc.line, markup=False)
        raise typer.Exit(EXIT_INVALID) from None
    if not root.is_dir():
        where = "--state" if state is not None else "state root"
        err_console.print(f"{where} {root}: no such folder: nothing has run under it", markup=False)
        raise typer.Exit(EXIT_INVALID)
    vault = vault_or_exit(vault_password_file)
    try:
        prog = load_programme(programme, vault)
    except ProblemsFound as exc:
        more = len(exc.problems) - 1
        err_console.print(
            f"{programme}: not a programme: {exc.problems[0]}"
            + (f" (and {more} more: `eendracht check`)" if more else ""),
            markup=False,
        )
        raise typer.Exit(EXIT_INVALID) from None
    served = live_app(prog, root, token=token, secure=tls_cert is not None)
    scheme = "https" if tls_cert else "http"
    err_console.print(
        f"live page of {prog.name} ({root}): {scheme}://{host}:{port}/  (Ctrl-C stops it)",
        markup=False,
    )
    uvicorn.Server(uvicorn_config(served.app, host, port, tls_cert, tls_key)).run()
