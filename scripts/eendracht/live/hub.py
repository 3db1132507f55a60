"""One poller per journal, shared by every observer: the journals are watched at a modest,
fixed rate however many browsers are open, and each change is built and rendered once.

A journal is opened through the report's read-only view (SQLite `mode=ro`) and asked for
`PRAGMA data_version` every `poll` seconds: a number that changes when the wave commits, and
costs no read of the journal's tables. Only then is the page rebuilt (in a worker thread, so
the event loop keeps serving) and a server-sent event prepared, once, for every observer. The
state is looked at again every `rescan` seconds for journals that appeared or went away.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from eendracht.live.page import LivePage, build_page
from eendracht.live.sources import Source, find_sources
from eendracht.report.planned import Plan
from eendracht.report.view import JournalView, NotAJournal, open_view

POLL_SECONDS = 0.25
RESCAN_SECONDS = 2.0

PlanFor = Callable[[Source], Plan | None]
Render = Callable[[LivePage], str]
RenderOverview = Callable[[list[LivePage]], str]


def sse(event: str, version: int, html: str, journal_at: float = 0.0) -> bytes:
    """One server-sent event; the HTML travels as a JSON string, so it is one data line.
    `journal_at`: the newest time in the journal it shows (how far behind it is)."""
    data = json.dumps(
        {"version": version, "html": html, "at": time.time(), "journal_at": journal_at}
    )
    return f"event: {event}\nid: {version}\ndata: {data}\n\n".encode()


@dataclass
class Feed:
    source: Source
    plan: Plan | None
    view: JournalView | None = None
    data_version: int | None = None
    mtime: float = 0.0
    version: int = 0
    page: LivePage | None = None
    html: str = ""
    event: bytes = b""
    built_at: float = 0.0
    errors: list[str] = field(default_factory=list)

    def close(self) -> None:
        if self.view is not None:
            self.view.close()
            self.view = None


class Hub:
    def __init__(
        self,
        state: Path,
        programme: str,
        municipalities: set[str],
        *,
        plan_for: PlanFor,
        chain_pairs: Callable[[str], list[tuple[str, str, str, str]]],
        render: Render,
        render_overview: RenderOverview,
        poll: float = POLL_SECONDS,
        rescan: float = RESCAN_SECONDS,
    ) -> None:
        self.state = state
        self.programme = programme
        self.municipalities = municipalities
        self.plan_for = plan_for
        self.chain_pairs = chain_pairs
        self.render = render
        self.render_overview = render_overview
        self.poll = poll
        self.rescan = rescan
        self.feeds: dict[str, Feed] = {}
        self.overview_version = 0
        self.overview_html = ""
        self.overview_event = b""
        self.changed = asyncio.Event()
        self.closing = False
        self.polls = 0  # data_version questions asked (the benchmark reads it)
        self.builds = 0  # pages built
        self._task: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    # --- the loop -------------------------------------------------------------------------

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        await asyncio.to_thread(self._scan)
        await asyncio.to_thread(self._poll_all)
        self._publish(True)
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        self.closing = True
        self._wake()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        for feed in self.feeds.values():
            feed.close()

    def end_streams(self) -> None:
        """From any thread: every event stream ends (before the server stops, so it need not
        wait for them)."""
        self.closing = True
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._wake)

    async def _run(self) -> None:
        last_scan = time.monotonic()
        while not self.closing:
            await asyncio.sleep(self.poll)
            scanned = False
            if time.monotonic() - last_scan >= self.rescan:
                scanned = await asyncio.to_thread(self._scan)
                last_scan = time.monotonic()
            changed = await asyncio.to_thread(self._poll_all)
            self._publish(changed or scanned)

    def _wake(self) -> None:
        old, self.changed = self.changed, asyncio.Event()
        old.set()

    def _publish(self, changed: bool) -> None:
        if not changed:
            return
        pages = [f.page for f in self.feeds.values() if f.page is not None]
        self.overview_html = self.render_overview(pages)
        self.overview_version += 1
        self.overview_event = sse("overview", self.overview_version, self.overview_html)
        self._wake()

    # --- in a worker thread ---------------------------------------------------------------

    def _scan(self) -> bool:
        """Journals that appeared are watched, those gone are dropped; True if any changed."""
        found = {s.key: s for s in find_sources(self.state, self.programme, self.municipalities)}
        changed = False
        for key in [k for k in self.feeds if k not in found]:
            self.feeds.pop(key).close()
            changed = True
        for key, source in found.items():
            if key not in self.feeds:
                try:
                    plan = self.plan_for(source)
                except Exception:  # no plan: the page shows the actual times only
                    plan = None
                self.feeds[key] = Feed(source, plan)
                changed = True
        return changed

    def _poll_all(self) -> bool:
        changed = False
        for feed in list(self.feeds.values()):
            changed = self._poll(feed) or changed
        return changed

    def _poll(self, feed: Feed) -> bool:
        self.polls += 1
        try:
            if feed.view is None:
                feed.view = open_view(feed.source.journal)
            version = feed.view.data_version()
        except (NotAJournal, sqlite3.Error, OSError) as exc:
            feed.close()
            return self._failed(feed, str(exc))
        if version == feed.data_version and feed.page is not None:
            return False
        try:
            page = build_page(
                feed.source,
                feed.view,
                feed.plan,
                self.programme,
                self.chain_pairs(feed.source.municipality),
            )
        except (NotAJournal, sqlite3.Error) as exc:
            return self._failed(feed, str(exc))
        feed.data_version = version
        self._set(feed, page)
        return True

    def _failed(self, feed: Feed, error: str) -> bool:
        if feed.page is not None and feed.page.content is not None:
            return False  # keep what was shown; the next poll tries again
        if feed.page is not None and feed.page.error == error:
            return False
        self._set(feed, LivePage(feed.source, None, error=error))
        return True

    def _set(self, feed: Feed, page: LivePage) -> None:
        self.builds += 1
        feed.page = page
        feed.html = self.render(page)
        feed.version += 1
        feed.built_at = time.time()
        feed.event = sse("page", feed.version, feed.html, page.journal_at)
