"""Asking from inside a namespace whether a host answers: the join's network check and
the doctor's. The socket is made in a thread that has entered the namespace (setns
changes only the calling thread), so the daemon's own network is never switched.
"""

from __future__ import annotations

import ctypes
import os
import threading
from collections.abc import Callable
from typing import TypeVar

from pgrealm.engines.netns.links import NETNS_DIR

__all__ = ["in_namespace"]

T = TypeVar("T")

_CLONE_NEWNET = 0x40000000
_libc = ctypes.CDLL(None, use_errno=True)


def in_namespace(ns: str, fn: Callable[[], T]) -> T:
    """``fn()`` run by a new thread inside network namespace ``ns``."""
    result: list[T] = []
    errors: list[BaseException] = []

    def enter_and_run() -> None:
        try:
            fd = os.open(NETNS_DIR / ns, os.O_RDONLY)
            try:
                if _libc.setns(fd, _CLONE_NEWNET) != 0:
                    err = ctypes.get_errno()
                    raise OSError(err, f"setns {ns}: {os.strerror(err)}")
            finally:
                os.close(fd)
            result.append(fn())
        except BaseException as exc:  # handed to the caller's thread
            errors.append(exc)

    thread = threading.Thread(target=enter_and_run, name=f"netns-{ns}")
    thread.start()
    thread.join()
    if errors:
        raise errors[0]
    return result[0]
