"""Small network probes the engines share: is a TCP port open, does a DNS server answer,
does an LDAP server accept a simple bind, does a TLS server's certificate chain to a CA."""

from __future__ import annotations

import secrets
import socket
import ssl
import struct

__all__ = [
    "LDAP_INVALID_CREDENTIALS",
    "LDAPS_PORT",
    "dns_answers",
    "ldaps_bind",
    "tcp_open",
    "tls_problem",
]

LDAP_INVALID_CREDENTIALS = 49
LDAPS_PORT = 636


def tcp_open(address: str, port: int, timeout: float) -> bool:
    try:
        with socket.create_connection((address, port), timeout=timeout):
            return True
    except OSError:
        return False


def dns_answers(address: str, zone: str, timeout: float) -> bool:
    """Send an SOA query for ``zone``; True once an authoritative NOERROR reply comes back."""
    qid = secrets.randbelow(0x10000)
    qname = b"".join(bytes([len(p)]) + p.encode() for p in zone.split(".")) + b"\x00"
    query = struct.pack(">HHHHHH", qid, 0x0100, 1, 0, 0, 0) + qname + struct.pack(">HH", 6, 1)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(timeout)
        try:
            s.sendto(query, (address, 53))
            reply = s.recv(4096)
        except OSError:
            return False
    if len(reply) < 12:
        return False
    rid, flags, _qd, ancount = struct.unpack_from(">HHHH", reply)
    return bool(rid == qid and flags & 0x000F == 0 and ancount > 0)


def _ber(tag: int, body: bytes) -> bytes:
    if len(body) < 0x80:
        return bytes([tag, len(body)]) + body
    size = len(body).to_bytes((len(body).bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(size)]) + size + body


def _ber_read(data: bytes, at: int) -> tuple[int, bytes, int]:
    """(tag, body, offset after it) of the BER element at ``at``."""
    tag, first = data[at], data[at + 1]
    at += 2
    if first & 0x80:
        count = first & 0x7F
        size = int.from_bytes(data[at : at + count], "big")
        at += count
    else:
        size = first
    return tag, data[at : at + size], at + size


def ldaps_bind(
    address: str, user: str, password: str, timeout: float, cadata: str | None = None
) -> int | None:
    """An LDAP simple bind over TLS (636) as ``user``: the server's resultCode (0 is
    success, 49 invalid credentials), or None if no LDAP answer came. AD refuses simple
    binds without TLS. The certificate is checked against the CA certificates ``cadata``
    (PEM) when given, and not at all otherwise (a probe, not a session)."""
    request = _ber(0x30, _ber(0x02, b"\x01") + _ber(
        0x60, _ber(0x02, b"\x03") + _ber(0x04, user.encode()) + _ber(0x80, password.encode())
    ))  # fmt: skip
    context = ssl.create_default_context(cadata=cadata)
    context.check_hostname = False
    if cadata is None:
        context.verify_mode = ssl.CERT_NONE
    try:
        with socket.create_connection((address, LDAPS_PORT), timeout=timeout) as raw:
            with context.wrap_socket(raw) as tls:
                tls.sendall(request)
                reply = tls.recv(4096)
    except (OSError, ssl.SSLError):
        return None
    try:
        _, message, _ = _ber_read(reply, 0)
        _, _, at = _ber_read(message, 0)  # messageID
        tag, response, _ = _ber_read(message, at)
        _, code, _ = _ber_read(response, 0)  # resultCode, an ENUMERATED
    except IndexError:
        return None
    return int.from_bytes(code, "big") if tag == 0x61 else None


def tls_problem(
    address: str, port: int, cadata: str, hostname: str | None, timeout: float
) -> str | None:
    """Why a TLS client that trusts only the CA certificates ``cadata`` (PEM) refuses the
    server at ``address``:``port``, or None when the handshake succeeds. ``hostname``:
    the name the certificate must carry (None: the chain alone is checked)."""
    context = ssl.create_default_context(cadata=cadata)
    context.check_hostname = hostname is not None
    try:
        with socket.create_connection((address, port), timeout=timeout) as raw:
            with context.wrap_socket(raw, server_hostname=hostname or address):
                return None
    except ssl.SSLCertVerificationError as exc:
        return str(exc.verify_message or exc.reason)
    except (OSError, ssl.SSLError) as exc:
        return f"no TLS answer on port {port} ({exc.strerror or exc})"
