"""A DB instance's membership in a directory, with RDS's Kerberos statuses.

The names and meanings are RDS's ("Understanding Kerberos authentication status",
https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/postgresql-kerberos-managing.html):

    (new) --create/restore/modify --apply-immediately--> enabling-kerberos
    (new) --modify without --apply-immediately---------> pending-enable-kerberos
    pending-enable-kerberos --reboot / maintenance window--> enabling-kerberos
    enabling-kerberos --> kerberos-enabled | enable-kerberos-failed
    enable-kerberos-failed --modify --domain <same id>--> enabling-kerberos | pending-...
    kerberos-enabled --modify --domain none/--disable-domain--> disabling-kerberos
                                                          | pending-disable-kerberos
    pending-disable-kerberos --reboot / maintenance window--> disabling-kerberos
    pending-disable-kerberos --modify --domain <same id>--> kerberos-enabled (it stays)
    disabling-kerberos --> (gone)

``pending-maintenance-*`` are RDS's names for a change that waits for the window alone;
pgrealm's pending changes are applied by a reboot too, so it reports ``pending-*``.
"""

from __future__ import annotations

import re
from datetime import datetime
from enum import Enum

__all__ = [
    "KERBEROS_ON",
    "MembershipStatus",
    "applied_status",
    "check_move",
    "in_maintenance_window",
]


class MembershipStatus(str, Enum):
    ENABLING = "enabling-kerberos"
    ENABLED = "kerberos-enabled"
    PENDING_ENABLE = "pending-enable-kerberos"
    PENDING_MAINTENANCE_ENABLE = "pending-maintenance-enable-kerberos"
    ENABLE_FAILED = "enable-kerberos-failed"
    PENDING_DISABLE = "pending-disable-kerberos"
    PENDING_MAINTENANCE_DISABLE = "pending-maintenance-disable-kerberos"
    DISABLING = "disabling-kerberos"


_S = MembershipStatus
# The moves a membership may make; "" is a membership that does not exist yet, or no more.
_MOVES: frozenset[tuple[str, str]] = frozenset(
    {
        ("", _S.ENABLING),
        ("", _S.PENDING_ENABLE),
        (_S.PENDING_ENABLE, _S.ENABLING),
        (_S.PENDING_MAINTENANCE_ENABLE, _S.ENABLING),
        (_S.ENABLING, _S.ENABLED),
        (_S.ENABLING, _S.ENABLE_FAILED),
        (_S.ENABLE_FAILED, _S.ENABLING),
        (_S.ENABLE_FAILED, _S.PENDING_ENABLE),
        (_S.ENABLED, _S.DISABLING),
        (_S.ENABLED, _S.PENDING_DISABLE),
        (_S.ENABLE_FAILED, _S.DISABLING),
        (_S.PENDING_ENABLE, _S.DISABLING),
        (_S.PENDING_DISABLE, _S.DISABLING),
        (_S.PENDING_DISABLE, _S.ENABLED),  # the same domain again before the reboot
        (_S.PENDING_MAINTENANCE_DISABLE, _S.ENABLED),
        (_S.PENDING_MAINTENANCE_DISABLE, _S.DISABLING),
        (_S.DISABLING, ""),
    }
)

# Statuses in which the instance serves Kerberos logins, or is about to.
KERBEROS_ON = frozenset(
    {_S.ENABLING, _S.ENABLED, _S.PENDING_DISABLE, _S.PENDING_MAINTENANCE_DISABLE}
)

# What a pending change becomes when it is applied (a reboot, the maintenance window).
_APPLIED = {
    _S.PENDING_ENABLE: _S.ENABLING,
    _S.PENDING_MAINTENANCE_ENABLE: _S.ENABLING,
    _S.PENDING_DISABLE: _S.DISABLING,
    _S.PENDING_MAINTENANCE_DISABLE: _S.DISABLING,
}


def check_move(before: str, after: str) -> None:
    """Raise ValueError unless a membership may go from ``before`` to ``after``."""
    if before != after and (before, after) not in _MOVES:
        raise ValueError(f"a domain membership cannot go from {before or 'none'} to {after}")


def applied_status(status: str) -> str:
    """The status a pending change takes when it is applied; others stay as they are."""
    try:
        return _APPLIED[MembershipStatus(status)].value
    except (ValueError, KeyError):
        return status


_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_MOMENT = rf"({'|'.join(_DAYS)}):(\d\d):(\d\d)"
_WINDOW = re.compile(rf"^{_MOMENT}-{_MOMENT}$")


def in_maintenance_window(window: str, now: datetime) -> bool:
    """Whether ``now`` (UTC) falls in RDS's ``ddd:hh24:mi-ddd:hh24:mi`` window; a window may
    wrap around the end of the week."""
    found = _WINDOW.match(window.lower())
    if not found:
        return False
    d1, h1, m1, d2, h2, m2 = found.groups()
    week = 7 * 24 * 60
    start = (_DAYS.index(d1) * 24 + int(h1)) * 60 + int(m1)
    end = (_DAYS.index(d2) * 24 + int(h2)) * 60 + int(m2)
    minute = (now.weekday() * 24 + now.hour) * 60 + now.minute
    return (minute - start) % week < (end - start) % week
