"""Console sessions: a random id in an HttpOnly cookie -> the user's key and secret, in
this process's memory only, forgotten after a while unused or at sign-out."""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass

__all__ = ["COOKIE", "Credentials", "Sessions"]

COOKIE = "pgrealm_console"
_IDLE = 8 * 3600.0  # seconds a session lives unused


@dataclass(frozen=True)
class Credentials:
    access_key: str
    secret: str
    account: str


class Sessions:
    def __init__(self, idle: float = _IDLE) -> None:
        self._idle = idle
        self._lock = threading.Lock()
        self._by_id: dict[str, tuple[Credentials, float]] = {}

    def open(self, credentials: Credentials) -> str:
        session_id = secrets.token_urlsafe(32)
        with self._lock:
            self._by_id[session_id] = (credentials, time.monotonic())
        return session_id

    def get(self, session_id: str) -> Credentials | None:
        now = time.monotonic()
        with self._lock:
            found = self._by_id.get(session_id)
            if found is None or now - found[1] > self._idle:
                self._by_id.pop(session_id, None)
                return None
            self._by_id[session_id] = (found[0], now)
            return found[0]

    def close(self, session_id: str) -> None:
        with self._lock:
            self._by_id.pop(session_id, None)


def cookie_value(header: str) -> str:
    """The console's session id from a Cookie header ("" if none)."""
    for part in header.split(";"):
        name, _, value = part.strip().partition("=")
        if name == COOKIE:
            return value
    return ""
