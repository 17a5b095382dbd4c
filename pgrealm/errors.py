"""Internal errors of pgrealm (never sent on the wire as they are).

    PgRealmError
     +-- EngineError      a tool (samba-tool, initdb, ...) failed: argv, exit code, stderr
     +-- ReconcileError   a reconcile step cannot make progress; its message becomes a status reason
     +-- StoreError       the state store is unreadable or a write conflicts

AWS-shaped errors live in :mod:`pgrealm.services.errors`; only ``api/dispatch.py`` turns
anything into an HTTP response.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

__all__ = [
    "EngineError",
    "PgRealmError",
    "ReconcileError",
    "StoreError",
    "LOW_SPACE",
    "one_line_reason",
]


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

    @property
    def summary(self) -> str:
        """One line a user can act on: the tool, its subcommand and its last word
        ("samba-tool domain provision failed: ..."); the whole of stderr is in the log."""
        words = [os.path.basename(self.argv[0])] if self.argv else ["a tool"]
        for arg in self.argv[1:3]:
            if not arg.isalpha():
                break
            words.append(arg)
        last = [line.strip() for line in self.stderr_tail.splitlines() if line.strip()]
        detail = last[-1][:300] if last else f"exit status {self.returncode}"
        return f"{' '.join(words)} failed: {detail}"


LOW_SPACE = 64 * 1024 * 1024  # below this, a failure is most likely the full disk's


def one_line_reason(exc: BaseException, free: int | None = None) -> str:
    """The reason to show in a status: one line, never a traceback. With ``free``, the
    bytes left where the resource's files are, a nearly full file system is named first:
    tools that fail for lack of space rarely say so (Samba reports "IO Error")."""
    if free is not None and free < LOW_SPACE:
        return (
            f"no space left for its files ({free // (1024 * 1024)} MB free): {one_line_reason(exc)}"
        )
    if isinstance(exc, EngineError):
        return exc.summary
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return lines[0][:300] if lines else type(exc).__name__


class ReconcileError(PgRealmError):
    """A step cannot succeed as things are; the message is shown as the status reason."""


class StoreError(PgRealmError):
    """The state store failed."""
