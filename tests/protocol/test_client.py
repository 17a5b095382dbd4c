"""Whole botocore clients talk to our parser and serializer through a ``before-send`` hook.

No socket: the hook hands botocore's prepared request to our parser and answers with
our serializer's response, so signing, retries' error parsing and the error factory
all run as they would against a server.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSPreparedRequest, AWSResponse
from botocore.config import Config
from botocore.exceptions import ClientError

from pgrealm.api.errors import resolve_error
from pgrealm.api.http import HttpRequest
from pgrealm.api.protocols import create_parser, create_serializer, detect_protocol
from pgrealm.api.specs import load_service
from pgrealm.services.errors import ServiceError

Handler = Callable[[str, dict[str, Any]], dict[str, Any]]


class _Raw:
    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, *args: Any, **kwargs: Any) -> Iterator[bytes]:
        yield self._body


def _client(service: str, handler: Handler) -> Any:
    model = load_service(service)
    client = boto3.client(
        service,
        region_name="us-east-1",
        endpoint_url="http://127.0.0.1:1",
        aws_access_key_id="AKIDEXAMPLE",
        aws_secret_access_key="not-a-secret",
        config=Config(retries={"max_attempts": 1}),
    )

    def send(request: AWSPreparedRequest, **_: Any) -> AWSResponse:
        path, _, query = request.url.split("//", 1)[1].partition("/")[2].partition("?")
        body = request.body or b""
        ours = HttpRequest(
            request.method,
            "/" + path,
            query,
            {
                k.lower(): v.decode() if isinstance(v, bytes) else v
                for k, v in request.headers.items()
            },
            body.encode() if isinstance(body, str) else body,
        )
        protocol = detect_protocol(model, ours)
        operation, params = create_parser(model, protocol).parse(ours)
        serializer = create_serializer(model, protocol)
        try:
            response = serializer.serialize_response(
                operation, handler(operation.name, params), "req-1"
            )
        except ServiceError as exc:
            response = serializer.serialize_error(resolve_error(model, exc), "req-1", operation)
        return AWSResponse(request.url, response.status, response.headers, _Raw(response.body))

    client.meta.events.register("before-send", send)
    return client


def test_ds_create_and_modeled_error() -> None:
    seen: dict[str, Any] = {}

    def handler(operation: str, params: dict[str, Any]) -> dict[str, Any]:
        seen[operation] = params
        if operation == "DescribeDirectories":
            raise ServiceError("EntityDoesNotExistException", "Directory d-1 does not exist.")
        return {"DirectoryId": "d-1234567890"}

    client = _client("ds", handler)
    settings = {"VpcId": "vpc-1", "SubnetIds": ["subnet-1", "subnet-2"]}
    created = client.create_microsoft_ad(
        Name="corp.example.com", Password="Passw0rd!x", VpcSettings=settings
    )
    assert created["DirectoryId"] == "d-1234567890"
    assert created["ResponseMetadata"]["RequestId"] == "req-1"
    assert seen["CreateMicrosoftAD"]["VpcSettings"] == settings
    with pytest.raises(client.exceptions.EntityDoesNotExistException) as caught:
        client.describe_directories(DirectoryIds=["d-1"])
    assert caught.value.response["Error"]["Message"] == "Directory d-1 does not exist."
    assert caught.value.response["RequestId"] == "req-1"


def test_iam_and_rds_errors_map_to_client_exceptions() -> None:
    def missing(operation: str, params: dict[str, Any]) -> dict[str, Any]:
        raise ServiceError(
            "NoSuchEntityException" if operation == "GetRole" else "DBInstanceNotFoundFault",
            "not found",
        )

    with pytest.raises(ClientError) as iam_error:
        _client("iam", missing).get_role(RoleName="r")
    assert iam_error.value.response["Error"]["Code"] == "NoSuchEntity"
    rds = _client("rds", missing)
    with pytest.raises(rds.exceptions.DBInstanceNotFoundFault):
        rds.describe_db_instances(DBInstanceIdentifier="db-1")


def test_ec2_and_sts_outputs() -> None:
    def answer(operation: str, params: dict[str, Any]) -> dict[str, Any]:
        if operation == "DescribeVpcs":
            vpc = {"VpcId": params["VpcIds"][0], "CidrBlock": "10.0.0.0/16", "IsDefault": False}
            return {"Vpcs": [vpc]}
        return {"Account": "123456789012", "Arn": "arn:aws:iam::123456789012:root", "UserId": "x"}

    vpcs = _client("ec2", answer).describe_vpcs(VpcIds=["vpc-0abc"])["Vpcs"]
    assert vpcs == [{"VpcId": "vpc-0abc", "CidrBlock": "10.0.0.0/16", "IsDefault": False}]
    identity = _client("sts", answer).get_caller_identity()
    assert identity["Account"] == "123456789012"


def test_ds_data_rest_json() -> None:
    def answer(operation: str, params: dict[str, Any]) -> dict[str, Any]:
        assert params["DirectoryId"] == "d-1234567890"
        return {"DirectoryId": params["DirectoryId"], "SAMAccountName": params["SAMAccountName"]}

    client = _client("ds-data", answer)
    user = client.describe_user(DirectoryId="d-1234567890", SAMAccountName="alice")
    assert user["SAMAccountName"] == "alice"
