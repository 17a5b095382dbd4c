"""botocore serializes a request for every operation; our parser must give back the params."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.serialize import create_serializer as botocore_serializer
from shapegen import generate, wire_request

from pgrealm.api.http import HttpRequest
from pgrealm.api.protocols import create_parser, detect_protocol
from pgrealm.api.specs import load_service
from pgrealm.services.errors import CommonError

CASES = [
    ("ds", "json"),
    ("ds", "smithy-rpc-v2-cbor"),
    ("ds-data", "rest-json"),
    ("rds", "query"),
    ("iam", "query"),
    ("sts", "query"),
    ("ec2", "ec2"),
]


@pytest.mark.parametrize(("service", "protocol"), CASES)
def test_every_operation_round_trips(service: str, protocol: str) -> None:
    model = load_service(service)
    theirs = botocore_serializer(protocol, include_validation=False)
    ours = create_parser(model, protocol)
    mismatches: list[tuple[Any, ...]] = []
    for name in model.operation_names:
        operation = model.operation_model(name)
        params = generate(operation.input_shape) if operation.input_shape else {}
        request = wire_request(theirs.serialize_to_request(params, operation))
        assert detect_protocol(model, request) == protocol, name
        parsed_op, parsed = ours.parse(request)
        if parsed_op.name != name or parsed != params:
            mismatches.append((name, params, parsed))
    assert not mismatches, mismatches[:3]
    assert len(model.operation_names) > 5


def test_ds_declares_both_protocols() -> None:
    assert load_service("ds").metadata["protocols"] == ["json", "smithy-rpc-v2-cbor"]


def _request(path: str = "/", body: bytes = b"", **headers: str) -> HttpRequest:
    return HttpRequest(
        "POST", path, "", {k.lower().replace("_", "-"): v for k, v in headers.items()}, body
    )


@pytest.mark.parametrize(
    ("service", "protocol", "request_", "code"),
    [
        ("iam", "query", _request(body=b"Action=NoSuchThing&Version=2010-05-08"), "InvalidAction"),
        ("ec2", "ec2", _request(body=b"Action=Nope&Version=2016-11-15"), "InvalidAction"),
        ("rds", "query", _request(body=b"Version=2014-10-31"), "MissingAction"),
        (
            "ds",
            "json",
            _request(body=b"{}", x_amz_target="DirectoryService_20150416.Nope"),
            "UnknownOperationException",
        ),
        (
            "ds",
            "json",
            _request(body=b"{nope", x_amz_target="DirectoryService_20150416.DescribeDirectories"),
            "SerializationException",
        ),
        (
            "ds",
            "json",
            _request(
                body=b'{"Limit": "ten"}',
                x_amz_target="DirectoryService_20150416.DescribeDirectories",
            ),
            "SerializationException",
        ),
        (
            "ds",
            "smithy-rpc-v2-cbor",
            _request(
                "/service/DirectoryService_20150416/operation/Nope", smithy_protocol="rpc-v2-cbor"
            ),
            "UnknownOperationException",
        ),
        (
            "ds",
            "smithy-rpc-v2-cbor",
            _request(
                "/service/DirectoryService_20150416/operation/DescribeDirectories",
                b"\xff\x00",
                smithy_protocol="rpc-v2-cbor",
            ),
            "SerializationException",
        ),
        ("ds-data", "rest-json", _request("/Nowhere"), "UnknownOperationException"),
        (
            "rds",
            "query",
            _request(body=b"Action=DescribeDBInstances&MaxRecords=x"),
            "MalformedQueryString",
        ),
    ],
)
def test_bad_requests(service: str, protocol: str, request_: HttpRequest, code: str) -> None:
    with pytest.raises(CommonError) as caught:
        create_parser(load_service(service), protocol).parse(request_)
    assert caught.value.code == code
    assert caught.value.status in (400, 404)


def test_detect_protocol_defaults() -> None:
    assert detect_protocol(load_service("ds"), _request(x_amz_target="X.Y")) == "json"
    assert detect_protocol(load_service("rds"), _request()) == "query"
    assert detect_protocol(load_service("ds-data"), _request("/Users/ListUsers")) == "rest-json"


def test_query_get_with_query_string() -> None:
    request = HttpRequest(
        "GET",
        "/",
        "Action=ListRoles&Version=2010-05-08&MaxItems=5&PathPrefix=%2Fsvc%2F",
        {},
        b"",
    )
    operation, params = create_parser(load_service("iam"), "query").parse(request)
    assert operation.name == "ListRoles"
    assert params == {"MaxItems": 5, "PathPrefix": "/svc/"}


def test_query_empty_list_and_ec2_names() -> None:
    body = b"Action=DescribeDBInstances&Version=2014-10-31&Filters="
    _, params = create_parser(load_service("rds"), "query").parse(_request(body=body))
    assert params == {"Filters": []}
    body = (
        b"Action=DescribeVpcs&Version=2016-11-15&VpcId.1=vpc-1&VpcId.2=vpc-2"
        b"&Filter.1.Name=tag%3AName&Filter.1.Value.1=a&DryRun=false"
    )
    _, params = create_parser(load_service("ec2"), "ec2").parse(_request(body=body))
    assert params == {
        "VpcIds": ["vpc-1", "vpc-2"],
        "Filters": [{"Name": "tag:Name", "Values": ["a"]}],
        "DryRun": False,
    }
