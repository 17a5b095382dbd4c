"""Routing a request to its service, from what botocore puts on the wire."""

from __future__ import annotations

import dataclasses
from typing import Any
from urllib.parse import urlsplit

import boto3
import botocore.session
import pytest

from pgrealm.api import routing
from pgrealm.api.http import HttpRequest
from pgrealm.services.errors import CommonError


class _Captured(Exception):
    def __init__(self, request: Any) -> None:
        self.request = request


def capture(service: str, operation: str, **params: Any) -> HttpRequest:
    client = boto3.session.Session(
        aws_access_key_id="test", aws_secret_access_key="test", region_name="us-east-1"
    ).client(service, endpoint_url="http://127.0.0.1:4566")

    def grab(request: Any, **_: Any) -> None:
        raise _Captured(request)

    client.meta.events.register("before-send", grab)
    with pytest.raises(_Captured) as info:
        getattr(client, operation)(**params)
    prepared = info.value.request
    parts = urlsplit(prepared.url)
    headers = {
        k.lower(): (v.decode() if isinstance(v, bytes) else v) for k, v in prepared.headers.items()
    }
    body = prepared.body or b""
    return HttpRequest(
        prepared.method,
        parts.path,
        parts.query,
        headers,
        body.encode() if isinstance(body, str) else body,
    )


CALLS = [
    ("ds", "describe_directories", {}),
    ("ds-data", "list_users", {"DirectoryId": "d-1234567890"}),
    ("rds", "describe_db_instances", {}),
    ("iam", "list_roles", {}),
    ("ec2", "describe_vpcs", {}),
    ("sts", "get_caller_identity", {}),
    ("logs", "describe_log_groups", {}),
]


@pytest.mark.parametrize(("service", "operation", "params"), CALLS)
def test_routes_signed_requests(service: str, operation: str, params: dict[str, Any]) -> None:
    assert routing.route(capture(service, operation, **params)) == service


@pytest.mark.parametrize(("service", "operation", "params"), CALLS)
def test_routes_without_authorization(service: str, operation: str, params: dict[str, Any]) -> None:
    request = capture(service, operation, **params)
    del request.headers["authorization"]
    assert routing.route(request) == service


def test_tables_match_botocore_models() -> None:
    session = botocore.session.get_session()
    assert set(routing.SERVED_SERVICES) == set(routing.AUTH_FAMILY)
    assert sorted(routing.SIGNING_NAMES.values()) == sorted(routing.SERVED_SERVICES)
    for name in routing.SERVED_SERVICES:
        meta = session.get_service_model(name).metadata
        signing = meta.get("signingName", meta["endpointPrefix"])
        assert routing.SIGNING_NAMES[signing] == name
        protocol = meta["protocol"]
        if protocol in ("query", "ec2"):
            assert routing._API_VERSIONS[meta["apiVersion"]] == name
            assert routing.AUTH_FAMILY[name] == protocol
        else:
            assert routing.AUTH_FAMILY[name] == "json"
        if "targetPrefix" in meta:
            assert routing._TARGET_PREFIXES[meta["targetPrefix"]] == name
    ds_data = session.get_service_model("ds-data")
    for op in ds_data.operation_names:
        uri = ds_data.operation_model(op).http["requestUri"]
        assert any(uri.startswith(p) for p in routing._REST_PATH_PREFIXES), uri


def test_rpc_v2_cbor_path() -> None:
    request = HttpRequest(
        "POST",
        "/service/DirectoryService_20150416/operation/CreateMicrosoftAD",
        "",
        {"smithy-protocol": "rpc-v2-cbor"},
        b"",
    )
    assert routing.route(request) == "ds"


def form(body: str) -> HttpRequest:
    return HttpRequest(
        "POST", "/", "", {"content-type": "application/x-www-form-urlencoded"}, body.encode()
    )


def test_action_without_version() -> None:
    assert routing.route(form("Action=GetCallerIdentity")) == "sts"
    with pytest.raises(CommonError, match="ambiguous"):
        routing.route(form("Action=DescribeAccountAttributes"))


def test_query_string_action() -> None:
    request = HttpRequest("GET", "/", "Action=ListRoles&Version=2010-05-08", {}, b"")
    assert routing.route(request) == "iam"


@pytest.mark.parametrize(
    "request_",
    [
        HttpRequest("GET", "/", "", {}, b""),
        HttpRequest(
            "GET",
            "/bucket/key",
            "",
            {
                "authorization": "AWS4-HMAC-SHA256 Credential=test/20240101/us-east-1/s3/"
                "aws4_request, SignedHeaders=host, Signature=00"
            },
            b"",
        ),
        HttpRequest("POST", "/", "", {"x-amz-target": "DynamoDB_20120810.ListTables"}, b""),
        form("Action=ListQueues&Version=2012-11-05"),
        form("Action=NoSuchThing"),
    ],
)
def test_unknown_service(request_: HttpRequest) -> None:
    with pytest.raises(CommonError) as info:
        routing.route(request_)
    assert info.value.code == "UnknownService" and info.value.status == 400
    assert "pgrealm does not serve" in info.value.message
    assert "ds, ds-data, rds, iam, ec2, sts" in info.value.message


def _scoped(
    signing_name: str, headers: dict[str, str] | None = None, **changes: Any
) -> HttpRequest:
    """A request whose credential scope names ``signing_name``, changed as told."""
    authorization = (
        f"AWS4-HMAC-SHA256 Credential=test/20240101/us-east-1/{signing_name}/aws4_request, "
        "SignedHeaders=host, Signature=00"
    )
    request = HttpRequest("POST", "/", "", {"authorization": authorization, **(headers or {})}, b"")
    return dataclasses.replace(request, **changes)


@pytest.mark.parametrize(
    ("request_", "service"),
    [
        (_scoped("ds", headers={"x-amz-target": "Logs_20140328.DescribeLogGroups"}), "logs"),
        (_scoped("rds", query_string="Action=ListRoles&Version=2010-05-08"), "iam"),
        (_scoped("ds", path="/Users/ListUsers"), "ds-data"),
        (_scoped("s3", headers={"x-amz-target": "DirectoryService_20150416.X"}), "ds"),
    ],
)
def test_what_the_request_names_beats_its_scope(request_: HttpRequest, service: str) -> None:
    """So that SigV4 refuses the scope in the shape the client of that service reads."""
    assert routing.route(request_) == service


@pytest.mark.parametrize(
    "request_",
    [
        _scoped("ds", headers={"x-amz-target": "NoSuchPrefix.X"}),
        _scoped("ds", headers={"smithy-protocol": "rpc-v2-cbor"}, path="/not/rpc"),
    ],
)
def test_a_marker_pgrealm_does_not_know_leaves_the_scope_to_decide(
    request_: HttpRequest,
) -> None:
    """The scope's service then refuses the marker in its own error shape."""
    assert routing.route(request_) == "ds"


def test_signing_names_round_trip() -> None:
    for service in routing.SERVED_SERVICES:
        assert routing.SIGNING_NAMES[routing.signing_name(service)] == service
