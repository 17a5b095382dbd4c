"""The request pipeline, and the ONLY place where exceptions become HTTP responses.

    route -> sigv4 -> parse -> validate -> service method -> serialize

A ``ServiceError`` goes to the protocol's error serializer; ``NotImplementedError``
(an operation the model has but pgrealm does not serve) becomes the service's own error
for an unsupported operation, with a sentence naming it (never HTTP Not Implemented);
anything else is logged with its traceback and answered as InternalFailure.

The first request to a service loads its botocore model: tens of thousands of objects
that live as long as the process. The dispatcher then moves every object alive into
the collector's permanent generation (``gc.freeze``), so that later full collections,
which a large describe triggers every few dozen calls, stop walking them all again
(~10 ms each, a good part of describe-db-instances' p99 at 100 instances).
"""

from __future__ import annotations

import gc
import logging
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from typing import Any

from botocore import xform_name
from botocore.model import OperationModel, ServiceModel

from pgrealm.api import routing, sigv4, specs
from pgrealm.api.errors import resolve_error
from pgrealm.api.http import HttpRequest, HttpResponse
from pgrealm.api.protocols import create_parser, create_serializer, detect_protocol
from pgrealm.api.validate import validate
from pgrealm.services.context import RequestContext
from pgrealm.services.errors import CommonError, ServiceError

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
        self._settled: set[str] = set()
        self._settle_lock = threading.Lock()

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.handle(request)

    def handle(self, request: HttpRequest) -> HttpResponse:
        request_id = str(uuid.uuid4())
        started = time.monotonic()
        try:
            service_name = routing.route(request)
        except ServiceError as exc:
            return HttpResponse(400, {"Content-Type": "text/plain"}, f"{exc.message}\n".encode())
        model = self._model(service_name)
        protocol = detect_protocol(model, request)
        serializer = create_serializer(model, protocol)
        operation: OperationModel | None = None
        try:
            identity = sigv4.verify(
                request, _FAMILY[protocol], signing_name=routing.signing_name(service_name)
            )
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
            response = serializer.serialize_error(
                resolve_error(model, unsupported(service_name, name)), request_id, operation
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

    def _model(self, service_name: str) -> ServiceModel:
        model = specs.load_service(service_name)
        if service_name not in self._settled:
            with self._settle_lock:
                if service_name not in self._settled:
                    self._settled.add(service_name)
                    _settle_heap()
        return model

    def _invoke(
        self, ctx: RequestContext, operation: OperationModel, params: dict[str, Any]
    ) -> dict[str, Any]:
        service = self.services.get(ctx.service)
        method = getattr(service, xform_name(operation.name), None) if service else None
        if method is None:
            raise NotImplementedError(operation.name)
        result: dict[str, Any] = method(ctx, params)
        return result


# Each service's answer to an operation it does not offer: Directory Service and EC2
# document one; the query services answer an action they do not take with InvalidAction.
_UNSUPPORTED = {
    "ds": "UnsupportedOperationException",
    "ec2": "UnsupportedOperation",
    "logs": "InvalidOperationException",
}


def unsupported(service: str, operation: str) -> ServiceError:
    sentence = f"pgrealm does not offer {operation}: it is not part of what pgrealm serves."
    if service in ("ds", "logs"):  # shapes their models declare
        return ServiceError(_UNSUPPORTED[service], sentence)
    return CommonError(_UNSUPPORTED.get(service, "InvalidAction"), sentence)


def _settle_heap() -> None:
    """Collect once, then exempt everything alive now from later collections."""
    started = time.monotonic()
    gc.collect()
    gc.freeze()
    log.debug(
        "gc: %d objects frozen in %.1f ms",
        gc.get_freeze_count(),
        (time.monotonic() - started) * 1000,
    )
