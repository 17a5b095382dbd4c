"""How a service's error goes on the wire: its code and HTTP status from the service model.

Services raise :class:`pgrealm.services.errors.ServiceError` naming an error *shape*;
``api/dispatch.py`` resolves it here and hands the result to the protocol's serializer.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from botocore.model import ServiceModel

from pgrealm.services.errors import CommonError, ServiceError

__all__ = ["ResolvedError", "resolve_error"]

log = logging.getLogger(__name__)


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
    except Exception:  # a shape the model lacks: a bug, which the start-up check prevents
        log.error("error shape %s is not in %s's model", error.shape, service_model.service_name)
        return ResolvedError(
            "InternalFailure", "The request processing has failed.", 500, False, error.shape
        )
    meta = shape.metadata.get("error", {})
    code = meta.get("code", error.shape)
    status = int(meta.get("httpStatusCode", 400))
    sender_fault = bool(meta.get("senderFault", status < 500))
    return ResolvedError(code, error.message, status, sender_fault, error.shape, error.fields)
