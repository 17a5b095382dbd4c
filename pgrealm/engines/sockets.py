"""Small network probes the engines share: is a TCP port open, does a DNS server answer."""

from __future__ import annotations

import secrets
import socket
import struct

__all__ = ["dns_answers", "tcp_open"]


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
