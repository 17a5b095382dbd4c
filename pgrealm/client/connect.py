"""``pgrealm client connect``: get a ticket if there is none, then become psql.

The password goes to kinit only, through its own prompt on the terminal (or its
stdin): never on a command line, never through this process's memory. psql replaces
this process (``execvp``) so the user gets an ordinary interactive session.
"""

from __future__ import annotations

import logging
import os
import subprocess
from collections.abc import Sequence

__all__ = ["conninfo", "ensure_ticket", "exec_psql", "ticket_principal"]

log = logging.getLogger(__name__)


def conninfo(endpoint: str, port: int, user: str, dbname: str) -> str:
    """libpq keywords: the host by its endpoint name, which the service principal is named after."""
    return f"host={endpoint} port={port} dbname={dbname} user={user}"


def ticket_principal(env: dict[str, str]) -> str | None:
    """The principal of a valid ticket in the cache, or None when there is none."""
    if subprocess.run(["klist", "-s"], env=env, stdin=subprocess.DEVNULL).returncode != 0:
        return None
    listing = subprocess.run(
        ["klist"], env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True
    ).stdout
    for line in listing.splitlines():
        if line.startswith("Default principal:"):
            return line.split(":", 1)[1].strip()
    return None


def ensure_ticket(user: str, env: dict[str, str]) -> bool:
    """kinit ``user`` unless the cache already holds a valid ticket for exactly that principal.

    kinit inherits our terminal: it prompts and reads the password itself (from the tty,
    or from stdin when a script pipes it in). Returns False when kinit failed.
    """
    if ticket_principal(env) == user:
        return True
    log.debug("no ticket for %s; running kinit", user)
    return subprocess.run(["kinit", user], env=env).returncode == 0


def exec_psql(info: str, env: dict[str, str], extra: Sequence[str] = ()) -> None:
    """Replace this process with psql (does not return)."""
    os.execvpe("psql", ["psql", info, *extra], env)
