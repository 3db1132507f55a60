"""What a wave will touch in its environment, shown before an operator confirms a run."""

from __future__ import annotations

from typing import TYPE_CHECKING

from eendracht.display_text import shown

if TYPE_CHECKING:
    from eendracht.wave.orchestrator import Wave


def describe_targets(wave: Wave) -> str:
    env, muni = wave.env, wave.municipality
    services = env.services(muni)
    hosts = env.hosts.get(muni, {})
    lines = [
        f"environment {env.name} ({env.root}) — programme {wave.programme.name}, "
        f"municipality {muni}",
        f"  hosts of {muni}: "
        + ", ".join(f"{h} ({v.get('ansible_host', h)})" for h, v in hosts.items()),
        f"  target file server: {env.outputs.get('file_target_host', '?')}"
        f" under {env.outputs.get('file_target_root', '?')}",
        f"  target directory: {env.outputs.get('directory_uri', '?')}",
    ]
    if services.directory is not None:
        lines.append(f"  source directory: {services.directory.uri}")
    if services.dns is not None:
        lines.append(f"  DNS updates: {services.dns.server}:{services.dns.port}")
    if services.databases is not None:
        lines.append(
            f"  databases: {services.databases.host}:{services.databases.port} -> "
            f"{env.outputs.get('database_server_fqdn', '?')}"
        )
    if services.applications:
        lines.append(f"  application endpoints: {len(services.applications)}")
    lines.append(f"  journal: {wave.dir}")
    # Values come from the environment's files: control characters are shown, not obeyed.
    return "\n".join(shown(line) for line in lines)
