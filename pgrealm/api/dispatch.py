"""The request pipeline, and the ONLY place where exceptions become HTTP responses.

    route -> sigv4 -> parse -> validate -> service method -> serialize

A ``ServiceError`` goes to the protocol's error serializer; ``NotImplementedError``
(an operation the model has but pgrealm does not serve) becomes a 501 naming the
operation; anything else is logged with its traceback and answered as InternalFailure.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Mapping
from typing import Any

from botocore import xform_name
from botocore.model import OperationModel

from pgrealm.api import routing, sigv4, specs
from pgrealm.api.context import RequestContext
from pgrealm.api.errors import CommonError, ServiceError, resolve_error
from pgrealm.api.http import HttpRequest, HttpResponse
from pgrealm.api.protocols import create_parser, create_serializer, detect_protocol
from pgrealm.api.validate import validate

__all__ = ["Dispatcher"]

log = logging.getLogger(__name__)

_FAMILY = {
    "query": "query",
    "ec2": "ec2",
    "json": "json",
    "rest-json": "json",
    "smithy-rpc-v2-cbor": "json",
}


class Dispatcher:
    def __init__(self, services: Mapping[str, Any], after_write: Callable[[], None] | None = None):
        self.services = services
        self.after_write = after_write

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.handle(request)

    def handle(self, request: HttpRequest) -> HttpResponse:
        request_id = str(uuid.uuid4())
        started = time.monotonic()
        try:
            service_name = routing.route(request)
        except ServiceError as exc:
            return HttpResponse(400, {"Content-Type": "text/plain"}, f"{exc.message}\n".encode())
        model = specs.load_service(service_name)
        protocol = detect_protocol(model, request)
        serializer = create_serializer(model, protocol)
        operation: OperationModel | None = None
        try:
            identity = sigv4.verify(request, _FAMILY[protocol])
            operation, params = create_parser(model, protocol).parse(request)
            validate(operation, params)
            ctx = RequestContext(
                account_id=identity.account_id,
                region=identity.region,
                request_id=request_id,
                service=service_name,
                operation=operation.name,
                access_key=identity.access_key,
            )
            output = self._invoke(ctx, operation, params)
            response = serializer.serialize_response(operation, output, request_id)
        except ServiceError as exc:
            resolved = resolve_error(model, exc)
            log.info(
                "%s %s -> %s: %s",
                service_name,
                operation.name if operation else "?",
                resolved.code,
                resolved.message,
            )
            response = serializer.serialize_error(resolved, request_id, operation)
        except NotImplementedError:
            name = operation.name if operation else "?"
            error = CommonError(
                "NotImplemented",
                f"pgrealm does not implement {service_name} {name} yet.",
                status=501,
                sender_fault=False,
            )
            response = serializer.serialize_error(
                resolve_error(model, error), request_id, operation
            )
        except Exception:
            log.exception("%s: internal failure", service_name)
            error = CommonError(
                "InternalFailure",
                "The request processing has failed because of "
                "an unknown error, exception or failure.",
                500,
                False,
            )
            response = serializer.serialize_error(
                resolve_error(model, error), request_id, operation
            )
        log.debug(
            "%s %s %d in %.1f ms",
            service_name,
            operation.name if operation else "?",
            response.status,
            (time.monotonic() - started) * 1000,
        )
        return response

    def _invoke(
        self, ctx: RequestContext, operation: OperationModel, params: dict[str, Any]
    ) -> dict[str, Any]:
        service = self.services.get(ctx.service)
        method = getattr(service, xform_name(operation.name), None) if service else None
        if method is None:
            raise NotImplementedError(operation.name)
        result: dict[str, Any] = method(ctx, params)
        return result
