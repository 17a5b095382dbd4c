"""``pgrealm client doctor``: why a Kerberos login to a DB instance fails, and what to do.

:class:`Doctor` runs the checks of :mod:`.checks` for a :class:`Target` and returns a
:class:`Report` of findings (:mod:`.report`).
"""

from __future__ import annotations

from pgrealm.client.doctor.checks import Doctor, Target
from pgrealm.client.doctor.report import Evidence, Finding, Report, Severity

__all__ = ["Doctor", "Evidence", "Finding", "Report", "Severity", "Target"]
