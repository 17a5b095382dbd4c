"""Errors of the Samba engine, refining :class:`pgrealm.errors.EngineError`.

    EngineError
     +-- SambaError             the directory refused or failed an operation
          +-- PasswordPolicyError   AD's password policy (length, complexity, history) refused it
          +-- NoSuchObjectError     the user/account/principal does not exist
          +-- AlreadyExistsError    an object of that name (or that SPN) exists already

Services map these to AWS errors (e.g. PasswordPolicyError -> InvalidPasswordException);
the engine itself knows nothing of AWS.
"""

from __future__ import annotations

from collections.abc import Sequence

from pgrealm.errors import EngineError

__all__ = ["AlreadyExistsError", "NoSuchObjectError", "PasswordPolicyError", "SambaError"]


class SambaError(EngineError):
    """The directory answered an operation with an error."""

    def __init__(self, argv: Sequence[str], message: str) -> None:
        super().__init__(argv, 1, "", message)
        self.detail = message


class PasswordPolicyError(SambaError):
    """The password does not satisfy the domain's password policy."""


class NoSuchObjectError(SambaError):
    """The named object is not in the directory."""


class AlreadyExistsError(SambaError):
    """The object (or a conflicting SPN / account name) already exists."""
