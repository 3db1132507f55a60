"""Delivery in the background: a thread and a bounded queue per channel of a wave process.

The wave only enqueues (`submit` never waits on the network, and a full queue drops the
event with a log line rather than block). The thread delivers in order, retrying each event
with exponential backoff within `attempts` and `event_seconds`; the next event waits for it, so
a channel never sees them out of order. A channel that gave up on an event gets a single
attempt per event until one succeeds again. Each channel has its own thread (`Notifier`), so a
dead Teams workflow does not hold back the Mattermost channel. `close` gives the thread at most
`drain_seconds` (one deadline shared by all channels) to deliver what is left, then gives up and
logs what it dropped. Nothing here raises into the wave; nothing logged names more of a URL
than its scheme and host (the path and query of a webhook URL are its secret).
"""

from __future__ import annotations

import logging
import queue
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit

log = logging.getLogger("eendracht.notify")

USER_AGENT = "eendracht-notify/1"
# 408, 425, 429 and every 5xx are worth another attempt; any other 4xx will fail again.
RETRY_STATUS = frozenset({408, 425, 429})


@dataclass(frozen=True)
class Budget:
    """How much a channel may cost: per request, per delivery, and at the end of the run."""

    timeout: float = 5.0  # one HTTP request (connect, and each read)
    attempts: int = 5  # per delivery
    event_seconds: float = 30.0  # per delivery: attempts and backoff together
    backoff: float = 0.5  # first wait; doubles each retry
    backoff_max: float = 8.0
    drain_seconds: float = 5.0  # what the end of a run waits for, at most
    queue_size: int = 1000


DEFAULT_BUDGET = Budget()


@dataclass(frozen=True)
class Delivery:
    channel: str
    url: str
    body: bytes
    label: str  # what a log line says about the event: `phase_started #3`


@dataclass
class Tally:
    delivered: int = 0
    failed: int = 0  # given up after its attempts or its time
    dropped: int = 0  # never tried: queue full, or not sent before the drain budget ran out
    lines: list[str] = field(default_factory=list)


class PostError(Exception):
    """A failed attempt; `retry` says whether another may succeed."""

    def __init__(self, reason: str, *, retry: bool, wait: float = 0.0) -> None:
        super().__init__(reason)
        self.retry = retry
        self.wait = wait


def url_label(url: str) -> str:
    """What may be said of a webhook URL: its scheme and host (never its path or query)."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or "?"
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "(an unreadable URL)"
    return f"{parts.scheme}://{host}{port}"


def _retry_after(value: str | None, cap: float) -> float:
    if not value:
        return 0.0
    try:
        seconds = float(value)
    except ValueError:
        try:
            seconds = parsedate_to_datetime(value).timestamp() - time.time()
        except (TypeError, ValueError):
            return 0.0
    return max(0.0, min(seconds, cap))


def post(url: str, body: bytes, timeout: float) -> None:
    """One POST of a JSON body; PostError unless the answer is 2xx."""
    request = urllib.request.Request(
        url,
        data=body,
        method="POST",
        headers={"Content-Type": "application/json; charset=utf-8", "User-Agent": USER_AGENT},
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:
            answer.read(65536)
    except urllib.error.HTTPError as exc:
        # Only the status: the exception's own text and attributes carry the URL.
        retry = exc.code in RETRY_STATUS or exc.code >= 500
        wait = _retry_after(exc.headers.get("Retry-After") if exc.headers else None, 60.0)
        exc.close()
        raise PostError(f"HTTP {exc.code}", retry=retry, wait=wait) from None
    except urllib.error.URLError as exc:
        raise PostError(f"not reached ({_reason(exc.reason)})", retry=True) from None
    except (TimeoutError, OSError, ValueError) as exc:
        raise PostError(f"not reached ({_reason(exc)})", retry=True) from None


def _reason(reason: object) -> str:
    """A network error's cause without any URL: its errno text or its class."""
    if isinstance(reason, OSError) and reason.strerror:
        return reason.strerror
    return type(reason).__name__ if isinstance(reason, BaseException) else "unreachable"


Poster = Callable[[str, bytes, float], None]


class Sender:
    def __init__(
        self,
        budget: Budget = DEFAULT_BUDGET,
        *,
        poster: Poster = post,
        redact: Callable[[str], str] = lambda text: text,
    ) -> None:
        self.budget = budget
        self.poster = poster
        self.redact = redact
        self.tally = Tally()
        # Unbounded underneath so that `close` and the thread never block on it; `submit`
        # keeps it to `queue_size`.
        self._queue: queue.Queue[list[Delivery]] = queue.Queue()
        self._stop = threading.Event()  # the drain budget is spent: stop now
        self._deadline = float("inf")  # monotonic; set by close
        self._down: set[str] = set()  # channels that gave up their last delivery
        self._current: Delivery | None = None  # the delivery the thread is on
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._work, name="eendracht-notify", daemon=True)
        self._closed = False
        self._thread.start()

    def _log(self, level: int, text: str) -> None:
        line = self.redact(text)
        with self._lock:
            self.tally.lines.append(line)
        log.log(level, "%s", line)

    # --- the wave's side: never waits ----------------------------------------------------

    def submit(self, deliveries: list[Delivery]) -> None:
        """Queues one event's deliveries; drops them (logged) when the queue is full or closed."""
        if not deliveries:
            return
        if self._closed:
            self._dropped(deliveries, "the sender is closed")
            return
        if self._queue.qsize() >= self.budget.queue_size:
            self._dropped(deliveries, "the queue is full")
            return
        self._queue.put_nowait(deliveries)

    def start_close(self, deadline: float | None = None) -> None:
        """Takes no more events; the thread delivers what is queued until `deadline`
        (monotonic; default `drain_seconds` from now)."""
        if self._closed:
            return
        self._closed = True
        self._deadline = (
            deadline if deadline is not None else time.monotonic() + self.budget.drain_seconds
        )
        self._queue.put(_END)

    def close(self, deadline: float | None = None) -> Tally:
        """Waits until the deadline at most for the queue to empty; what is left is dropped."""
        if self._stop.is_set():
            return self.tally
        self.start_close(deadline)
        self._thread.join(max(0.0, self._deadline - time.monotonic()))
        with self._lock:
            self._stop.set()  # from now on the thread counts nothing
            left: list[Delivery] = [self._current] if self._current is not None else []
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            left += item
        if left:
            self._dropped(left, f"not sent within the {self.budget.drain_seconds:g} s drain budget")
        return self.tally

    def _dropped(self, deliveries: list[Delivery], why: str) -> None:
        with self._lock:
            self.tally.dropped += len(deliveries)
        for d in deliveries:
            self._log(logging.WARNING, f"notification {d.label} to {d.channel} dropped: {why}")

    # --- the thread ----------------------------------------------------------------------

    def _work(self) -> None:
        while not self._stop.is_set():
            item = self._queue.get()
            if item is _END:
                return
            for n, delivery in enumerate(item):
                with self._lock:
                    if self._stop.is_set() or time.monotonic() >= self._deadline:
                        self._queue.put(item[n:])  # counted as dropped by close
                        return
                    self._current = delivery
                try:
                    self._deliver(delivery)
                except Exception as exc:  # a notification never ends the thread
                    self._log(
                        logging.WARNING,
                        f"notification {delivery.label} to {delivery.channel} failed: "
                        f"{type(exc).__name__}",
                    )
                    self._count(delivery, "failed")

    def _deliver(self, d: Delivery) -> None:
        b = self.budget
        start = time.monotonic()
        attempts = 1 if d.channel in self._down else b.attempts
        wait = b.backoff
        for attempt in range(1, attempts + 1):
            left = min(start + b.event_seconds, self._deadline) - time.monotonic()
            if left <= 0:
                break
            try:
                self.poster(d.url, d.body, min(b.timeout, left))
            except PostError as exc:
                reason, retry, hint = str(exc), exc.retry, exc.wait
            else:
                self._count(d, "delivered")
                self._down.discard(d.channel)
                return
            where = f"{d.channel} ({url_label(d.url)})"
            if not retry or attempt == attempts:
                self._log(
                    logging.WARNING,
                    f"notification {d.label} to {where} failed after {attempt} "
                    f"attempt{'s' if attempt > 1 else ''}: {reason}",
                )
                break
            pause = min(max(wait, hint), b.backoff_max)
            self._log(
                logging.INFO,
                f"notification {d.label} to {where}: {reason}; attempt {attempt + 1} "
                f"of {attempts} in {pause:.1f} s",
            )
            if self._stop.wait(min(pause, max(0.0, left))):
                break
            wait *= 2
        self._count(d, "failed")
        self._down.add(d.channel)

    def _count(self, d: Delivery, outcome: str) -> None:
        """Counts the delivery the thread is on, once; after `close` gave up on it, not here."""
        with self._lock:
            if self._current is not d or self._stop.is_set():
                return
            self._current = None
            if outcome == "delivered":
                self.tally.delivered += 1
            else:
                self.tally.failed += 1


_END: list[Delivery] = []
