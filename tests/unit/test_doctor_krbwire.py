"""The doctor's Kerberos probe: the AS-REQ it sends and the KRB-ERROR it reads, over a fake KDC."""

from __future__ import annotations

import calendar
import socket
import threading
import time
from collections.abc import Iterator

import pytest

from pgrealm.client.doctor import krbwire
from pgrealm.client.doctor.krbwire import _ctx, _int, _read, _seq, _str, _tlv

STIME = "20300102030405Z"


def krb_error(code: int) -> bytes:
    body = _seq(
        _ctx(0, _int(5)),
        _ctx(1, _int(30)),
        _ctx(4, _tlv(0x18, STIME.encode())),
        _ctx(5, _int(0)),
        _ctx(6, _int(code)),
        _ctx(9, _str("CORP.EXAMPLE.COM")),
    )
    return _tlv(0x7E, body)


def test_as_req_is_der_for_the_user_and_realm() -> None:
    msg = krbwire.as_req("alice", "CORP.EXAMPLE.COM")
    tag, body, end = _read(msg, 0)
    assert tag == 0x6A and end == len(msg)
    assert b"alice" in body and body.count(b"CORP.EXAMPLE.COM") == 2


def test_parse_krb_error_reads_code_and_server_time() -> None:
    reply = krbwire.parse_reply(krb_error(krbwire.KDC_ERR_PREAUTH_REQUIRED))
    assert reply.message == "KRB-ERROR" and reply.error_name == "KDC_ERR_PREAUTH_REQUIRED"
    assert reply.stime == calendar.timegm(time.strptime(STIME, "%Y%m%d%H%M%SZ"))


@pytest.fixture
def fake_kdc() -> Iterator[int]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))

    def serve() -> None:
        data, peer = sock.recvfrom(65535)
        if data[:1] == b"\x6a":
            sock.sendto(krb_error(krbwire.KDC_ERR_C_PRINCIPAL_UNKNOWN), peer)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield int(sock.getsockname()[1])
    thread.join(2)
    sock.close()


def test_probe_over_udp(fake_kdc: int) -> None:
    reply = krbwire.probe_kdc("127.0.0.1", "nobody", "R", tcp=False, port=fake_kdc)
    assert reply.error_code == krbwire.KDC_ERR_C_PRINCIPAL_UNKNOWN


def test_a_silent_server_times_out() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as silent:
        silent.bind(("127.0.0.1", 0))
        with pytest.raises(TimeoutError):
            krbwire.probe_kdc(
                "127.0.0.1", "a", "R", tcp=False, port=silent.getsockname()[1], timeout=0.2
            )
