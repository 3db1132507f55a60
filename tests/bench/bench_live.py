"""The live page under load: 200 observers of a wave's page over server-sent events while the
wave runs (the trivial local playbooks of tests/wave, a real ansible-playbook per phase), the
same wave without observers as the baseline, alternated in the same run.

    python -m tests.bench.bench_live
    BENCH_OBSERVERS=200 BENCH_ROUNDS=2 python -m tests.bench.bench_live

The page is served as an operator would serve it (`eendracht wave serve`, a process of its
own) and observed from another process (asyncio + httpx, every stream bounded in time), so
the wave's process shares only the machine with them. Figures: the wave's duration with
against without observers (median of the rounds; goal ≤ 1.05), and how far each event an
observer receives is behind the journal: its arrival minus the newest time in the journal
the page was built from (goal < 1 s).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from tests.bench.lab_bench import MINI, show, timed

from eendracht.wave.journal import Journal
from eendracht.wave.orchestrator import Wave
from eendracht.wave.paths import REPO_ROOT

sys.path.insert(0, str(REPO_ROOT / "tests" / "wave"))
from wave_support import FAKE_PLAYBOOKS, fake_environment

OBSERVERS = min(int(os.environ.get("BENCH_OBSERVERS", "200")), 500)
ROUNDS = min(int(os.environ.get("BENCH_ROUNDS", "2")), 5)
OBSERVE_LIMIT_S = 180.0  # no stream outlives this
MUNICIPALITY = "noordwaard"
EENDRACHT = Path(sys.executable).parent / "eendracht"


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_for(port: int, limit: float = 20.0) -> None:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listens on port {port}")


async def _observe(url: str, count: int, limit: float) -> dict[str, Any]:
    """`count` observers of `url`; stops on SIGINT or after `limit` seconds."""
    import httpx

    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGINT, stop.set)
    lags: list[float] = []
    connected = 0

    async def one(client: httpx.AsyncClient) -> None:
        nonlocal connected
        first = True
        async with client.stream("GET", url) as answer:
            connected += 1
            if connected == count:
                print("connected", flush=True)
            async for line in answer.aiter_lines():
                if line.startswith("data: "):
                    arrived = time.time()
                    data = json.loads(line[6:])
                    if not first and data.get("journal_at"):
                        lags.append(arrived - float(data["journal_at"]))
                    first = False  # the state at connecting is not an update

    limits = httpx.Limits(max_connections=count + 10)
    timeout = httpx.Timeout(limit, connect=10)
    async with httpx.AsyncClient(limits=limits, timeout=timeout) as client:
        tasks = [asyncio.create_task(one(client)) for _ in range(count)]
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), limit)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    return {"connected": connected, "lags": lags}


def _wave_once(observed: bool) -> dict[str, Any]:
    state = Path(tempfile.mkdtemp(prefix="eendracht-bench-live-", dir="/tmp"))
    environment = fake_environment(state / "environment")
    wave = Wave(
        MINI, MUNICIPALITY, environment=environment, state=state / "state",
        playbooks=FAKE_PLAYBOOKS,
    )  # fmt: skip
    Journal(wave.dir / "journal.sqlite").close()  # the page exists before the wave starts
    server = observers = None
    try:
        if observed:
            port = _port()
            server = subprocess.Popen(
                [str(EENDRACHT), "wave", "serve", str(MINI), "--state", str(state / "state"),
                 "--port", str(port)],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )  # fmt: skip
            _wait_for(port)
            url = f"http://127.0.0.1:{port}/wave/w/rehearsal/{MUNICIPALITY}/events"
            observers = subprocess.Popen(
                [sys.executable, "-m", "tests.bench.bench_live", "observe", url, str(OBSERVERS)],
                stdout=subprocess.PIPE, text=True, cwd=REPO_ROOT,
            )  # fmt: skip
            assert observers.stdout is not None
            if observers.stdout.readline().strip() != "connected":
                raise RuntimeError("the observers did not connect")
        wall, outcome = timed(wave.run)
        if outcome.status != "at_gate":
            raise RuntimeError(outcome.message)
        result: dict[str, Any] = {"wave_s": wall}
        if observers is not None:
            time.sleep(1.5)  # the last events arrive
            observers.send_signal(signal.SIGINT)
            out, _ = observers.communicate(timeout=30)
            result.update(json.loads(out.strip().splitlines()[-1]))
        return result
    finally:
        wave.close()
        for proc in (observers, server):
            if proc is not None and proc.poll() is None:
                proc.terminate()
                proc.wait(10)
        subprocess.run(["rm", "-rf", str(state)], check=False)


def main() -> None:
    alone: list[float] = []
    observed: list[float] = []
    lags: list[float] = []
    connected = 0
    for _ in range(ROUNDS):
        alone.append(_wave_once(False)["wave_s"])
        with_them = _wave_once(True)
        observed.append(with_them["wave_s"])
        lags += with_them["lags"]
        connected = min(connected or with_them["connected"], with_them["connected"])
    lags.sort()
    base, loaded = statistics.median(alone), statistics.median(observed)
    show(
        f"live page, {OBSERVERS} observers ({MINI.name}/{MUNICIPALITY}, {ROUNDS} rounds)",
        {
            "observers_connected": connected,
            "wave_alone_s": base,
            "wave_observed_s": loaded,
            "wave_ratio": loaded / base,
            "events_received": len(lags),
            "behind_journal_p50_s": lags[len(lags) // 2] if lags else float("nan"),
            "behind_journal_p95_s": lags[int(len(lags) * 0.95)] if lags else float("nan"),
            "behind_journal_max_s": lags[-1] if lags else float("nan"),
        },
    )


if __name__ == "__main__":
    if sys.argv[1:2] == ["observe"]:
        found = asyncio.run(_observe(sys.argv[2], int(sys.argv[3]), OBSERVE_LIMIT_S))
        print(json.dumps(found), flush=True)
    else:
        main()
