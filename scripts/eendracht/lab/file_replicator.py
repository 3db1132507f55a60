"""The fallback site's file replication: rsync over SSH from the primary file target, on a
schedule, as a timer on the fallback file server runs it.

Run as its own process: `python file_replicator.py CONFIG.json`. Standard library only. Each
round mirrors the primary's tree into the fallback's (`--delete`: a mirror), then records the
round in the status file (JSON: when the last round started and finished, and its error).
A failed round (the primary is gone) is recorded and retried at the next tick.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from typing import Any

STOP = False


def _stop(signum: int, frame: object) -> None:
    global STOP
    STOP = True


def _write_status(path: str, body: dict[str, Any]) -> None:
    tmp = f"{path}.new"
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(body, fh)
    os.replace(tmp, path)


def one_round(config: dict[str, Any]) -> str:
    """Mirrors once; returns "" or the error."""
    ssh = " ".join(["ssh", "-p", str(config["port"]), "-i", config["key"], *config["ssh_options"]])
    os.makedirs(config["target"], exist_ok=True)
    done = subprocess.run(
        [
            "rsync",
            "-a",
            "--delete",
            "--numeric-ids",
            "--timeout=20",
            "-e",
            ssh,
            f"{config['user']}@{config['host']}:{config['source'].rstrip('/')}/",
            f"{config['target'].rstrip('/')}/",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if done.returncode == 0:
        return ""
    lines = (done.stderr or done.stdout).strip().splitlines()
    return f"rsync exit {done.returncode}: {lines[-1] if lines else ''}"


def main() -> None:
    with open(sys.argv[1], encoding="utf-8") as fh:
        config = json.load(fh)
    signal.signal(signal.SIGTERM, _stop)
    status: dict[str, Any] = {"rounds": 0, "last_ok": None, "error": ""}
    while not STOP:
        began = time.time()
        try:
            error = one_round(config)
        except (OSError, subprocess.TimeoutExpired) as exc:
            error = str(exc)
        status["rounds"] += 1
        status["error"] = error
        if not error:
            status["last_ok"] = began  # everything written before this round started is here
        _write_status(config["status_file"], status)
        deadline = began + float(config["interval"])
        while not STOP and time.time() < deadline:
            time.sleep(0.1)


if __name__ == "__main__":
    main()
