"""Smithy RPC v2 CBOR, which newer SDKs use for Directory Service.

Wire form, as botocore's ``RpcV2CBORSerializer``/``RpcV2CBORParser`` read and write it:
``POST /service/<targetPrefix>/operation/<Operation>`` with ``smithy-protocol:
rpc-v2-cbor``; bodies are CBOR maps keyed by *member name* (no ``locationName``),
timestamps are tag 1 (epoch seconds), blobs are byte strings. An operation without
input may have an empty body. Errors are a CBOR map with ``__type`` and ``message``
plus the modeled fields. https://smithy.io/2.0/additional-specs/protocols/smithy-rpc-v2.html
"""

from __future__ import annotations

import datetime as dt
import io
import logging
import re
from typing import Any

import cbor2
from botocore.model import OperationModel, Shape

from pgrealm.api.errors import ResolvedError
from pgrealm.api.http import HttpRequest, HttpResponse
from pgrealm.api.protocols.base import to_datetime
from pgrealm.api.protocols.json import JSONRequestParser, JSONResponseSerializer

__all__ = ["RpcV2CBORRequestParser", "RpcV2CBORResponseSerializer"]

log = logging.getLogger(__name__)

_PATH = re.compile(r"/service/([^/]+)/operation/([^/]+)/?")
_CONTENT_TYPE = "application/cbor"


class RpcV2CBORRequestParser(JSONRequestParser):
    PROTOCOL = "smithy-rpc-v2-cbor"

    def parse(self, request: HttpRequest) -> tuple[OperationModel, dict[str, Any]]:
        found = _PATH.fullmatch(request.path)
        if found is None:
            raise self._unknown_operation(request.path)
        operation = self._operation(found.group(2))
        return operation, self._decode_input(operation, self._load_body(request.body))

    def _load_body(self, body: bytes) -> Any:
        if not body:
            return {}
        stream = io.BytesIO(body)
        try:
            value = cbor2.CBORDecoder(stream).decode()
        except (cbor2.CBORDecodeError, ValueError) as exc:
            raise self._malformed(f"Request body is not valid CBOR: {exc}") from exc
        if stream.tell() != len(body):  # one item is the whole body: nothing may trail it
            raise self._malformed("Request body is not valid CBOR: bytes follow its item.")
        return value

    def _member_key(self, name: str, member: Shape) -> str:
        return name

    def _decode_timestamp(self, value: Any) -> Any:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return dt.datetime.fromtimestamp(value, dt.timezone.utc)
        return to_datetime(value)  # cbor2 has already turned tag 1 into a datetime

    def _decode_blob(self, value: Any) -> bytes:
        if not isinstance(value, (bytes, bytearray)):
            raise ValueError("blob must be a CBOR byte string")
        return bytes(value)


class RpcV2CBORResponseSerializer(JSONResponseSerializer):
    PROTOCOL = "smithy-rpc-v2-cbor"

    def _headers(self, request_id: str) -> dict[str, str]:
        return {
            "Content-Type": _CONTENT_TYPE,
            "smithy-protocol": "rpc-v2-cbor",
            "x-amzn-RequestId": request_id,
        }

    def _dump(self, body: Any) -> bytes:
        return bytes(cbor2.dumps(body, datetime_as_timestamp=True, timezone=dt.timezone.utc))

    def _member_key(self, name: str, member: Shape) -> str:
        return name

    def _encode_timestamp(self, shape: Shape, value: Any) -> Any:
        return to_datetime(value)  # cbor2 writes tag 1 with epoch seconds

    def _encode_blob(self, value: Any) -> Any:
        return value.encode("utf-8") if isinstance(value, str) else bytes(value)

    def _encode_scalar(self, shape: Shape, value: Any) -> Any:
        if shape.type_name in ("float", "double"):
            return float(value)  # CBOR has NaN and Infinity, unlike JSON
        return super()._encode_scalar(shape, value)

    def serialize_error(
        self,
        error: ResolvedError,
        request_id: str,
        operation_model: OperationModel | None = None,
    ) -> HttpResponse:
        body = self._error_body(error, request_id)
        return HttpResponse(error.status, self._headers(request_id), self._dump(body))
