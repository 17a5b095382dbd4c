"""The AWS REST-JSON protocol (Directory Service Data).

An operation is found by method and ``requestUri`` template (``/Users/{Name}?x=y``);
members bound by ``location`` come from URI labels, the query string or headers, the
rest from the JSON body (or one ``payload`` member). Responses put ``header``/
``statusCode`` members outside the body. Errors carry the code in ``X-Amzn-ErrorType``
and the modeled fields (``Message``, ``Reason``) in the body.
"""

from __future__ import annotations

import base64
import csv
import json
import logging
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, unquote

from botocore.model import OperationModel, ServiceModel, Shape

from pgrealm.api.errors import ResolvedError
from pgrealm.api.http import HttpRequest, HttpResponse
from pgrealm.api.protocols.base import parse_text_scalar, scalar_text
from pgrealm.api.protocols.json import JSONRequestParser, JSONResponseSerializer

__all__ = ["RestJSONRequestParser", "RestJSONResponseSerializer"]

log = logging.getLogger(__name__)

_LABEL = re.compile(r"\{([^}]+)\}")


@dataclass(frozen=True)
class _Route:
    operation: str
    method: str
    path: re.Pattern[str]
    fixed_query: tuple[tuple[str, str], ...]  # literal "?k=v" parts of the requestUri
    weight: tuple[int, int]  # more literal text first, then fewer labels

    def match(self, request: HttpRequest, query: list[tuple[str, str]]) -> dict[str, str] | None:
        if request.method.upper() != self.method:
            return None
        found = self.path.fullmatch(request.path)
        if found is None or any(pair not in query for pair in self.fixed_query):
            return None
        return {k: unquote(v) for k, v in found.groupdict().items()}


def _route(operation: OperationModel) -> _Route:
    uri = operation.http["requestUri"]
    path, _, fixed = uri.partition("?")
    pattern, literal, labels, pos = "", 0, 0, 0
    for found in _LABEL.finditer(path):
        pattern += re.escape(path[pos : found.start()])
        literal += found.start() - pos
        name = found.group(1)
        greedy = name.endswith("+")
        group = re.sub(r"\W", "_", name.rstrip("+"))
        pattern += f"(?P<{group}>.+)" if greedy else f"(?P<{group}>[^/]+)"
        labels, pos = labels + 1, found.end()
    pattern += re.escape(path[pos:])
    literal += len(path) - pos
    query = tuple((k, v) for k, v in parse_qsl(fixed, keep_blank_values=True))
    method = operation.http.get("method", "POST").upper()
    return _Route(operation.name, method, re.compile(pattern + "/?"), query, (-literal, labels))


def _routes(service_model: ServiceModel) -> list[_Route]:
    routes = [_route(service_model.operation_model(n)) for n in service_model.operation_names]
    return sorted(routes, key=lambda r: r.weight)


class RestJSONRequestParser(JSONRequestParser):
    PROTOCOL = "rest-json"
    UNKNOWN_OPERATION_STATUS = 404

    def __init__(self, service_model: ServiceModel) -> None:
        super().__init__(service_model)
        self._routes = _routes(service_model)

    def parse(self, request: HttpRequest) -> tuple[OperationModel, dict[str, Any]]:
        query = request.query_params()
        for route in self._routes:
            labels = route.match(request, query)
            if labels is not None:
                operation = self._operation(route.operation)
                return operation, self._read(operation, request, labels, query)
        raise self._unknown_operation(f"{request.method} {request.path}")

    def _read(
        self,
        operation: OperationModel,
        request: HttpRequest,
        labels: dict[str, str],
        query: list[tuple[str, str]],
    ) -> dict[str, Any]:
        shape = operation.input_shape
        if shape is None:
            return {}
        params = self._read_body(operation, shape, request.body)
        # A query-string map takes every parameter that no other member names.
        named = {
            str(m.serialization.get("name", n))
            for n, m in shape.members.items()
            if m.serialization.get("location") == "querystring" and m.type_name != "map"
        }
        try:
            for name, member in shape.members.items():
                value = self._read_bound(member, name, request, labels, (query, named))
                if value is not None:
                    params[name] = value
        except (TypeError, ValueError) as exc:
            raise self._malformed(f"Malformed input for {operation.name}: {exc}") from exc
        return params

    def _read_body(self, operation: OperationModel, shape: Shape, body: bytes) -> dict[str, Any]:
        payload = shape.serialization.get("payload")
        if payload is None:
            return self._decode_input(operation, self._load_body(body))
        member = shape.members[payload]
        if member.type_name == "blob":
            return {payload: body} if body else {}
        if member.type_name == "string":
            return {payload: body.decode("utf-8")} if body else {}
        loaded = self._load_body(body)
        return {payload: self._decode(member, loaded)} if body.strip() else {}

    def _read_bound(
        self,
        member: Shape,
        name: str,
        request: HttpRequest,
        labels: dict[str, str],
        query: tuple[list[tuple[str, str]], set[str]],
    ) -> Any:
        location = member.serialization.get("location")
        wire = str(member.serialization.get("name", name))
        if location == "uri":
            raw = labels.get(re.sub(r"\W", "_", wire))
            return None if raw is None else parse_text_scalar(member, raw)
        if location == "querystring":
            return self._read_query(member, wire, *query)
        if location == "header":
            raw = request.headers.get(wire.lower())
            return None if raw is None else self._read_header(member, raw)
        if location == "headers":
            prefix = wire.lower()
            headers = request.headers.items()
            found = {k[len(prefix) :]: v for k, v in headers if k.startswith(prefix)}
            return found or None
        return None

    def _read_query(
        self, member: Shape, wire: str, query: list[tuple[str, str]], named: set[str]
    ) -> Any:
        if member.type_name == "map":
            values: dict[str, Any] = {}
            for key, raw in query:
                if key in named:
                    continue
                if member.value.type_name == "list":
                    values.setdefault(key, []).append(raw)
                else:
                    values[key] = raw
            return values or None
        raws = [v for k, v in query if k == wire]
        if not raws:
            return None
        if member.type_name == "list":
            return [parse_text_scalar(member.member, v) for v in raws]
        return parse_text_scalar(member, raws[0])

    def _read_header(self, member: Shape, raw: str) -> Any:
        if member.serialization.get("jsonvalue"):
            return json.loads(base64.b64decode(raw))
        if member.type_name == "list":
            return [parse_text_scalar(member.member, v) for v in _split_header(raw)]
        return parse_text_scalar(member, raw)


def _split_header(raw: str) -> list[str]:
    """A comma-separated header list; items with commas or quotes arrive double-quoted."""
    row = next(csv.reader([raw], skipinitialspace=True, escapechar="\\", doublequote=False))
    return [item.strip() for item in row]


class RestJSONResponseSerializer(JSONResponseSerializer):
    PROTOCOL = "rest-json"

    def serialize_response(
        self, operation_model: OperationModel, output: dict[str, Any], request_id: str
    ) -> HttpResponse:
        status = int(operation_model.http.get("responseCode", 200))
        headers = self._headers(request_id)
        shape = operation_model.output_shape
        if shape is None:
            return HttpResponse(status, headers, b"{}")
        for name, member in shape.members.items():
            value = output.get(name)
            location = member.serialization.get("location")
            if value is None or location is None:
                continue
            if location == "statusCode":
                status = int(value)
            elif location == "header":
                wire = str(member.serialization.get("name", name))
                headers[wire] = self._header_text(member, value)
            elif location == "headers":
                prefix = str(member.serialization.get("name", ""))
                headers.update({prefix + k: str(v) for k, v in value.items()})
        return HttpResponse(status, headers, self._payload(shape, output))

    def _payload(self, shape: Shape, output: dict[str, Any]) -> bytes:
        payload = shape.serialization.get("payload")
        if payload is None:
            return self._dump(self._encode(shape, output))
        member, value = shape.members[payload], output.get(payload)
        if member.type_name in ("blob", "string"):
            if value is None:
                return b""
            return value.encode("utf-8") if isinstance(value, str) else bytes(value)
        return self._dump({} if value is None else self._encode(member, value))

    def _header_text(self, member: Shape, value: Any) -> str:
        if member.serialization.get("jsonvalue"):
            return base64.b64encode(json.dumps(value).encode("utf-8")).decode("ascii")
        if member.type_name == "list":
            return ",".join(_quote_header(scalar_text(member.member, v, "rfc822")) for v in value)
        return scalar_text(member, value, "rfc822")

    def serialize_error(
        self,
        error: ResolvedError,
        request_id: str,
        operation_model: OperationModel | None = None,
    ) -> HttpResponse:
        headers = self._headers(request_id)
        headers["X-Amzn-ErrorType"] = error.code
        body = self._error_body(error, request_id)
        body.pop("__type", None)
        return HttpResponse(error.status, headers, self._dump(body))

    def _headers(self, request_id: str) -> dict[str, str]:
        return {"Content-Type": "application/json", "x-amzn-RequestId": request_id}


def _quote_header(value: str) -> str:
    if "," in value or '"' in value:
        return '"' + value.replace('"', '\\"') + '"'
    return value
