"""Rich progress on the terminal: phase, step, task, host and what has moved so far."""

from __future__ import annotations

from types import TracebackType

from rich.console import Console
from rich.live import Live
from rich.text import Text

from eendracht.display_text import shown
from eendracht.wave.runner import Progress

SHOWN_COUNTS = (
    ("bytes_transferred", "bytes moved"),
    ("files_transferred", "files moved"),
    ("accounts_created", "accounts created"),
    ("accounts_modified", "accounts changed"),
    ("records_updated", "DNS records"),
    ("files_verified", "files verified"),
    ("databases_restored", "databases"),
)


def human_bytes(value: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} TiB"


def render(progress: Progress) -> Text:
    text = Text()
    text.append(f"{progress.phase or '-':<11}", style="bold cyan")
    text.append(f" {progress.step or '':<28}", style="magenta")
    text.append(f" {shown(progress.task)[:48]:<48}")
    text.append(f" {shown(progress.host)}", style="green")
    moved = []
    for key, label in SHOWN_COUNTS:
        if key in progress.counts:
            value = progress.counts[key]
            figure = human_bytes(value) if key.startswith("bytes") else str(value)
            moved.append(f"{label}: {figure}")
    if moved:
        text.append("\n  " + " · ".join(moved), style="dim")
    if progress.failed:
        failed = ", ".join(shown(h) for h in sorted(set(progress.failed)))
        text.append(f"\n  failed on: {failed}", style="red")
    return text


class LiveProgress:
    """A Live display when stdout is a terminal; otherwise one line per step."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.live: Live | None = None
        self._last_step = ""

    def __call__(self, progress: Progress) -> None:
        if self.live is not None:
            self.live.update(render(progress))
        elif progress.step and progress.step != self._last_step:
            self._last_step = progress.step
            self.console.print(Text(shown(f"{progress.phase}: {progress.step}")), highlight=False)

    def __enter__(self) -> LiveProgress:
        if self.console.is_terminal:
            self.live = Live(Text(""), console=self.console, refresh_per_second=8, transient=True)
            self.live.__enter__()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self.live is not None:
            self.live.__exit__(exc_type, exc, tb)
