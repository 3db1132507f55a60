"""What the playbooks read from the environment, as extra vars.

    target            the stack outputs
    source_services   the migrated municipality's directory, DNS server, IMAP server,
                      databases and application endpoints (secrets as file paths)
    target_services   the target directory, mail, database server and application endpoints
    postgres_passfile the pgpass file of both PostgreSQL servers
    share_roots_by_host the programme's share roots of each of the municipality's servers

The roles document each in their argument specs; nothing else tells them where they run.
"""

from __future__ import annotations

from typing import Any

from eendracht.environment.load import Environment
from eendracht.environment.models import DnsServer, Endpoint, ImapLogin
from eendracht.environment.secrets import SecretFiles
from eendracht.programme import models as m


def _endpoint(endpoint: Endpoint, app: m.Application) -> dict[str, str]:
    url = endpoint.url.rstrip("/")
    health = endpoint.health
    if not health and app.health:
        health = app.health if "://" in app.health else url + "/" + app.health.lstrip("/")
    return {
        "url": url,
        "health": health,
        "config": endpoint.config,
        "reload_pid_file": endpoint.reload_pid_file,
    }


def source_directory(env: Environment, secrets: SecretFiles, municipality: str) -> dict[str, Any]:
    directory = env.services(municipality).directory
    if directory is None:
        return {}
    out: dict[str, Any] = {
        "kind": directory.kind,
        "uri": directory.uri,
        "base_dn": directory.base_dn,
        "bind_dn": directory.bind_dn,
        "people_dn": directory.people_dn or directory.base_dn,
        "groups_dn": directory.groups_dn,  # empty: the module's default for the kind
        "ca_file": str(env.path(directory.ca_file)) if directory.ca_file else "",
        "password_file": secrets.paths[f"municipalities.{municipality}.directory.password"],
    }
    key = f"municipalities.{municipality}.directory.probes"
    if key + ".0.password" in secrets.paths:  # the probes of the migrated municipality only
        out["probes"] = [
            {"account": probe.account, "password_file": secrets.paths[f"{key}.{n}.password"]}
            for n, probe in enumerate(directory.probes)
        ]
    return out


def _dns(
    env: Environment, secrets: SecretFiles, municipality: str, dns: DnsServer
) -> dict[str, Any]:
    out: dict[str, Any] = {"server": dns.server, "port": dns.port}
    key = f"municipalities.{municipality}.dns"
    if dns.tsig_key is not None:
        out["tsig_key_file"] = secrets.paths[f"{key}.tsig_key"]
    if dns.kerberos is not None:
        out["kerberos"] = {
            "principal": dns.kerberos.principal,
            "keytab": secrets.paths[f"{key}.kerberos.keytab"],
            "krb5_conf": str(env.path(dns.kerberos.krb5_conf)) if dns.kerberos.krb5_conf else "",
            "server_name": dns.kerberos.server_name,
        }
    return out


def _imap(env: Environment, secrets: SecretFiles, imap: ImapLogin, key: str) -> dict[str, Any]:
    """An IMAP server as the mail module takes it (passwords as file paths)."""
    out: dict[str, Any] = {
        "host": imap.host,
        "port": imap.port,
        "tls": imap.tls,
        "login": imap.login,
        "ca_file": str(env.path(imap.ca_file)) if imap.ca_file else "",
    }
    if imap.password_dir:
        out["password_dir"] = secrets.dirs[f"{key}.password_dir"]
    else:
        out["master_user"] = imap.master_user
        out["password_file"] = secrets.paths[f"{key}.master_password"]
    return out


def target_mail(env: Environment, secrets: SecretFiles) -> dict[str, Any]:
    mail = env.spec.target.mail
    if mail is None:
        return {}
    out: dict[str, Any] = {"kind": mail.kind, "user_field": mail.user_field}
    if mail.shared_user:
        out["shared_user"] = mail.shared_user
    if mail.work_dir:
        out["work_dir"] = mail.work_dir
    if mail.kind == "dovecot" and mail.imap is not None:
        out |= {"server": mail.server, "config": mail.config}
        out |= _imap(env, secrets, mail.imap, "target.mail.imap")
    return out


def playbook_vars(
    env: Environment, secrets: SecretFiles, programme: m.Programme, municipality: str
) -> dict[str, Any]:
    services = env.services(municipality)
    mu = programme.municipality(municipality)
    outputs = env.outputs
    base_dn = str(outputs.get("directory_base_dn", ""))
    source: dict[str, Any] = {"directory": source_directory(env, secrets, municipality)}
    if services.dns is not None:
        source["dns"] = _dns(env, secrets, municipality, services.dns)
    if services.mail is not None:
        source["mail"] = _imap(env, secrets, services.mail, f"municipalities.{municipality}.mail")
    if services.databases is not None:
        source["databases"] = services.databases.model_dump()
    source["applications"] = {}
    target_apps: dict[str, Any] = {}
    for app in mu.applications:
        endpoints = services.applications.get(app.name)
        if endpoints is None:
            continue
        if endpoints.source is not None:
            source["applications"][app.name] = _endpoint(endpoints.source, app)
        if endpoints.target is not None:
            target_apps[app.name] = _endpoint(endpoints.target, app)
    directory = env.spec.target.directory
    ad = directory.kind == "active_directory"
    target: dict[str, Any] = {
        "directory": {
            "kind": directory.kind,
            "uri": str(outputs.get("directory_uri", "")),
            "base_dn": base_dn,
            "bind_dn": directory.bind_dn,
            "people_dn": directory.people_dn
            or f"{'OU=Medewerkers' if ad else 'ou=medewerkers'},{base_dn}",
            "groups_dn": directory.groups_dn or f"{'OU=Groepen' if ad else 'ou=groepen'},{base_dn}",
            "ca_file": str(env.path(directory.ca_file)) if directory.ca_file else "",
            "password_file": secrets.paths["target.directory.password"],
        },
        "applications": target_apps,
        "mail": target_mail(env, secrets),
    }
    if env.spec.target.databases is not None:
        target["databases"] = {
            "host": str(outputs.get("database_server_fqdn", "")),
            "port": env.spec.target.databases.port,
            "user": env.spec.target.databases.user,
        }
    return {
        "target": outputs,
        "source_services": source,
        "target_services": target,
        "postgres_passfile": secrets.paths.get("postgres_passfile", ""),
        # The programme's share roots per server: freeze refuses anything outside them.
        "share_roots_by_host": {h.name: list(h.share_roots) for h in mu.hosts if h.share_roots},
    }
