"""GSS-TSIG (RFC 3645): the Kerberos key that signs secure dynamic updates of AD-integrated zones.

What `nsupdate -g` does, with dnspython and the `gssapi` package: a TKEY exchange with the DNS
server negotiates a security context for the service principal DNS/<server name>, and the
context signs every request of the batch and checks every answer as an HMAC key would
(`dns.tsig.Key(name, context, GSS_TSIG)`). The credentials come from a keytab of a service
account (MIT's credential store: no `kinit`, no ticket cache on disk) or, without a keytab,
from the ticket cache KRB5CCNAME names. The realm's settings come from `krb5_conf` (set as
KRB5_CONFIG for this process), so nothing under /etc is needed or touched.

Two things Samba 4.17's DNS server does differently from BIND and Windows, and how they are met
(docs/research/dns-gss-tsig.md):
- it locates the signed part of a request by the length of an uncompressed TSIG record, so a
  key name that shares a suffix with the zone (and is compressed) fails as BADSIG: the key
  name is one label, which nothing can compress;
- it signs its answers over the request's MAC without the MAC's two-byte length (RFC 8945
  includes it): an answer whose signature fails that check is checked again that way; either
  form is a signature by the negotiated context over the request's MAC.
"""

from __future__ import annotations

import os
import socket
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import dns.exception
import dns.message
import dns.name
import dns.query
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rdtypes.ANY.TKEY
import dns.rrset
import dns.tsig

# Samba cannot sign an answer over ~16 KiB (it echoes the update): GSS-signed updates are
# rendered at most this large.
MAX_MESSAGE_BYTES = 15_000
KEY_LIFETIME = 86_400


class GssError(Exception):
    """Negotiating the key failed; the message names what and where, never a secret."""


class _Context:
    """The security context as dnspython's GSS-TSIG uses it, with Samba's answers accepted."""

    def __init__(self, context: Any, gss_error: type[Exception]) -> None:
        self.context = context
        self.gss_error = gss_error

    def __getattr__(self, name: str) -> Any:  # step, complete
        return getattr(self.context, name)

    def get_signature(self, data: bytes) -> bytes:
        signature: bytes = self.context.get_signature(data)
        return signature

    def verify_signature(self, data: bytes, mac: bytes) -> None:
        try:
            self.context.verify_signature(data, mac)
        except self.gss_error:
            # Samba: the request MAC without its length. Anything else still fails.
            self.context.verify_signature(data[2:], mac)


@contextmanager
def _realm_settings(krb5_conf: str) -> Iterator[None]:
    """KRB5_CONFIG set to `krb5_conf` while the key is negotiated (the KDC is found through it),
    as it was afterwards; signing with the negotiated context needs neither."""
    before = os.environ.get("KRB5_CONFIG")
    if krb5_conf:
        os.environ["KRB5_CONFIG"] = krb5_conf
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("KRB5_CONFIG", None)
        else:
            os.environ["KRB5_CONFIG"] = before


def negotiated_key(server: str, port: int, kerberos: dict[str, str], timeout: float) -> dns.tsig.Key:
    """The GSS-TSIG key for the DNS server at server:port from the `kerberos` settings:
    principal, keytab (else the ticket cache), krb5_conf, server_name."""
    with _realm_settings(kerberos.get("krb5_conf") or ""):
        creds = credentials(kerberos["principal"], kerberos.get("keytab") or "")
        return gss_key(server, port, kerberos["server_name"], creds, timeout)


def credentials(principal: str, keytab: str) -> Any:
    """Initiating credentials of `principal`: from `keytab` when given (in memory), else from
    the ticket cache of the environment (KRB5CCNAME)."""
    import gssapi  # only a GSS-TSIG batch needs it

    name = gssapi.Name(principal, gssapi.NameType.kerberos_principal) if principal else None
    store = None
    if keytab:
        if not os.path.isfile(keytab):
            raise GssError(f"keytab {keytab}: no such file")
        store = {"client_keytab": keytab, "ccache": f"MEMORY:eendracht-{uuid.uuid4().hex}"}
    try:
        return gssapi.Credentials(name=name, usage="initiate", store=store)
    except gssapi.exceptions.GSSError as exc:
        raise GssError(f"Kerberos credentials of {principal or 'the ticket cache'}: {exc.gen_message()}") from None


def gss_key(server: str, port: int, server_name: str, creds: Any, timeout: float) -> dns.tsig.Key:
    """A GSS-TSIG key negotiated by TKEY with the DNS server at server:port, whose Kerberos
    service principal is DNS/<server_name>."""
    import gssapi

    key_name = dns.name.from_text(f"eendracht-{uuid.uuid4().hex}")
    what = f"Kerberos (TKEY) with {server_name} at {server}:{port}"
    try:
        context = gssapi.SecurityContext(
            name=gssapi.Name(f"DNS@{server_name}", gssapi.NameType.hostbased_service),
            creds=creds,
            usage="initiate",
            flags=[
                gssapi.RequirementFlag.mutual_authentication,
                gssapi.RequirementFlag.replay_detection,
                gssapi.RequirementFlag.integrity,
            ],
        )
        token = context.step()
    except gssapi.exceptions.GSSError as exc:
        raise GssError(f"{what}: {exc.gen_message()}") from None
    key = dns.tsig.Key(key_name, _Context(context, gssapi.exceptions.GSSError), dns.tsig.GSS_TSIG)
    keyring = dns.tsig.GSSTSigAdapter({key_name: key})
    deadline = time.time() + timeout
    try:
        with socket.create_connection((server, port), timeout=timeout) as sock:
            sock.setblocking(False)
            while not context.complete:
                now = int(time.time())
                tkey = dns.rdtypes.ANY.TKEY.TKEY(
                    dns.rdataclass.ANY, dns.rdatatype.TKEY, dns.tsig.GSS_TSIG, now,
                    now + KEY_LIFETIME, dns.rdtypes.ANY.TKEY.TKEY.GSSAPI_NEGOTIATION,
                    dns.rcode.NOERROR, token,
                )  # fmt: skip
                query = dns.message.make_query(key_name, dns.rdatatype.TKEY, dns.rdataclass.ANY)
                query.additional.append(dns.rrset.from_rdata(key_name, 0, tkey))
                dns.query.send_tcp(sock, query, deadline)
                # The keyring steps the context with the answer's token, then checks its TSIG.
                answer, _ = dns.query.receive_tcp(sock, deadline, keyring=keyring)
                rrset = answer.get_rrset(
                    answer.answer, key_name, dns.rdataclass.ANY, dns.rdatatype.TKEY
                )
                if answer.rcode() != dns.rcode.NOERROR or rrset is None or rrset[0].error:
                    code = answer.rcode() if rrset is None else (rrset[0].error or answer.rcode())
                    raise GssError(f"{what}: the server refused the key ({dns.rcode.to_text(code)})")
                if not context.complete and not answer.had_tsig:
                    token = context.step(rrset[0].key)
    except gssapi.exceptions.GSSError as exc:
        raise GssError(f"{what}: {exc.gen_message()}") from None
    except (OSError, EOFError, dns.exception.DNSException) as exc:
        raise GssError(f"{what}: {exc}") from None
    return key
