"""What PostgreSQL 15 can be configured with, read from the server binary itself.

``postgres --describe-config`` lists every setting with its context, type, limits and
description, one tab-separated row each. The binary refuses to run as root, so it runs
as ``nobody``. pgrealm/gateways/parameters.py turns the rows into parameter-group terms.
"""

from __future__ import annotations

import logging
import re

from pgrealm.engines import _exec
from pgrealm.engines.postgres.osuser import tool_env
from pgrealm.engines.postgres.spec import bin_path
from pgrealm.errors import EngineError

__all__ = ["describe_config", "server_version"]

log = logging.getLogger(__name__)


def describe_config() -> list[tuple[str, str, str, str, str, str]]:
    """(name, context, type, minimum, maximum, short description) of every setting."""
    argv = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", "--"]
    done = _exec.run([*argv, bin_path("postgres"), "--describe-config"], env=tool_env())
    rows = []
    for line in done.stdout.splitlines():
        fields = line.split("\t")
        if len(fields) < 8:
            continue
        name, context, _group, kind, _default, low, high, short = fields[:8]
        rows.append((name, context, kind, low, high, short))
    return rows


def server_version() -> str:
    """The installed server's version, as RDS writes it: "15.18"."""
    done = _exec.run([bin_path("postgres"), "--version"], env=tool_env())
    found = re.search(r"\(PostgreSQL\) (\d+\.\d+)", done.stdout)
    if not found:
        raise EngineError([bin_path("postgres"), "--version"], 0, done.stdout, "no version")
    return found.group(1)
