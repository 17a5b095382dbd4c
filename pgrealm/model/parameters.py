"""DB parameter groups' rules: PostgreSQL's settings as RDS shows them, and what a value
must look like. The settings, and those the engine manages itself, come from the
installed server through pgrealm/gateways/parameters.py; nothing here runs it.
"""

from __future__ import annotations

from dataclasses import dataclass

from pgrealm.store import Store
from pgrealm.store.kinds import Kind

__all__ = [
    "GROUP_MAY_SET",
    "Setting",
    "group_parameters",
    "is_true",
    "value_problem",
]

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


# Managed by pgrealm, but a group may set it: the instance's pg_hba depends on it.
GROUP_MAY_SET = frozenset({"krb_caseins_users"})


def group_parameters(store: Store, account: str, region: str, name: str) -> dict[str, str]:
    """The values set in the group ``name`` (none for the default group)."""
    doc = store.get(Kind.DB_PARAMETER_GROUP, account, region, name.lower())
    return dict(doc.get("_parameters", {})) if doc else {}


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
