"""The benchmark's own stack (:mod:`pgrealm.devstack`): its home under /tmp, a free API
port and a host block of its own (PGREALM_BENCH_HOST_BLOCK), so it runs beside a user's
stack and beside test runs.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

from pgrealm.devstack import DevStack, cleanup, free_port, make_home

__all__ = ["BenchStack", "running_stack"]

# Never the user's default 198.18.0.0/16 nor the tests' default 198.19.0.0/18.
DEFAULT_BLOCK = "198.19.128.0/20"

BenchStack = DevStack


def _block() -> str:
    env = os.environ
    return env.get("PGREALM_BENCH_HOST_BLOCK") or DEFAULT_BLOCK


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
        cleanup(home, keep, block=stack.block)
