"""Bad input generated from the service models (tests/fixtures/badinput.py), sent with
botocore over HTTP to a stack of its own, for every operation pgrealm serves.

Invalid requests get a 4xx in the service's error shape and create nothing; hostile
strings never get a 5xx or a traceback; malformed and oversized bodies get a 4xx.
``PGREALM_BAD_INPUT_ALL=1`` sends every generated request (a few thousand); by default
each operation sends its first few, a few hundred in all.
"""

from __future__ import annotations

import os
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Iterator
from typing import Any

import botocore.auth
import botocore.awsrequest
import botocore.credentials
import pytest
from botocore import xform_name
from botocore.config import Config
from botocore.exceptions import ClientError

from pgrealm.store import Store
from pgrealm.store.kinds import Kind
from tests.fixtures.addresses import stack_block
from tests.fixtures.badinput import INVALID_KINDS, BadRequest, bad_requests
from tests.fixtures.stack import StackHandle, running_stack

pytestmark = pytest.mark.acceptance

SERVICES = ("sts", "iam", "ec2", "rds", "ds", "ds-data", "logs")
PER_OPERATION = None if os.environ.get("PGREALM_BAD_INPUT_ALL") else 4
ACCOUNT = "333333333333"  # an account no other test uses


@pytest.fixture(scope="module")
def stack(request: pytest.FixtureRequest) -> Iterator[StackHandle]:
    # Its own host block: it runs while the session's stack does.
    with running_stack(
        keep=lambda: request.session.testsfailed > 0, block=stack_block(2)
    ) as handle:
        yield handle


def _client(stack: StackHandle, service: str) -> Any:
    import boto3

    return boto3.client(
        service,
        endpoint_url=stack.url,
        region_name="us-east-1",
        aws_access_key_id=ACCOUNT,
        aws_secret_access_key="test",
        config=Config(parameter_validation=False, retries={"max_attempts": 1}, read_timeout=60),
    )


def _served(client: Any) -> list[str]:
    from pgrealm.daemon import SERVICE_CLASSES

    cls = SERVICE_CLASSES[client.meta.service_model.service_name]
    names = client.meta.service_model.operation_names
    return [n for n in names if hasattr(cls, xform_name(n))]


def _send(client: Any, bad: BadRequest) -> tuple[int, str, str] | None:
    """(HTTP status, error code, message); None if botocore cannot put it on the wire."""
    try:
        out = client._make_api_call(bad.operation, bad.params)
    except ClientError as err:
        meta, error = err.response["ResponseMetadata"], err.response.get("Error", {})
        return int(meta["HTTPStatusCode"]), str(error.get("Code")), str(error.get("Message"))
    except Exception:  # the client's serializer refused the value: nothing was sent
        return None
    return int(out["ResponseMetadata"]["HTTPStatusCode"]), "", ""


def _records(stack: StackHandle) -> int:
    store = Store(stack.home / "state.db")
    return sum(len(store.keys(kind)) for kind in Kind if kind != Kind.PROCESS)


def test_generated_bad_input_is_refused_in_each_services_shape(stack: StackHandle) -> None:
    from pgrealm.daemon import SERVICE_CLASSES

    assert set(SERVICES) == set(SERVICE_CLASSES), "a served service is left out"
    clients = {s: _client(stack, s) for s in SERVICES}
    clients["ec2"].describe_vpcs()  # the account's default VPC exists before counting
    before = _records(stack)
    tally: Counter[str] = Counter()
    wrong: list[str] = []
    hostile: list[tuple[Any, BadRequest]] = []
    for service, client in clients.items():
        for name in _served(client):
            for bad in bad_requests(client.meta.service_model.operation_model(name), PER_OPERATION):
                if bad.kind not in INVALID_KINDS:
                    hostile.append((client, bad))
                    continue
                answer = _send(client, bad)
                if answer is None:
                    tally["not sendable"] += 1
                    continue
                tally["sent"] += 1
                status, code, message = answer
                if 400 <= status < 500 and code and "Traceback" not in message:
                    tally["4xx"] += 1
                else:
                    wrong.append(f"{service} {bad}: {status} {code} {message[:120]}")
    assert not wrong, "\n".join(wrong)
    assert _records(stack) == before, "an invalid request created something"
    for client, bad in hostile:
        answer = _send(client, bad)
        if answer is None:
            continue
        tally["hostile sent"] += 1
        status, code, message = answer
        if status >= 500 or "Traceback" in message:
            wrong.append(f"{client.meta.service_model.service_name} {bad}: {status} {code}")
    assert not wrong, "\n".join(wrong)
    print(f"\nbad input: {dict(tally)}")
    assert tally["sent"] > 200 and tally["4xx"] == tally["sent"]


def _signed_post(
    stack: StackHandle, signing: str, path: str, headers: dict[str, str], body: bytes
) -> int:
    request = botocore.awsrequest.AWSRequest("POST", stack.url + path, headers=headers, data=body)
    credentials = botocore.credentials.Credentials(ACCOUNT, "test")
    botocore.auth.SigV4Auth(credentials, signing, "us-east-1").add_auth(request)
    prepared = request.prepare()
    req = urllib.request.Request(prepared.url, data=body, headers=dict(prepared.headers))
    try:
        with urllib.request.urlopen(req, timeout=60) as response:
            return int(response.status)
    except urllib.error.HTTPError as err:
        return int(err.code)


@pytest.mark.parametrize(
    "signing, path, headers, body",
    [
        (
            "ds",
            "/",
            {
                "Content-Type": "application/x-amz-json-1.1",
                "X-Amz-Target": "DirectoryService_20150416.DescribeDirectories",
            },
            b'{"DirectoryIds": ["d-1234567890"',
        ),
        (
            "ds",
            "/service/DirectoryService_20150416/operation/DescribeDirectories",
            {
                "Content-Type": "application/cbor",
                "Smithy-Protocol": "rpc-v2-cbor",
            },
            b"\xbf\xff\xff\x1f\x00garbage",
        ),
        (
            "rds",
            "/",
            {"Content-Type": "application/x-www-form-urlencoded"},
            b"Action=DescribeDBInstances&Version=2014-10-31&MaxRecords=%ZZ&Filters.member.x=1",
        ),
        (
            "ds",
            "/",
            {
                "Content-Type": "application/x-amz-json-1.1",
                "X-Amz-Target": "DirectoryService_20150416.DescribeDirectories",
            },
            b'{"DirectoryIds": ["' + b"a" * (11 * 1024 * 1024) + b'"]}',
        ),
    ],
    ids=["truncated-json", "garbage-cbor", "broken-query", "over-10-MB"],
)
def test_malformed_and_oversized_bodies(
    stack: StackHandle, signing: str, path: str, headers: dict[str, str], body: bytes
) -> None:
    status = _signed_post(stack, signing, path, headers, body)
    assert 400 <= status < 500, status
