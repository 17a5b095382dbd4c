"""``pgrealm client doctor``: why a Kerberos login to a DB instance fails, and what to do.

:class:`Doctor` runs the checks of :mod:`.checks` for a :class:`Target` and returns a
:class:`Report` of findings (:mod:`.report`).
"""

from __future__ import annotations

from pathlib import Path

from pgrealm.client.doctor.checks import Doctor, Target
from pgrealm.client.doctor.report import Evidence, Finding, Report, Severity
from pgrealm.client.target import Api, instance_and_directory

__all__ = ["Doctor", "Evidence", "Finding", "Report", "Severity", "Target", "doctor_target"]


def doctor_target(
    api: Api, identifier: str, user: str, home: Path, instance_keytab: Path | None = None
) -> Target:
    """Who logs in where, asked of the API: ``user`` (its realm added if it has none) to
    the DB instance ``identifier``; ``home``: the stack's, where the instance's keytab is."""
    inst, directory = instance_and_directory(api, identifier)
    failed = inst.membership_status == "enable-kerberos-failed"
    return Target(
        user=user if "@" in user else f"{user}@{directory.realm}",
        realm=directory.realm,
        domain=directory.domain,
        directory_id=directory.directory_id,
        dcs=directory.dcs,
        instance=inst.identifier,
        endpoint=inst.endpoint,
        port=inst.port,
        instance_keytab=instance_keytab or inst.keytab_path(home),
        join_problem=api.join_problem(inst.identifier) if failed else None,
    )
