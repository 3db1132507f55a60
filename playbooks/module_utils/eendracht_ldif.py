"""LDIF as `ldapsearch -LLL -o ldif-wrap=no` prints it, read into entries; and LDIF written
for `ldapadd`/`ldapmodify` (records to add, changes to make).

The one LDIF reader and writer in eendracht (OpenLDAP and Active Directory alike): the directory module imports it as
`ansible.module_utils.eendracht_ldif` (Ansible ships this file with the module: `module_utils`
in ansible.cfg), and the Python package loads this same file (`eendracht.module_utils`) to read
the people of a source directory and to check a rehearsal's accounts.
"""

from __future__ import annotations

import base64
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    _Base = dict[str, list[str]]
else:
    _Base = dict  # modules may run on Python 3.8: no dict[...] base class there


class Entry(_Base):
    """One entry: attribute name -> its values, `dn` included.

    Attribute names are case-insensitive in LDAP, and so are the keys here: they are kept in
    lower case, and `entry["givenName"]` is `entry["givenname"]`."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__()
        self.update(*args, **kwargs)

    def __getitem__(self, name: str) -> list[str]:
        values: list[str] = super().__getitem__(name.lower())
        return values

    def __setitem__(self, name: str, values: list[str]) -> None:
        super().__setitem__(name.lower(), values)

    def __delitem__(self, name: str) -> None:
        super().__delitem__(name.lower())

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and super().__contains__(name.lower())

    def get(self, name: str, default: Any = None) -> Any:
        return super().get(name.lower(), default)

    def setdefault(self, name: str, default: Any = None) -> Any:
        return super().setdefault(name.lower(), default)

    def pop(self, name: str, *default: Any) -> Any:
        return super().pop(name.lower(), *default)

    def update(self, *args: Any, **kwargs: Any) -> None:
        for name, values in dict(*args, **kwargs).items():
            self[name] = values


def parse_ldif(text: str) -> list[Entry]:
    """The entries of LDIF text: folded lines joined, `name:: base64` values decoded,
    comments skipped. A record without a `dn` is not an entry.

    Lines end at LF or CRLF only (RFC 2849): a value may hold other line breaks (VT, FF,
    FS...) unencoded, so `str.splitlines()` would cut it."""
    entries = []
    for block in text.replace("\r\n", "\n").replace("\n ", "").split("\n\n"):
        entry = Entry()
        for line in block.split("\n"):
            if not line or line.startswith("#") or ":" not in line:
                continue
            name, _, value = line.partition(":")
            if value.startswith(":"):
                value = base64.b64decode(value[1:].strip()).decode("utf-8")
            else:
                value = value.strip()
            entry.setdefault(name, []).append(value)
        if "dn" in entry:
            entries.append(entry)
    return entries


def ldif_line(name: str, value: str) -> str:
    """`name: value`, or `name:: <base64>` where LDIF needs it (non-ASCII, leading or trailing
    space, a leading `:` or `<`, line breaks, NUL)."""
    safe = value == value.strip() and value[:1] not in (":", "<") and value.isascii()
    if safe and not any(c in value for c in "\n\r\0"):
        return f"{name}: {value}"
    return f"{name}:: {base64.b64encode(value.encode()).decode()}"


def add_record(dn: str, attrs: dict[str, list[str]], encoded: tuple[str, ...] = ()) -> str:
    """An entry to add; the attributes named in `encoded` hold values already in base64 (AD's
    unicodePwd, UTF-16-LE)."""
    lines = [ldif_line("dn", dn)]
    for name, values in attrs.items():
        if name in encoded:
            lines.extend(f"{name}:: {v}" for v in values)
        else:
            lines.extend(ldif_line(name, v) for v in values)
    return "\n".join(lines) + "\n\n"


def modify_record(dn: str, changes: list[tuple[str, str, list[str]]]) -> str:
    """changes: (op, attribute, values) with op replace/add/delete; replace with no values
    clears the attribute."""
    lines = [ldif_line("dn", dn), "changetype: modify"]
    for op, name, values in changes:
        lines.append(f"{op}: {name}")
        lines.extend(ldif_line(name, v) for v in values)
        lines.append("-")
    return "\n".join(lines) + "\n\n"
