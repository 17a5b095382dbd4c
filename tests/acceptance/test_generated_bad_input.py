"""Bad input generated from the service models (bench/badinput.py), sent with
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
from collections.abc import Iterator

import botocore.auth
import botocore.awsrequest
import botocore.credentials
import pytest

from bench.badinput import sweep
from pgrealm.store import Store
from pgrealm.store.kinds import Kind
from tests.fixtures.addresses import stack_block
from tests.fixtures.stack import StackHandle, running_stack

pytestmark = pytest.mark.acceptance

PER_OPERATION = None if os.environ.get("PGREALM_BAD_INPUT_ALL") else 4
ACCOUNT = "333333333333"  # an account no other test uses


@pytest.fixture(scope="module")
def stack(request: pytest.FixtureRequest) -> Iterator[StackHandle]:
    # Its own host block: it runs while the session's stack does.
    with running_stack(
        keep=lambda: request.session.testsfailed > 0, block=stack_block(2)
    ) as handle:
        yield handle


def _records(stack: StackHandle) -> int:
    store = Store(stack.home / "state.db")
    return sum(len(store.keys(kind)) for kind in Kind if kind != Kind.PROCESS)


def test_generated_bad_input_is_refused_in_each_services_shape(stack: StackHandle) -> None:
    result = sweep(stack.url, ACCOUNT, PER_OPERATION, lambda: _records(stack))
    assert not result.wrong, "\n".join(result.wrong)
    assert result.created == 0, "an invalid request created something"
    # "../" in an identifier never made a file of that name under the home.
    assert not [p for p in stack.home.rglob("*passwd*")], "a traversal made a file"
    print(f"\nbad input: {dict(result.tally)}")
    tally = result.tally
    assert tally["sent"] > 200 and tally["4xx"] == tally["sent"] and tally["hostile sent"] > 50


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
