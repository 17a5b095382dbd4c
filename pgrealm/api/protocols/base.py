"""What every protocol shares: the two abstract classes and the scalar conversions.

Parsers turn wire values into the Python types boto3 users pass (``int``, ``bool``,
aware ``datetime``, ``bytes``); serializers do the reverse. Anything that walks a
structure, list or map lives in the protocol modules, because that is where the wire
forms differ.
"""

from __future__ import annotations

import base64
import binascii
import calendar
import datetime as dt
import logging
import math
from abc import ABC, abstractmethod
from email.utils import formatdate
from enum import Enum
from typing import Any, ClassVar

from botocore.model import OperationModel, ServiceModel, Shape
from botocore.utils import parse_timestamp

from pgrealm.api.errors import ResolvedError
from pgrealm.api.http import HttpRequest, HttpResponse
from pgrealm.services.errors import CommonError

__all__ = [
    "RequestParser",
    "ResponseSerializer",
    "b64decode",
    "b64encode",
    "float_wire",
    "format_timestamp",
    "parse_bool",
    "parse_float",
    "parse_int",
    "parse_text_scalar",
    "scalar_text",
    "text",
    "to_datetime",
]

log = logging.getLogger(__name__)


class RequestParser(ABC):
    """Reads an HTTP request into (operation, params keyed by botocore member names)."""

    PROTOCOL: ClassVar[str]
    UNKNOWN_OPERATION_CODE: ClassVar[str] = "UnknownOperationException"
    UNKNOWN_OPERATION_STATUS: ClassVar[int] = 400
    MALFORMED_CODE: ClassVar[str] = "SerializationException"

    def __init__(self, service_model: ServiceModel) -> None:
        self.service_model = service_model
        self._operation_names = frozenset(service_model.operation_names)

    @abstractmethod
    def parse(self, request: HttpRequest) -> tuple[OperationModel, dict[str, Any]]:
        """The operation named by the request and its typed input params."""

    def _operation(self, name: str) -> OperationModel:
        if name not in self._operation_names:
            raise self._unknown_operation(name)
        return self.service_model.operation_model(name)

    def _unknown_operation(self, name: str) -> CommonError:
        service = self.service_model.service_name
        return CommonError(
            self.UNKNOWN_OPERATION_CODE,
            f"Operation {name!r} is not known to service {service}",
            self.UNKNOWN_OPERATION_STATUS,
        )

    def _malformed(self, detail: str) -> CommonError:
        return CommonError(self.MALFORMED_CODE, detail, 400)


class ResponseSerializer(ABC):
    """Writes an operation's output, or an error, as the protocol's HTTP response."""

    PROTOCOL: ClassVar[str]

    def __init__(self, service_model: ServiceModel) -> None:
        self.service_model = service_model

    @abstractmethod
    def serialize_response(
        self, operation_model: OperationModel, output: dict[str, Any], request_id: str
    ) -> HttpResponse:
        """``output`` is keyed by the output shape's member names; None values are left out."""

    @abstractmethod
    def serialize_error(
        self,
        error: ResolvedError,
        request_id: str,
        operation_model: OperationModel | None = None,
    ) -> HttpResponse:
        """An error response that botocore's parser reads back as ``error.code``."""

    def _error_shape(self, error: ResolvedError) -> Shape | None:
        """The modeled exception shape behind ``error``, if the model has one."""
        try:
            shape = self.service_model.shape_for(error.shape_name)
        except Exception:  # botocore raises NoShapeFoundError for unmodeled errors
            return None
        return shape if shape.metadata.get("exception") else None

    def _error_members(self, error: ResolvedError, request_id: str) -> dict[str, Any]:
        """Values for the error shape's members: ``error.fields`` plus Message/RequestId."""
        shape = self._error_shape(error)
        if shape is None:
            return {}
        values = {k: v for k, v in error.fields.items() if k in shape.members}
        for name in shape.members:
            lowered = name.lower()
            if lowered == "message" and name not in values:
                values[name] = error.message
            elif lowered == "requestid" and name not in values:
                values[name] = request_id
        return values


# -- scalars -----------------------------------------------------------------------------


def text(value: Any) -> str:
    """A string member's wire text; str Enums give their value, not ``Cls.NAME``."""
    if isinstance(value, Enum):
        value = value.value
    return str(value)


def to_datetime(value: Any) -> dt.datetime:
    """An aware UTC datetime from a datetime (naive means UTC), epoch number or string."""
    if isinstance(value, dt.datetime):
        stamp = value
    elif isinstance(value, bool):
        raise ValueError(f"not a timestamp: {value!r}")
    else:
        stamp = parse_timestamp(value)
    if stamp.tzinfo is None:
        return stamp.replace(tzinfo=dt.timezone.utc)
    return stamp.astimezone(dt.timezone.utc)


def format_timestamp(value: Any, fmt: str) -> str | int | float:
    """``value`` in the Smithy timestamp format ``fmt`` (iso8601, unixtimestamp, rfc822)."""
    stamp = to_datetime(value)
    fmt = fmt.lower()
    if fmt == "unixtimestamp":
        seconds = calendar.timegm(stamp.timetuple())
        if stamp.microsecond:
            return round(seconds + stamp.microsecond / 1e6, 3)
        return seconds
    if fmt == "rfc822":
        return formatdate(calendar.timegm(stamp.timetuple()), usegmt=True)
    if stamp.microsecond:
        return stamp.strftime("%Y-%m-%dT%H:%M:%S.") + f"{stamp.microsecond // 1000:03d}Z"
    return stamp.strftime("%Y-%m-%dT%H:%M:%SZ")


def b64encode(value: Any) -> str:
    raw = value.encode("utf-8") if isinstance(value, str) else bytes(value)
    return base64.b64encode(raw).decode("ascii")


def b64decode(value: Any) -> bytes:
    if not isinstance(value, str):
        raise ValueError("blob must be a base64 string")
    try:
        return base64.b64decode(value, validate=True)
    except binascii.Error as exc:
        raise ValueError(f"invalid base64: {exc}") from exc


def parse_bool(value: str) -> bool:
    lowered = value.strip().lower()
    if lowered not in ("true", "false"):
        raise ValueError(f"not a boolean: {value!r}")
    return lowered == "true"


def parse_int(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise ValueError(f"not an integer: {value!r}")
    return int(value)


def parse_float(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise ValueError(f"not a number: {value!r}")
    return float(value)


def float_wire(value: Any) -> float | str:
    """JSON and XML have no NaN/Infinity literals; AWS sends them as strings."""
    number = float(value)
    if math.isnan(number):
        return "NaN"
    if math.isinf(number):
        return "Infinity" if number > 0 else "-Infinity"
    return number


def parse_text_scalar(shape: Shape, raw: str) -> Any:
    """A scalar from its text form (query params, XML, URI labels, headers)."""
    kind = shape.type_name
    if kind in ("string", "character"):
        return raw
    if kind in ("integer", "long", "short", "byte"):
        return parse_int(raw)
    if kind == "boolean":
        return parse_bool(raw)
    if kind in ("float", "double"):
        return parse_float(raw)
    if kind == "timestamp":
        return to_datetime(raw)
    if kind == "blob":
        return b64decode(raw)
    raise ValueError(f"unsupported scalar type {kind}")


def scalar_text(shape: Shape, value: Any, default_timestamp_format: str = "iso8601") -> str:
    """A scalar's text form for XML bodies, URI labels, query strings and headers."""
    kind = shape.type_name
    if kind == "boolean":
        return "true" if value else "false"
    if kind == "timestamp":
        fmt = shape.serialization.get("timestampFormat", default_timestamp_format)
        return str(format_timestamp(value, fmt))
    if kind == "blob":
        return b64encode(value)
    if kind in ("float", "double"):
        return str(float_wire(value))
    return text(value)
