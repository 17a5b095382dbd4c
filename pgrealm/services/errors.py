"""The errors services raise, in their own service's vocabulary.

    ServiceError               any error the wire should carry
     +-- CommonError           errors every AWS service shares (auth, validation, 5xx),
                               which no service model declares

A service raises ``ServiceError("DomainNotFoundFault", "...")`` naming the *shape*; the
wire code and HTTP status come from the service model (RDS's ``DBInstanceNotFoundFault``
travels as ``DBInstanceNotFound`` with 404), resolved by
:func:`pgrealm.api.errors.resolve_error`.
"""

from __future__ import annotations

from typing import Any

__all__ = ["CommonError", "ServiceError"]


class ServiceError(Exception):
    """An error in the service's own vocabulary: ``shape`` is the error shape's name."""

    def __init__(self, shape: str, message: str, **fields: Any) -> None:
        super().__init__(message)
        self.shape = shape
        self.message = message
        self.fields = fields


class CommonError(ServiceError):
    """An error outside the service model, with its code and status given explicitly."""

    def __init__(
        self, code: str, message: str, status: int = 400, sender_fault: bool = True
    ) -> None:
        super().__init__(code, message)
        self.code = code
        self.status = status
        self.sender_fault = sender_fault
