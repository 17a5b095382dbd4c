"""The AWS JSON 1.0/1.1 protocol (Directory Service): ``X-Amz-Target: Prefix.Operation``.

Bodies are JSON objects keyed by member name (or ``locationName``); timestamps are epoch
seconds unless the shape says otherwise, blobs base64. Errors are
``{"__type": code, "message": ...}`` plus the modeled fields of the error shape (ds's
carry ``RequestId``). The value walk here (``_decode``/``_encode``) is reused by
rest-json and, with native timestamps and blobs, by RPC v2 CBOR.
"""

from __future__ import annotations

import json
import logging
from typing import Any, ClassVar

from botocore.model import OperationModel, Shape

from pgrealm.api.errors import ResolvedError
from pgrealm.api.http import HttpRequest, HttpResponse
from pgrealm.api.protocols.base import (
    RequestParser,
    ResponseSerializer,
    b64decode,
    b64encode,
    float_wire,
    format_timestamp,
    parse_float,
    parse_int,
    text,
    to_datetime,
)

__all__ = ["JSONRequestParser", "JSONResponseSerializer"]

log = logging.getLogger(__name__)


class JSONRequestParser(RequestParser):
    PROTOCOL = "json"

    def parse(self, request: HttpRequest) -> tuple[OperationModel, dict[str, Any]]:
        target = request.header("x-amz-target")
        prefix, _, name = target.rpartition(".")
        if prefix != self.service_model.metadata.get("targetPrefix"):
            raise self._unknown_operation(target)
        operation = self._operation(name)
        return operation, self._decode_input(operation, self._load_body(request.body))

    def _load_body(self, body: bytes) -> Any:
        if not body.strip():
            return {}
        try:
            return json.loads(body)
        except (UnicodeDecodeError, ValueError) as exc:
            raise self._malformed(f"Request body is not valid JSON: {exc}") from exc

    def _decode_input(self, operation: OperationModel, body: Any) -> dict[str, Any]:
        shape = operation.input_shape
        if shape is None:
            return {}
        try:
            result: dict[str, Any] = self._decode(shape, body)
        except (TypeError, ValueError, AttributeError) as exc:
            raise self._malformed(f"Malformed input for {operation.name}: {exc}") from exc
        return result

    # -- the walk; subclasses change keys and scalar forms --------------------------------

    def _member_key(self, name: str, member: Shape) -> str:
        return str(member.serialization.get("name", name))

    def _decode(self, shape: Shape, value: Any) -> Any:
        kind = shape.type_name
        if kind == "structure":
            if shape.is_document_type:
                return value
            return self._decode_structure(shape, _expect(value, dict, shape))
        if kind == "list":
            items = _expect(value, list, shape)
            return [None if v is None else self._decode(shape.member, v) for v in items]
        if kind == "map":
            entries = _expect(value, dict, shape)
            return {
                self._decode(shape.key, k): None if v is None else self._decode(shape.value, v)
                for k, v in entries.items()
            }
        return self._decode_scalar(shape, value)

    def _decode_structure(self, shape: Shape, value: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, member in shape.members.items():
            if "location" in member.serialization:
                continue  # rest-json reads these from the URI, query string or headers
            raw = value.get(self._member_key(name, member))
            if raw is not None:
                out[name] = self._decode(member, raw)
        return out

    def _decode_scalar(self, shape: Shape, value: Any) -> Any:
        kind = shape.type_name
        if kind in ("string", "character"):
            return _expect(value, str, shape)
        if kind in ("integer", "long", "short", "byte"):
            return parse_int(_expect(value, int, shape))
        if kind == "boolean":
            return _expect(value, bool, shape)
        if kind in ("float", "double"):
            return parse_float(value)
        if kind == "timestamp":
            return self._decode_timestamp(value)
        if kind == "blob":
            return self._decode_blob(value)
        raise ValueError(f"unsupported type {kind}")

    def _decode_timestamp(self, value: Any) -> Any:
        return to_datetime(value)

    def _decode_blob(self, value: Any) -> bytes:
        return b64decode(value)


def _expect(value: Any, kind: type, shape: Shape) -> Any:
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise ValueError(f"expected {kind.__name__} for {shape.name}, got {type(value).__name__}")
    return value


class JSONResponseSerializer(ResponseSerializer):
    PROTOCOL = "json"
    TIMESTAMP_FORMAT: ClassVar[str] = "unixtimestamp"

    def serialize_response(
        self, operation_model: OperationModel, output: dict[str, Any], request_id: str
    ) -> HttpResponse:
        shape = operation_model.output_shape
        body = {} if shape is None else self._encode(shape, output)
        return HttpResponse(200, self._headers(request_id), self._dump(body))

    def serialize_error(
        self,
        error: ResolvedError,
        request_id: str,
        operation_model: OperationModel | None = None,
    ) -> HttpResponse:
        headers = self._headers(request_id)
        headers["x-amzn-ErrorType"] = error.code
        return HttpResponse(error.status, headers, self._dump(self._error_body(error, request_id)))

    def _error_body(self, error: ResolvedError, request_id: str) -> dict[str, Any]:
        shape = self._error_shape(error)
        body: dict[str, Any] = {"__type": error.code}
        if shape is None:
            body["message"] = error.message
            body.update(error.fields)
        else:
            body.update(self._encode(shape, self._error_members(error, request_id)))
            if not any(key.lower() == "message" for key in body):
                body["message"] = error.message
        return body

    def _headers(self, request_id: str) -> dict[str, str]:
        version = self.service_model.metadata.get("jsonVersion", "1.0")
        return {
            "Content-Type": f"application/x-amz-json-{version}",
            "x-amzn-RequestId": request_id,
        }

    def _dump(self, body: Any) -> bytes:
        return json.dumps(body, separators=(",", ":")).encode("utf-8")

    # -- the walk ---------------------------------------------------------------------------

    def _member_key(self, name: str, member: Shape) -> str:
        return str(member.serialization.get("name", name))

    def _encode(self, shape: Shape, value: Any) -> Any:
        kind = shape.type_name
        if kind == "structure":
            if shape.is_document_type:
                return value
            return self._encode_structure(shape, value)
        if kind == "list":
            return [self._encode(shape.member, v) for v in value if v is not None]
        if kind == "map":
            return {
                self._encode(shape.key, k): self._encode(shape.value, v)
                for k, v in value.items()
                if v is not None
            }
        return self._encode_scalar(shape, value)

    def _encode_structure(self, shape: Shape, value: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, member in shape.members.items():
            item = value.get(name)
            if item is not None and "location" not in member.serialization:
                out[self._member_key(name, member)] = self._encode(member, item)
        return out

    def _encode_scalar(self, shape: Shape, value: Any) -> Any:
        kind = shape.type_name
        if kind in ("string", "character"):
            return text(value)
        if kind in ("integer", "long", "short", "byte"):
            return int(value)
        if kind == "boolean":
            return bool(value)
        if kind in ("float", "double"):
            return float_wire(value)
        if kind == "timestamp":
            return self._encode_timestamp(shape, value)
        if kind == "blob":
            return self._encode_blob(value)
        raise ValueError(f"unsupported type {kind}")

    def _encode_timestamp(self, shape: Shape, value: Any) -> Any:
        fmt = shape.serialization.get("timestampFormat", self.TIMESTAMP_FORMAT)
        return format_timestamp(value, fmt)

    def _encode_blob(self, value: Any) -> Any:
        return b64encode(value)
