"""DNS: one BIND named, authoritative for every municipality's zone and the new organisation's,
taking RFC 2136 updates signed with the lab's TSIG key (hmac-sha256)."""

from __future__ import annotations

from pathlib import Path

from eendracht.lab.paths import LabPaths, write_secret
from eendracht.lab.plan import DNS_PORT, Zone
from eendracht.lab.procs import run

NAMED = "/usr/sbin/named"
TSIG_KEY_NAME = "eendracht-lab"
TSIG_ALGORITHM = "hmac-sha256"
SOA_TTL = 3600
NS_TTL = 86400


def tsig_key_file(paths: LabPaths) -> Path:
    return paths.dns / "tsig.key"


def zone_file(paths: LabPaths, zone: str) -> Path:
    return paths.dns / "zones" / f"{zone}.zone"


def _value(rtype: str, value: str) -> str:
    if rtype == "TXT" and not value.startswith('"'):
        # Long TXT values are split into 255-byte strings, as zone files require.
        chunks = [value[i : i + 255] for i in range(0, len(value), 255)] or [""]
        return " ".join('"' + c.replace("\\", "\\\\").replace('"', '\\"') + '"' for c in chunks)
    return value


def zone_text(zone: Zone, dns_address: str, serial: int) -> str:
    lines = [
        f"; eendracht lab: {zone.name} ({zone.owner})",
        f"$ORIGIN {zone.name}.",
        f"$TTL {SOA_TTL}",
        f"@ {SOA_TTL} IN SOA ns1.{zone.name}. hostmaster.{zone.name}. "
        f"( {serial} 3600 900 1209600 300 )",
        f"@ {NS_TTL} IN NS ns1.{zone.name}.",
    ]
    if not any(r.name == "ns1" for r in zone.records):
        lines.append(f"ns1 {NS_TTL} IN A {dns_address}")
    for r in zone.records:
        lines.append(f"{r.name} {r.ttl} IN {r.type.value} {_value(r.type.value, r.value)}")
    return "\n".join(lines) + "\n"


def prepare(
    paths: LabPaths,
    zones: list[Zone],
    dns_address: str,
    serial: int,
    *,
    folder: Path | None = None,
    port: int = DNS_PORT,
) -> Path:
    """named.conf, TSIG key and zone files (written once: dynamic updates change them later).

    `folder` (default the lab's DNS folder) and `port` let a second server (the fallback
    site's Traffic Manager) run beside the first."""
    base = folder or paths.dns
    base.mkdir(parents=True, exist_ok=True)
    (base / "zones").mkdir(exist_ok=True)
    key = base / "tsig.key"
    if not key.exists():
        out = run(["tsig-keygen", "-a", TSIG_ALGORITHM, TSIG_KEY_NAME], "generating the TSIG key")
        write_secret(key, out)
    blocks = []
    for zone in zones:
        path = base / "zones" / f"{zone.name}.zone"
        if not path.exists():
            path.write_text(zone_text(zone, dns_address, serial))
        blocks.append(
            f'zone "{zone.name}" {{\n  type primary;\n  file "{path}";\n'
            f'  allow-update {{ key "{TSIG_KEY_NAME}"; }};\n  allow-transfer {{ key "{TSIG_KEY_NAME}"; }};\n}};\n'
        )
    config = base / "named.conf"
    config.write_text(
        f"""// eendracht lab: authoritative for {len(zones)} zones
include "{key}";
options {{
  directory "{base}";
  pid-file "{base / "named.pid"}";
  session-keyfile "{base / "session.key"}";
  managed-keys-directory "{base}";
  dump-file "{base / "named_dump.db"}";
  statistics-file "{base / "named.stats"}";
  listen-on port {port} {{ {dns_address}; }};
  listen-on-v6 {{ none; }};
  recursion no;
  allow-query {{ any; }};
  dnssec-validation no;
  notify no;
}};
controls {{ }};
logging {{
  channel lab {{ file "{base / "named.log"}" versions 2 size 5m; severity info; print-time yes; }};
  category default {{ lab; }};
  category lame-servers {{ null; }};
}};
"""
        + "".join(blocks)
    )
    run(["named-checkconf", "-z", str(config)], "checking the DNS configuration and zones")
    return config


def argv(config: Path) -> list[str]:
    # -f: foreground, so the recorded pid is named's own; -u root keeps write access to the
    # zone journals under the lab's state.
    return [NAMED, "-f", "-u", "root", "-c", str(config)]
