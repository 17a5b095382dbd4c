"""The EC2 dialect of the query protocol.

Differences from :mod:`query`, all of them naming: input keys use the member's
``queryName``, else its ``locationName`` capitalised, else the member name; lists are
``Prefix.N`` with no ``member`` segment and are never sent empty. Output has no result
wrapper, a leading ``<requestId>``, and list items named by the model (``item``).
Errors are ``<Response><Errors><Error><Code/><Message/></Error></Errors><RequestID/>``.
"""

from __future__ import annotations

import logging
import xml.etree.ElementTree as ET
from typing import Any

from botocore.model import OperationModel, Shape

from pgrealm.api.errors import ResolvedError
from pgrealm.api.http import HttpResponse
from pgrealm.api.protocols.query import QueryRequestParser, QueryResponseSerializer

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
        self, root: ET.Element, shape: Shape | None, output: dict[str, Any], request_id: str
    ) -> None:
        ET.SubElement(root, "requestId").text = request_id
        if shape is None:
            # EC2 answers output-less actions (DeleteVpc, ...) with <return>true</return>.
            ET.SubElement(root, "return").text = "true"
            return
        self._write_members(root, shape, output)

    def _element_name(self, name: str, member: Shape) -> str:
        return str(member.serialization.get("name", name))

    def serialize_error(
        self,
        error: ResolvedError,
        request_id: str,
        operation_model: OperationModel | None = None,
    ) -> HttpResponse:
        root = ET.Element("Response")
        node = ET.SubElement(ET.SubElement(root, "Errors"), "Error")
        ET.SubElement(node, "Code").text = error.code
        ET.SubElement(node, "Message").text = error.message
        ET.SubElement(root, "RequestID").text = request_id
        return self._response(error.status, root, request_id)
