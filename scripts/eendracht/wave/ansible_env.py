"""The environment Ansible runs with: an allow-list of the operator's variables and
eendracht's own settings, never a copy of os.environ (so no operator secret reaches Ansible or
ansible-runner's artifacts)."""

from __future__ import annotations

import configparser
import os
import sys
from collections.abc import Mapping
from pathlib import Path

from ansible_runner.utils import get_callback_dir

# What of eendracht's own environment Ansible gets, and why; nothing else reaches it (an
# operator's AZURE_CLIENT_SECRET, PGPASSWORD, LDAP_BIND_PASSWORD or a proxy URL with a password
# in it stays out of every Ansible process and out of ansible-runner's artifacts).
PASSED_ON: dict[str, str] = {
    "PATH": "finds ansible-playbook (this interpreter's bin first) and the tools the modules "
    "start: ssh, rsync, ldapsearch/ldapadd, dig/nsupdate, psql/pg_dump",
    "HOME": "~/.ssh (keys, known_hosts, ssh_config) and Ansible's local temporary ~/.ansible",
    "LANG": "Ansible needs a UTF-8 locale: paths, names and directory entries with accents",
    "LC_*": "as LANG (LC_ALL, LC_CTYPE, ...)",
    "TZ": "times in the tools' messages as on the operator's clock",
    "EENDRACHT_STATE": "the state root eendracht works under, the same in every process of a run",
    "SSH_AUTH_SOCK": "the operator's ssh-agent: a socket's path, not a key; without it ssh cannot "
    "use a key kept in an agent or on a hardware token",
}
# Set by ansible-runner itself, for its event callback; its values, not the operator's.
RUNNER_SETS = frozenset(
    {
        "ANSIBLE_CALLBACK_PLUGINS",
        "ANSIBLE_STDOUT_CALLBACK",
        "ANSIBLE_RETRY_FILES_ENABLED",
        "AWX_ISOLATED_DATA_DIR",
        "ANSIBLE_CACHE_PLUGIN",
        "ANSIBLE_CACHE_PLUGIN_CONNECTION",
        "RUNNER_OMIT_EVENTS",
        "RUNNER_ONLY_FAILED_EVENTS",
    }
)


def passed_on(name: str) -> bool:
    return name in PASSED_ON or name.startswith("LC_")


def host_key_checking(ansible_cfg: Path) -> bool:
    """ansible.cfg's `host_key_checking` (Ansible's default: true)."""
    parser = configparser.ConfigParser(interpolation=None, inline_comment_prefixes=(";", "#"))
    try:
        parser.read(ansible_cfg, encoding="utf-8")
        return parser.getboolean("defaults", "host_key_checking", fallback=True)
    except (configparser.Error, ValueError):
        return True


def ansible_environment(
    ansible_cfg: Path, source: Mapping[str, str] | None = None
) -> dict[str, str]:
    """The whole environment eendracht hands Ansible: the allow-list `PASSED_ON` of `source`
    (default os.environ) and eendracht's own settings."""
    source = os.environ if source is None else source
    env = {name: value for name, value in source.items() if passed_on(name)}
    # ansible-playbook of this interpreter's environment, even when the venv is not active
    env["PATH"] = os.pathsep.join(
        p for p in (str(Path(sys.executable).parent), source.get("PATH", os.defpath)) if p
    )
    env.update(
        {
            "ANSIBLE_CONFIG": str(ansible_cfg),
            # ansible.cfg's own choice: ansible-runner would otherwise set it to False
            "ANSIBLE_HOST_KEY_CHECKING": str(host_key_checking(ansible_cfg)),
            "ANSIBLE_NOCOLOR": "1",
            "PYTHONUNBUFFERED": "1",
        }
    )
    return env


def runner_environment(prepared: Mapping[str, str], ours: Mapping[str, str]) -> dict[str, str]:
    """What ansible-runner starts ansible-playbook with: `ours` and the variables ansible-runner
    sets for its callback, instead of ansible-runner's copy of os.environ."""
    env = dict(ours)
    env.update({name: prepared[name] for name in RUNNER_SETS if name in prepared})
    env["ANSIBLE_CALLBACK_PLUGINS"] = get_callback_dir()  # ansible-runner's, not the operator's
    return env
