"""What PostgreSQL 15 can be configured with, read from the server binary itself.

``postgres --describe-config`` lists every setting with its context, type, limits and
description. DB parameter groups check names and values against it, and describe
parameters from it: ``postmaster`` settings take effect at a restart (RDS's "static"),
every other context at a reload ("dynamic"). The binary refuses to run as root, so it
runs as ``nobody``.
"""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass

from pgrealm.engines import _exec
from pgrealm.engines.postgres.osuser import tool_env
from pgrealm.engines.postgres.spec import bin_path

__all__ = ["Setting", "catalog", "is_true", "value_problem"]

log = logging.getLogger(__name__)

_TRUE = {"on", "true", "yes", "1", "t", "y"}
_FALSE = {"off", "false", "no", "0", "f", "n"}
_TYPES = {"BOOLEAN": "boolean", "INTEGER": "integer", "REAL": "float", "STRING": "string"}


@dataclass(frozen=True)
class Setting:
    name: str
    context: str  # postmaster, sighup, user, ...
    kind: str  # BOOLEAN, INTEGER, REAL, STRING, ENUM
    minimum: str
    maximum: str
    description: str

    @property
    def static(self) -> bool:
        return self.context == "postmaster"

    @property
    def data_type(self) -> str:
        """As RDS names it: boolean, integer, float, string or list."""
        return _TYPES.get(self.kind, "list")

    @property
    def allowed_values(self) -> str | None:
        if self.kind == "BOOLEAN":
            return "0,1"
        if self.kind in ("INTEGER", "REAL") and self.minimum and self.maximum:
            return f"{self.minimum}-{self.maximum}"
        return None


@functools.cache
def catalog() -> dict[str, Setting]:
    argv = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", "--"]
    done = _exec.run([*argv, bin_path("postgres"), "--describe-config"], env=tool_env())
    out = {}
    for line in done.stdout.splitlines():
        fields = line.split("\t")
        if len(fields) < 8:
            continue
        name, context, _group, kind, _default, low, high, short = fields[:8]
        out[name] = Setting(name, context, kind, low, high, short)
    return out


def value_problem(setting: Setting, value: str) -> str | None:
    """Why ``value`` cannot be ``setting``'s value, in RDS's words; None if it can."""
    if setting.kind == "BOOLEAN" and value.lower() not in _TRUE | _FALSE:
        return f"Invalid parameter value: {value} for: {setting.name} allowed values are: 0,1"
    if setting.kind in ("INTEGER", "REAL") and setting.minimum and setting.maximum:
        try:
            number = float(value)
        except ValueError:
            number = None
        if number is None or not float(setting.minimum) <= number <= float(setting.maximum):
            return (
                f"Invalid parameter value: {value} for: {setting.name} allowed values are: "
                f"{setting.minimum}-{setting.maximum}"
            )
    return None


def is_true(value: str) -> bool:
    return value.lower() in _TRUE
