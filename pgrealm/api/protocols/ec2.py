"""The EC2 dialect of the query protocol.

Differences from :mod:`query`, all of them naming: input keys use the member's
``queryName``, else its ``locationName`` capitalised, else the member name; lists are
``Prefix.N`` with no ``member`` segment and are never sent empty. Output has no result
wrapper, a leading ``<requestId>``, and list items named by the model (``item``).
Errors are ``<Response><Errors><Error><Code/><Message/></Error></Errors><RequestID/>``.
"""

from __future__ import annotations

import logging
from typing import Any

from botocore.model import OperationModel, Shape

from pgrealm.api.errors import ResolvedError
from pgrealm.api.http import HttpResponse
from pgrealm.api.protocols.query import QueryRequestParser, QueryResponseSerializer
from pgrealm.api.protocols.xmlwriter import XmlWriter

__all__ = ["EC2RequestParser", "EC2ResponseSerializer"]

log = logging.getLogger(__name__)


class EC2RequestParser(QueryRequestParser):
    PROTOCOL = "ec2"

    def _member_key(self, name: str, member: Shape) -> str:
        serialization = member.serialization
        if "queryName" in serialization:
            return str(serialization["queryName"])
        location = serialization.get("name")
        if location:
            return str(location[0].upper() + location[1:])
        return name

    def _list_items(self, shape: Shape, node: dict[str, Any]) -> Any:
        return node


class EC2ResponseSerializer(QueryResponseSerializer):
    PROTOCOL = "ec2"
    LIST_ITEM = "item"

    def _write_body(
        self, writer: XmlWriter, shape: Shape | None, output: dict[str, Any], request_id: str
    ) -> None:
        writer.leaf("requestId", request_id)
        if shape is None:
            # EC2 answers output-less actions (DeleteVpc, ...) with <return>true</return>.
            writer.leaf("return", "true")
            return
        self._write_members(writer, shape, output)

    def _element_name(self, name: str, member: Shape) -> str:
        return str(member.serialization.get("name", name))

    def serialize_error(
        self,
        error: ResolvedError,
        request_id: str,
        operation_model: OperationModel | None = None,
    ) -> HttpResponse:
        writer = XmlWriter()
        writer.open("Response")
        writer.open("Errors")
        writer.open("Error")
        writer.leaf("Code", error.code)
        writer.leaf("Message", error.message)
        writer.close()
        writer.close()
        writer.leaf("RequestID", request_id)
        writer.close()
        return self._response(error.status, writer, request_id)
