"""Which AWS service a request is for, before anything has parsed it.

All services share one endpoint (``aws --endpoint-url``), so the service is read from
what the client put on the wire. What the request itself names comes first, because it
also decides how the client reads the answer:

1. ``X-Amz-Target`` (JSON 1.1: ``DirectoryService_20150416.CreateMicrosoftAD``);
2. the RPC v2 CBOR path ``/service/<target prefix>/operation/<op>``;
3. a REST-JSON request path the ds-data model declares (``/Users/CreateUser``);
4. the query protocols' ``Version`` (form field or query string).

Only when none of these names a served service does the SigV4 credential scope decide
(``Credential=KEY/DATE/REGION/<signing name>/aws4_request``, in the ``Authorization``
header or the presigned ``X-Amz-Credential``), and after it a query ``Action`` alone.
The dispatcher then has SigV4 refuse a scope that names another service, in the routed
service's own error shape, as AWS's endpoints do (:func:`signing_name`).

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

__all__ = ["AUTH_FAMILY", "SERVED_SERVICES", "SIGNING_NAMES", "route", "signing_name"]

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
    service = _by_target(request) or _by_rpc_path(request) or _by_rest_path(request)
    if service is None:
        form = _form_params(request)  # only now: JSON requests need not parse it
        service = _API_VERSIONS.get(form.get("Version", ""))
        service = service or _by_scope(request) or _by_action(form)
        if service is None:
            raise _unknown(_unrecognised(request, form))
    log.debug("routed %s %s to %s", request.method, request.path, service)
    return service


def signing_name(service: str) -> str:
    """The SigV4 signing name a request for ``service`` must be scoped to."""
    return next(name for name, served in SIGNING_NAMES.items() if served == service)


def _unknown(why: str) -> CommonError:
    served = ", ".join(SERVED_SERVICES)
    return CommonError(
        "UnknownService", f"pgrealm does not serve this request: {why}. It serves: {served}."
    )


def _unrecognised(request: HttpRequest, form: dict[str, str]) -> str:
    """What the request named that pgrealm does not serve, for the refusal's message."""
    if request.header("x-amz-target"):
        return f"X-Amz-Target '{request.header('x-amz-target')}'"
    if request.header("smithy-protocol") or request.path.startswith("/service/"):
        return f"RPC v2 path '{request.path}'"
    if form.get("Version"):
        return f"API Version '{form['Version']}'"
    return "the request names no service pgrealm recognises"


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
    name = parts[3]
    if name not in SIGNING_NAMES:
        raise _unknown(f"requests signed for service '{name}'")
    return SIGNING_NAMES[name]


def _by_target(request: HttpRequest) -> str | None:
    prefix = request.header("x-amz-target").split(".", 1)[0]
    return _TARGET_PREFIXES.get(prefix)


def _by_rpc_path(request: HttpRequest) -> str | None:
    parts = request.path.split("/")
    # "/service/<name>/operation/<op>" splits into ["", "service", name, "operation", op]
    if len(parts) != 5 or parts[1] != "service" or parts[3] != "operation":
        return None
    return _TARGET_PREFIXES.get(unquote(parts[2]))


def _by_rest_path(request: HttpRequest) -> str | None:
    for prefix, service in _REST_PATH_PREFIXES.items():
        if request.path.startswith(prefix):
            return service
    return None


def _form_params(request: HttpRequest) -> dict[str, str]:
    """The query string's parameters, and a form body's over them."""
    params = dict(request.query_params())
    if request.header("content-type").split(";")[0].strip().lower() == _FORM:
        params.update(parse_qsl(request.body.decode("utf-8", "replace"), keep_blank_values=True))
    return params


def _by_action(form: dict[str, str]) -> str | None:
    action = form.get("Action", "")
    # with a Version pgrealm does not serve, the Action is another service's
    if not action or form.get("Version"):
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
