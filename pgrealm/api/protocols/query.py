"""The AWS query protocol (RDS, IAM, STS): form-encoded input, XML output.

Input keys are dotted paths: ``Tags.member.1.Key``, ``Attributes.entry.1.value``,
or for flattened lists ``Subnet.1``. The parser first folds the flat keys into a tree
of dicts split on ``.`` and then walks the input shape over that tree, so each shape
kind is read in one place. Output is ``<OpResponse><OpResult>...</OpResult>
<ResponseMetadata><RequestId/></ResponseMetadata></OpResponse>``; errors are
``<ErrorResponse><Error><Type/><Code/><Message/></Error><RequestId/></ErrorResponse>``.
"""

from __future__ import annotations

import logging
from typing import Any, ClassVar
from urllib.parse import parse_qsl

from botocore.model import OperationModel, ServiceModel, Shape

from pgrealm.api.errors import ResolvedError
from pgrealm.api.fragments import FragmentCache
from pgrealm.api.http import HttpRequest, HttpResponse
from pgrealm.api.protocols.base import (
    RequestParser,
    ResponseSerializer,
    parse_text_scalar,
    scalar_text,
)
from pgrealm.api.protocols.xmlwriter import XmlWriter
from pgrealm.services.base import Revisioned
from pgrealm.services.errors import CommonError

__all__ = ["QueryRequestParser", "QueryResponseSerializer"]

log = logging.getLogger(__name__)

# A tree node is either a leaf value or a dict of path segments. A key that is both a
# leaf and a prefix (malformed, but possible) keeps its leaf value under "".
_Node = str | dict[str, Any]
_XML_DECLARATION = b'<?xml version="1.0" encoding="UTF-8"?>\n'


class QueryRequestParser(RequestParser):
    PROTOCOL = "query"
    UNKNOWN_OPERATION_CODE = "InvalidAction"
    MALFORMED_CODE = "MalformedQueryString"

    def parse(self, request: HttpRequest) -> tuple[OperationModel, dict[str, Any]]:
        pairs = request.query_params() + self._body_pairs(request)
        flat = dict(pairs)
        action = flat.pop("Action", "")
        flat.pop("Version", None)
        if not action:
            raise CommonError("MissingAction", "The request must contain the parameter Action")
        operation = self._operation(action)
        shape = operation.input_shape
        if shape is None:
            return operation, {}
        try:
            return operation, self._decode_structure(shape, _fold(flat))
        except (TypeError, ValueError, KeyError) as exc:
            raise self._malformed(f"Malformed input for {action}: {exc}") from exc

    def _body_pairs(self, request: HttpRequest) -> list[tuple[str, str]]:
        if not request.body:
            return []
        try:
            body = request.body.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise self._malformed("request body is not UTF-8") from exc
        return parse_qsl(body, keep_blank_values=True)

    # -- names: overridden by the ec2 dialect ---------------------------------------------

    def _member_key(self, name: str, member: Shape) -> str:
        if member.type_name == "list" and member.serialization.get("flattened"):
            item_name = member.member.serialization.get("name")
            if item_name:
                return str(item_name)
        return str(member.serialization.get("name", name))

    def _list_items(self, shape: Shape, node: dict[str, Any]) -> Any:
        if shape.serialization.get("flattened"):
            return node
        return node.get(shape.member.serialization.get("name", "member"), {})

    # -- the walk -------------------------------------------------------------------------

    def _decode(self, shape: Shape, node: _Node) -> Any:
        kind = shape.type_name
        if kind == "structure":
            return self._decode_structure(shape, _branch(node))
        if kind == "list":
            if isinstance(node, str):
                if node:
                    raise ValueError(f"expected a list, got {node!r}")
                return []  # "Names=" is how the query protocol sends an empty list
            items = _indexed(self._list_items(shape, node))
            return [self._decode(shape.member, item) for item in items]
        if kind == "map":
            return self._decode_map(shape, _branch(node))
        return parse_text_scalar(shape, _leaf(node))

    def _decode_structure(self, shape: Shape, node: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, member in shape.members.items():
            child = node.get(self._member_key(name, member))
            if child is not None:
                out[name] = self._decode(member, child)
        return out

    def _decode_map(self, shape: Shape, node: dict[str, Any]) -> dict[Any, Any]:
        entries = node if shape.serialization.get("flattened") else node.get("entry", {})
        key_name = shape.key.serialization.get("name", "key")
        value_name = shape.value.serialization.get("name", "value")
        out: dict[Any, Any] = {}
        for entry in _indexed(entries):
            entry = _branch(entry)
            key = self._decode(shape.key, entry[key_name])
            out[key] = self._decode(shape.value, entry[value_name]) if value_name in entry else None
        return out


def _fold(flat: dict[str, str]) -> dict[str, Any]:
    root: dict[str, Any] = {}
    for key, value in flat.items():
        node = root
        *parents, last = key.split(".")
        for part in parents:
            child = node.get(part)
            if not isinstance(child, dict):
                child = {} if child is None else {"": child}
                node[part] = child
            node = child
        if isinstance(node.get(last), dict):
            node[last][""] = value
        else:
            node[last] = value
    return root


def _branch(node: _Node) -> dict[str, Any]:
    if not isinstance(node, dict):
        raise ValueError(f"expected nested members, got {node!r}")
    return node


def _leaf(node: _Node) -> str:
    if isinstance(node, dict):
        if "" not in node:
            raise ValueError("expected a value, got nested members")
        return str(node[""])
    return node


def _indexed(node: Any) -> list[Any]:
    """Values of a ``{"1": a, "2": b}`` node in index order (gaps are allowed)."""
    items = _branch(node)
    try:
        return [items[k] for k in sorted((k for k in items if k), key=int)]
    except ValueError as exc:
        raise ValueError(f"list index is not a number: {sorted(items)}") from exc


class QueryResponseSerializer(ResponseSerializer):
    PROTOCOL = "query"
    LIST_ITEM: ClassVar[str] = "member"
    CONTENT_TYPE: ClassVar[str] = "text/xml"

    def __init__(self, service_model: ServiceModel) -> None:
        super().__init__(service_model)
        self.fragments = FragmentCache()
        # per structure shape: its members' (element or attribute name, shape, is attribute)
        self._plans: dict[Shape, dict[str, tuple[str, Shape, bool]]] = {}

    def serialize_response(
        self, operation_model: OperationModel, output: dict[str, Any], request_id: str
    ) -> HttpResponse:
        writer = XmlWriter()
        writer.open(f"{operation_model.name}Response", self._namespace())
        self._write_body(writer, operation_model.output_shape, output, request_id)
        writer.close()
        return self._response(200, writer, request_id)

    def serialize_error(
        self,
        error: ResolvedError,
        request_id: str,
        operation_model: OperationModel | None = None,
    ) -> HttpResponse:
        writer = XmlWriter()
        writer.open("ErrorResponse", self._namespace())
        writer.open("Error")
        writer.leaf("Type", "Sender" if error.sender_fault else "Receiver")
        writer.leaf("Code", error.code)
        writer.leaf("Message", error.message)
        self._write_error_fields(writer, error, request_id)
        writer.close()
        writer.leaf("RequestId", request_id)
        writer.close()
        return self._response(error.status, writer, request_id)

    def _write_error_fields(self, writer: XmlWriter, error: ResolvedError, request_id: str) -> None:
        shape = self._error_shape(error)
        if shape is None:
            return
        values = self._error_members(error, request_id)
        values = {k: v for k, v in values.items() if k.lower() not in ("message", "code", "type")}
        self._write_members(writer, shape, values)

    def _write_body(
        self, writer: XmlWriter, shape: Shape | None, output: dict[str, Any], request_id: str
    ) -> None:
        if shape is not None:
            wrapper = shape.serialization.get("resultWrapper")
            if wrapper:
                self._write_structure(writer, wrapper, shape, output)
            else:
                # xmlAttribute members would be left out here; no served query model has any
                self._write_members(writer, shape, output)
        writer.open("ResponseMetadata")
        writer.leaf("RequestId", request_id)
        writer.close()

    def _namespace(self) -> dict[str, str]:
        namespace = self.service_model.metadata.get("xmlNamespace")
        if isinstance(namespace, dict):
            namespace = namespace.get("uri")
        return {"xmlns": namespace} if namespace else {}

    def _response(self, status: int, writer: XmlWriter, request_id: str) -> HttpResponse:
        body = _XML_DECLARATION + writer.getvalue().encode("utf-8")
        headers = {"Content-Type": self.CONTENT_TYPE, "x-amzn-RequestId": request_id}
        return HttpResponse(status, headers, body)

    # -- the walk -------------------------------------------------------------------------

    def _plan(self, shape: Shape) -> dict[str, tuple[str, Shape, bool]]:
        """Each member's wire name, shape and whether it is an XML attribute; once per shape."""
        plan = self._plans.get(shape)
        if plan is None:
            plan = {}
            for name, member in shape.members.items():
                if member.serialization.get("xmlAttribute"):
                    plan[name] = (str(member.serialization.get("name", name)), member, True)
                else:
                    plan[name] = (self._element_name(name, member), member, False)
            self._plans[shape] = plan
        return plan

    def _attributes(self, shape: Shape, value: dict[str, Any]) -> dict[str, str]:
        plan = self._plan(shape)
        return {
            plan[name][0]: scalar_text(plan[name][1], item)
            for name, item in value.items()
            if item is not None and name in plan and plan[name][2]
        }

    def _write_members(self, writer: XmlWriter, shape: Shape, value: dict[str, Any]) -> None:
        # Walk the members the value has, not all the shape declares: a DBInstance shape
        # has ~100 members and a described instance ~40 (100 of them per page).
        plan = self._plan(shape)
        for name, item in value.items():
            entry = plan.get(name)
            if item is None or entry is None or entry[2]:
                continue
            self._write(writer, entry[0], entry[1], item)

    def _element_name(self, name: str, member: Shape) -> str:
        if member.type_name == "list" and member.serialization.get("flattened"):
            item_name = member.member.serialization.get("name")
            if item_name:
                return str(item_name)
        return str(member.serialization.get("name", name))

    def _write(self, writer: XmlWriter, tag: str, shape: Shape, value: Any) -> None:
        kind = shape.type_name
        if kind == "list":
            self._write_list(writer, tag, shape, value)
        elif kind == "map":
            self._write_map(writer, tag, shape, value)
        elif kind == "structure":
            self._write_structure(writer, tag, shape, value)
        else:
            writer.leaf(tag, scalar_text(shape, value))

    def _write_structure(self, writer: XmlWriter, tag: str, shape: Shape, value: Any) -> None:
        key = (shape, tag, value.revision) if isinstance(value, Revisioned) else None
        if key is not None:
            fragment = self.fragments.get(key)
            if fragment is not None:
                writer.raw(fragment)
                return
        mark = writer.mark()
        writer.open(tag, self._attributes(shape, value))
        self._write_members(writer, shape, value)
        writer.close()
        if key is not None:
            self.fragments.put(key, writer.since(mark))

    def _write_list(self, writer: XmlWriter, tag: str, shape: Shape, value: Any) -> None:
        flattened = shape.serialization.get("flattened")
        if flattened:
            item_tag = tag
        else:
            writer.open(tag)
            item_tag = shape.member.serialization.get("name", self.LIST_ITEM)
        for item in value:
            if item is not None:
                self._write(writer, item_tag, shape.member, item)
        if not flattened:
            writer.close()

    def _write_map(self, writer: XmlWriter, tag: str, shape: Shape, value: Any) -> None:
        key_tag = shape.key.serialization.get("name", "key")
        value_tag = shape.value.serialization.get("name", "value")
        flattened = shape.serialization.get("flattened")
        if not flattened:
            writer.open(tag)
        for key, item in value.items():
            writer.open(tag if flattened else "entry")
            self._write(writer, key_tag, shape.key, key)
            if item is not None:
                self._write(writer, value_tag, shape.value, item)
            writer.close()
        if not flattened:
            writer.close()
