"""libpq (libpq.so.5) through ctypes: true per-connection setup times with no process
spawn, and SELECT 1 round trips over one connection.

A connection's setup time is PQconnectdb's wall time: TCP (or unix socket) connect,
the startup packet, the authentication exchange (GSSAPI AP-REQ, SCRAM or trust) and
the server's backend start, until the connection is ready for a query. PQfinish is
outside the timed window.
"""

from __future__ import annotations

import ctypes
import time
from dataclasses import dataclass

__all__ = ["ConnectError", "Target", "connect_seconds", "execute", "gss_encrypted", "select1_rate"]

_lib = ctypes.CDLL("libpq.so.5")
_lib.PQconnectdb.argtypes = [ctypes.c_char_p]
_lib.PQconnectdb.restype = ctypes.c_void_p
_lib.PQstatus.argtypes = [ctypes.c_void_p]
_lib.PQstatus.restype = ctypes.c_int
_lib.PQerrorMessage.argtypes = [ctypes.c_void_p]
_lib.PQerrorMessage.restype = ctypes.c_char_p
_lib.PQfinish.argtypes = [ctypes.c_void_p]
_lib.PQfinish.restype = None
_lib.PQexec.argtypes = [ctypes.c_void_p, ctypes.c_char_p]
_lib.PQexec.restype = ctypes.c_void_p
_lib.PQresultStatus.argtypes = [ctypes.c_void_p]
_lib.PQresultStatus.restype = ctypes.c_int
_lib.PQresultErrorMessage.argtypes = [ctypes.c_void_p]
_lib.PQresultErrorMessage.restype = ctypes.c_char_p
_lib.PQgetvalue.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_int]
_lib.PQgetvalue.restype = ctypes.c_char_p
_lib.PQntuples.argtypes = [ctypes.c_void_p]
_lib.PQntuples.restype = ctypes.c_int
_lib.PQclear.argtypes = [ctypes.c_void_p]
_lib.PQclear.restype = None
_lib.PQgssEncInUse.argtypes = [ctypes.c_void_p]
_lib.PQgssEncInUse.restype = ctypes.c_int

_CONNECTION_OK = 0
_PGRES_COMMAND_OK = 1
_PGRES_TUPLES_OK = 2


class ConnectError(RuntimeError):
    pass


@dataclass(frozen=True)
class Target:
    """One way in: a label and a libpq conninfo (which may hold a password: never printed)."""

    label: str
    conninfo: str


def _connect(conninfo: bytes) -> int:
    conn = _lib.PQconnectdb(conninfo)
    if not conn or _lib.PQstatus(conn) != _CONNECTION_OK:
        msg = _lib.PQerrorMessage(conn).decode(errors="replace") if conn else "out of memory"
        _lib.PQfinish(conn)
        raise ConnectError(msg.strip())
    return int(conn)


def connect_seconds(target: Target) -> float:
    """One connection's setup time in seconds (the connection is closed afterwards)."""
    info = target.conninfo.encode()
    started = time.perf_counter()
    conn = _connect(info)
    elapsed = time.perf_counter() - started
    _lib.PQfinish(conn)
    return elapsed


def execute(target: Target, sql: str) -> list[str]:
    """Run ``sql`` on a new connection; the first column of every row."""
    conn = _connect(target.conninfo.encode())
    try:
        res = _lib.PQexec(conn, sql.encode())
        try:
            status = _lib.PQresultStatus(res)
            if status not in (_PGRES_COMMAND_OK, _PGRES_TUPLES_OK):
                raise ConnectError(_lib.PQresultErrorMessage(res).decode(errors="replace"))
            return [
                (_lib.PQgetvalue(res, i, 0) or b"").decode() for i in range(_lib.PQntuples(res))
            ]
        finally:
            _lib.PQclear(res)
    finally:
        _lib.PQfinish(conn)


def gss_encrypted(target: Target) -> bool:
    conn = _connect(target.conninfo.encode())
    try:
        return bool(_lib.PQgssEncInUse(conn))
    finally:
        _lib.PQfinish(conn)


def select1_rate(target: Target, seconds: float, max_queries: int) -> tuple[int, float]:
    """(queries, elapsed seconds) of SELECT 1 over one connection, bounded by both limits."""
    conn = _connect(target.conninfo.encode())
    query = b"SELECT 1"
    done = 0
    try:
        started = time.perf_counter()
        deadline = started + seconds
        while done < max_queries:
            res = _lib.PQexec(conn, query)
            ok = _lib.PQresultStatus(res) == _PGRES_TUPLES_OK
            _lib.PQclear(res)
            if not ok:
                raise ConnectError(f"{target.label}: SELECT 1 failed")
            done += 1
            if done % 256 == 0 and time.perf_counter() >= deadline:
                break
        return done, time.perf_counter() - started
    finally:
        _lib.PQfinish(conn)
