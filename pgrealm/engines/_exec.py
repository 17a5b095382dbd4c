"""The single subprocess seam of pgrealm: every external tool runs through :func:`run`.

Tests replace :data:`runner` with a fake to exercise engine logic without the tools.
Secrets travel only through ``input`` (stdin) or files, never argv: /proc/*/cmdline is
world-readable. argv is logged at DEBUG; stdin never is.
"""

from __future__ import annotations

import ctypes
import logging
import os
import pwd
import signal
import subprocess
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from pgrealm.errors import EngineError

__all__ = ["REAL_RUNNER", "Completed", "Runner", "die_with_parent", "run", "runner"]

log = logging.getLogger(__name__)

_PR_SET_PDEATHSIG = 1
_prctl = ctypes.CDLL(None, use_errno=True).prctl  # resolved now, not in the forked child


def die_with_parent() -> None:
    """In the child: be killed if the daemon dies, so that a tool (samba-tool provision,
    initdb) never keeps writing into a home that the restarted daemon starts over."""
    _prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


@dataclass(frozen=True)
class Completed:
    argv: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str


def _real_run(
    argv: Sequence[str],
    env: Mapping[str, str] | None,
    timeout: float,
    input: str | None,
    cwd: str | None,
    user: str | None,
) -> Completed:
    full_env = dict(os.environ if env is None else env)
    full_env.setdefault("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
    ids: dict[str, object] = {}
    if user is not None:
        # user= alone changes only the uid: drop root's gid and groups too.
        entry = pwd.getpwnam(user)
        ids = {"user": entry.pw_uid, "group": entry.pw_gid, "extra_groups": []}
    proc = subprocess.run(  # type: ignore[call-overload]
        list(argv),
        env=full_env,
        input=input,
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=cwd,
        stdin=None if input is not None else subprocess.DEVNULL,
        preexec_fn=die_with_parent,
        **ids,
    )
    return Completed(tuple(argv), proc.returncode, proc.stdout, proc.stderr)


Runner = Callable[
    [Sequence[str], Mapping[str, str] | None, float, str | None, str | None, str | None],
    Completed,
]
REAL_RUNNER: Runner = _real_run
runner: Runner = _real_run


def run(
    argv: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    timeout: float = 120.0,
    input: str | None = None,
    cwd: str | None = None,
    user: str | None = None,
    check: bool = True,
) -> Completed:
    """Run ``argv`` and return its output; raise :class:`EngineError` on failure if ``check``."""
    log.debug("exec %s", " ".join(argv))
    try:
        done = runner(argv, env, timeout, input, cwd, user)
    except subprocess.TimeoutExpired as exc:
        raise EngineError(argv, -1, "", f"{argv[0]} timed out after {timeout:.0f}s") from exc
    except FileNotFoundError as exc:
        raise EngineError(argv, 127, str(exc), f"{argv[0]} is not installed") from exc
    if done.returncode != 0:
        log.debug("exec %s -> %d: %s", argv[0], done.returncode, done.stderr[-2000:])
        if check:
            raise EngineError(argv, done.returncode, done.stderr or done.stdout)
    return done
