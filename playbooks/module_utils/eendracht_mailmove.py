"""The mail role's mailbox move: dsync over imapc from a source IMAP server to the target Dovecot.

One implementation, standard library only, run by the `eendracht_mailbox` module on the target
mail server (it needs the target's doveadm and configuration) and loaded by the eendracht
package under the same name (`eendracht.module_utils.load_module_utils`). What it does:

Move (state=moved), one mailbox at a time on the target:

    doveadm -c <work_dir>/move.<pid>.<random>.conf backup -R -l <secs> -u <target user> \
        -x shared -x 'shared/*' imapc:

`backup -R` makes the target mailbox an exact copy of the source one (imapc: is the remote
side), so a run cut off halfway is simply run again: what arrived stays, what is missing
comes, nothing doubles, and a run with nothing left to copy copies nothing. It also removes
from the target what the source no longer has: the move runs before the MX records switch,
never after (new mail on the target would be removed by the next move). The per-move config
(0600, in a 0700 folder, removed in a `finally`; one a killed run left behind is removed by
the next run) holds the imapc settings including the source password, and `!include`s the
target's own config: the password is never an argument and so never in the process list.
doveadm reads that file through doveconf, which hands the settings to doveadm in its
environment (root-only /proc/<pid>/environ, like the file). `-l` takes dsync's lock of the
target user, so two moves of one mailbox never run at once; doveadm is started under
`setpriv --pdeathsig KILL` where setpriv exists, so it dies with the module.

dsync ignores the quota plugin by design (quota.c: "ignore quota for dsync"), so a target
mailbox over its quota would silently end over it: the source's size (the sum of RFC822.SIZE
over its folders, read over IMAP) is compared with the target's storage limit (`doveadm quota
get`) first, and a mailbox that does not fit is refused before anything is copied.

Verification (state=verified) reads both sides over IMAP (imaplib, TLS verified against the
CA file): per folder the message count, the Message-IDs (a multiset, so duplicates show) and
the size total, and scores each mailbox like Exchange's DataConsistencyScore: perfect
(everything equal), good (nothing missing or duplicated; the target only holds more, e.g.
mail delivered after the switch), investigate (something missing or duplicated, at most
1 % of the mailbox), poor (more). Investigate and poor fail, naming mailbox and folder.

Passwords are read from files (0600, owner only) and go only into the per-move include and
IMAP logins; every message this file produces has each of them replaced by `***`.
"""

from __future__ import annotations

import base64
import contextlib
import fnmatch
import hashlib
import imaplib
import json
import os
import re
import secrets
import shutil
import signal
import ssl
import stat
import subprocess
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

SERVER_OPTIONS = {
    "host": {"type": "str"},
    "port": {"type": "int", "default": 993},
    "tls": {"type": "str", "default": "imaps", "choices": ["imaps", "starttls"]},
    "ca_file": {"type": "path"},
    "password_dir": {"type": "path"},
    "master_user": {"type": "str"},
    "password_file": {"type": "path"},
    "login": {"type": "str", "default": "name", "choices": ["name", "address"]},
}
TARGET_OPTIONS = dict(SERVER_OPTIONS, config={"type": "path"})

ARGUMENT_SPEC = {
    "state": {"type": "str", "required": True, "choices": ["moved", "verified", "check"]},
    "mailboxes": {"type": "list", "elements": "raw", "required": True},
    "mapping_file": {"type": "path"},
    "target_user_field": {
        "type": "str",
        "default": "username",
        "choices": ["username", "mail", "upn"],
    },
    "source": {"type": "dict", "required": True, "options": SERVER_OPTIONS},
    "target": {"type": "dict", "required": True, "options": TARGET_OPTIONS},
    "work_dir": {"type": "path", "default": "/var/lib/eendracht/mail-moves"},
    "exclude": {"type": "list", "elements": "str", "default": ["shared", "shared/*"]},
    "parallel": {"type": "int", "default": 2},
    "timeout": {"type": "int", "default": 3600},
    "lock_timeout": {"type": "int", "default": 60},
    "command_timeout": {"type": "int", "default": 60},
    "imap_timeout": {"type": "int", "default": 60},
    "investigate_ratio": {"type": "float", "default": 0.01},
    # check: also log on at the target and look up every target user (false before the
    # identity step has created them: then the target server only has to answer over TLS)
    "target_users": {"type": "bool", "default": True},
}

INCLUDE_PREFIX = "move."
LISTED = 5  # Message-IDs named per folder in a finding
FETCH_CHUNK = 5000  # messages per IMAP FETCH


class MailMoveError(Exception):
    """A move, verification or check that failed; `details` go into the failed result."""

    def __init__(self, msg, **details):
        super().__init__(msg)
        self.details = details


# --- secrets -------------------------------------------------------------------------------


class Secrets:
    """Every password read during one run, so any text can be cleaned of them."""

    def __init__(self):
        self._values = set()
        self._lock = threading.Lock()

    def read(self, path, what):
        """A password from its file: a regular file readable by its owner only; one line end
        at the end is not part of it."""
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
        except OSError as exc:
            raise MailMoveError(f"cannot read the password file of {what}: {exc.strerror}") from None
        with os.fdopen(fd, "rb") as handle:
            info = os.fstat(handle.fileno())
            if not stat.S_ISREG(info.st_mode):
                raise MailMoveError(f"the password file of {what} is not a regular file")
            if info.st_mode & 0o077:
                raise MailMoveError(
                    f"the password file of {what} is readable by others "
                    f"(mode {stat.S_IMODE(info.st_mode):04o}); it must be 0600"
                )
            raw = handle.read(65536).decode("utf-8")
        value = raw[:-2] if raw.endswith("\r\n") else raw[:-1] if raw.endswith("\n") else raw
        if not value or "\n" in value or "\r" in value or "\0" in value:
            raise MailMoveError(f"the password file of {what} holds no single-line password")
        with self._lock:
            self._values.add(value)
        return value

    def clean(self, text):
        for value in sorted(self._values, key=len, reverse=True):
            text = text.replace(value, "***")
            quoted_value = quoted(value, expanded=False)[1:-1]
            if quoted_value != value:
                text = text.replace(quoted_value, "***")
        return text


def quoted(value, expanded=True):
    """A Dovecot config value in double quotes; `%` doubled for settings that are %-expanded
    when used (imapc_user is, imapc_password is not)."""
    if "\n" in value or "\r" in value:
        raise ValueError("a Dovecot setting cannot hold a line break")
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    escaped = escaped.replace("%", "%%") if expanded else escaped
    return f'"{escaped}"'


# --- IMAP ----------------------------------------------------------------------------------


def mutf7_encode(name):
    """IMAP's modified UTF-7 (RFC 3501 5.1.3), how mailbox names with non-ASCII travel."""
    out = []
    pending = []

    def flush():
        if pending:
            raw = "".join(pending).encode("utf-16-be")
            out.append("&" + base64.b64encode(raw).decode().rstrip("=").replace("/", ",") + "-")
            pending.clear()

    for ch in name:
        if 0x20 <= ord(ch) <= 0x7E:
            flush()
            out.append("&-" if ch == "&" else ch)
        else:
            pending.append(ch)
    flush()
    return "".join(out)


def mutf7_decode(name):
    def one(match):
        chunk = match.group(1)
        if not chunk:
            return "&"
        b64 = chunk.replace(",", "/")
        return base64.b64decode(b64 + "=" * (-len(b64) % 4)).decode("utf-16-be")

    return re.sub(r"&([^-]*)-", one, name)


_LIST = re.compile(rb'^\((?P<flags>[^)]*)\) (?:"(?P<delim>(?:[^"\\]|\\.)*)"|NIL) (?P<name>.*)$')
_SIZE = re.compile(rb"RFC822\.SIZE (\d+)")
_UID = re.compile(rb"UID (\d+)")
_MSGID = re.compile(rb"^Message-ID:\s*(<[^>]*>|\S+)", re.IGNORECASE | re.MULTILINE)
NO_ID = "(no Message-ID)"


def _unquote(raw):
    text = raw.decode("utf-8", "replace")
    if text.startswith('"') and text.endswith('"'):
        text = re.sub(r"\\(.)", r"\1", text[1:-1])
    return text


def excluded(name, exclude):
    return any(fnmatch.fnmatchcase(name, mask) for mask in exclude)


def list_folders(client, exclude=()):
    """Selectable folders as (shown name with `/` as separator, name on the wire)."""
    typ, data = client.list('""', "*")
    if typ != "OK":
        raise imaplib.IMAP4.error(f"LIST failed: {data!r}")
    found = []
    for item in data:
        if isinstance(item, tuple):  # a literal name: (b'(flags) "/" {n}', b'name')
            m = _LIST.match(item[0])
            if m is None:
                continue
            wire = item[1].decode("utf-8", "replace")
        elif isinstance(item, bytes):
            m = _LIST.match(item)
            if m is None:
                continue
            wire = _unquote(m.group("name"))
        else:
            continue
        flags = m.group("flags").lower()
        if b"\\noselect" in flags or b"\\nonexistent" in flags:
            continue
        delim = _unquote(b'"' + m.group("delim") + b'"') if m.group("delim") is not None else ""
        shown = mutf7_decode(wire)
        if delim and delim != "/":
            shown = "/".join(shown.split(delim))
        if shown.upper() == "INBOX":
            shown = "INBOX"
        if not excluded(shown, exclude):
            found.append((shown, wire))
    return sorted(found)


def _wire(name):
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def folder_state(client, wire, ids=True):
    """One folder, read without changing it: count, size total, uidvalidity, uidnext, the
    set of UIDs and (with `ids`) the Counter of Message-IDs."""
    typ, data = client.select(_wire(wire), readonly=True)
    if typ != "OK":
        raise imaplib.IMAP4.error(f"EXAMINE failed: {data!r}")
    count = int(data[0] or b"0")
    state = {
        "count": count,
        "ids": Counter(),
        "size": 0,
        "uids": set(),
        "uidvalidity": _untagged(client, "UIDVALIDITY"),
        "uidnext": _untagged(client, "UIDNEXT"),
    }
    items = "(UID RFC822.SIZE BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])" if ids else "(UID RFC822.SIZE)"
    for start in range(1, count + 1, FETCH_CHUNK):
        end = min(count, start + FETCH_CHUNK - 1)
        typ, fetched = client.fetch(f"{start}:{end}", items)
        if typ != "OK":
            raise imaplib.IMAP4.error(f"FETCH failed: {fetched!r}")
        for item in fetched:
            head, header = (item[0], item[1]) if isinstance(item, tuple) else (item, None)
            if not isinstance(head, bytes) or b"(" not in head:
                continue
            m = _SIZE.search(head)
            state["size"] += int(m.group(1)) if m else 0
            uid = _UID.search(head)
            if uid:
                state["uids"].add(int(uid.group(1)))
            if ids:
                found = _MSGID.search(header or b"")
                state["ids"][found.group(1).decode("utf-8", "replace") if found else NO_ID] += 1
    return state


def _untagged(client, name):
    _typ, data = client.response(name)
    try:
        return int(data[-1])
    except (TypeError, ValueError, IndexError):
        return 0


def inventory(client, exclude=(), ids=True):
    """Every selectable folder (but the excluded) and what it holds."""
    return {
        shown: folder_state(client, wire, ids) for shown, wire in list_folders(client, exclude)
    }


def contents(inventory_):
    """What two inventories are compared by: count, Message-IDs and size per folder."""
    return {
        name: {"count": f["count"], "ids": f["ids"], "size": f["size"]}
        for name, f in inventory_.items()
    }


def tls_context(server):
    return ssl.create_default_context(cafile=server.get("ca_file") or None)


def imap_connect(server, timeout, where):
    """A TLS connection to `server` (certificate verified), not yet logged in."""
    host, port = server["host"], server["port"]
    try:
        if server["tls"] == "imaps":
            return imaplib.IMAP4_SSL(host, port, ssl_context=tls_context(server), timeout=timeout)
        client = imaplib.IMAP4(host, port, timeout=timeout)
        client.starttls(ssl_context=tls_context(server))
        return client
    except (OSError, imaplib.IMAP4.error, ssl.SSLError) as exc:
        raise MailMoveError(f"the {where} IMAP server {host}:{port} does not answer: {exc}") from None


def imap_login(server, login, password_file, creds, timeout, where):
    """An IMAP session as `login` on `server`: its own password, or the master user's
    (SASL PLAIN with `login` as the authorization identity)."""
    host, port = server["host"], server["port"]
    client = imap_connect(server, timeout, where)
    try:
        if server.get("master_user"):
            password = creds.read(server["password_file"], f"the {where} master user")
            token = f"{login}\0{server['master_user']}\0{password}".encode()
            client.authenticate("PLAIN", lambda _challenge: token)
        else:
            password = creds.read(password_file, f"{login} on the {where} server")
            client.login(login, password)
    except imaplib.IMAP4.error as exc:
        with contextlib.suppress(OSError):
            client.shutdown()
        reason = creds.clean(str(exc))
        raise MailMoveError(
            f"the {where} IMAP server {host}:{port} refused the login of {login}: {reason}"
        ) from None
    except MailMoveError:
        with contextlib.suppress(OSError):
            client.shutdown()
        raise
    return client


@contextlib.contextmanager
def imap_session(server, login, password_file, creds, timeout, where):
    client = imap_login(server, login, password_file, creds, timeout, where)
    try:
        yield client
    finally:
        with contextlib.suppress(OSError, imaplib.IMAP4.error):
            client.logout()


# --- processes -----------------------------------------------------------------------------

_ACTIVE = set()
_ACTIVE_LOCK = threading.Lock()


def _guarded(argv):
    """doveadm dies with the module: the kernel sends it SIGKILL when its parent ends."""
    setpriv = shutil.which("setpriv")
    return [setpriv, "--pdeathsig", "KILL", *argv] if setpriv else list(argv)


def run_process(argv, timeout, what, creds):
    """(rc, stdout, stderr) of a process that must end within `timeout` seconds."""
    try:
        proc = subprocess.Popen(
            _guarded(argv),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            errors="replace",
        )
    except OSError as exc:
        raise MailMoveError(f"{what}: cannot start {argv[0]}: {exc.strerror}") from None
    with _ACTIVE_LOCK:
        _ACTIVE.add(proc)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        tail = " | ".join((err or "").strip().splitlines()[-2:])
        raise MailMoveError(
            creds.clean(f"{what}: no end within {timeout} s (last said: {tail or 'nothing'})")
        ) from None
    finally:
        with _ACTIVE_LOCK:
            _ACTIVE.discard(proc)
    return proc.returncode, out, err


def stop_on_signals():
    """SIGTERM/SIGINT (Ansible's timeout, an operator) stop the running doveadm processes and
    end the module through the `finally`s, so no per-move include stays behind. The module
    calls this; a library user keeps its own signal handling."""

    def handler(signum, _frame):
        with _ACTIVE_LOCK:
            for proc in list(_ACTIVE):
                with contextlib.suppress(OSError):
                    proc.kill()
        raise SystemExit(128 + signum)

    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, handler)


EX_NOUSER = 67  # doveadm's exit status for a user its userdb does not know (sysexits.h)


class NoSuchUser(MailMoveError):
    """doveadm does not know the target user (yet: the identity step creates it)."""


def doveadm(config, args, timeout, what, creds, formatter="tab"):
    argv = ["doveadm", *(["-f", formatter] if formatter else []), "-c", config, *args]
    rc, out, err = run_process(argv, timeout, what, creds)
    if rc != 0:
        error = NoSuchUser if rc == EX_NOUSER else MailMoveError
        raise error(creds.clean(f"{what} failed: {_said(err) or f'doveadm exit {rc}'}"))
    return out


def _said(stderr):
    """doveadm's errors, not its chatter, in one line."""
    lines = [x.strip() for x in (stderr or "").splitlines() if x.strip()]
    errors = [x for x in lines if "Error" in x or "Fatal" in x or "doesn't exist" in x]
    return " | ".join((errors or lines)[-3:])


def _rows(text):
    lines = text.splitlines()
    if not lines:
        return []
    header = lines[0].split("\t")
    return [dict(zip(header, line.split("\t"))) for line in lines[1:] if line]


STATUS_FIELDS = "messages uidvalidity uidnext highestmodseq vsize guid"


def _target_rows(params, args, what, creds):
    """The rows of one doveadm command about a user of the target (`-f tab`)."""
    return _rows(doveadm(params["target"]["config"], args, params["command_timeout"], what, creds))


def target_status(params, user, creds):
    """Per folder of the target user: messages, uidvalidity, uidnext, highestmodseq, vsize,
    guid (doveadm mailbox status): what a move changed is the difference before and after."""
    rows = _target_rows(
        params, ["mailbox", "status", "-u", user, STATUS_FIELDS, "*"],
        f"reading the folders of {user} on the target", creds,
    )  # fmt: skip
    status = {}
    for row in rows:
        name = row.get("mailbox", "")
        if name and not excluded(name, params["exclude"]):
            status[name] = {k: row.get(k, "") for k in STATUS_FIELDS.split()}
    return status


def quota_limit_kib(params, user, creds):
    """The target mailbox's storage limit in KiB (doveadm quota get), None if unlimited."""
    rows = _target_rows(
        params, ["quota", "get", "-u", user],
        f"reading the quota of {user} on the target", creds,
    )  # fmt: skip
    for row in rows:
        if row.get("Type") == "STORAGE" and (row.get("Limit") or "").isdigit():
            limit = int(row["Limit"])
            return limit or None
    return None


def target_messages(params, user, creds):
    """Per folder of the target user: Counter of Message-IDs and size total, read with
    doveadm fetch (check mode: what a move would copy, without the user's password)."""
    rows = _target_rows(
        params, ["fetch", "-u", user, "mailbox hdr.message-id size.virtual", "all"],
        f"reading the messages of {user} on the target", creds,
    )  # fmt: skip
    folders = {}
    for row in rows:
        name = row.get("mailbox", "")
        if not name or excluded(name, params["exclude"]):
            continue
        state = folders.setdefault(name, {"count": 0, "ids": Counter(), "size": 0})
        state["count"] += 1
        state["ids"][(row.get("hdr.message-id") or "").strip() or NO_ID] += 1
        size = row.get("size.virtual") or "0"
        state["size"] += int(size) if size.isdigit() else 0
    return folders


# --- the mailboxes of a run ----------------------------------------------------------------


def _load_mapping(path):
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read(64 * 1024 * 1024)
    except OSError as exc:
        raise MailMoveError(f"cannot read the mapping file {path}: {exc.strerror}") from None
    try:
        return json.loads(text)
    except ValueError:
        pass
    try:
        import yaml  # noqa: PLC0415 - only for a mapping file that is not JSON
    except ImportError:
        raise MailMoveError(
            f"the mapping file {path} is not JSON, and PyYAML is not installed to read YAML"
        ) from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise MailMoveError(f"the mapping file {path} is neither JSON nor YAML: {exc}") from None


def mapping(path, field):
    """old mailbox (account, old address, each old alias; addresses case-insensitive) -> new
    user. The identity map (`identities`: old_account, old_mail, aliases -> username, mail,
    upn; `field` chooses), or a plain mapping of names (`mailboxes:` or at the top)."""
    if not path:
        return {}
    data = _load_mapping(path)
    if isinstance(data, dict) and isinstance(data.get("identities"), list):
        out = {}
        for ident in data["identities"]:
            if not isinstance(ident, dict) or not ident.get(field):
                continue
            new = str(ident[field])
            for old in [ident.get("old_account"), ident.get("old_mail"), *ident.get("aliases", [])]:
                if old:
                    out.setdefault(_key(old), new)
        return out
    if isinstance(data, dict) and isinstance(data.get("mailboxes"), dict):
        data = data["mailboxes"]
    if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
        raise MailMoveError(
            f"the mapping file {path} is neither an identity map nor a mapping of old mailbox "
            "to new user"
        )
    return {_key(k): v for k, v in data.items()}


def _key(name):
    name = str(name).strip()
    return name.lower() if "@" in name else name


def _login(name, address, server):
    return address if server.get("login") == "address" and address else name


def resolve(params):
    """The moves of this run: source login, target user and password files, each checked
    before anything moves (every problem named at once)."""
    known = mapping(params.get("mapping_file"), params["target_user_field"])
    moves, problems = [], []
    for item in params["mailboxes"]:
        entry = {"source": item} if isinstance(item, str) else dict(item or {})
        name = str(entry.get("source") or "").strip()
        if not name:
            problems.append(f"a mailbox without a source name: {item!r}")
            continue
        address = str(entry.get("address") or (name if "@" in name else ""))
        target = entry.get("target") or known.get(_key(name)) or known.get(_key(address))
        if not target:
            problems.append(f"mailbox {name} has no new user in the mapping")
            continue
        move = {
            "source": name,
            "target": str(target),
            "source_login": _login(name, address, params["source"]),
            "target_login": str(entry.get("target_login") or target),
            "source_password_file": entry.get("source_password_file"),
            "target_password_file": entry.get("target_password_file"),
        }
        for side in ("source", "target"):
            server = params[side]
            key = f"{side}_password_file"
            login = move[f"{side}_login"]
            if move[key] or server.get("master_user"):
                continue
            if server.get("password_dir"):
                if "/" in login or login.startswith("."):
                    problems.append(f"mailbox {name}: {login!r} cannot name a password file")
                    continue
                move[key] = os.path.join(server["password_dir"], f"{login}.password")
        moves.append(move)
    seen = Counter(m["target"] for m in moves)
    for user, n in sorted(seen.items()):
        if n > 1:
            names = ", ".join(m["source"] for m in moves if m["target"] == user)
            problems.append(f"mailboxes {names} all map to {user}: one would overwrite another")
    if problems:
        raise MailMoveError("; ".join(problems), mailboxes=[])
    return moves


def _require(params, state):
    needs = {"source": ["host"], "target": []}
    if state in ("moved", "check"):
        needs["target"].append("config")
    if state in ("verified", "check"):
        needs["target"].append("host")
    for side, keys in needs.items():
        for key in keys:
            if not params[side].get(key):
                raise MailMoveError(f"state={state} needs {side}.{key}")
        server = params[side]
        if server.get("master_user") and not server.get("password_file"):
            raise MailMoveError(f"{side}.master_user needs {side}.password_file")


# --- one move ------------------------------------------------------------------------------


def move_config(params, move, password):
    """The per-move include: the target's own config, then the source as imapc."""
    source = params["source"]
    lines = [
        f"# eendracht: move of {move['source']} to {move['target']}; removed when the move ends",
        f"!include {params['target']['config']}",
        f"imapc_host = {source['host']}",
        f"imapc_port = {source['port']}",
        f"imapc_ssl = {source['tls']}",
        "imapc_ssl_verify = yes",
        f"imapc_user = {quoted(move['source_login'])}",
        f"imapc_password = {quoted(password, expanded=False)}",
        "imapc_features = rfc822.size fetch-headers",
        "mail_prefetch_count = 20",
        "mail_fsync = never",
    ]
    if source.get("ca_file"):
        lines.append(f"ssl_client_ca_file = {source['ca_file']}")
    else:
        lines.append("ssl_client_ca_dir = /etc/ssl/certs")
    if source.get("master_user"):
        lines.append(f"imapc_master_user = {quoted(source['master_user'])}")
    return "\n".join(lines) + "\n"


def move_argv(params, config_path, target_user):
    argv = ["doveadm", "-c", config_path, "backup", "-R", "-l", str(params["lock_timeout"])]
    argv += ["-u", target_user]
    for mask in params["exclude"]:
        argv += ["-x", mask]
    return [*argv, "imapc:"]


def _work_dir(path):
    os.makedirs(path, mode=0o700, exist_ok=True)
    info = os.lstat(path)
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.geteuid():
        raise MailMoveError(f"{path} is not a folder of this user; moves need a folder of their own")
    if stat.S_IMODE(info.st_mode) != 0o700:
        os.chmod(path, 0o700)


def _user_tag(user):
    return hashlib.sha256(user.encode()).hexdigest()[:12]


def sweep(work_dir):
    """Removes per-move includes whose module died before its `finally` (SIGKILL): their
    file names carry the pid that wrote them and a tag of the target user. Returns the tags
    of the moves that were cut off."""
    cut_off = []
    with contextlib.suppress(FileNotFoundError):
        for name in os.listdir(work_dir):
            parts = name.split(".")
            if not name.startswith(INCLUDE_PREFIX) or len(parts) != 5 or not parts[1].isdigit():
                continue
            pid = int(parts[1])
            if pid != os.getpid() and not _alive(pid):
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(os.path.join(work_dir, name))
                    cut_off.append(parts[2])
    return cut_off


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@contextlib.contextmanager
def prepared_move(params, move, creds):
    """The doveadm command of one move, valid while inside; its include is removed after."""
    source = params["source"]
    if source.get("master_user"):
        password = creds.read(source["password_file"], "the source master user")
    else:
        password = creds.read(move["source_password_file"], f"{move['source']} on the source server")
    work_dir = params["work_dir"]
    _work_dir(work_dir)
    name = f"{INCLUDE_PREFIX}{os.getpid()}.{_user_tag(move['target'])}.{secrets.token_hex(6)}.conf"
    path = os.path.join(work_dir, name)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(move_config(params, move, password))
        yield move_argv(params, path, move["target"])
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)


def _source_inventory(params, move, creds, ids=True):
    with imap_session(
        params["source"],
        move["source_login"],
        move["source_password_file"],
        creds,
        params["imap_timeout"],
        "source",
    ) as client:
        return inventory(client, params["exclude"], ids)


def target_uids(params, user, creds):
    """Per folder of the target user: the set of UIDs (doveadm fetch)."""
    rows = _target_rows(
        params, ["fetch", "-u", user, "mailbox uid", "all"],
        f"reading the messages of {user} on the target", creds,
    )  # fmt: skip
    folders = {}
    for row in rows:
        if (row.get("uid") or "").isdigit():
            folders.setdefault(row.get("mailbox", ""), set()).add(int(row["uid"]))
    return folders


def conflicts(source, before, uids):
    """Folders of the target that changed since the last move, as (folder, missing, added).

    A move keeps the source's UIDs. When the target lacks a source UID below its own UIDNEXT
    (a message removed there) or holds a UID the source has not given out yet (a message
    added there), or a folder with messages has another UIDVALIDITY, dsync's backup empties
    the folder and makes it anew - and cannot do that for INBOX: it stays empty and doveadm
    still ends with 0. Such a mailbox is refused before anything changes."""
    found = []
    for name, status in sorted(before.items()):
        have = uids.get(name, set())
        src = source.get(name)
        if not have or src is None:
            continue  # empty on the target, or gone at the source (removed there too)
        if str(src["uidvalidity"]) != str(status.get("uidvalidity")):
            found.append((name, 0, len(have)))
            continue
        uidnext = int(status.get("uidnext") or 0)
        missing = sum(1 for uid in src["uids"] - have if uid < uidnext)
        added = sum(1 for uid in have - src["uids"] if uid >= src["uidnext"])
        if missing or added:
            found.append((name, missing, added))
    return found


def _explain(stderr, move):
    detail = _said(stderr)
    if "quota" in detail.lower():
        return f"mailbox {move['source']}: the target mailbox {move['target']} is over its quota ({detail})"
    if "authentic" in detail.lower() or "login" in detail.lower():
        return f"mailbox {move['source']}: the source refused the login of {move['source_login']} ({detail})"
    if "INBOX can't be deleted" in detail:
        # The target's INBOX was made before the first move (a login, a client opening it):
        # it has an identity of its own, which backup would replace by deleting it.
        return (
            f"mailbox {move['source']}: the target mailbox {move['target']} was opened before "
            "its first move, so its INBOX has an identity of its own that dsync cannot replace; "
            "nothing was lost: empty the target's copy (remove its mail folder on the server) "
            f"and move it again ({detail})"
        )
    return f"mailbox {move['source']}: moving it to {move['target']} failed: {detail}"


def _errors(stderr):
    """doveadm's Error and Fatal lines: dsync ends with 0 after some of them."""
    return [x.strip() for x in (stderr or "").splitlines() if "Error:" in x or "Fatal:" in x]


def _sums(status):
    messages = sum(int(s["messages"] or 0) for s in status.values())
    size = sum(int(s["vsize"] or 0) for s in status.values())
    return messages, size


def _copied(before, after):
    """Messages and bytes that arrived, and messages removed, between two target statuses.
    A folder whose uidvalidity or guid changed was made anew: all it holds arrived."""
    arrived = size = removed = 0
    for name, now in after.items():
        was = before.get(name)
        if was is None or (was["guid"], was["uidvalidity"]) != (now["guid"], now["uidvalidity"]):
            arrived += int(now["messages"] or 0)
            size += int(now["vsize"] or 0)
            continue
        delta = int(now["messages"] or 0) - int(was["messages"] or 0)
        grown = int(now["vsize"] or 0) - int(was["vsize"] or 0)
        arrived += max(delta, 0)
        removed += max(-delta, 0)
        size += max(grown, 0)
    for name, was in before.items():
        if name not in after:
            removed += int(was["messages"] or 0)
    return arrived, size, removed


def _would_move(source, have):
    """Check mode: messages (and bytes) the source has and the target lacks, and messages
    the target has and the source does not (a move removes them)."""
    would = would_bytes = would_remove = 0
    for name, state in source.items():
        there = have.get(name, {"ids": Counter(), "size": 0})
        missing = state["ids"] - there["ids"]
        would += sum(missing.values())
        if missing:
            would_bytes += max(state["size"] - there["size"], 0)
    for name, there in have.items():
        ids = source.get(name, {"ids": Counter()})["ids"]
        would_remove += sum((there["ids"] - ids).values())
    return would, would_bytes, would_remove


def _would_report(move, source, have, started, **extra):
    """Check mode's report of one mailbox: what a move would copy and remove."""
    would, would_bytes, would_remove = _would_move(source, have)
    return {
        "source": move["source"],
        "target": move["target"],
        "status": "would move" if would or would_remove else "unchanged",
        "source_messages": sum(f["count"] for f in source.values()),
        "source_bytes": sum(f["size"] for f in source.values()),
        "messages": would,
        "bytes": would_bytes,
        "messages_removed": would_remove,
        "seconds": round(time.monotonic() - started, 3),
        **extra,
    }


def move_one(params, move, creds, check_mode, cut_off=()):
    """One mailbox: the target user exists, the source answers and fits the target's quota,
    the target did not change since the last move, then dsync (not in check mode). A dict
    describing what happened; MailMoveError naming the mailbox if not."""
    started = time.monotonic()
    user = move["target"]
    # The three reads before a move do not depend on each other: at once.
    with ThreadPoolExecutor(max_workers=3) as pool:
        reading = pool.submit(_source_inventory, params, move, creds, check_mode)
        status = pool.submit(target_status, params, user, creds)
        quota = pool.submit(quota_limit_kib, params, user, creds)
        source = reading.result()
        try:
            before, limit = status.result(), quota.result()
        except NoSuchUser:
            if not check_mode:
                raise
            # A check run before the identity step has created the user: all would move.
            return _would_report(move, source, {}, started, target_user="not there yet")
    report = {"source": move["source"], "target": user}
    source_size = sum(f["size"] for f in source.values())
    if limit is not None and source_size > limit * 1024:
        raise MailMoveError(
            f"mailbox {move['source']}: the target mailbox {user} is over its quota: the "
            f"source holds {source_size // 1024} KiB, the quota is {limit} KiB; nothing "
            "was copied"
        )
    if any(int(s.get("messages") or 0) for s in before.values()):
        changed = conflicts(source, before, target_uids(params, user, creds))
        if changed:
            where = ", ".join(
                f"{name} ({missing} missing there, {added} added there only)"
                for name, missing, added in changed
            )
            raise MailMoveError(
                f"mailbox {move['source']}: the target mailbox {user} changed since it was "
                f"last moved, in {where}: doveadm backup would empty those folders and make "
                "them anew (INBOX it cannot), so nothing was moved for this mailbox; remove "
                "the target's copy of the mailbox, then move it again"
            )
    if check_mode:
        # Fetching from a target that holds nothing would make its INBOX (Dovecot creates it
        # on open) with a UIDVALIDITY of its own, which the real move could then not replace.
        held = any(int(s.get("messages") or 0) for s in before.values())
        have = target_messages(params, user, creds) if held else {}
        return _would_report(move, source, have, started)
    with prepared_move(params, move, creds) as argv:
        rc, _out, err = run_process(
            argv, params["timeout"], f"mailbox {move['source']}: moving it", creds
        )
    if rc != 0 or _errors(err):
        raise MailMoveError(creds.clean(_explain(err, move)))
    after = target_status(params, user, creds)
    arrived, size, removed = _copied(before, after)
    messages, total = _sums(after)
    # A move a killed run cut off may have written messages its index already counted: the
    # rerun completes them without a difference in the folder status.
    resumed = _user_tag(user) in cut_off
    report.update(
        status="moved" if after != before or resumed else "unchanged",
        resumed=resumed,
        messages=arrived,
        bytes=size,
        messages_removed=removed,
        target_messages=messages,
        target_bytes=total,
        seconds=round(time.monotonic() - started, 3),
    )
    return report


# --- verification --------------------------------------------------------------------------


def _target_inventory(params, move, creds):
    with imap_session(
        params["target"],
        move["target_login"],
        move["target_password_file"],
        creds,
        params["imap_timeout"],
        "target",
    ) as client:
        return inventory(client, params["exclude"])


def _listed(counter):
    names = sorted(counter)
    more = len(names) - LISTED
    return names[:LISTED] + ([f"... {more} more"] if more > 0 else [])


def compare(source, target, investigate_ratio):
    """Per folder: counts, Message-IDs and sizes of both sides, and what differs; the
    mailbox's score (perfect, good, investigate, poor) and its findings."""
    folders, findings = {}, []
    missing_total = duplicated_total = extra_total = 0
    for name in sorted(set(source) | set(target)):
        want = source.get(name, {"count": 0, "ids": Counter(), "size": 0})
        have = target.get(name)
        if have is None:
            have = {"count": 0, "ids": Counter(), "size": 0}
            if want["count"]:
                findings.append(f"folder {name} is missing on the target")
        missing = want["ids"] - have["ids"]
        surplus = have["ids"] - want["ids"]
        duplicated = Counter({k: n for k, n in surplus.items() if k in want["ids"]})
        extra = Counter({k: n for k, n in surplus.items() if k not in want["ids"]})
        row = {
            "source_messages": want["count"],
            "target_messages": have["count"],
            "source_bytes": want["size"],
            "target_bytes": have["size"],
            "missing": sum(missing.values()),
            "duplicated": sum(duplicated.values()),
            "extra": sum(extra.values()),
        }
        folders[name] = row
        missing_total += row["missing"]
        duplicated_total += row["duplicated"]
        extra_total += row["extra"]
        if missing:
            findings.append(
                f"folder {name}: {row['missing']} missing ({', '.join(_listed(missing))})"
            )
        if duplicated:
            findings.append(
                f"folder {name}: {row['duplicated']} duplicated ({', '.join(_listed(duplicated))})"
            )
    source_messages = sum(f["count"] for f in source.values())
    wrong = missing_total + duplicated_total
    equal = all(
        r["missing"] == r["duplicated"] == r["extra"] == 0
        and r["source_messages"] == r["target_messages"]
        and r["source_bytes"] == r["target_bytes"]
        for r in folders.values()
    )
    if wrong == 0 and not any("missing on the target" in f for f in findings):
        score = "perfect" if equal else "good"
    elif wrong <= max(source_messages, 1) * investigate_ratio:
        score = "investigate"
    else:
        score = "poor"
    summary = {
        "score": score,
        "source_messages": source_messages,
        "target_messages": sum(f["count"] for f in target.values()),
        "source_bytes": sum(f["size"] for f in source.values()),
        "target_bytes": sum(f["size"] for f in target.values()),
        "missing": missing_total,
        "duplicated": duplicated_total,
        "extra": extra_total,
        "folders": len(source),
    }
    differing = {
        name: row
        for name, row in folders.items()
        if row["missing"] or row["duplicated"] or row["extra"]
        or row["source_bytes"] != row["target_bytes"]
    }
    return summary, differing, findings


def verify_one(params, move, creds):
    started = time.monotonic()
    source = _source_inventory(params, move, creds)
    target = _target_inventory(params, move, creds)
    summary, differing, findings = compare(source, target, params["investigate_ratio"])
    report = {"source": move["source"], "target": move["target"], **summary}
    if differing:
        report["differing_folders"] = differing
    if findings:
        report["findings"] = findings
    report["seconds"] = round(time.monotonic() - started, 3)
    return report


def check_one(params, move, creds):
    with imap_session(
        params["source"], move["source_login"], move["source_password_file"], creds,
        params["imap_timeout"], "source",
    ):
        pass
    if not params["target_users"]:
        return {"source": move["source"], "target": move["target"], "status": "answers at the source"}
    with imap_session(
        params["target"], move["target_login"], move["target_password_file"], creds,
        params["imap_timeout"], "target",
    ):
        pass
    doveadm(
        params["target"]["config"],
        ["user", move["target"]],
        params["command_timeout"],
        f"looking up {move['target']} on the target",
        creds,
    )
    return {"source": move["source"], "target": move["target"], "status": "answers"}


# --- a run ---------------------------------------------------------------------------------


def _each(params, moves, work):
    """work(move) for every move, `parallel` at a time, in the order given; a failure of one
    mailbox does not stop the others. Returns (reports, failures)."""
    reports, failures = [None] * len(moves), []

    def one(index):
        name = moves[index]["source"]
        try:
            reports[index] = work(moves[index])
            return
        except MailMoveError as exc:
            message = str(exc)
        except (OSError, imaplib.IMAP4.error, ssl.SSLError, ValueError) as exc:
            message = f"{type(exc).__name__}: {exc}"
        if not message.startswith(f"mailbox {name}"):
            message = f"mailbox {name}: {message}"
        reports[index] = {
            "source": name,
            "target": moves[index]["target"],
            "status": "failed",
            "msg": message,
        }
        failures.append((index, message))

    workers = max(1, min(params["parallel"], len(moves)))
    if workers == 1:
        for index in range(len(moves)):
            one(index)
    else:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            list(pool.map(one, range(len(moves))))
    failures.sort()
    return reports, [message for _, message in failures]


def run(params, check_mode=False):
    """The module's work: the result dict; MailMoveError (with the result's details) on
    failure. Every text in either is cleaned of the passwords it read."""
    state = params["state"]
    creds = Secrets()
    try:
        _require(params, state)
        moves = resolve(params)
        result = {"changed": False, "state": state}
        if state == "moved":
            result.update(_moved(params, moves, creds, check_mode))
        elif state == "verified":
            result.update(_verified(params, moves, creds))
        else:
            if not params["target_users"]:  # before the accounts exist: the server answers
                client = imap_connect(params["target"], params["imap_timeout"], "target")
                with contextlib.suppress(OSError, imaplib.IMAP4.error):
                    client.logout()
            reports, failures = _each(params, moves, lambda m: check_one(params, m, creds))
            result["mailboxes"] = reports
            result["eendracht_counts"] = {"mailboxes_checked": len(moves) - len(failures)}
            if failures:
                raise MailMoveError(
                    f"{len(failures)} of {len(moves)} mailboxes cannot log in: "
                    + "; ".join(failures),
                    **result,
                )
        return result
    except MailMoveError as exc:
        details = json.loads(creds.clean(json.dumps(exc.details)))
        raise MailMoveError(creds.clean(str(exc)), **details) from None


def _moved(params, moves, creds, check_mode):
    if not check_mode:
        _work_dir(params["work_dir"])
        cut_off = sweep(params["work_dir"])
    else:
        cut_off = []
    reports, failures = _each(
        params, moves, lambda m: move_one(params, m, creds, check_mode, cut_off)
    )
    done = [r for r in reports if r.get("status") in ("moved", "would move")]
    counts = {
        "mailboxes_moved": len(done),
        "messages": sum(r.get("messages", 0) for r in reports),
        "bytes": sum(r.get("bytes", 0) for r in reports),
    }
    result = {
        "changed": bool(done),
        "mailboxes": reports,
        "eendracht_counts": counts,
        "includes_swept": len(cut_off),
    }
    if failures:
        raise MailMoveError(
            f"{len(failures)} of {len(moves)} mailboxes not moved: " + "; ".join(failures),
            **result,
        )
    return result


def _verified(params, moves, creds):
    reports, failures = _each(params, moves, lambda m: verify_one(params, m, creds))
    bad = [r for r in reports if r.get("score") in ("investigate", "poor")]
    for r in bad:
        failures.append(
            f"mailbox {r['source']} ({r['score']}): " + "; ".join(r.get("findings", [])[:LISTED])
        )
    verified = [r for r in reports if r.get("score") in ("perfect", "good")]
    counts = {
        "mailboxes_verified": len(verified),
        "messages_verified": sum(r["target_messages"] for r in verified),
    }
    scores = Counter(r.get("score", "failed") for r in reports)
    result = {"mailboxes": reports, "scores": dict(scores), "eendracht_counts": counts}
    if failures:
        raise MailMoveError(
            f"{len(failures)} of {len(moves)} mailboxes not verified: " + "; ".join(failures),
            **result,
        )
    return result
