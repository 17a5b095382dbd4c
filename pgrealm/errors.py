"""Internal errors of pgrealm (never sent on the wire as they are).

    PgRealmError
     +-- EngineError      a tool (samba-tool, initdb, ...) failed: argv, exit code, stderr
     +-- ReconcileError   a reconcile step cannot make progress; its message becomes a status reason
     +-- StoreError       the state store is unreadable or a write conflicts

AWS-shaped errors live in :mod:`pgrealm.api.errors`; only ``api/dispatch.py`` turns
anything into an HTTP response.
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["EngineError", "PgRealmError", "ReconcileError", "StoreError"]


class PgRealmError(Exception):
    """Root of pgrealm's internal errors."""


class EngineError(PgRealmError):
    """A managed tool exited badly. Carries what a person needs to see why."""

    def __init__(
        self, argv: Sequence[str], returncode: int, stderr: str, message: str = ""
    ) -> None:
        self.argv = list(argv)
        self.returncode = returncode
        self.stderr_tail = "\n".join(stderr.strip().splitlines()[-15:])
        head = message or f"{self.argv[0] if self.argv else '?'} exited with {returncode}"
        super().__init__(f"{head}: {self.stderr_tail}" if self.stderr_tail else head)


class ReconcileError(PgRealmError):
    """A step cannot succeed as things are; the message is shown as the status reason."""


class StoreError(PgRealmError):
    """The state store failed."""
