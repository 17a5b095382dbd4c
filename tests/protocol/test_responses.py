"""Our serializer writes responses and errors; botocore's own parsers must read them back."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.parsers import create_parser as botocore_parser
from shapegen import STAMP, botocore_response, generate, strip_metadata

from pgrealm.api.errors import ResolvedError, resolve_error
from pgrealm.api.protocols import create_serializer
from pgrealm.api.specs import load_service
from pgrealm.services.errors import ServiceError

CASES = [
    ("ds", "json"),
    ("ds", "smithy-rpc-v2-cbor"),
    ("ds-data", "rest-json"),
    ("rds", "query"),
    ("iam", "query"),
    ("sts", "query"),
    ("ec2", "ec2"),
]
REQUEST_ID = "5d3b8f0e-1111-2222-3333-444455556666"


@pytest.mark.parametrize(("service", "protocol"), CASES)
def test_every_output_round_trips(service: str, protocol: str) -> None:
    model = load_service(service)
    ours = create_serializer(model, protocol)
    theirs = botocore_parser(protocol)
    mismatches: list[tuple[Any, ...]] = []
    for name in model.operation_names:
        operation = model.operation_model(name)
        shape = operation.output_shape
        output = generate(shape) if shape is not None else {}
        response = ours.serialize_response(operation, output, REQUEST_ID)
        assert response.status == operation.http.get("responseCode", 200)
        parsed = theirs.parse(botocore_response(response), shape)
        if parsed["ResponseMetadata"].get("RequestId") != REQUEST_ID:
            mismatches.append((name, "request id", parsed["ResponseMetadata"]))
        if strip_metadata(parsed) != output:
            mismatches.append((name, output, strip_metadata(parsed)))
    assert not mismatches, mismatches[:3]


def test_omits_none_and_missing_members() -> None:
    model = load_service("ds")
    operation = model.operation_model("DescribeDirectories")
    output = {"DirectoryDescriptions": [{"DirectoryId": "d-1234567890", "Name": None}]}
    body = create_serializer(model, "json").serialize_response(operation, output, "r").body
    assert body == b'{"DirectoryDescriptions":[{"DirectoryId":"d-1234567890"}]}'


def test_timestamps_per_protocol() -> None:
    rds = load_service("rds")
    operation = rds.operation_model("DescribeDBInstances")
    output = {"DBInstances": [{"DBInstanceIdentifier": "db-1", "InstanceCreateTime": STAMP}]}
    body = create_serializer(rds, "query").serialize_response(operation, output, "r").body
    assert b"<InstanceCreateTime>2024-01-02T03:04:05Z</InstanceCreateTime>" in body
    ds = load_service("ds")
    operation = ds.operation_model("DescribeDirectories")
    output = {"DirectoryDescriptions": [{"LaunchTime": STAMP}]}
    body = create_serializer(ds, "json").serialize_response(operation, output, "r").body
    assert body == b'{"DirectoryDescriptions":[{"LaunchTime":1704164645}]}'


def _parse_error(
    service: str, protocol: str, error: ResolvedError, operation: str
) -> tuple[int, dict[str, Any]]:
    model = load_service(service)
    op = model.operation_model(operation)
    response = create_serializer(model, protocol).serialize_error(error, REQUEST_ID, op)
    raw = botocore_response(response)
    parsed: dict[str, Any] = botocore_parser(protocol).parse(raw, op.output_shape)
    # botocore's client then reads the modeled fields through the error shape itself.
    code = parsed["Error"]["Code"]
    shape = next((s for s in model.error_shapes if s.error_code == code), None)
    if shape is not None:
        parsed["Error"].update(botocore_parser(protocol).parse(raw, shape))
    return response.status, parsed


@pytest.mark.parametrize(
    ("service", "protocol", "shape", "operation", "code", "status"),
    [
        ("ds", "json", "EntityDoesNotExistException", "DescribeDirectories", None, 400),
        (
            "ds",
            "smithy-rpc-v2-cbor",
            "EntityDoesNotExistException",
            "DescribeDirectories",
            None,
            400,
        ),
        ("ds-data", "rest-json", "ResourceNotFoundException", "DescribeUser", None, 404),
        (
            "rds",
            "query",
            "DBInstanceNotFoundFault",
            "DescribeDBInstances",
            "DBInstanceNotFound",
            404,
        ),
        ("iam", "query", "NoSuchEntityException", "GetRole", "NoSuchEntity", 404),
        ("sts", "query", "ExpiredTokenException", "AssumeRole", "ExpiredTokenException", 400),
    ],
)
def test_modeled_errors(
    service: str, protocol: str, shape: str, operation: str, code: str | None, status: int
) -> None:
    error = resolve_error(load_service(service), ServiceError(shape, 'it is <gone> & "away"'))
    got_status, parsed = _parse_error(service, protocol, error, operation)
    assert got_status == status
    assert parsed["Error"]["Code"] == (code or shape)
    assert parsed["Error"]["Message"] == 'it is <gone> & "away"'
    assert parsed["ResponseMetadata"]["RequestId"] == REQUEST_ID


def test_ds_errors_carry_request_id() -> None:
    error = resolve_error(load_service("ds"), ServiceError("ClientException", "no"))
    for protocol in ("json", "smithy-rpc-v2-cbor"):
        _, parsed = _parse_error("ds", protocol, error, "CreateMicrosoftAD")
        assert parsed["Error"]["RequestId"] == REQUEST_ID


def test_ds_data_error_fields() -> None:
    model = load_service("ds-data")
    error = resolve_error(
        model, ServiceError("ValidationException", "bad attr", Reason="INVALID_ATTRIBUTE_NAME")
    )
    status, parsed = _parse_error("ds-data", "rest-json", error, "CreateUser")
    assert status == 400
    assert parsed["Error"]["Code"] == "ValidationException"
    assert parsed["Error"]["Reason"] == "INVALID_ATTRIBUTE_NAME"


@pytest.mark.parametrize(("service", "protocol"), CASES)
def test_common_errors(service: str, protocol: str) -> None:
    error = ResolvedError("ThrottlingException", "slow down", 400, True, "ThrottlingException")
    operation = load_service(service).operation_names[0]
    status, parsed = _parse_error(service, protocol, error, operation)
    assert status == 400
    assert parsed["Error"]["Code"] == "ThrottlingException"
    assert parsed["Error"]["Message"] == "slow down"
    assert parsed["ResponseMetadata"]["RequestId"] == REQUEST_ID


def test_server_fault_is_receiver() -> None:
    error = ResolvedError("InternalFailure", "boom", 500, False, "InternalFailure")
    model = load_service("iam")
    response = create_serializer(model, "query").serialize_error(error, REQUEST_ID)
    assert response.status == 500
    assert b"<Type>Receiver</Type>" in response.body


def test_services_raise_only_shapes_their_models_declare() -> None:
    from pgrealm.api.error_shapes import raised_shapes, unknown_error_shapes

    assert unknown_error_shapes() == ()
    assert raised_shapes('raise ServiceError("NoSuchFault", "x")') == {"NoSuchFault"}


def test_an_unknown_shape_is_an_internal_failure_not_a_made_up_code() -> None:
    resolved = resolve_error(load_service("rds"), ServiceError("DBInstanceMissspeltFault", "x"))
    assert (resolved.code, resolved.status) == ("InternalFailure", 500)
