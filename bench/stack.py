"""The benchmark's own stack (:mod:`pgrealm.devstack`): its home under /tmp, a free API
port and the loopback block from PGREALM_LOOPBACK_BLOCK (or PGREALM_TEST_BLOCK), so it
runs beside a user's stack and beside test runs.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

from pgrealm.devstack import DevStack, cleanup, free_port, make_home

__all__ = ["BenchStack", "running_stack"]

# Never the user's default 127.64.0.0/10 nor the tests' default 127.192.0.0/12.
DEFAULT_BLOCK = "127.144.0.0/12"

BenchStack = DevStack


def _block() -> str:
    env = os.environ
    return env.get("PGREALM_LOOPBACK_BLOCK") or env.get("PGREALM_TEST_BLOCK") or DEFAULT_BLOCK


@contextlib.contextmanager
def running_stack(keep: bool = False) -> Iterator[DevStack]:
    if os.geteuid() != 0:
        raise SystemExit("make bench needs root (Samba AD DC, PostgreSQL's own OS user)")
    home = make_home("pgrealm-bench-")
    stack = DevStack(home, free_port(), _block())
    try:
        stack.start()
        yield stack
    finally:
        stack.stop()
        cleanup(home, keep)
