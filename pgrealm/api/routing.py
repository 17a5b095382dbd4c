"""Which AWS service a request is for, before anything has parsed it.

All services share one endpoint (``aws --endpoint-url``), so the service is read from
what the client put on the wire, most reliable first:

1. the SigV4 credential scope (``Credential=KEY/DATE/REGION/<signing name>/aws4_request``,
   in the ``Authorization`` header or the presigned ``X-Amz-Credential``);
2. ``X-Amz-Target`` (JSON 1.1: ``DirectoryService_20150416.CreateMicrosoftAD``);
3. the RPC v2 CBOR path ``/service/<target prefix>/operation/<op>``;
4. a REST-JSON request path the ds-data model declares (``/Users/CreateUser``);
5. the query protocols' ``Version`` form field, then their ``Action``.

The signing names and API versions below are the botocore models' ``signingName`` (or
``endpointPrefix``) and ``apiVersion``; ``tests/unit/test_routing.py`` checks them
against the installed models.
"""

from __future__ import annotations

import functools
import logging
from urllib.parse import parse_qsl, unquote

from pgrealm.api.http import HttpRequest
from pgrealm.services.errors import CommonError

__all__ = ["AUTH_FAMILY", "SERVED_SERVICES", "SIGNING_NAMES", "route"]

log = logging.getLogger(__name__)

# botocore service names, in the order a reader meets them in the design
SERVED_SERVICES: tuple[str, ...] = ("ds", "ds-data", "rds", "iam", "ec2", "sts", "logs")

# SigV4 signing name -> botocore service name
SIGNING_NAMES: dict[str, str] = {
    "ds": "ds",
    "ds-data": "ds-data",
    "rds": "rds",
    "iam": "iam",
    "ec2": "ec2",
    "sts": "sts",
    "logs": "logs",
}

# which column of sigv4's error table a service answers auth failures from
AUTH_FAMILY: dict[str, str] = {
    "ds": "json",
    "ds-data": "json",
    "rds": "query",
    "iam": "query",
    "ec2": "ec2",
    "sts": "query",
    "logs": "json",
}

_TARGET_PREFIXES: dict[str, str] = {"DirectoryService_20150416": "ds", "Logs_20140328": "logs"}
_REST_PATH_PREFIXES: dict[str, str] = {
    "/GroupMemberships/": "ds-data",
    "/Groups/": "ds-data",
    "/Users/": "ds-data",
}
_API_VERSIONS: dict[str, str] = {
    "2014-10-31": "rds",
    "2016-11-15": "ec2",
    "2010-05-08": "iam",
    "2011-06-15": "sts",
}
_QUERY_SERVICES = ("rds", "ec2", "iam", "sts")
_FORM = "application/x-www-form-urlencoded"


def route(request: HttpRequest) -> str:
    """The botocore service name the request is for; ``CommonError`` if pgrealm has none."""
    for finder in (_by_scope, _by_target, _by_rpc_path, _by_rest_path, _by_form):
        service = finder(request)
        if service:
            log.debug(
                "routed %s %s to %s by %s", request.method, request.path, service, finder.__name__
            )
            return service
    raise _unknown("the request names no service pgrealm recognises")


def _unknown(why: str) -> CommonError:
    served = ", ".join(SERVED_SERVICES)
    return CommonError(
        "UnknownService", f"pgrealm does not serve this request: {why}. It serves: {served}."
    )


def _by_scope(request: HttpRequest) -> str | None:
    credential = ""
    authorization = request.header("authorization")
    if "Credential=" in authorization:
        credential = authorization.split("Credential=", 1)[1].split(",", 1)[0].strip()
    else:
        for key, value in request.query_params():
            if key == "X-Amz-Credential":
                credential = value
    parts = credential.rsplit("/", 4)
    if len(parts) != 5:
        return None
    signing_name = parts[3]
    if signing_name not in SIGNING_NAMES:
        raise _unknown(f"requests signed for service '{signing_name}'")
    return SIGNING_NAMES[signing_name]


def _by_target(request: HttpRequest) -> str | None:
    target = request.header("x-amz-target")
    if not target:
        return None
    prefix = target.split(".", 1)[0]
    if prefix not in _TARGET_PREFIXES:
        raise _unknown(f"X-Amz-Target '{target}'")
    return _TARGET_PREFIXES[prefix]


def _by_rpc_path(request: HttpRequest) -> str | None:
    parts = request.path.split("/")
    # "/service/<name>/operation/<op>" splits into ["", "service", name, "operation", op]
    if len(parts) != 5 or parts[1] != "service" or parts[3] != "operation":
        if request.header("smithy-protocol"):
            raise _unknown(f"RPC v2 path '{request.path}'")
        return None
    name = unquote(parts[2])
    if name not in _TARGET_PREFIXES:
        raise _unknown(f"RPC v2 service '{name}'")
    return _TARGET_PREFIXES[name]


def _by_rest_path(request: HttpRequest) -> str | None:
    for prefix, service in _REST_PATH_PREFIXES.items():
        if request.path.startswith(prefix):
            return service
    return None


def _by_form(request: HttpRequest) -> str | None:
    params = dict(request.query_params())
    if request.header("content-type").split(";")[0].strip().lower() == _FORM:
        params.update(parse_qsl(request.body.decode("utf-8", "replace"), keep_blank_values=True))
    version, action = params.get("Version", ""), params.get("Action", "")
    if version:
        if version not in _API_VERSIONS:
            raise _unknown(f"API Version '{version}'")
        return _API_VERSIONS[version]
    if not action:
        return None
    owners = [name for name in _QUERY_SERVICES if action in _operation_names(name)]
    if len(owners) != 1:
        why = "is ambiguous" if owners else "is not an operation of any service it serves"
        raise _unknown(f"Action '{action}' without Version {why}")
    return owners[0]


@functools.cache
def _operation_names(service: str) -> frozenset[str]:
    # only reached for an Action without Version, which no AWS SDK sends; load lazily
    # because the EC2 model alone takes a noticeable fraction of a second
    import botocore.session

    model = botocore.session.get_session().get_service_model(service)
    return frozenset(model.operation_names)
