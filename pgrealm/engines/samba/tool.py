"""Runs ``_samdb_tool.py`` under Debian's python3: one JSON request in, one JSON answer out.

The project venv has no Samba bindings; Debian's /usr/bin/python3 does. Requests go on
stdin (they carry passwords), never argv. Answers may carry key material, so stdout is
never logged. Helper refusals become :mod:`pgrealm.engines.samba.errors` exceptions.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

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


def call(
    dc: DcSpec, op: str, timeout: float = 60.0, helper: Path = HELPER, **args: Any
) -> Any:
    """Run ``helper``'s operation ``op`` against ``dc``'s sam.ldb and return its result."""
    request = {"op": op, "smbconf": str(dc.paths.smb_conf), **args}
    # -I: isolated mode, so no PYTHONPATH/user site from our environment leaks in.
    argv = [SYSTEM_PYTHON, "-I", str(helper)]
    done = _exec.run(
        argv, env=samba_env(dc), input=json.dumps(request), timeout=timeout, check=False
    )
    try:
        answer = json.loads(done.stdout.strip().splitlines()[-1])
    except (IndexError, ValueError):
        raise EngineError(
            argv, done.returncode, done.stderr, f"samdb helper crashed during {op}"
        ) from None
    if answer.get("ok"):
        return answer.get("result")
    kind = str(answer.get("error", "internal"))
    message = f"{op}: {answer.get('message', '')}"
    log.debug("samdb helper refused %s: %s", op, kind)
    raise _KINDS.get(kind, SambaError)(argv, message)
