"""DNS records in one batched, TSIG-signed RFC 2136 update, with rollback state.

The one implementation of the dns role's work. The role's action plugin
(`roles/dns/action_plugins/eendracht_dns_batch.py`) runs it in Ansible's worker on the
controller, where the TSIG key file is: no module is built, shipped or started. The module of
the same name (`roles/dns/library/`) imports it as `ansible.module_utils.eendracht_dns`
(Ansible ships this file with the module: `module_utils` in ansible.cfg) for runs without the
role's action plugin (`ansible -m`). Nothing here knows which of the two runs it: failures are
raised as `DnsBatchError`, and `run_batch` returns the result.

The DNS exchanges are made here, over TCP, as `dig -k … AXFR` and `nsupdate -v -k` make them:
one signed zone transfer to read what is there, one signed update message per ≤ 600 lines
(the lines `nsupdate` would take), each answer's TSIG checked. No client process is started:
for a thousand records, starting dig and nsupdate and reading dig's output took about as long
as the exchanges with the server themselves.
"""

from __future__ import annotations

import base64
import hmac
import json
import os
import re
import socket
import struct
import time
from typing import Any

STATES = ("lowered", "cutover", "restored", "verify", "verify_source", "check")

# The arguments, as the module's AnsibleModule and the action plugin's validation take them.
ARGUMENT_SPEC: dict[str, dict[str, Any]] = {
    "state": {"type": "str", "default": "cutover", "choices": list(STATES)},
    "server": {"type": "str", "required": True},
    "port": {"type": "int", "default": 53},
    "key_file": {"type": "path", "required": True},
    "zones": {"type": "list", "elements": "dict", "required": True},
    "record_types": {"type": "list", "elements": "str", "default": []},
    "state_file": {"type": "path", "required": True},
    "outputs": {"type": "dict", "default": {}},
    "timeout": {"type": "int", "default": 120},
}

HOSTNAME_TYPES = ("CNAME", "MX", "SRV", "NS", "PTR")

# An update message travels over TCP and is at most 64 KiB: larger batches are sent in parts,
# never splitting an rrset between its delete and its adds.
MAX_LINES_PER_MESSAGE = 600


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


# --- DNS on the wire ------------------------------------------------------------------------

CLASS_IN, CLASS_ANY = 1, 255
TYPES = {"A": 1, "NS": 2, "CNAME": 5, "SOA": 6, "PTR": 12, "MX": 15, "TXT": 16, "AAAA": 28,
         "SRV": 33, "TSIG": 250, "AXFR": 252, "ANY": 255}  # fmt: skip
TYPE_NAMES = {number: name for name, number in TYPES.items()}
RCODES = {0: "NOERROR", 1: "FORMERR", 2: "SERVFAIL", 3: "NXDOMAIN", 4: "NOTIMP", 5: "REFUSED",
          6: "YXDOMAIN", 7: "YXRRSET", 8: "NXRRSET", 9: "NOTAUTH", 10: "NOTZONE", 16: "BADSIG",
          17: "BADKEY", 18: "BADTIME"}  # fmt: skip
OPCODE_UPDATE = 5
# TSIG algorithms: the name in a key file (and on the wire), hashlib's name, the number in a
# `K*.private` file.
ALGORITHMS = {
    "hmac-md5": ("hmac-md5.sig-alg.reg.int", "md5", 157),
    "hmac-sha1": ("hmac-sha1", "sha1", 161),
    "hmac-sha224": ("hmac-sha224", "sha224", 162),
    "hmac-sha256": ("hmac-sha256", "sha256", 163),
    "hmac-sha384": ("hmac-sha384", "sha384", 164),
    "hmac-sha512": ("hmac-sha512", "sha512", 165),
}
FUDGE = 300  # seconds of clock difference a signature allows, as nsupdate and dig sign
NAME_SPECIALS = b'"().;\\@$'


class TsigKey:
    def __init__(self, name: str, algorithm: str, secret: bytes) -> None:
        self.name = name.lower().rstrip(".") + "."
        self.algorithm = algorithm
        self.wire_algorithm, self.digest, _ = ALGORITHMS[algorithm]
        self.secret = secret


def read_key(path: str) -> TsigKey:
    """The TSIG key of a key file as `nsupdate -k` takes it: a `key "name" { algorithm …;
    secret "…"; };` clause (tsig-keygen) or a `K<name>.+<alg>+<id>.private` file."""
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
        by_number = {n: a for a, (_, _, n) in ALGORITHMS.items()}
        alg_name = by_number.get(int(number.group(1)), "") if number else ""
        secret_text = secret.group(1) if secret else ""
    if not name or alg_name not in ALGORITHMS or not secret_text:
        raise DnsBatchError(f"TSIG key file {path}: no key with a known algorithm and a secret")
    try:
        return TsigKey(name, alg_name, base64.b64decode(secret_text, validate=True))
    except ValueError:
        raise DnsBatchError(f"TSIG key file {path}: the secret is not base64") from None


def name_wire(name: str, lower: bool = False) -> bytes:
    """An absolute name in presentation form (escapes \\. and \\DDD allowed) on the wire."""
    text = name.lower() if lower else name
    if text in (".", ""):
        return b"\x00"
    raw = text.encode("utf-8")
    if b"\\" not in raw and len(raw) < 254:  # the usual name: no escapes
        wire = bytearray()
        for part in raw[:-1].split(b".") if raw.endswith(b".") else raw.split(b"."):
            if not 0 < len(part) < 64:
                break
            wire.append(len(part))
            wire += part
        else:
            wire.append(0)
            return bytes(wire)
    labels, label, i = [], bytearray(), 0
    while i < len(raw):
        char = raw[i]
        if char == 0x5C and i + 1 < len(raw):  # backslash
            if raw[i + 1 : i + 4].isdigit() and len(raw[i + 1 : i + 4]) == 3:
                label.append(int(raw[i + 1 : i + 4]))
                i += 4
                continue
            label.append(raw[i + 1])
            i += 2
            continue
        if char == 0x2E:  # a dot ends the label
            labels.append(bytes(label))
            label = bytearray()
        else:
            label.append(char)
        i += 1
    if label:
        labels.append(bytes(label))
    if any(not part or len(part) > 63 for part in labels):
        raise DnsBatchError(f"not a domain name: {name!r}")
    wire = b"".join(bytes([len(part)]) + part for part in labels) + b"\x00"
    if len(wire) > 255:
        raise DnsBatchError(f"domain name too long: {name!r}")
    return wire


_PLAIN_LABEL = re.compile(rb'^[!#%&\'*+,/0-9:<=>?A-Z\[\]^_`a-z{|}~-]*$')


def _label_text(label: bytes) -> str:
    if _PLAIN_LABEL.match(label):
        return label.decode("ascii")
    out = []
    for byte in label:
        if byte in NAME_SPECIALS:
            out.append("\\" + chr(byte))
        elif byte <= 0x20 or byte >= 0x7F:
            out.append(f"\\{byte:03d}")
        else:
            out.append(chr(byte))
    return "".join(out)


def read_name(message: bytes, offset: int) -> tuple[str, int]:
    """The name at `offset` (compression followed) as dig prints it, and the offset after it."""
    labels, end, jumps = [], None, 0
    while True:
        length = message[offset]
        if length >= 0xC0:
            if end is None:
                end = offset + 2
            offset = ((length & 0x3F) << 8) | message[offset + 1]
            jumps += 1
            if jumps > 127:
                raise DnsBatchError("malformed DNS message: a name points in a loop")
            continue
        offset += 1
        if length == 0:
            break
        labels.append(_label_text(message[offset : offset + length]))
        offset += length
    return ".".join(labels) + "." if labels else ".", end if end is not None else offset


def _txt_text(rdata: bytes) -> str:
    parts, i = [], 0
    while i < len(rdata):
        length = rdata[i]
        chunk = rdata[i + 1 : i + 1 + length]
        i += 1 + length
        text = "".join(
            "\\" + chr(b) if b in (0x22, 0x5C) else f"\\{b:03d}" if b < 0x20 or b >= 0x7F else chr(b)
            for b in chunk
        )
        parts.append(f'"{text}"')
    return " ".join(parts)


def rdata_text(rtype: int, message: bytes, offset: int, length: int) -> str | None:
    """RDATA as dig prints it, for the record types a programme has and SOA; None for others."""
    rdata = message[offset : offset + length]
    if rtype == 1 and length == 4:
        return socket.inet_ntop(socket.AF_INET, rdata)
    if rtype == 28 and length == 16:
        return socket.inet_ntop(socket.AF_INET6, rdata)
    if rtype in (2, 5, 12):
        return read_name(message, offset)[0]
    if rtype == 15:
        return f"{struct.unpack_from('!H', message, offset)[0]} {read_name(message, offset + 2)[0]}"
    if rtype == 33:
        priority, weight, port = struct.unpack_from("!HHH", message, offset)
        return f"{priority} {weight} {port} {read_name(message, offset + 6)[0]}"
    if rtype == 16:
        return _txt_text(rdata)
    if rtype == 6:
        primary, at = read_name(message, offset)
        mailbox, at = read_name(message, at)
        return " ".join([primary, mailbox, *(str(n) for n in struct.unpack_from("!IIIII", message, at))])
    return None


def _txt_wire(text: str) -> bytes:
    """The character-strings of TXT presentation text: quoted strings or bare words."""
    raw, out, i = text.encode("utf-8"), bytearray(), 0
    while i < len(raw):
        if raw[i : i + 1].isspace():
            i += 1
            continue
        quoted = raw[i] == 0x22
        i += 1 if quoted else 0
        chunk = bytearray()
        while i < len(raw) and (raw[i] != 0x22 if quoted else not raw[i : i + 1].isspace()):
            if raw[i] == 0x5C and i + 1 < len(raw):
                digits = raw[i + 1 : i + 4]
                if len(digits) == 3 and digits.isdigit():
                    chunk.append(int(digits))
                    i += 4
                    continue
                chunk.append(raw[i + 1])
                i += 2
                continue
            chunk.append(raw[i])
            i += 1
        if quoted and i >= len(raw):
            raise DnsBatchError(f"TXT value without its closing quote: {text!r}")
        i += 1 if quoted else 0
        if len(chunk) > 255:
            raise DnsBatchError(f"TXT string longer than 255 bytes: {text[:60]!r}…")
        out += bytes([len(chunk)]) + chunk
    return bytes(out)


def rdata_wire(rtype: str, text: str) -> bytes:
    """RDATA of a value in presentation form (what `update add` takes)."""
    fields = text.split()
    try:
        if rtype == "A":
            return socket.inet_pton(socket.AF_INET, text.strip())
        if rtype == "AAAA":
            return socket.inet_pton(socket.AF_INET6, text.strip())
        if rtype in ("CNAME", "NS", "PTR") and len(fields) == 1:
            return name_wire(fields[0])
        if rtype == "MX" and len(fields) == 2:
            return struct.pack("!H", int(fields[0])) + name_wire(fields[1])
        if rtype == "SRV" and len(fields) == 4:
            numbers = [int(f) for f in fields[:3]]
            return struct.pack("!HHH", *numbers) + name_wire(fields[3])
        if rtype == "TXT":
            return _txt_wire(text)
    except (OSError, ValueError, struct.error):
        pass
    raise DnsBatchError(f"not a {rtype} value: {text!r}")


def _rr(name: str, rtype: int, rclass: int, ttl: int, rdata: bytes = b"") -> bytes:
    return name_wire(name) + struct.pack("!HHIH", rtype, rclass, ttl, len(rdata)) + rdata


def _time48(seconds: int) -> bytes:
    return struct.pack("!HI", seconds >> 32, seconds & 0xFFFFFFFF)


def sign(key: TsigKey, message: bytes, prior_mac: bytes = b"") -> tuple[bytes, bytes]:
    """`message` (its ARCOUNT without the TSIG) with a TSIG record added, and the MAC."""
    msg_id = struct.unpack_from("!H", message)[0]
    signed_at = int(time.time())
    algorithm = name_wire(key.wire_algorithm, lower=True)
    variables = (name_wire(key.name, lower=True) + struct.pack("!HI", CLASS_ANY, 0) + algorithm
                 + _time48(signed_at) + struct.pack("!HHH", FUDGE, 0, 0))  # fmt: skip
    prior = struct.pack("!H", len(prior_mac)) + prior_mac if prior_mac else b""
    mac = hmac.new(key.secret, prior + message + variables, key.digest).digest()
    rdata = (algorithm + _time48(signed_at) + struct.pack("!HH", FUDGE, len(mac)) + mac
             + struct.pack("!HHH", msg_id, 0, 0))  # fmt: skip
    arcount = struct.unpack_from("!H", message, 10)[0] + 1
    head = message[:10] + struct.pack("!H", arcount) + message[12:]
    return head + _rr(key.name, TYPES["TSIG"], CLASS_ANY, 0, rdata), mac


class Answer:
    """One DNS message read: its header, answer records and TSIG (where it starts)."""

    def __init__(self, message: bytes) -> None:
        self.message = message
        try:
            self.id, flags, qdcount, ancount, nscount, arcount = struct.unpack_from("!HHHHHH", message)
            self.rcode = flags & 0xF
            offset = 12
            for _ in range(qdcount):
                offset = read_name(message, offset)[1] + 4
            self.records: list[tuple[str, int, int, int, int]] = []  # name, type, ttl, rdata at, length
            self.tsig_at = -1
            for index in range(ancount + nscount + arcount):
                start = offset
                name, offset = read_name(message, offset)
                rtype, _, ttl, length = struct.unpack_from("!HHIH", message, offset)
                offset += 10
                if index < ancount:
                    self.records.append((name, rtype, ttl, offset, length))
                elif index == ancount + nscount + arcount - 1 and rtype == TYPES["TSIG"]:
                    self.tsig_at = start
                    self.tsig_rdata = offset
                offset += length
        except (IndexError, struct.error):
            raise DnsBatchError("malformed DNS message from the server") from None

    def verify(self, key: TsigKey, prior_mac: bytes, unsigned: bytes, first: bool, what: str) -> bytes:
        """Checks the answer's TSIG (RFC 8945 5.3): its MAC over the prior MAC, the unsigned
        messages since, this message and (first) all TSIG variables or (later) the timers.
        Returns the MAC, the prior MAC of the next message."""
        if self.tsig_at < 0:
            if self.rcode:
                raise DnsBatchError(f"{what} failed: {RCODES.get(self.rcode, self.rcode)} (unsigned)")
            raise DnsBatchError(f"{what}: the answer is not signed (TSIG)")
        try:
            return self._verify(key, prior_mac, unsigned, first, what)
        except (IndexError, struct.error):
            raise DnsBatchError(f"{what}: malformed TSIG in the answer") from None

    def _verify(self, key: TsigKey, prior_mac: bytes, unsigned: bytes, first: bool, what: str) -> bytes:
        message = self.message
        at = self.tsig_rdata
        algorithm_end = read_name(message, at)[1]
        signed_at = (struct.unpack_from("!H", message, algorithm_end)[0] << 32) | struct.unpack_from(
            "!I", message, algorithm_end + 2
        )[0]
        fudge, mac_size = struct.unpack_from("!HH", message, algorithm_end + 6)
        mac = message[algorithm_end + 10 : algorithm_end + 10 + mac_size]
        original_id, error, other_size = struct.unpack_from("!HHH", message, algorithm_end + 10 + mac_size)
        if error:
            raise DnsBatchError(f"{what}: the server refused the TSIG key {key.name} ({RCODES.get(error, error)})")
        arcount = struct.unpack_from("!H", message, 10)[0] - 1
        body = struct.pack("!H", original_id) + message[2:10] + struct.pack("!H", arcount) + message[12 : self.tsig_at]
        timers = message[algorithm_end : algorithm_end + 8]
        if first:
            other = message[algorithm_end + 16 + mac_size : algorithm_end + 16 + mac_size + other_size]
            variables = (name_wire(key.name, lower=True) + struct.pack("!HI", CLASS_ANY, 0)
                         + name_wire(key.wire_algorithm, lower=True) + timers
                         + struct.pack("!HH", error, other_size) + other)  # fmt: skip
        else:
            variables = timers
        prior = struct.pack("!H", len(prior_mac)) + prior_mac
        expected = hmac.new(key.secret, prior + unsigned + body + variables, key.digest).digest()
        if not hmac.compare_digest(expected, mac):
            raise DnsBatchError(f"{what}: the answer's TSIG signature does not verify")
        if abs(time.time() - signed_at) > fudge:
            raise DnsBatchError(f"{what}: the answer's TSIG time is off by more than {fudge} s")
        return mac


class Connection:
    """One TCP connection to the server; every read and write ends at the deadline."""

    def __init__(self, server: str, port: int, timeout: int, what: str) -> None:
        self.what, self.timeout = what, timeout
        self.deadline = time.monotonic() + timeout
        try:
            self.sock = socket.create_connection((server, port), timeout=timeout)
        except socket.timeout:
            raise DnsBatchError(f"{what} timed out after {timeout} s") from None
        except OSError as exc:
            raise DnsBatchError(f"{what}: {exc.strerror or exc}") from None

    def __enter__(self) -> Connection:
        return self

    def __exit__(self, *_: object) -> None:
        self.sock.close()

    def _left(self) -> float:
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise DnsBatchError(f"{self.what} timed out after {self.timeout} s")
        return left

    def send(self, message: bytes) -> None:
        try:
            self.sock.settimeout(self._left())
            self.sock.sendall(struct.pack("!H", len(message)) + message)
        except socket.timeout:
            raise DnsBatchError(f"{self.what} timed out after {self.timeout} s") from None
        except OSError as exc:
            raise DnsBatchError(f"{self.what}: {exc.strerror or exc}") from None

    def _exactly(self, size: int) -> bytes:
        data = bytearray()
        while len(data) < size:
            try:
                self.sock.settimeout(self._left())
                chunk = self.sock.recv(size - len(data))
            except socket.timeout:
                raise DnsBatchError(f"{self.what} timed out after {self.timeout} s") from None
            except OSError as exc:
                raise DnsBatchError(f"{self.what}: {exc.strerror or exc}") from None
            if not chunk:
                raise DnsBatchError(f"{self.what}: the server closed the connection")
            data += chunk
        return bytes(data)

    def receive(self) -> Answer:
        size = struct.unpack("!H", self._exactly(2))[0]
        return Answer(self._exactly(size))


def _query(msg_id: int, name: str, rtype: int, rclass: int = CLASS_IN) -> bytes:
    return struct.pack("!HHHHHH", msg_id, 0, 1, 0, 0, 0) + name_wire(name) + struct.pack("!HH", rtype, rclass)


def _collect(answers: dict[tuple[str, str], tuple[list[str], int]], answer: Answer,
             wanted: set[tuple[str, str]] | None) -> None:  # fmt: skip
    for name, rtype, ttl, at, length in answer.records:
        type_name = TYPE_NAMES.get(rtype)
        key = (name.lower(), type_name or "")
        if type_name is None or (wanted is not None and key not in wanted):
            continue
        text = rdata_text(rtype, answer.message, at, length)
        if text is None:
            continue
        values = answers[key][0] if key in answers else []
        values.append(text)
        answers[key] = (values, ttl)


QUESTIONS_AHEAD = 100


def query_all(server: str, port: int, wanted: list[tuple[str, str]], timeout: int) -> dict[tuple[str, str], tuple[list[str], int | None]]:
    """Answers of many (name, type) questions over one connection (as `dig -f` asked them:
    unsigned, no recursion), up to a hundred questions sent ahead of their answers."""
    keys = {(name.lower(), rtype) for name, rtype in wanted}
    found: dict[tuple[str, str], tuple[list[str], int]] = {}
    questions = list(keys)
    with Connection(server, port, timeout, f"query to {server}") as conn:
        # At most QUESTIONS_AHEAD unanswered: answers never wait on a full buffer for questions.
        for first in range(0, len(questions), QUESTIONS_AHEAD):
            pending = set()
            for msg_id, (name, rtype) in enumerate(questions[first : first + QUESTIONS_AHEAD]):
                pending.add(msg_id)
                conn.send(_query(msg_id, name, TYPES[rtype]))
            while pending:
                answer = conn.receive()
                if answer.id not in pending:
                    raise DnsBatchError(f"query to {server}: an answer to no question")
                pending.discard(answer.id)
                _collect(found, answer, keys)
    out: dict[tuple[str, str], tuple[list[str], int | None]] = {key: ([], None) for key in keys}
    out.update({key: (sorted(values), ttl) for key, (values, ttl) in found.items()})
    return out


def query(server: str, port: int, name: str, rtype: str, timeout: int) -> tuple[list[str], int | None]:
    return query_all(server, port, [(name, rtype)], timeout)[(name.lower(), rtype)]


def zone_transfer(server: str, port: int, key: TsigKey, zone: str, timeout: int) -> dict[tuple[str, str], tuple[list[str], int | None]] | None:
    """Every record of the zone in one signed AXFR; None when the server refuses it."""
    what = f"AXFR of {zone} from {server}"
    request, mac = sign(key, _query(int.from_bytes(os.urandom(2), "big"), zone + ".", TYPES["AXFR"]))
    found: dict[tuple[str, str], tuple[list[str], int]] = {}
    soa_seen, unsigned, first = 0, b"", True
    with Connection(server, port, timeout, what) as conn:
        conn.send(request)
        while soa_seen < 2:
            answer = conn.receive()
            if first and answer.rcode != 0:
                return None  # refused (or NOTAUTH): the caller asks record by record
            if answer.tsig_at >= 0 or first:
                mac = answer.verify(key, mac, unsigned, first, what)
                unsigned, first = b"", False
            else:
                unsigned += answer.message
            if answer.rcode != 0:
                raise DnsBatchError(f"{what}: {RCODES.get(answer.rcode, answer.rcode)}")
            if not answer.records:
                return None
            for _, rtype, _, _, _ in answer.records:
                soa_seen += rtype == TYPES["SOA"]
            _collect(found, answer, None)
        if unsigned:
            raise DnsBatchError(f"{what}: the last message of the transfer is not signed")
    return {rrset: (sorted(values), ttl) for rrset, (values, ttl) in found.items()}


def read_records(server: str, port: int, key: TsigKey | None, zone: str,
                 wanted: list[tuple[str, str]], timeout: int,
                 ) -> dict[tuple[str, str], tuple[list[str], int | None]]:  # fmt: skip
    """Current answers for the wanted (name, type) pairs: one AXFR, else one query each."""
    whole = None if key is None else zone_transfer(server, port, key, zone, timeout)
    if whole is None:
        return query_all(server, port, wanted, timeout)
    return {(n.lower(), t): whole.get((n.lower(), t), ([], None)) for n, t in wanted}


def messages(groups: Any) -> Any:
    part: list[str] = []
    size = 0
    for group in groups:
        if part and size + len(group) > MAX_LINES_PER_MESSAGE:
            yield part
            part, size = [], 0
        part.extend(group)
        size += len(group)
    if part:
        yield part


def update_message(zone: str, lines: list[str]) -> bytes:
    """One RFC 2136 update of `zone` from nsupdate's lines: `update delete NAME TYPE`,
    `update add NAME TTL TYPE VALUE` and `prereq yxdomain NAME`."""
    prereqs, updates = [], []
    for line in lines:
        words = line.split(None, 5)
        if words[:2] == ["prereq", "yxdomain"] and len(words) == 3:
            prereqs.append(_rr(words[2], TYPES["ANY"], CLASS_ANY, 0))
        elif words[:2] == ["update", "delete"] and len(words) == 4 and words[3] in TYPES:
            updates.append(_rr(words[2], TYPES[words[3]], CLASS_ANY, 0))
        elif words[:2] == ["update", "add"] and len(words) == 6 and words[4] in TYPES and words[3].isdigit():
            updates.append(_rr(words[2], TYPES[words[4]], CLASS_IN, int(words[3]), rdata_wire(words[4], words[5])))
        else:
            raise DnsBatchError(f"not an update line: {line!r}")
    msg_id = int.from_bytes(os.urandom(2), "big")
    header = struct.pack("!HHHHHH", msg_id, OPCODE_UPDATE << 11, 1, len(prereqs), len(updates), 0)
    zone_section = name_wire(zone + ".") + struct.pack("!HH", TYPES["SOA"], CLASS_IN)
    message = header + zone_section + b"".join(prereqs) + b"".join(updates)
    if len(message) > 65000:
        raise DnsBatchError(f"update of {zone}: a message of {len(message)} bytes is too large")
    return message


def send_updates(server: str, port: int, key: TsigKey, batches: dict[str, list[list[str]]],
                 timeout: int) -> None:  # fmt: skip
    """batches: {zone: [rrset line groups]}; over one connection, one signed message per part
    (as nsupdate sends them: each answered before the next), every answer's TSIG checked."""
    parts = [(zone, part) for zone, groups in batches.items() for part in messages(groups)]
    if not parts:
        return
    with Connection(server, port, timeout, f"update to {server}") as conn:
        for zone, part in parts:
            what = f"update of {zone} at {server}"
            request, mac = sign(key, update_message(zone, part))
            conn.send(request)
            answer = conn.receive()
            if answer.id != struct.unpack_from("!H", request)[0]:
                raise DnsBatchError(f"{what}: an answer to another message")
            answer.verify(key, mac, b"", True, what)
            if answer.rcode != 0:
                raise DnsBatchError(f"{what} failed: {RCODES.get(answer.rcode, answer.rcode)}")


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
            send_updates(server, port, read_key(params["key_file"]), batches, timeout)
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
            key = read_key(params["key_file"])
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
