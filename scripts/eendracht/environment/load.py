"""Reads an environment directory and checks it against the programme and the wave.

    <dir>/environment.yml   services and secret references (models.EnvironmentSpec)
    <dir>/hosts.yml         the Ansible inventory of the hosts, with connection variables
    <dir>/outputs.json      the stack outputs (`pulumi stack output --json`)
    <dir>/secrets/          secret files (mode 0600) and/or vault.yml (Ansible Vault)

Every problem names the environment file and the key; nothing is written while checking.
"""

from __future__ import annotations

import json
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from eendracht.environment.models import EnvironmentSpec, MunicipalityServices, SecretRef
from eendracht.environment.vault import VaultError, read_vault
from eendracht.notify.urls import read_url_env, read_url_file, url_problem
from eendracht.outputs import STACK_OUTPUTS
from eendracht.problems import Problem, ProblemsFound, display_path
from eendracht.programme import models as m
from eendracht.programme.loader import pydantic_problems, read_yaml_mapping
from eendracht.safeyaml import Refused, read_bounded
from eendracht.secret_file import secret_file_problem

ENVIRONMENT_FILE = "environment.yml"
HOSTS_FILE = "hosts.yml"
OUTPUTS_FILE = "outputs.json"
VAULT_FILE = "secrets/vault.yml"
MAX_OUTPUTS_BYTES = 16 * 1024 * 1024
# Applications whose source is tested (health) and whose target must answer after cutover.
MOVED_TO_LANDING_ZONE = (m.Disposition.REHOST, m.Disposition.REMOTEAPP)


@dataclass(frozen=True)
class Environment:
    root: Path
    spec: EnvironmentSpec
    hosts: dict[str, dict[str, dict[str, Any]]]  # group -> host -> variables
    outputs: dict[str, Any]
    vault: dict[str, str] = field(default_factory=dict, repr=False)
    # notifications.channels: channel -> its webhook URL (a secret: never shown, always redacted)
    webhooks: dict[str, str] = field(default_factory=dict, repr=False)

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def environment_file(self) -> Path:
        return self.root / ENVIRONMENT_FILE

    @property
    def hosts_file(self) -> Path:
        return self.root / HOSTS_FILE

    def services(self, municipality: str) -> MunicipalityServices:
        return self.spec.municipalities.get(municipality, MunicipalityServices())

    def path(self, value: str) -> Path:
        """A path of the environment: relative to its directory unless absolute."""
        path = Path(value).expanduser()
        return path if path.is_absolute() else self.root / path

    def group_hosts(self, group: str) -> list[str]:
        return list(self.hosts.get(group, {}))


class _Checker:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.problems: list[Problem] = []

    def file(self, name: str) -> str:
        return display_path(self.root / name)

    def add(self, name: str, where: str, message: str) -> None:
        self.problems.append(Problem(self.file(name), where, message))


def _regular_file(path: Path) -> str:
    """Why `path` cannot be read as a regular file, or ''."""
    try:
        info = path.stat()
    except OSError as exc:
        return f"cannot read {path}: {exc.strerror or exc}"
    if not stat.S_ISREG(info.st_mode):
        return f"{path} is not a regular file"
    return ""


def _hosts(check: _Checker) -> dict[str, dict[str, dict[str, Any]]]:
    path = check.root / HOSTS_FILE
    if (why := _regular_file(path)) != "":
        check.add(HOSTS_FILE, "", f"the environment's inventory is missing ({why})")
        return {}
    data = read_yaml_mapping(path, check.problems)
    if data is None:
        return {}
    children = (
        (data.get("all") or {}).get("children") if isinstance(data.get("all"), dict) else None
    )
    if not isinstance(children, dict) or not children:
        check.add(HOSTS_FILE, "all.children", "required: one group per municipality with its hosts")
        return {}
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for group, body in children.items():
        hosts = body.get("hosts") if isinstance(body, dict) else None
        if not isinstance(group, str) or not isinstance(hosts, dict) or not hosts:
            check.add(HOSTS_FILE, f"all.children.{group}.hosts", "required: a mapping of hosts")
            continue
        out[group] = {}
        for host, variables in hosts.items():
            if not isinstance(host, str) or not (variables is None or isinstance(variables, dict)):
                check.add(
                    HOSTS_FILE,
                    f"all.children.{group}.hosts.{host}",
                    "a host name with a mapping of its variables",
                )
                continue
            out[group][host] = dict(variables or {})
    return out


def _outputs(check: _Checker) -> dict[str, Any]:
    path = check.root / OUTPUTS_FILE
    if (why := _regular_file(path)) != "":
        check.add(
            OUTPUTS_FILE, "", f"the stack outputs are missing ({why}): `pulumi stack output --json`"
        )
        return {}
    try:
        data = json.loads(read_bounded(path, MAX_OUTPUTS_BYTES).decode("utf-8"))
    except Refused as exc:
        check.add(OUTPUTS_FILE, "", str(exc))
        return {}
    except (UnicodeDecodeError, ValueError) as exc:
        check.add(OUTPUTS_FILE, "", f"not JSON: {exc}")
        return {}
    except RecursionError:
        check.add(OUTPUTS_FILE, "", "nested too deeply to be stack outputs")
        return {}
    if not isinstance(data, dict):
        check.add(OUTPUTS_FILE, "", f"must be a JSON object of outputs, not {type(data).__name__}")
        return {}
    for name in STACK_OUTPUTS:
        if name not in data:
            check.add(OUTPUTS_FILE, name, "required stack output is missing")
    return data


def _spec(check: _Checker) -> EnvironmentSpec | None:
    path = check.root / ENVIRONMENT_FILE
    if (why := _regular_file(path)) != "":
        check.add(ENVIRONMENT_FILE, "", f"not an environment directory ({why})")
        return None
    data = read_yaml_mapping(path, check.problems)
    if data is None:
        return None
    try:
        return EnvironmentSpec.model_validate(data)
    except ValidationError as exc:
        check.problems.extend(pydantic_problems(check.file(ENVIRONMENT_FILE), [], exc))
        return None


def _needs(
    check: _Checker, spec: EnvironmentSpec, programme: m.Programme, municipality: str
) -> None:
    """What the wave of `municipality` reads from the environment must be there."""
    env = ENVIRONMENT_FILE
    where = f"municipalities.{municipality}"
    services = spec.municipalities.get(municipality)
    if services is None:
        check.add(env, where, "required: the services of the municipality this wave migrates")
        return
    mu = programme.municipality(municipality)
    if services.directory is None:
        check.add(env, f"{where}.directory", "required: the municipality's source directory")
    elif services.directory.kind != spec.target.directory.kind:
        check.add(
            env,
            f"{where}.directory.kind",
            f"{services.directory.kind}, but the target directory is "
            f"{spec.target.directory.kind}: the identity step moves between directories of one kind",
        )
    if any(z.records for z in mu.dns.zones) and services.dns is None:
        check.add(env, f"{where}.dns", "required: the server that takes the zones' signed updates")
    _mail_needs(check, spec, mu, services)
    moving = [a for a in mu.applications if a.disposition is not m.Disposition.RETIRE]
    with_pg = [
        a for a in moving if any(d.engine is m.DatabaseEngine.POSTGRESQL for d in a.databases)
    ]
    if with_pg:
        if services.databases is None:
            check.add(env, f"{where}.databases", "required: the source PostgreSQL server")
        if spec.target.databases is None:
            check.add(env, "target.databases", "required: the target PostgreSQL server's account")
        if spec.postgres_passfile is None:
            check.add(env, "postgres_passfile", "required: the pgpass file of both servers")
    known = {a.name for a in mu.applications}
    for name in services.applications:
        if name not in known:
            check.add(env, f"{where}.applications.{name}", f"not an application of {municipality}")
    for app in moving:
        endpoints = services.applications.get(app.name)
        key = f"{where}.applications.{app.name}"
        if app.health and (endpoints is None or endpoints.source is None):
            check.add(env, f"{key}.source", "required: its health is checked at the source")
        needs_target = app.disposition in MOVED_TO_LANDING_ZONE and (app.health or app.koppelingen)
        if needs_target:
            target = endpoints.target if endpoints else None
            if target is None:
                check.add(env, f"{key}.target", "required: it is tested after cutover")
            elif not target.config:
                check.add(env, f"{key}.target.config", "required: cutover repoints it")
    # People read from a directory are mapped in wave order: every municipality up to this one.
    for name, other in programme.municipalities.items():
        if other.people_source is not None and not other.people:
            entry = spec.municipalities.get(name)
            if entry is None or entry.directory is None:
                check.add(
                    env,
                    f"municipalities.{name}.directory",
                    "required: its people are read from its directory (people_source) to map "
                    "names in wave order",
                )
        if name == municipality:
            break


def _mail_needs(
    check: _Checker, spec: EnvironmentSpec, mu: m.Municipality, services: MunicipalityServices
) -> None:
    if not mu.mailboxes:
        return
    target = spec.target.mail
    if target is None:
        check.add(
            ENVIRONMENT_FILE,
            "target.mail",
            f"required: {mu.name} has mailboxes; where they move (kind dovecot or exchange_online)",
        )
    elif target.kind == "dovecot" and services.mail is None:
        check.add(
            ENVIRONMENT_FILE,
            f"municipalities.{mu.name}.mail",
            "required: the IMAP server the mailboxes are moved from",
        )


def _host_needs(
    check: _Checker,
    hosts: dict[str, dict[str, dict[str, Any]]],
    outputs: dict[str, Any],
    programme: m.Programme,
    municipality: str,
) -> None:
    mu = programme.municipality(municipality)
    group = hosts.get(municipality)
    if group is None:
        check.add(HOSTS_FILE, f"all.children.{municipality}", "required: the municipality's hosts")
        return
    for share in mu.shares:
        if share.server not in group:
            check.add(
                HOSTS_FILE,
                f"all.children.{municipality}.hosts.{share.server}",
                f"required: share {share.name} is on this server",
            )
    target_host = outputs.get("file_target_host")
    everything = {h for g in hosts.values() for h in g}
    if mu.shares and isinstance(target_host, str) and target_host not in everything:
        check.add(
            HOSTS_FILE,
            f"all.children.*.hosts.{target_host}",
            "required: the target file server (stack output file_target_host) must be a host",
        )


def _mail_host(
    check: _Checker,
    hosts: dict[str, dict[str, dict[str, Any]]],
    spec: EnvironmentSpec,
    mu: m.Municipality,
) -> None:
    mail = spec.target.mail
    if not mu.mailboxes or mail is None or mail.kind != "dovecot":
        return
    if mail.server not in {h for g in hosts.values() for h in g}:
        check.add(
            HOSTS_FILE,
            f"all.children.*.hosts.{mail.server}",
            "required: the target mail server (target.mail.server) runs the mailbox moves",
        )


def secret_refs(spec: EnvironmentSpec, municipality: str) -> dict[str, SecretRef]:
    """The secrets a wave of `municipality` uses, by the key that names them in environment.yml."""
    refs: dict[str, SecretRef] = {"target.directory.password": spec.target.directory.password}
    if spec.postgres_passfile is not None:
        refs["postgres_passfile"] = spec.postgres_passfile
    mail = spec.target.mail
    if mail is not None and mail.imap is not None and mail.imap.master_password is not None:
        refs["target.mail.imap.master_password"] = mail.imap.master_password
    for name, services in spec.municipalities.items():
        if services.directory is not None:
            refs[f"municipalities.{name}.directory.password"] = services.directory.password
        if name != municipality:
            continue
        if services.directory is not None:
            for n, probe in enumerate(services.directory.probes):
                refs[f"municipalities.{name}.directory.probes.{n}.password"] = probe.password
        if services.dns is not None:
            if services.dns.tsig_key is not None:
                refs[f"municipalities.{name}.dns.tsig_key"] = services.dns.tsig_key
            if services.dns.kerberos is not None:
                refs[f"municipalities.{name}.dns.kerberos.keytab"] = services.dns.kerberos.keytab
        if services.mail is not None and services.mail.master_password is not None:
            refs[f"municipalities.{name}.mail.master_password"] = services.mail.master_password
    return refs


def password_dirs(spec: EnvironmentSpec, municipality: str) -> dict[str, str]:
    """The folders of per-mailbox password files a wave of `municipality` reads."""
    out: dict[str, str] = {}
    source = spec.municipalities.get(municipality)
    if source is not None and source.mail is not None and source.mail.password_dir:
        out[f"municipalities.{municipality}.mail.password_dir"] = source.mail.password_dir
    target = spec.target.mail
    if target is not None and target.imap is not None and target.imap.password_dir:
        out["target.mail.imap.password_dir"] = target.imap.password_dir
    return out


def _secrets(check: _Checker, spec: EnvironmentSpec, municipality: str) -> dict[str, str]:
    refs = secret_refs(spec, municipality)
    vault: dict[str, str] = {}
    webhook_keys = [c.url.vault for c in spec.notifications.channels.values() if c.url.vault]
    if any(r.vault for r in refs.values()) or webhook_keys:
        if not spec.vault_password_file:
            check.add(ENVIRONMENT_FILE, "vault_password_file", "required: a secret is a vault key")
        else:
            password = Path(spec.vault_password_file).expanduser()
            password = password if password.is_absolute() else check.root / password
            try:
                vault = read_vault(check.root / VAULT_FILE, password)
            except VaultError as exc:
                check.add(VAULT_FILE, "", str(exc))
                return {}
    for key, ref in refs.items():
        if ref.vault:
            if vault and ref.vault not in vault:
                check.add(ENVIRONMENT_FILE, f"{key}.vault", f"no key {ref.vault!r} in {VAULT_FILE}")
            continue
        path = Path(ref.file).expanduser()
        path = path if path.is_absolute() else check.root / path
        if why := secret_file_problem(path):
            check.add(ENVIRONMENT_FILE, f"{key}.file", why)
    for key, folder in password_dirs(spec, municipality).items():
        path = Path(folder).expanduser()
        path = path if path.is_absolute() else check.root / path
        if not path.is_dir():
            check.add(ENVIRONMENT_FILE, key, f"{path} is not a folder of password files")
        elif path.stat().st_mode & 0o077:
            check.add(
                ENVIRONMENT_FILE,
                key,
                f"{path} is open to others (mode {stat.S_IMODE(path.stat().st_mode):04o}); "
                "a folder of password files must be 0700",
            )
    return vault


def _webhooks(check: _Checker, spec: EnvironmentSpec, vault: dict[str, str]) -> dict[str, str]:
    """Every channel's webhook URL, read and checked; a problem never quotes the URL."""
    out: dict[str, str] = {}
    for name, channel in spec.notifications.channels.items():
        ref = channel.url
        key = f"notifications.channels.{name}.url"
        if ref.file:
            url, why = read_url_file(check.root / Path(ref.file).expanduser())
            key += ".file"
        elif ref.env:
            url, why = read_url_env(ref.env)
            key += ".env"
        elif ref.vault in vault:
            url, why = vault[ref.vault].strip(), ""
            key += ".vault"
        else:
            if vault or not check.problems:  # else the vault itself is the problem, said once
                check.add(ENVIRONMENT_FILE, f"{key}.vault", f"no key {ref.vault!r} in {VAULT_FILE}")
            continue
        if not why and (bad := url_problem(url)):
            why = f"the webhook URL {bad} (its value is a secret and is not shown)"
        if why:
            check.add(ENVIRONMENT_FILE, key, why)
        else:
            out[name] = url
    return out


def _read(
    root: Path, programme: m.Programme
) -> tuple[_Checker, EnvironmentSpec | None, dict[str, dict[str, dict[str, Any]]], dict[str, Any]]:
    """The environment's three files, read and checked on their own and for the programme."""
    check = _Checker(root)
    if not root.is_dir():
        check.add(ENVIRONMENT_FILE, "", f"no environment directory at {display_path(root)}")
        raise ProblemsFound(check.problems)
    spec = _spec(check)
    hosts = _hosts(check)
    outputs = _outputs(check)
    if spec is not None and spec.programme != programme.name:
        check.add(
            ENVIRONMENT_FILE,
            "programme",
            f"this environment serves programme {spec.programme!r}, not {programme.name!r}",
        )
    return check, spec, hosts, outputs


def load_environment(root: Path, programme: m.Programme, municipality: str) -> Environment:
    """The environment at `root`, checked for a wave of `municipality`; ProblemsFound if not."""
    check, spec, hosts, outputs = _read(root, programme)
    vault: dict[str, str] = {}
    webhooks: dict[str, str] = {}
    if spec is not None:
        _needs(check, spec, programme, municipality)
        vault = _secrets(check, spec, municipality)
        webhooks = _webhooks(check, spec, vault)
    if hosts:
        _host_needs(check, hosts, outputs, programme, municipality)
        if spec is not None:
            _mail_host(check, hosts, spec, programme.municipality(municipality))
    if check.problems or spec is None:
        raise ProblemsFound(check.problems)
    return Environment(root.resolve(), spec, hosts, outputs, vault, webhooks)


def _fallback_needs(
    check: _Checker, spec: EnvironmentSpec, hosts: dict[str, dict[str, dict[str, Any]]]
) -> None:
    """What a drill needs: the fallback site, its hosts in hosts.yml, its secret files."""
    site = spec.fallback
    if site is None:
        check.add(ENVIRONMENT_FILE, "fallback", "required for a drill: the fallback site")
        return
    if spec.postgres_passfile is None:
        check.add(ENVIRONMENT_FILE, "postgres_passfile", "required for a drill (both databases)")
    known = {host for group in hosts.values() for host in group}
    for name in ("primary", "fallback"):
        s = getattr(site, name)
        for key, host in (("database.host", s.database.host), ("files.host", s.files.host)):
            if known and host not in known:
                check.add(
                    ENVIRONMENT_FILE, f"fallback.{name}.{key}", f"no host {host!r} in {HOSTS_FILE}"
                )
    refs = {"fallback.traffic_manager.tsig_key": site.traffic_manager.tsig_key}
    if spec.postgres_passfile is not None:
        refs["postgres_passfile"] = spec.postgres_passfile
    for key, ref in refs.items():
        if ref.vault:
            check.add(ENVIRONMENT_FILE, f"{key}.vault", "a drill reads this secret from a file")
            continue
        path = Path(ref.file).expanduser()
        path = path if path.is_absolute() else check.root / path
        if why := secret_file_problem(path):
            check.add(ENVIRONMENT_FILE, f"{key}.file", why)


def load_drill_environment(root: Path, programme: m.Programme) -> Environment:
    """The environment at `root`, checked for a fallback drill; ProblemsFound if not."""
    check, spec, hosts, outputs = _read(root, programme)
    if spec is not None:
        _fallback_needs(check, spec, hosts)
    if check.problems or spec is None:
        raise ProblemsFound(check.problems)
    return Environment(root.resolve(), spec, hosts, outputs)
