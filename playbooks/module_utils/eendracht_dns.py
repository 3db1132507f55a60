"""DNS records in one batched, TSIG-signed RFC 2136 update, with rollback state.

The one implementation of the dns role's work. The role's action plugin
(`roles/dns/action_plugins/eendracht_dns_batch.py`) runs it in Ansible's worker on the
controller, where the TSIG key file is: no module is built, shipped or started. The module of
the same name (`roles/dns/library/`) imports it as `ansible.module_utils.eendracht_dns`
(Ansible ships this file with the module: `module_utils` in ansible.cfg) for runs without the
role's action plugin (`ansible -m`). Nothing here knows which of the two runs it: failures are
raised as `DnsBatchError`, and `run_batch` returns the result.

DNS is spoken through dnspython (`dns.*`, a dependency of the project; the module runs on the
controller, delegated to localhost, with the controller's interpreter, so it imports it as the
action plugin does). The exchanges are those of `dig -k … AXFR` and `nsupdate -v -k`, over
TCP: one signed zone transfer to read what is there, one signed update message per ≤ 600
lines (the lines `nsupdate` would take), each answer's TSIG checked by dnspython. No client
process is started: for a thousand records, starting dig and nsupdate and reading dig's output
took about as long as the exchanges with the server themselves.

Who signs is one `dns.tsig.Key`, made by `signing_key`: every request is signed with it
(`Message.use_tsig`) and every answer checked with it (`keyring=`). It is an HMAC key from a
key file as `nsupdate -k` takes it (BIND), or a GSS-TSIG key (`nsupdate -g`, AD-integrated
zones on Windows or Samba domain controllers): the same object around a Kerberos context
negotiated with the server (module_utils/eendracht_gss.py). A server that will not transfer
its zone (Samba) is read record by record, and a GSS-signed update is rendered at most 15,000
bytes (Samba cannot sign a larger answer).
"""

from __future__ import annotations

import base64
import binascii
import gc
import json
import os
import re
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.opcode
import dns.query
import dns.rcode
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.renderer
import dns.rrset
import dns.tsig
import dns.update
import dns.xfr

from ansible.module_utils.eendracht_gc import fewer_collections
from ansible.module_utils.eendracht_gss import MAX_MESSAGE_BYTES, GssError, negotiated_key

STATES = ("lowered", "cutover", "restored", "verify", "verify_source", "check")

# The arguments, as the module's AnsibleModule and the action plugin's validation take them.
ARGUMENT_SPEC: dict[str, dict[str, Any]] = {
    "state": {"type": "str", "default": "cutover", "choices": list(STATES)},
    "server": {"type": "str", "required": True},
    "port": {"type": "int", "default": 53},
    "key_file": {"type": "path", "default": ""},
    # GSS-TSIG (AD-integrated zones): principal, keytab, krb5_conf, server_name (the DNS
    # server's host name: its service principal is DNS/<server_name>).
    "kerberos": {"type": "dict", "default": {}},
    "zones": {"type": "list", "elements": "dict", "required": True},
    "record_types": {"type": "list", "elements": "str", "default": []},
    "state_file": {"type": "path", "required": True},
    "outputs": {"type": "dict", "default": {}},
    "timeout": {"type": "int", "default": 120},
}

HOSTNAME_TYPES = ("CNAME", "MX", "SRV", "NS", "PTR")
# The record types read (a programme's, and SOA for the preflight's check); others are skipped.
TYPES = frozenset(("A", "AAAA", "CNAME", "MX", "NS", "PTR", "SOA", "SRV", "TXT"))
_RDTYPES = {dns.rdatatype.from_text(t): t for t in TYPES}
_RDTYPE = {t: rdtype for rdtype, t in _RDTYPES.items()}
_ADDRESS_CLASSES = {t: dns.rdata.get_rdata_class(dns.rdataclass.IN, _RDTYPE[t]) for t in ("A", "AAAA")}
for _rdtype in (*_RDTYPES, dns.rdatatype.TSIG):
    # dnspython imports a type's class when first used: here, when Ansible loads the action
    # plugin in ansible-playbook's process, not again in every worker it forks.
    dns.rdata.get_rdata_class(dns.rdataclass.IN, _rdtype)
    dns.rdata.get_rdata_class(dns.rdataclass.ANY, _rdtype)

# An update message travels over TCP and is at most 64 KiB: larger batches are sent in parts,
# never splitting an rrset between its delete and its adds.
MAX_LINES_PER_MESSAGE = 600

# TSIG algorithms: the name in a key file, dnspython's (the name on the wire), the number in a
# `K*.private` file.
ALGORITHMS = {
    "hmac-md5": (dns.tsig.HMAC_MD5, 157),
    "hmac-sha1": (dns.tsig.HMAC_SHA1, 161),
    "hmac-sha224": (dns.tsig.HMAC_SHA224, 162),
    "hmac-sha256": (dns.tsig.HMAC_SHA256, 163),
    "hmac-sha384": (dns.tsig.HMAC_SHA384, 164),
    "hmac-sha512": (dns.tsig.HMAC_SHA512, 165),
}
# What a TSIG error the server answers with is called (dnspython raises one class for each).
PEER_ERRORS = {
    dns.tsig.PeerBadKey: "BADKEY",
    dns.tsig.PeerBadSignature: "BADSIG",
    dns.tsig.PeerBadTime: "BADTIME",
    dns.tsig.PeerBadTruncation: "BADTRUNC",
}


class DnsBatchError(Exception):
    """The run fails with this message (and the counts so far, when there are any)."""

    def __init__(self, msg: str, counts: dict[str, int] | None = None) -> None:
        super().__init__(msg)
        self.msg = msg
        self.counts = counts


def fqdn(name: str, zone: str) -> str:
    return zone + "." if name == "@" else f"{name}.{zone}."


def normalise(rtype: str, value: Any) -> str:
    value = " ".join(str(value).split())
    if rtype in HOSTNAME_TYPES and not value.endswith("."):
        value += "."
    if rtype == "TXT" and not value.startswith('"'):
        value = f'"{value}"'
    return value


# --- who signs ------------------------------------------------------------------------------


def read_key(path: str) -> dns.tsig.Key:
    """The TSIG key of a key file as `nsupdate -k` takes it: a `key "name" { algorithm …;
    secret "…"; };` clause (tsig-keygen) or a `K<name>.+<alg>+<id>.private` file. (dnspython
    reads no key files: it takes the name, secret and algorithm read here.)"""
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except OSError as exc:
        raise DnsBatchError(f"TSIG key file {path}: {exc.strerror}") from None
    # Comments: /* … */ and whole lines of # or // (a base64 secret may hold "//").
    text = re.sub(r"/\*.*?\*/|^\s*(#|//)[^\n]*", " ", text, flags=re.S | re.M)
    clause = re.search(r'\bkey\s+"?([^"\s{]+)"?\s*\{(.*?)\}\s*;', text, re.S)
    if clause:
        algorithm = re.search(r'\balgorithm\s+"?([\w.-]+)"?\s*;', clause.group(2))
        secret = re.search(r'\bsecret\s+"([^"]+)"\s*;', clause.group(2))
        name = clause.group(1)
        alg_name = algorithm.group(1).lower().rstrip(".") if algorithm else ""
        alg_name = "hmac-md5" if alg_name == "hmac-md5.sig-alg.reg.int" else alg_name
        secret_text = secret.group(1) if secret else ""
    else:
        number = re.search(r"^Algorithm:\s*(\d+)", text, re.M)
        secret = re.search(r"^Key:\s*(\S+)", text, re.M)
        base = os.path.basename(path)
        name = base[1:].split("+")[0] if base.startswith("K") and "+" in base else ""
        by_number = {n: a for a, (_, n) in ALGORITHMS.items()}
        alg_name = by_number.get(int(number.group(1)), "") if number else ""
        secret_text = secret.group(1) if secret else ""
    if not name or alg_name not in ALGORITHMS or not secret_text:
        raise DnsBatchError(f"TSIG key file {path}: no key with a known algorithm and a secret")
    try:
        secret_bytes = base64.b64decode(secret_text, validate=True)
        key_name = dns.name.from_text(name.lower())
    except (binascii.Error, ValueError, dns.exception.DNSException):
        raise DnsBatchError(f"TSIG key file {path}: the secret is not base64") from None
    return dns.tsig.Key(key_name, secret_bytes, ALGORITHMS[alg_name][0])


def signing_key(params: dict[str, Any]) -> dns.tsig.Key:
    """The key that signs every request of the batch and checks every answer: an HMAC-TSIG
    key from `key_file`, or for AD-integrated zones a GSS-TSIG key negotiated with the server
    from `kerberos` (module_utils/eendracht_gss.py); dnspython signs and checks with either."""
    kerberos = params.get("kerberos") or {}
    if params.get("key_file") and kerberos:
        raise DnsBatchError("give the TSIG key file or the Kerberos settings (kerberos), not both")
    if not kerberos:
        if not params.get("key_file"):
            raise DnsBatchError("no key to sign with: a TSIG key file (key_file) or kerberos")
        return read_key(params["key_file"])
    unknown = sorted(set(kerberos) - {"principal", "keytab", "krb5_conf", "server_name"})
    if unknown or not kerberos.get("server_name") or not kerberos.get("principal"):
        raise DnsBatchError(
            "kerberos needs principal and server_name (and keytab, krb5_conf)"
            + (f"; unknown: {', '.join(unknown)}" if unknown else "")
        )
    try:
        return negotiated_key(params["server"], params["port"], kerberos, params["timeout"])
    except GssError as exc:
        raise DnsBatchError(str(exc)) from None


def max_message_bytes(key: dns.tsig.Key) -> int:
    """How large a signed update may be rendered: 64 KiB, or what a GSS-TSIG answer can echo."""
    return MAX_MESSAGE_BYTES if key.algorithm == dns.tsig.GSS_TSIG else 65_535


# --- exchanges with the server ---------------------------------------------------------------


@contextmanager
def _exchange(what: str, timeout: int = 0, key: dns.tsig.Key | None = None) -> Iterator[None]:
    """dnspython's and the network's failures as DnsBatchError, each naming the exchange."""
    try:
        yield
    except (dns.exception.Timeout, TimeoutError):
        raise DnsBatchError(f"{what} timed out after {timeout} s") from None
    except EOFError:
        raise DnsBatchError(f"{what}: the server closed the connection") from None
    except OSError as exc:
        raise DnsBatchError(f"{what}: {exc.strerror or exc}") from None
    except dns.tsig.PeerError as exc:
        error = PEER_ERRORS.get(type(exc), str(exc))
        raise DnsBatchError(f"{what}: the server refused the TSIG key {_key_name(key)} ({error})") from None
    except dns.xfr.TransferError as exc:
        raise DnsBatchError(f"{what}: {dns.rcode.to_text(exc.rcode)}") from None
    except dns.tsig.BadSignature:
        raise DnsBatchError(f"{what}: the answer's TSIG signature does not verify") from None
    except dns.tsig.BadTime:
        raise DnsBatchError(f"{what}: the answer's TSIG time is off by more than its fudge") from None
    except (dns.tsig.BadKey, dns.tsig.BadAlgorithm, dns.message.UnknownTSIGKey):
        raise DnsBatchError(f"{what}: the answer is signed with another key") from None
    except dns.exception.DNSException as exc:
        raise DnsBatchError(f"{what}: malformed answer ({exc})") from None


def _key_name(key: dns.tsig.Key | None) -> str:
    return key.name.to_text() if key is not None else "?"


@contextmanager
def _connection(server: str, port: int, timeout: int, what: str) -> Iterator[tuple[socket.socket, float]]:
    """A TCP connection to the server, as dnspython's send_tcp and receive_tcp take it (not
    blocking), and the time every exchange over it has to end by."""
    expiration = time.time() + timeout
    with _exchange(what, timeout):
        sock = socket.create_connection((server, port), timeout=timeout)
    try:
        sock.setblocking(False)
        yield sock, expiration
    finally:
        sock.close()


def _collect(found: dict[tuple[str, str], tuple[list[str], int]], answer: dns.message.Message,
             wanted: set[tuple[str, str]] | None) -> None:  # fmt: skip
    """The answer's records of the types read, as dig prints them: (name, type) -> values, TTL."""
    for rrset in answer.answer:
        rtype = _RDTYPES.get(rrset.rdtype)
        if rtype is None or rrset.rdclass != dns.rdataclass.IN:
            continue
        key = (rrset.name.to_text().lower(), rtype)
        if wanted is not None and key not in wanted:
            continue
        values = found[key][0] if key in found else []
        values.extend(rdata.to_text() for rdata in rrset)
        found[key] = (values, rrset.ttl)


QUESTIONS_AHEAD = 100


def query_all(server: str, port: int, wanted: list[tuple[str, str]], timeout: int) -> dict[tuple[str, str], tuple[list[str], int | None]]:
    """Answers of many (name, type) questions over one connection (as `dig -f` asked them:
    unsigned, no recursion), up to a hundred questions sent ahead of their answers."""
    keys = {(name.lower(), rtype) for name, rtype in wanted}
    found: dict[tuple[str, str], tuple[list[str], int]] = {}
    questions = list(keys)
    what = f"query to {server}"
    with _connection(server, port, timeout, what) as (sock, expiration), _exchange(what, timeout):
        # At most QUESTIONS_AHEAD unanswered: answers never wait on a full buffer for questions.
        for first in range(0, len(questions), QUESTIONS_AHEAD):
            pending = {}
            for msg_id, (name, rtype) in enumerate(questions[first : first + QUESTIONS_AHEAD]):
                question = dns.message.make_query(name, rtype, flags=0, id=msg_id)
                pending[msg_id] = question
                dns.query.send_tcp(sock, question, expiration)
            while pending:
                answer, _ = dns.query.receive_tcp(sock, expiration)
                question = pending.pop(answer.id, None)
                if question is None or not question.is_response(answer):
                    raise DnsBatchError(f"{what}: an answer to no question")
                _collect(found, answer, keys)
    out: dict[tuple[str, str], tuple[list[str], int | None]] = {key: ([], None) for key in keys}
    out.update({key: (sorted(values), ttl) for key, (values, ttl) in found.items()})
    return out


def query(server: str, port: int, name: str, rtype: str, timeout: int) -> tuple[list[str], int | None]:
    return query_all(server, port, [(name, rtype)], timeout)[(name.lower(), rtype)]


def zone_transfer(server: str, port: int, key: dns.tsig.Key, zone: str, timeout: int,
                  wanted: set[tuple[str, str]] | None = None,
                  ) -> dict[tuple[str, str], tuple[list[str], int | None]] | None:  # fmt: skip
    """Every record of the zone in one signed AXFR (dnspython checks the TSIG of the first and
    the last message and of every one signed between); None when the server refuses it (an
    error answer, or a TSIG error, to the request) or does not transfer zones at all: Samba's
    DNS answers an AXFR with an empty NOERROR. With `wanted`, only those (name, type) pairs
    (lower case) are kept."""
    what = f"AXFR of {zone} from {server}"
    found: dict[tuple[str, str], tuple[list[str], int]] = {}
    with _exchange(what, timeout, key):
        address = socket.getaddrinfo(server, port, type=socket.SOCK_STREAM)[0][4][0]
        transfer = dns.query.xfr(address, zone + ".", port=port, keyring=key, relativize=False,
                                 timeout=timeout, lifetime=timeout)  # fmt: skip
        first = True
        try:
            for answer in transfer:
                first = False
                _collect(found, answer, wanted)
        except (dns.xfr.TransferError, dns.tsig.PeerError, dns.exception.FormError):
            if first:
                return None  # refused, NOTAUTH or no transfer: the caller asks record by record
            raise
        finally:
            transfer.close()
    return {rrset: (sorted(values), ttl) for rrset, (values, ttl) in found.items()}


def read_records(server: str, port: int, key: dns.tsig.Key | None, zone: str,
                 wanted: list[tuple[str, str]], timeout: int,
                 ) -> dict[tuple[str, str], tuple[list[str], int | None]]:  # fmt: skip
    """Current answers for the wanted (name, type) pairs: one AXFR, else one query each."""
    keys = {(n.lower(), t) for n, t in wanted}
    whole = None if key is None else zone_transfer(server, port, key, zone, timeout, keys)
    if whole is None:
        return query_all(server, port, wanted, timeout)
    return {(n.lower(), t): whole.get((n.lower(), t), ([], None)) for n, t in wanted}


def group_parts(groups: Any) -> Any:
    """The rrset line groups in parts of at most MAX_LINES_PER_MESSAGE lines (a group is never
    split: an rrset's delete and its adds travel together)."""
    part: list[list[str]] = []
    size = 0
    for group in groups:
        if part and size + len(group) > MAX_LINES_PER_MESSAGE:
            yield part
            part, size = [], 0
        part.append(group)
        size += len(group)
    if part:
        yield part


def messages(groups: Any) -> Any:
    """The update lines of each message, as nsupdate would be given them between `send`s."""
    for part in group_parts(groups):
        yield [line for group in part for line in group]


def update_message(zone: str, lines: list[str], key: dns.tsig.Key | None = None) -> dns.update.UpdateMessage:
    """One RFC 2136 update of `zone` from nsupdate's lines: `update delete NAME TYPE`,
    `update add NAME TTL TYPE VALUE` and `prereq yxdomain NAME`; signed with `key` if given.
    Names and values are absolute (as the batch writes them). The update section's RRsets are
    made as UpdateMessage.delete and .add make them (class ANY without data; class IN with the
    values), without its search of the section for each line: the lines come as whole rrsets."""
    update = dns.update.UpdateMessage(zone + ".")
    section = update.update
    names: dict[str, dns.name.Name] = {}
    adding: dict[tuple[str, str], dns.rrset.RRset] = {}
    for line in lines:
        words = line.split(None, 5)
        if len(words) < 3:
            raise DnsBatchError(f"not an update line: {line!r}")
        name = names.get(words[2])
        if name is None:
            try:
                name = names[words[2]] = dns.name.from_text(words[2], dns.name.root)
            except dns.exception.DNSException:
                raise DnsBatchError(f"not a domain name: {words[2]!r}") from None
        if words[:2] == ["update", "add"] and len(words) == 6 and words[4] in TYPES and words[3].isdigit():
            rrset = adding.get((words[2], words[4]))
            if rrset is None:
                rrset = adding[(words[2], words[4])] = dns.rrset.RRset(name, dns.rdataclass.IN, _RDTYPE[words[4]])
                section.append(rrset)
            rrset.add(_rdata(words[4], words[5]), int(words[3]))
        elif words[:2] == ["update", "delete"] and len(words) == 4 and words[3] in TYPES:
            section.append(dns.rrset.RRset(name, dns.rdataclass.ANY, _RDTYPE[words[3]],
                                           deleting=dns.rdataclass.ANY))  # fmt: skip
        elif words[:2] == ["prereq", "yxdomain"] and len(words) == 3:
            update.present(name)
        else:
            raise DnsBatchError(f"not an update line: {line!r}")
    if key is not None:
        update.use_tsig(key)
    return update


def _rdata(rtype: str, text: str) -> dns.rdata.Rdata:
    """RDATA of a value in presentation form (what `update add` takes), names absolute. An
    address is made by its class directly (half the time of dnspython's tokenizer)."""
    try:
        if rtype in _ADDRESS_CLASSES:
            return _ADDRESS_CLASSES[rtype](dns.rdataclass.IN, _RDTYPE[rtype], text.strip())
        return dns.rdata.from_text(dns.rdataclass.IN, rtype, text, dns.name.root, relativize=False)
    except (dns.exception.DNSException, ValueError):
        raise DnsBatchError(f"not a {rtype} value: {text!r}") from None


class _ExactCase(dict):  # type: ignore[type-arg]
    """A compression table that points a name only at an earlier name of the same case.
    dnspython's own compares names without case, and named stores a name as it decompresses
    it: `mx1.example.nl.` after `Target.Example.nl.` would become `mx1.Example.nl.` (nsupdate
    compresses case-exactly)."""

    def get(self, name: dns.name.Name, default: Any = None) -> Any:
        return super().get(name.labels, default)

    def __setitem__(self, name: dns.name.Name, offset: int) -> None:
        super().__setitem__(name.labels, offset)


def to_wire(message: dns.message.Message) -> bytes:
    """`message.to_wire()` (with its TSIG signed, and its MAC kept for the answer's check),
    its names compressed case-exactly."""
    render = dns.renderer.Renderer(message.id, message.flags, 65535)
    render.compress = _ExactCase()
    for rrset in message.question:
        render.add_question(rrset.name, rrset.rdtype, rrset.rdclass)
    for section, rrsets in ((dns.renderer.ANSWER, message.answer),
                            (dns.renderer.AUTHORITY, message.authority),
                            (dns.renderer.ADDITIONAL, message.additional)):  # fmt: skip
        for rrset in rrsets:
            render.add_rrset(section, rrset, want_shuffle=False)
    render.write_header()
    if message.tsig is not None:
        signed, _ = dns.tsig.sign(render.get_wire(), message.keyring, message.tsig[0],
                                  int(time.time()), message.request_mac)  # fmt: skip
        message.tsig.clear()
        message.tsig.add(signed)
        render.add_rrset(dns.renderer.ADDITIONAL, message.tsig)
        render.write_header()
    return render.get_wire()


def send_updates(server: str, port: int, key: dns.tsig.Key, batches: dict[str, list[list[str]]],
                 timeout: int) -> None:  # fmt: skip
    """batches: {zone: [rrset line groups]}; over one connection, one signed message per part,
    as nsupdate sends them: each sent once the one before was answered and its answer's TSIG
    checked. The next one is built while the server works on the one before. A part that
    renders larger than the key allows (max_message_bytes) is sent as two halves."""
    parts = [(zone, part) for zone, groups in batches.items() for part in group_parts(groups)]
    if not parts:
        return
    limit = max_message_bytes(key)
    with _connection(server, port, timeout, f"update to {server}") as (sock, expiration):
        sent: tuple[dns.message.Message, str] | None = None
        while parts:
            zone, part = parts.pop(0)
            what = f"update of {zone} at {server}"
            request = update_message(zone, [line for group in part for line in group], key)
            try:
                wire = to_wire(request)
            except dns.exception.TooBig:
                wire = b""
            if not wire or len(wire) > limit:
                if len(part) == 1:
                    raise DnsBatchError(f"{what}: one record set is larger than {limit} bytes")
                half = len(part) // 2
                parts[:0] = [(zone, part[:half]), (zone, part[half:])]
                continue
            if sent is not None:
                _answered(sock, expiration, timeout, key, *sent)
            with _exchange(what, timeout, key):
                dns.query.send_tcp(sock, wire, expiration)
            sent = (request, what)
        assert sent is not None
        _answered(sock, expiration, timeout, key, *sent)


def _answered(sock: socket.socket, expiration: float, timeout: int, key: dns.tsig.Key,
              request: dns.message.Message, what: str) -> None:  # fmt: skip
    with _exchange(what, timeout, key):
        answer, _ = dns.query.receive_tcp(sock, expiration, keyring=False)
    check_answer(request, answer, key, what)


def check_answer(request: dns.message.Message, answer: dns.message.Message, key: dns.tsig.Key,
                 what: str) -> dns.message.Message:  # fmt: skip
    """The answer to a signed request, read as it came (`keyring=False`), checked: it answers
    the request, it is signed and its TSIG verifies with the key (dnspython, RFC 8945), and it
    reports success. An unsigned answer is reported by its rcode too."""
    if not request.is_response(answer):
        raise DnsBatchError(f"{what}: an answer to another message")
    if not answer.had_tsig:
        if answer.rcode() != dns.rcode.NOERROR:
            raise DnsBatchError(f"{what} failed: {dns.rcode.to_text(answer.rcode())} (unsigned)")
        raise DnsBatchError(f"{what}: the answer is not signed (TSIG)")
    with _exchange(what, key=key):
        answer = dns.message.from_wire(answer.wire, keyring=key, request_mac=request.mac)
    if answer.rcode() != dns.rcode.NOERROR:
        raise DnsBatchError(f"{what} failed: {dns.rcode.to_text(answer.rcode())}")
    return answer


def new_value_of(record: dict[str, Any], outputs: dict[str, Any]) -> str | None:
    if record.get("cutover_to"):
        return str(record["cutover_to"])
    name = record.get("cutover_output")
    if not name:
        return None
    if name not in outputs:
        raise DnsBatchError(f"record {record['name']} {record['type']}: no stack output {name!r}")
    value = outputs[name]
    if str(record["type"]).upper() == "MX" and " " not in str(value):
        value = f"0 {value}"
    return str(value)


def rrset_lines(name: str, rtype: str, ttl: int, values: list[str]) -> list[str]:
    lines = [f"update delete {name} {rtype}"]
    lines += [f"update add {name} {ttl} {rtype} {v}" for v in values]
    return lines


def load_state(path: str) -> dict[str, Any]:
    if os.path.exists(path):
        with open(path, encoding="utf-8") as handle:
            state: dict[str, Any] = json.load(handle)
            return state
    return {}


def save_state(path: str, state: dict[str, Any]) -> None:
    """Written whole or not at all (a temporary file renamed), one record per line."""
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    # One pass of the C encoder: `}, "` only ever ends a record (quotes in values are escaped).
    text = json.dumps(state, sort_keys=True).replace('}, "', '},\n "')
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as handle:
        handle.write("{\n " + text[1:-1] + "\n}\n" if state else "{}\n")
    os.replace(tmp, path)


def check_zones(zones: Any, record_types: list[str]) -> list[dict[str, Any]]:
    """The zones as the batch takes them: each a name, a cutover_ttl and its records (name,
    type, ...); with record_types, only the records of those types (the step's narrowing)."""
    if not isinstance(zones, list):
        raise DnsBatchError(f"zones must be a list of zones, not {type(zones).__name__}")
    wanted = {t.upper() for t in record_types}
    out = []
    for index, zone in enumerate(zones):
        if not isinstance(zone, dict) or not zone.get("name"):
            raise DnsBatchError(f"zones[{index}] must be a zone with a name")
        records = zone.get("records") or []
        if not isinstance(records, list) or not all(
            isinstance(r, dict) and r.get("name") and r.get("type") for r in records
        ):
            raise DnsBatchError(f"zone {zone['name']}: every record needs a name and a type")
        if wanted:
            records = [r for r in records if str(r["type"]).upper() in wanted]
            if not records:
                continue  # nothing of this zone in this step
        out.append({**zone, "records": records})
    return out


def run_batch(params: dict[str, Any], check_mode: bool) -> dict[str, Any]:
    """Does what `state` says to every record of `zones` that cuts over; returns the result
    (changed, eendracht_counts). The original records are written to `state_file` before the
    first change; in check mode nothing is written or sent."""
    with fewer_collections():
        return _run_batch(params, check_mode)


def _run_batch(params: dict[str, Any], check_mode: bool) -> dict[str, Any]:
    server, port, state, timeout = params["server"], params["port"], params["state"], params["timeout"]
    outputs = params["outputs"] or {}
    if not server:
        raise DnsBatchError("no DNS server given (dns_server)")
    zones = check_zones(params["zones"], params.get("record_types") or [])
    if state == "check":
        batches: dict[str, list[list[str]]] = {}
        for zone in zones:
            soa, _ = query(server, port, zone["name"] + ".", "SOA", timeout)
            if not soa:
                raise DnsBatchError(f"no SOA for {zone['name']} on {server}:{port}")
            batches[zone["name"]] = [[f"prereq yxdomain {zone['name']}."]]
        if not check_mode:
            send_updates(server, port, signing_key(params), batches, timeout)
        return {"changed": False, "eendracht_counts": {"zones_checked": len(zones)}}
    # Every record's new value first: a missing stack output fails the run before any read.
    moving_by_zone = []
    for zone in zones:
        moving = []
        for record in zone["records"]:
            new_value = new_value_of(record, outputs)
            if new_value is not None:  # else this record does not cut over
                rtype = str(record["type"]).upper()
                moving.append((record, new_value, fqdn(record["name"], zone["name"]), rtype))
        if moving and state in ("lowered", "cutover") and not isinstance(zone.get("cutover_ttl"), int):
            raise DnsBatchError(f"zone {zone['name']}: cutover_ttl must be a number of seconds")
        moving_by_zone.append((zone, moving))
    # The key signs the read and the update; a check of the answers (verify) reads them without
    # it when it cannot be read, as it does when the server refuses the transfer.
    key = None
    if any(moving for _, moving in moving_by_zone):
        try:
            key = signing_key(params)
        except DnsBatchError:
            if state not in ("verify", "verify_source"):
                raise
    originals = load_state(params["state_file"])
    batches = {}
    counts = {"records_updated": 0, "records_unchanged": 0, "records_verified": 0}
    wrong: list[str] = []
    recorded_now = False
    read_seconds = 0.0
    for zone, moving in moving_by_zone:
        lines = []
        batches[zone["name"]] = lines
        if not moving:
            continue  # nothing of this zone cuts over: nothing to read
        started = time.monotonic()
        answers = read_records(server, port, key, zone["name"], [(n, t) for _, _, n, t in moving], timeout)
        read_seconds += time.monotonic() - started
        for record, new_value, name, rtype in moving:
            key_text = f"{name} {rtype}"
            values, ttl = answers[(name.lower(), rtype)]
            new = [normalise(rtype, new_value)]
            if state == "verify_source":
                new = [normalise(rtype, record["value"])]
            if state in ("verify", "verify_source"):
                if values == new:
                    counts["records_verified"] += 1
                else:
                    wrong.append(f"{key_text}: {values} instead of {new}")
                continue
            if key_text not in originals:
                if state == "restored":
                    continue  # never changed by this wave
                # The first time the wave touches a record, what it was is kept for rollback.
                originals[key_text] = {"values": values, "ttl": ttl if ttl is not None else record["ttl"]}
                recorded_now = True
            original = originals[key_text]
            if state == "lowered":
                want_values = values or original["values"]
                want_ttl = min(zone["cutover_ttl"], original["ttl"])
            elif state == "cutover":
                want_values, want_ttl = new, zone["cutover_ttl"]
            else:  # restored
                want_values, want_ttl = original["values"], original["ttl"]
            if sorted(values) == sorted(want_values) and ttl == want_ttl:
                counts["records_unchanged"] += 1
                continue
            lines.append(rrset_lines(name, rtype, want_ttl, want_values))
            counts["records_updated"] += 1
    if wrong:
        raise DnsBatchError(
            f"{len(wrong)} records do not answer the new value: {'; '.join(wrong[:10])}", counts
        )
    if state == "verify" and not counts["records_verified"]:
        raise DnsBatchError("nothing to verify: no record of these zones cuts over", counts)
    if check_mode:
        return {"changed": counts["records_updated"] > 0, "eendracht_counts": counts}
    if recorded_now:
        save_state(params["state_file"], originals)
    started = time.monotonic()
    if key is not None:
        send_updates(server, port, key, batches, timeout)
    counts["dns_read_ms"] = round(read_seconds * 1000)
    counts["dns_update_ms"] = round((time.monotonic() - started) * 1000)
    if state == "restored" and os.path.exists(params["state_file"]):
        os.unlink(params["state_file"])  # restored: the next wave records afresh
    return {"changed": counts["records_updated"] > 0, "eendracht_counts": counts}
