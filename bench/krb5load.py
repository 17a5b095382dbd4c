"""Load worker: Kerberos AS or TGS exchanges in a fixed-duration loop, through libkrb5
(libkrb5.so.3) by ctypes, so each exchange costs no process start.

    python -m bench.krb5load as  PRINCIPAL SECONDS MAX   (password on stdin)
    python -m bench.krb5load tgs PRINCIPAL SECONDS MAX SERVICE

The realm comes from KRB5_CONFIG. An AS exchange is krb5_get_init_creds_password (with
pre-authentication: two round trips, PREAUTH_REQUIRED then PA-ENC-TIMESTAMP, and the
client's PBKDF2 string-to-key each time). A TGS exchange is krb5_get_credentials with
KRB5_GC_NO_STORE from a MEMORY ccache holding one TGT, so every call asks the KDC.
Prints one JSON line: {"ok": n, "errors": n, "seconds": s, "error": "..."}.
"""

from __future__ import annotations

import ctypes
import json
import sys
import time
from typing import Any

__all__ = ["main"]

_krb5 = ctypes.CDLL("libkrb5.so.3")
_P = ctypes.c_void_p
_KRB5_GC_NO_STORE = 8


class _Data(ctypes.Structure):
    _fields_ = [("magic", ctypes.c_int32), ("length", ctypes.c_uint), ("data", _P)]


class _Keyblock(ctypes.Structure):
    _fields_ = [
        ("magic", ctypes.c_int32),
        ("enctype", ctypes.c_int32),
        ("length", ctypes.c_uint),
        ("contents", _P),
    ]


class _Times(ctypes.Structure):
    _fields_ = [(n, ctypes.c_int32) for n in ("authtime", "starttime", "endtime", "renew_till")]


class _Creds(ctypes.Structure):
    """krb5_creds as MIT's krb5.h lays it out (krb5_boolean is unsigned int)."""

    _fields_ = [
        ("magic", ctypes.c_int32),
        ("client", _P),
        ("server", _P),
        ("keyblock", _Keyblock),
        ("times", _Times),
        ("is_skey", ctypes.c_uint),
        ("ticket_flags", ctypes.c_int32),
        ("addresses", _P),
        ("ticket", _Data),
        ("second_ticket", _Data),
        ("authdata", _P),
    ]


_krb5.krb5_get_error_message.restype = ctypes.c_char_p
_krb5.krb5_get_error_message.argtypes = [_P, ctypes.c_int32]


class _Krb5:
    def __init__(self) -> None:
        self.ctx = _P()
        self._check(_krb5.krb5_init_context(ctypes.byref(self.ctx)), "init_context")

    def _check(self, code: int, what: str) -> None:
        if code:
            msg = _krb5.krb5_get_error_message(self.ctx, code) if self.ctx else b""
            raise RuntimeError(f"{what}: {(msg or b'').decode(errors='replace')} ({code})")

    def principal(self, name: str) -> _P:
        out = _P()
        self._check(_krb5.krb5_parse_name(self.ctx, name.encode(), ctypes.byref(out)), name)
        return out

    def as_exchange(self, client: _P, password: bytes, creds: _Creds) -> int:
        code = int(
            _krb5.krb5_get_init_creds_password(
                self.ctx, ctypes.byref(creds), client, password, None, None, 0, None, None
            )
        )
        return code

    def free_contents(self, creds: _Creds) -> None:
        _krb5.krb5_free_cred_contents(self.ctx, ctypes.byref(creds))

    def memory_ccache(self, client: _P, tgt: _Creds) -> _P:
        cc = _P()
        self._check(_krb5.krb5_cc_new_unique(self.ctx, b"MEMORY", None, ctypes.byref(cc)), "cc")
        self._check(_krb5.krb5_cc_initialize(self.ctx, cc, client), "cc_initialize")
        self._check(_krb5.krb5_cc_store_cred(self.ctx, cc, ctypes.byref(tgt)), "cc_store")
        return cc

    def tgs_exchange(self, cc: _P, client: _P, server: _P) -> int:
        wanted = _Creds()
        wanted.client, wanted.server = client, server
        out = ctypes.POINTER(_Creds)()
        code = int(
            _krb5.krb5_get_credentials(
                self.ctx, _KRB5_GC_NO_STORE, cc, ctypes.byref(wanted), ctypes.byref(out)
            )
        )
        if code == 0:
            _krb5.krb5_free_creds(self.ctx, out)
        return code

    def message(self, code: int) -> str:
        return (_krb5.krb5_get_error_message(self.ctx, code) or b"").decode(errors="replace")


def _loop(call: Any, seconds: float, limit: int) -> tuple[int, int, float, int]:
    ok = errors = last_error = 0
    started = time.perf_counter()
    deadline = started + seconds
    while ok + errors < limit and time.perf_counter() < deadline:
        code = call()
        if code:
            errors += 1
            last_error = code
        else:
            ok += 1
    return ok, errors, time.perf_counter() - started, last_error


def main(argv: list[str]) -> None:
    mode, principal, seconds, limit = argv[0], argv[1], float(argv[2]), int(argv[3])
    password = sys.stdin.readline().rstrip("\n").encode()
    k = _Krb5()
    client = k.principal(principal)
    creds = _Creds()

    def as_once() -> int:
        code = k.as_exchange(client, password, creds)
        if code == 0:
            k.free_contents(creds)
        return code

    if mode == "as":
        ok, errors, elapsed, last = _loop(as_once, seconds, limit)
    else:
        k._check(k.as_exchange(client, password, creds), "initial AS exchange")
        cc = k.memory_ccache(client, creds)
        server = k.principal(argv[4])
        ok, errors, elapsed, last = _loop(
            lambda: k.tgs_exchange(cc, client, server), seconds, limit
        )
    result: dict[str, Any] = {"ok": ok, "errors": errors, "seconds": elapsed}
    if last:
        result["error"] = k.message(last)
    print(json.dumps(result))


if __name__ == "__main__":
    main(sys.argv[1:])
