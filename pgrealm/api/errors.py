"""AWS-shaped errors that services raise and ``api/dispatch.py`` turns into responses.

    ServiceError               any error the wire should carry
     +-- CommonError           errors every AWS service shares (auth, validation, 5xx),
                               which no service model declares

A service raises ``ServiceError("DomainNotFoundFault", "...")`` naming the *shape*; the
wire code and HTTP status come from the service model (RDS's ``DBInstanceNotFoundFault``
travels as ``DBInstanceNotFound`` with 404), resolved by :func:`resolve_error`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from botocore.model import ServiceModel

__all__ = ["CommonError", "ResolvedError", "ServiceError", "resolve_error"]


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


@dataclass(frozen=True)
class ResolvedError:
    """What a serializer needs to write an error body."""

    code: str
    message: str
    status: int
    sender_fault: bool
    shape_name: str
    fields: dict[str, Any] = field(default_factory=dict)


def resolve_error(service_model: ServiceModel, error: ServiceError) -> ResolvedError:
    """Look the error's shape up in the model for its wire code and HTTP status."""
    if isinstance(error, CommonError):
        return ResolvedError(
            error.code, error.message, error.status, error.sender_fault, error.shape, error.fields
        )
    try:
        shape = service_model.shape_for(error.shape)
    except Exception:  # unknown shape: a programming error, but answer sensibly
        return ResolvedError(error.shape, error.message, 400, True, error.shape, error.fields)
    meta = shape.metadata.get("error", {})
    code = meta.get("code", error.shape)
    status = int(meta.get("httpStatusCode", 400))
    sender_fault = bool(meta.get("senderFault", status < 500))
    return ResolvedError(code, error.message, status, sender_fault, error.shape, error.fields)
