"""AWS wire protocols, server side: requests in, responses out, driven by botocore models.

Nothing here knows an operation: each class walks the model's shapes. One parser and
one serializer per protocol::

    RequestParser (base)                      ResponseSerializer (base)
     +-- QueryRequestParser     query          +-- QueryResponseSerializer
     |    +-- EC2RequestParser  ec2            |    +-- EC2ResponseSerializer
     +-- JSONRequestParser      json           +-- JSONResponseSerializer
          +-- RestJSONRequestParser rest-json       +-- RestJSONResponseSerializer
          +-- RpcV2CBORRequestParser                +-- RpcV2CBORResponseSerializer
                          smithy-rpc-v2-cbor

JSON, REST-JSON and CBOR share one value walk (they are all maps, lists and scalars);
query and ec2 share the dotted-key tree and the XML writer. A service may speak
several protocols (``metadata.protocols``): :func:`detect_protocol` picks the one this
request uses, e.g. RPC v2 CBOR or JSON 1.1 for Directory Service.
"""

from __future__ import annotations

import logging
from functools import lru_cache

from botocore.model import ServiceModel

from pgrealm.api.http import HttpRequest
from pgrealm.api.protocols.base import RequestParser, ResponseSerializer
from pgrealm.api.protocols.ec2 import EC2RequestParser, EC2ResponseSerializer
from pgrealm.api.protocols.json import JSONRequestParser, JSONResponseSerializer
from pgrealm.api.protocols.query import QueryRequestParser, QueryResponseSerializer
from pgrealm.api.protocols.rest_json import RestJSONRequestParser, RestJSONResponseSerializer
from pgrealm.api.protocols.rpcv2_cbor import RpcV2CBORRequestParser, RpcV2CBORResponseSerializer

__all__ = [
    "PROTOCOLS",
    "RequestParser",
    "ResponseSerializer",
    "create_parser",
    "create_serializer",
    "detect_protocol",
    "service_protocols",
]

log = logging.getLogger(__name__)

_PARSERS: dict[str, type[RequestParser]] = {
    "query": QueryRequestParser,
    "ec2": EC2RequestParser,
    "json": JSONRequestParser,
    "rest-json": RestJSONRequestParser,
    "smithy-rpc-v2-cbor": RpcV2CBORRequestParser,
}

_SERIALIZERS: dict[str, type[ResponseSerializer]] = {
    "query": QueryResponseSerializer,
    "ec2": EC2ResponseSerializer,
    "json": JSONResponseSerializer,
    "rest-json": RestJSONResponseSerializer,
    "smithy-rpc-v2-cbor": RpcV2CBORResponseSerializer,
}

PROTOCOLS = tuple(_PARSERS)


def service_protocols(service_model: ServiceModel) -> list[str]:
    """The protocols the model declares, in the model's order."""
    declared = service_model.metadata.get("protocols") or [service_model.metadata["protocol"]]
    return [p for p in declared if p in _PARSERS]


def detect_protocol(service_model: ServiceModel, request: HttpRequest) -> str:
    """Which of the service's protocols this request speaks."""
    declared = service_protocols(service_model)
    if not declared:
        raise ValueError(f"{service_model.service_name} speaks no protocol pgrealm serves")
    if "smithy-rpc-v2-cbor" in declared and (
        request.header("smithy-protocol") == "rpc-v2-cbor" or request.path.startswith("/service/")
    ):
        return "smithy-rpc-v2-cbor"
    if "json" in declared and request.header("x-amz-target"):
        return "json"
    # Without a CBOR marker the request is in the service's classic protocol.
    classic = [p for p in declared if p != "smithy-rpc-v2-cbor"] or declared
    return classic[0]


def create_parser(service_model: ServiceModel, protocol: str) -> RequestParser:
    return _PARSERS[protocol](service_model)


@lru_cache(maxsize=None)
def create_serializer(service_model: ServiceModel, protocol: str) -> ResponseSerializer:
    """One serializer per (model, protocol), shared by every request: serializers keep no
    per-request state, and the query serializer's fragment cache must outlive a request."""
    return _SERIALIZERS[protocol](service_model)
