"""A small real HTTP service of the lab: an application, a national service or the hub.

Run as its own process: `python appserver.py CONFIG.json`. Standard library only, so it
starts fast and imports nothing of eendracht. The config file is the service's whole world:
rewrite it and send SIGHUP (or restart) to repoint a database or a koppeling.

- application: /health (200 with its name and row counts from its PostgreSQL database, 503
  if the database cannot be read), /koppeling (what another service gets when it calls this
  one), /chain/<target> (calls the koppeling target and returns both answers), /config.
- national: a stand-in for a Landelijke Voorziening (e.g. BRP) seeded with inhabitants:
  /health, /koppeling?municipality=..&bsn=.., /personen/<bsn>.
- hub: the integration hub; /<name>/<rest> is forwarded to the route of that name.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

CONFIG_PATH = ""
CONFIG: dict[str, Any] = {}
DATA: dict[str, Any] = {}
TIMEOUT = 5.0


def load() -> None:
    global CONFIG, DATA
    with open(CONFIG_PATH, encoding="utf-8") as fh:
        CONFIG = json.load(fh)
    data_file = CONFIG.get("data_file")
    if data_file:
        with open(data_file, encoding="utf-8") as fh:
            DATA = json.load(fh)


def _reload(signum: int, frame: object) -> None:
    load()


def query(sql: str) -> list[list[str]]:
    """Rows of a query on this application's database, through the real psql client."""
    db = CONFIG.get("database")
    if not db:
        return []
    env = {**os.environ, "PGPASSFILE": db["passfile"], "PGCONNECT_TIMEOUT": "3"}
    done = subprocess.run(
        ["psql", "-X", "-q", "-A", "-t", "-F", "\t", "-v", "ON_ERROR_STOP=1", db["dsn"], "-c", sql],
        capture_output=True,
        text=True,
        env=env,
        timeout=TIMEOUT,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(
            done.stderr.strip().splitlines()[-1] if done.stderr.strip() else "psql failed"
        )
    return [line.split("\t") for line in done.stdout.splitlines() if line]


def row_counts() -> dict[str, int]:
    rows = query(
        "SELECT (SELECT count(*) FROM personen), (SELECT count(*) FROM zaken), "
        "(SELECT count(*) FROM documenten)"
    )
    if not rows:
        return {}
    return dict(zip(("personen", "zaken", "documenten"), map(int, rows[0]), strict=True))


def fetch(url: str) -> tuple[int, Any]:
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT) as resp:
            return resp.status, json.loads(resp.read() or b"null")
    except urllib.error.HTTPError as exc:
        try:
            return exc.code, json.loads(exc.read() or b"null")
        except ValueError:
            return exc.code, None
    except (urllib.error.URLError, OSError, ValueError) as exc:
        return 502, {"error": f"{url}: {exc}"}


class Handler(BaseHTTPRequestHandler):
    server_version = "eendracht-lab/1"

    def log_message(self, format: str, *args: Any) -> None:
        sys.stderr.write(f"{self.address_string()} {format % args}\n")

    def reply(self, status: int, body: Any) -> None:
        raw = json.dumps(body, ensure_ascii=False).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def do_GET(self) -> None:
        url = urllib.parse.urlsplit(self.path)
        params = dict(urllib.parse.parse_qsl(url.query))
        parts = [urllib.parse.unquote(p) for p in url.path.split("/") if p]
        role = CONFIG.get("role")
        try:
            if role == "hub":
                self.hub(parts, url.query)
            elif role == "national":
                self.national(parts, params)
            else:
                self.application(parts, params)
        except Exception as exc:  # a lab service answers, whatever went wrong
            self.reply(500, {"error": str(exc)})

    # --- application ------------------------------------------------------------

    def health(self) -> None:
        body: dict[str, Any] = {
            "app": CONFIG["name"],
            "display_name": CONFIG.get("display_name", ""),
            "municipality": CONFIG["municipality"],
            "side": CONFIG.get("side", "source"),
            # Set by the migration's freeze; this stand-in has no write path to close.
            "maintenance": bool(CONFIG.get("maintenance", False)),
        }
        if CONFIG.get("database"):
            body["database"] = CONFIG["database"]["dsn"].rsplit("/", 1)[-1]
            try:
                body["rows"] = row_counts()
            except (RuntimeError, subprocess.TimeoutExpired, ValueError) as exc:
                body.update(status="database unavailable", error=str(exc))
                self.reply(503, body)
                return
        body["status"] = "ok"
        self.reply(200, body)

    def application(self, parts: list[str], params: dict[str, str]) -> None:
        health_paths = {"health", CONFIG.get("health", "/health").strip("/")}
        if "/".join(parts) in health_paths:
            self.health()
        elif parts == ["config"]:
            shown = {k: v for k, v in CONFIG.items() if k != "database"}
            if CONFIG.get("database"):
                shown["database"] = {"dsn": CONFIG["database"]["dsn"]}
            self.reply(200, shown)
        elif parts == ["koppeling"]:
            body: dict[str, Any] = {"app": CONFIG["name"], "municipality": CONFIG["municipality"]}
            if CONFIG.get("database"):
                rows = query(
                    "SELECT identificatie, zaaktype, bsn FROM zaken ORDER BY id DESC LIMIT 1"
                )
                body["rows"] = row_counts()
                if rows:
                    body["latest_zaak"] = dict(
                        zip(("identificatie", "zaaktype", "bsn"), rows[0], strict=True)
                    )
            self.reply(200, body)
        elif len(parts) == 2 and parts[0] == "chain":
            self.chain(parts[1])
        else:
            self.reply(404, {"error": f"no such path: /{'/'.join(parts)}"})

    def chain(self, target: str) -> None:
        url = CONFIG.get("koppelingen", {}).get(target)
        if not url:
            self.reply(404, {"error": f"{CONFIG['name']} has no koppeling to {target}"})
            return
        query_args = {"municipality": CONFIG["municipality"], "from": CONFIG["name"]}
        if CONFIG.get("database"):
            rows = query("SELECT bsn FROM zaken ORDER BY id DESC LIMIT 1")
            if rows:
                query_args["bsn"] = rows[0][0]
        status, answer = fetch(f"{url.rstrip('/')}/koppeling?{urllib.parse.urlencode(query_args)}")
        ok = status == 200
        self.reply(
            200 if ok else 502,
            {
                "from": CONFIG["name"],
                "municipality": CONFIG["municipality"],
                "to": target,
                "url": url,
                "status": "ok" if ok else "failed",
                "target_status": status,
                "answer": answer,
            },
        )

    # --- national service --------------------------------------------------------

    def national(self, parts: list[str], params: dict[str, str]) -> None:
        people = DATA.get("residents", {})
        if parts == ["health"]:
            counts = {m: len(rs) for m, rs in people.items()}
            self.reply(200, {"service": CONFIG["name"], "status": "ok", "residents": counts})
        elif parts == ["koppeling"]:
            muni = params.get("municipality", "")
            known = people.get(muni, [])
            body: dict[str, Any] = {
                "service": CONFIG["name"],
                "municipality": muni,
                "ingeschrevenen": DATA.get("inhabitants", {}).get(muni, 0),
                "known": len(known),
            }
            bsn = params.get("bsn")
            if bsn:
                match = next((r for r in known if r["bsn"] == bsn), None)
                if match is None:
                    self.reply(404, {**body, "error": f"BSN {bsn} not found"})
                    return
                body["persoon"] = match
            self.reply(200 if known else 404, body)
        elif len(parts) == 2 and parts[0] == "personen":
            for rs in people.values():
                for r in rs:
                    if r["bsn"] == parts[1]:
                        self.reply(200, r)
                        return
            self.reply(404, {"error": f"BSN {parts[1]} not found"})
        else:
            self.reply(404, {"error": "no such path"})

    # --- integration hub ---------------------------------------------------------

    def hub(self, parts: list[str], query_string: str) -> None:
        if parts == ["health"]:
            self.reply(
                200,
                {"service": "integration-hub", "status": "ok", "routes": sorted(CONFIG["routes"])},
            )
            return
        routes: dict[str, str] = CONFIG["routes"]
        for n in range(len(parts), 0, -1):
            prefix = "/".join(parts[:n])
            if prefix in routes:
                rest = "/".join(urllib.parse.quote(p) for p in parts[n:])
                url = f"{routes[prefix].rstrip('/')}/{rest}" + (
                    f"?{query_string}" if query_string else ""
                )
                status, body = fetch(url)
                self.reply(status, body)
                return
        self.reply(404, {"error": f"no route for /{'/'.join(parts)}"})


def main() -> None:
    global CONFIG_PATH
    CONFIG_PATH = sys.argv[1]
    load()
    signal.signal(signal.SIGHUP, _reload)
    signal.signal(signal.SIGTERM, lambda s, f: sys.exit(0))
    host, port = CONFIG["listen"]
    server = ThreadingHTTPServer((host, int(port)), Handler)
    server.daemon_threads = True
    try:
        server.serve_forever(poll_interval=0.2)
    except SystemExit:
        server.server_close()


if __name__ == "__main__":
    main()
