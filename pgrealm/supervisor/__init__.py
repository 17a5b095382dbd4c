"""The process supervisor: start, adopt, restart and stop the stack's daemons."""

from __future__ import annotations

from pgrealm.supervisor.process import ProcessSpec, RunningProcess
from pgrealm.supervisor.supervisor import Supervisor

__all__ = ["ProcessSpec", "RunningProcess", "Supervisor"]
