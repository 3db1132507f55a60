"""Reading a mailbox over IMAP: folder names (modified UTF-7) and what each folder holds.

The lab's own, independent check of a mail migration: per folder the number of messages, the
Message-IDs (a list, so duplicates show) and the total size, read here rather than with the
mail module's reader, so a fault in that reader cannot hide itself.
"""

from __future__ import annotations

import imaplib
import re
from collections import Counter
from dataclasses import dataclass

from eendracht.module_utils import load_module_utils

_mailmove = load_module_utils("eendracht_mailmove")


def mutf7_encode(name: str) -> str:
    """IMAP's modified UTF-7 (RFC 3501 5.1.3): the mail module's one implementation."""
    return str(_mailmove.mutf7_encode(name))


def mutf7_decode(name: str) -> str:
    return str(_mailmove.mutf7_decode(name))


_LIST = re.compile(rb'^\((?P<flags>[^)]*)\) (?:"(?:[^"\\]|\\.)*"|NIL) (?P<name>.*)$')


def _unquote(raw: bytes) -> str:
    text = raw.decode("ascii")
    if text.startswith('"') and text.endswith('"'):
        text = re.sub(r"\\(.)", r"\1", text[1:-1])
    return text


def folders(client: imaplib.IMAP4, pattern: str = "*", skip: str = "shared/") -> list[str]:
    """Selectable folders (decoded names) of the user's own namespace: not under `skip`."""
    typ, data = client.list('""', pattern)
    if typ != "OK":
        raise imaplib.IMAP4.error(f"LIST failed: {data!r}")
    names = []
    for item in data:
        if isinstance(item, tuple):  # a literal name: (b'(flags) "/" {n}', b'name')
            head, literal = item[0], item[1]
            m = _LIST.match(head)
            flags, name = (m.group("flags") if m else b""), literal.decode("ascii")
        elif isinstance(item, bytes):
            m = _LIST.match(item)
            if m is None:
                continue
            flags, name = m.group("flags"), _unquote(m.group("name"))
        else:
            continue
        selectable = b"\\Noselect" not in flags and b"\\NonExistent" not in flags
        if selectable and not (skip and name.startswith(skip)):
            names.append(mutf7_decode(name))
    return sorted(names)


@dataclass(frozen=True)
class FolderState:
    count: int
    message_ids: tuple[str, ...]  # sorted, duplicates kept
    size: int  # sum of RFC822.SIZE

    @property
    def duplicates(self) -> list[str]:
        return sorted(k for k, n in Counter(self.message_ids).items() if n > 1)


_SIZE = re.compile(rb"RFC822\.SIZE (\d+)")
_MSGID = re.compile(rb"^Message-ID:\s*(<[^>]*>)", re.IGNORECASE | re.MULTILINE)


def folder_state(client: imaplib.IMAP4, folder: str) -> FolderState:
    typ, data = client.select('"' + mutf7_encode(folder).replace('"', '\\"') + '"', readonly=True)
    if typ != "OK":
        raise imaplib.IMAP4.error(f"EXAMINE {folder!r} failed: {data!r}")
    count = int(data[0] or b"0")
    if count == 0:
        return FolderState(0, (), 0)
    typ, fetched = client.fetch("1:*", "(RFC822.SIZE BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])")
    if typ != "OK":
        raise imaplib.IMAP4.error(f"FETCH in {folder!r} failed: {fetched!r}")
    ids: list[str] = []
    size = 0
    for item in fetched:
        if not isinstance(item, tuple):
            continue
        head, header = item[0], item[1]
        m = _SIZE.search(head)
        size += int(m.group(1)) if m else 0
        found = _MSGID.search(header)
        ids.append(found.group(1).decode() if found else "")
    return FolderState(count, tuple(sorted(ids)), size)


def inventory(
    client: imaplib.IMAP4, pattern: str = "*", skip: str = "shared/"
) -> dict[str, FolderState]:
    """Every selectable folder of the user's own matching `pattern` and what it holds."""
    return {name: folder_state(client, name) for name in folders(client, pattern, skip)}
