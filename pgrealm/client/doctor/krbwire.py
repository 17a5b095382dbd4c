"""Just enough of the Kerberos wire protocol (RFC 4120) to ask a KDC whether it is alive and
what time it thinks it is, and to knock on kpasswd (RFC 3244).

Why not ``kinit``: without the user's password kinit cannot tell a silent KDC from a slow
one in under MIT's ~30 s retry schedule, and it never prints the KDC's clock. An AS-REQ
without pre-authentication is answered at once with a KRB-ERROR (PREAUTH_REQUIRED for a
known user, C_PRINCIPAL_UNKNOWN otherwise) that carries ``stime``, the KDC's own time, and
a KDC checks no clock skew before pre-authentication. One packet thus proves the port
answers, says whether the user exists, and measures the skew.
"""

from __future__ import annotations

import calendar
import secrets
import socket
import struct
import time
from dataclasses import dataclass

__all__ = ["KdcReply", "as_req", "kpasswd_probe", "parse_reply", "probe_kdc"]

# error-code values of RFC 4120 section 7.5.9 that the doctor explains.
KDC_ERR_C_PRINCIPAL_UNKNOWN = 6
KDC_ERR_PREAUTH_REQUIRED = 25
KRB_AP_ERR_SKEW = 37
_NAMES = {
    KDC_ERR_C_PRINCIPAL_UNKNOWN: "KDC_ERR_C_PRINCIPAL_UNKNOWN",
    KDC_ERR_PREAUTH_REQUIRED: "KDC_ERR_PREAUTH_REQUIRED",
    KRB_AP_ERR_SKEW: "KRB_AP_ERR_SKEW",
}


@dataclass(frozen=True)
class KdcReply:
    """What one KDC said: a KRB-ERROR (code, its clock) or some other message kind."""

    message: str  # "KRB-ERROR", "AS-REP", "KPASSWD-REPLY" or "unknown"
    error_code: int | None = None
    stime: float | None = None  # the KDC's clock, seconds since the epoch

    @property
    def error_name(self) -> str:
        if self.error_code is None:
            return ""
        return _NAMES.get(self.error_code, f"error {self.error_code}")


# -- DER, the little we need ---------------------------------------------------------------
def _tlv(tag: int, body: bytes) -> bytes:
    n = len(body)
    if n < 0x80:
        return bytes([tag, n]) + body
    size = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(size)]) + size + body


def _ctx(number: int, body: bytes) -> bytes:
    return _tlv(0xA0 | number, body)


def _int(value: int) -> bytes:
    return _tlv(0x02, value.to_bytes((value.bit_length() + 8) // 8, "big", signed=True))


def _str(value: str) -> bytes:
    return _tlv(0x1B, value.encode())  # GeneralString, as RFC 4120 says


def _seq(*items: bytes) -> bytes:
    return _tlv(0x30, b"".join(items))


def _principal(name_type: int, *parts: str) -> bytes:
    return _seq(_ctx(0, _int(name_type)), _ctx(1, _seq(*(_str(p) for p in parts))))


def _read(data: bytes, pos: int) -> tuple[int, bytes, int]:
    """(tag, body, position after) of the TLV at ``pos``."""
    tag, first = data[pos], data[pos + 1]
    pos += 2
    if first & 0x80:
        width = first & 0x7F
        length = int.from_bytes(data[pos : pos + width], "big")
        pos += width
    else:
        length = first
    if pos + length > len(data):
        raise ValueError("truncated DER")
    return tag, data[pos : pos + length], pos + length


def _fields(body: bytes) -> dict[int, bytes]:
    """Context-tagged fields of a SEQUENCE body, by tag number."""
    out: dict[int, bytes] = {}
    pos = 0
    while pos < len(body):
        tag, value, pos = _read(body, pos)
        if tag & 0xE0 == 0xA0:
            out[tag & 0x1F] = value
    return out


# -- messages ------------------------------------------------------------------------------
def as_req(user: str, realm: str) -> bytes:
    """An AS-REQ for ``user@realm`` to krbtgt, with no pre-authentication."""
    body = _seq(
        _ctx(0, _tlv(0x03, b"\x00\x00\x00\x00\x00")),  # kdc-options: none
        _ctx(1, _principal(1, user)),  # NT-PRINCIPAL
        _ctx(2, _str(realm)),
        _ctx(3, _principal(2, "krbtgt", realm)),  # NT-SRV-INST
        _ctx(5, _tlv(0x18, b"20370913024805Z")),  # till: the customary "no end"
        _ctx(7, _int(secrets.randbits(31))),
        _ctx(8, _seq(_int(18), _int(17))),  # aes256, aes128: what the directory issues
    )
    return _tlv(0x6A, _seq(_ctx(1, _int(5)), _ctx(2, _int(10)), _ctx(4, body)))


def parse_reply(data: bytes) -> KdcReply:
    if not data:
        return KdcReply("unknown")
    if data[0] == 0x6B:
        return KdcReply("AS-REP")
    if data[0] != 0x7E:
        return KdcReply("unknown")
    _, seq, _ = _read(data, 0)
    _, body, _ = _read(seq, 0)
    fields = _fields(body)
    code = int.from_bytes(_read(fields[6], 0)[1], "big", signed=True) if 6 in fields else None
    stime = None
    if 4 in fields:
        text = _read(fields[4], 0)[1].decode()
        stime = float(calendar.timegm(time.strptime(text, "%Y%m%d%H%M%SZ")))
    return KdcReply("KRB-ERROR", code, stime)


def _exchange(address: str, port: int, payload: bytes, tcp: bool, timeout: float) -> bytes:
    if tcp:
        # RFC 4120 7.2.2: each message is preceded by its length in four octets.
        with socket.create_connection((address, port), timeout=timeout) as s:
            s.sendall(struct.pack(">I", len(payload)) + payload)
            head = _recv_exact(s, 4)
            return _recv_exact(s, struct.unpack(">I", head)[0])
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(timeout)
        s.connect((address, port))  # connected: a closed port reports ECONNREFUSED
        s.send(payload)
        return s.recv(65535)


def _recv_exact(s: socket.socket, n: int) -> bytes:
    buf = b""
    while len(buf) < n:
        chunk = s.recv(n - len(buf))
        if not chunk:
            raise ConnectionError("the server closed the connection")
        buf += chunk
    return buf


def probe_kdc(
    address: str, user: str, realm: str, *, tcp: bool, port: int = 88, timeout: float = 1.0
) -> KdcReply:
    """Send one AS-REQ; raise ``OSError`` (timeout, refused) when the KDC does not answer."""
    return parse_reply(_exchange(address, port, as_req(user, realm), tcp, timeout))


def kpasswd_probe(address: str, *, tcp: bool, port: int = 464, timeout: float = 1.0) -> KdcReply:
    """Send kpasswd a request whose AP-REQ is empty; raise ``OSError`` if nothing answers.

    A live server answers it with a reply (RFC 3244 section 2) wrapping a KRB-ERROR,
    so any well-formed answer proves kpasswd serves; no credential is involved.
    """
    ap_req, krb_priv = b"\x6e\x00", b"\x75\x00"  # [APPLICATION 14] and [21], both empty
    head = struct.pack(">HHH", 6 + len(ap_req) + len(krb_priv), 1, len(ap_req))
    reply = _exchange(address, port, head + ap_req + krb_priv, tcp, timeout)
    if len(reply) < 6:
        return KdcReply("unknown")
    ap_rep_len = struct.unpack(">H", reply[4:6])[0]
    inner = parse_reply(reply[6 + ap_rep_len :])
    return KdcReply("KPASSWD-REPLY", inner.error_code, inner.stime)
