"""Runs ``_samdb_tool.py`` under Debian's python3: one JSON request in, one JSON answer out.

The project venv has no Samba bindings; Debian's /usr/bin/python3 does. Requests go on
stdin (they carry passwords), never argv. Answers may carry key material, so stdout is
never logged. Helper refusals become :mod:`pgrealm.engines.samba.errors` exceptions.

Starting python3, importing samba and opening sam.ldb cost ~250 ms, paid on every
ds-data call if each ran its own helper. So each DC gets a serving helper (``--serve``:
one request per line) that stays while it is used and exits after ``_IDLE_SECONDS``
without work; a helper that died is replaced, and one-shot runs remain for other
helper scripts and as the fallback.
"""

from __future__ import annotations

import json
import logging
import select
import subprocess
import threading
from pathlib import Path
from typing import IO, Any

from pgrealm.engines import _exec
from pgrealm.engines.samba.errors import (
    AlreadyExistsError,
    NoSuchObjectError,
    PasswordPolicyError,
    SambaError,
)
from pgrealm.engines.samba.spec import DcSpec
from pgrealm.errors import EngineError

__all__ = ["HELPER", "SYSTEM_PYTHON", "call", "samba_env"]

log = logging.getLogger(__name__)

SYSTEM_PYTHON = "/usr/bin/python3"
HELPER = Path(__file__).with_name("_samdb_tool.py")

_KINDS: dict[str, type[SambaError]] = {
    "password_policy": PasswordPolicyError,
    "no_such_object": NoSuchObjectError,
    "already_exists": AlreadyExistsError,
}


def samba_env(dc: DcSpec) -> dict[str, str]:
    """A from-scratch environment for Samba tools of ``dc``.

    KRB5_CONFIG points at the DC's own krb5.conf (KDC by address, no DNS lookups), so
    nothing falls back to /etc/krb5.conf or asks the system resolver for SRV records.
    """
    return {
        "PATH": "/usr/sbin:/usr/bin:/sbin:/bin",
        "LANG": "C.UTF-8",
        "KRB5_CONFIG": str(dc.paths.krb5_conf),
        "HOME": str(dc.home),
    }


_IDLE_SECONDS = 30.0


class _ServingHelper:
    """One long-lived ``_samdb_tool.py --serve`` for one DC; one request at a time."""

    def __init__(self, dc: DcSpec) -> None:
        dc.paths.log.mkdir(parents=True, exist_ok=True)
        with open(dc.paths.log / "samdb-helper.log", "ab") as errors:
            self.proc = subprocess.Popen(
                [SYSTEM_PYTHON, "-I", str(HELPER), "--serve", str(_IDLE_SECONDS)],
                env=samba_env(dc),
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=errors,
                text=True,
                preexec_fn=_exec.die_with_parent,
            )
        self.lock = threading.Lock()

    def ask(self, request: str, timeout: float) -> str | None:
        """The answer line, or None if this helper is gone (the caller falls back)."""
        stdin, stdout = self.proc.stdin, self.proc.stdout
        assert stdin is not None and stdout is not None
        with self.lock:
            try:
                stdin.write(request + "\n")
                stdin.flush()
            except (BrokenPipeError, ValueError):
                return None
            return _read_line(self.proc, stdout, timeout)


def _read_line(proc: subprocess.Popen[str], stdout: IO[str], timeout: float) -> str | None:
    ready, _, _ = select.select([stdout], [], [], timeout)
    if not ready:  # hung: do not leave the next caller behind it
        proc.kill()
        raise EngineError([SYSTEM_PYTHON, str(HELPER)], -1, "", "samdb helper timed out")
    line = stdout.readline()
    return line or None


_helpers: dict[str, _ServingHelper] = {}
_helpers_lock = threading.Lock()


def _serving(dc: DcSpec) -> _ServingHelper:
    key = str(dc.paths.smb_conf)
    with _helpers_lock:
        helper = _helpers.get(key)
        if helper is None or helper.proc.poll() is not None:
            helper = _helpers[key] = _ServingHelper(dc)
        return helper


def _ask_serving(dc: DcSpec, request: str, timeout: float) -> str | None:
    line = _serving(dc).ask(request, timeout)
    if line is None:  # it had just idled out, or crashed: one fresh try
        line = _serving(dc).ask(request, timeout)
    return line


def call(
    dc: DcSpec,
    op: str,
    timeout: float = 60.0,
    helper: Path = HELPER,
    fresh: bool = False,
    **args: Any,
) -> Any:
    """Run ``helper``'s operation ``op`` against ``dc``'s sam.ldb and return its result
    (``fresh``: in a process of its own, never the serving helper, which may hold the
    sam.ldb a restore has just replaced)."""
    request = json.dumps({"op": op, "smbconf": str(dc.paths.smb_conf), **args})
    # -I: isolated mode, so no PYTHONPATH/user site from our environment leaks in.
    argv = [SYSTEM_PYTHON, "-I", str(helper)]
    # A faked runner (unit tests) stands for every process, the serving helper's too.
    serving = helper == HELPER and _exec.runner is _exec.REAL_RUNNER and not fresh
    line = _ask_serving(dc, request, timeout) if serving else None
    if line is None:
        done = _exec.run(argv, env=samba_env(dc), input=request, timeout=timeout, check=False)
        stdout, stderr, code = done.stdout, done.stderr, done.returncode
    else:
        stdout, stderr, code = line, "", 0
    try:
        answer = json.loads(stdout.strip().splitlines()[-1])
    except (IndexError, ValueError):
        raise EngineError(argv, code, stderr, f"samdb helper crashed during {op}") from None
    if answer.get("ok"):
        return answer.get("result")
    kind = str(answer.get("error", "internal"))
    message = f"{op}: {answer.get('message', '')}"
    log.debug("samdb helper refused %s: %s", op, kind)
    raise _KINDS.get(kind, SambaError)(argv, message)
