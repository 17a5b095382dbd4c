"""SigV4 verification against requests signed by botocore itself."""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import boto3
import pytest
from botocore.auth import SigV4Auth, SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.parsers import create_parser as botocore_parser

from pgrealm.api import accounts, dispatch, routing, sigv4
from pgrealm.api.dispatch import Dispatcher
from pgrealm.api.http import HttpRequest
from pgrealm.api.specs import load_service
from pgrealm.services.errors import CommonError
from tests.unit.test_routing import CALLS  # one read call of each served service

ENDPOINT = "http://127.0.0.1:4566"


def to_http(prepared: Any) -> HttpRequest:
    """What our server would build from the bytes botocore puts on the wire."""
    parts = urlsplit(prepared.url)
    headers = {
        k.lower(): (v.decode() if isinstance(v, bytes) else v) for k, v in prepared.headers.items()
    }
    headers.setdefault("host", parts.netloc)  # http.client adds Host when sending
    body = prepared.body or b""
    if isinstance(body, str):
        body = body.encode()
    return HttpRequest(prepared.method, parts.path or "/", parts.query, headers, body)


def signed(
    method: str,
    url: str,
    service: str,
    body: bytes = b"",
    headers: dict[str, str] | None = None,
    key: str = "test",
    secret: str = "test",
    region: str = "us-east-1",
) -> HttpRequest:
    request = AWSRequest(method=method, url=url, data=body, headers=headers or {})
    SigV4Auth(Credentials(key, secret), service, region).add_auth(request)
    return to_http(request.prepare())


def query_post(**kw: Any) -> HttpRequest:
    body = b"Action=DescribeDBInstances&Version=2014-10-31&DBInstanceIdentifier=db%2D1"
    ctype = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}
    return signed("POST", ENDPOINT + "/", "rds", body, ctype, **kw)


def json_post(**kw: Any) -> HttpRequest:
    headers = {
        "Content-Type": "application/x-amz-json-1.1",
        "X-Amz-Target": "DirectoryService_20150416.DescribeDirectories",
    }
    return signed("POST", ENDPOINT + "/", "ds", b'{"Limit": 5}', headers, **kw)


def rest_get(**kw: Any) -> HttpRequest:
    url = (
        ENDPOINT + "/Users/d-1234%3Aa%20b%2Fc/~x/caf%C3%A9"
        "?NextToken=a%2Bb%3D%3D&MaxResults=10&Realm=corp.example.com&empty=&z=%E2%9C%93"
    )
    return signed("GET", url, "ds-data", **kw)


@pytest.mark.parametrize(
    ("build", "family", "service"),
    [(query_post, "query", "rds"), (json_post, "json", "ds"), (rest_get, "json", "ds-data")],
)
def test_accepts_botocore_signatures(
    build: Callable[..., HttpRequest], family: str, service: str
) -> None:
    identity = sigv4.verify(build(), family)
    assert identity.account_id == "000000000000"
    assert identity.access_key == "test"
    assert identity.region == "us-east-1"
    assert identity.service == service
    assert not identity.presigned


def test_twelve_digit_key_is_its_account() -> None:
    identity = sigv4.verify(json_post(key="123456789012", region="eu-west-1"), "json")
    assert (identity.account_id, identity.region) == ("123456789012", "eu-west-1")


def test_accounts_lookup() -> None:
    assert accounts.lookup("test") == accounts.Credential("test", "test", "000000000000")
    assert accounts.lookup("111122223333") == accounts.Credential(
        "111122223333", "test", "111122223333"
    )
    for unknown in ("", "AKIDEXAMPLE", "12345678901", "1234567890123", "١٢٣٤٥٦٧٨٩٠١٢"):
        assert accounts.lookup(unknown) is None


def test_path_with_dot_segments_and_double_slashes() -> None:
    sigv4.verify(signed("GET", ENDPOINT + "/a/./b//c/../d/", "ds-data"), "json")


def replace(request: HttpRequest, **changes: Any) -> HttpRequest:
    return dataclasses.replace(request, **changes)


def reject(request: HttpRequest, family: str, now: datetime | None = None) -> CommonError:
    with pytest.raises(CommonError) as info:
        sigv4.verify(request, family, now=now)
    return info.value


@pytest.mark.parametrize(
    ("family", "build", "code", "status"),
    [
        ("query", query_post, "SignatureDoesNotMatch", 403),
        ("ec2", query_post, "AuthFailure", 401),
        ("json", json_post, "InvalidSignatureException", 403),
    ],
)
def test_wrong_secret(
    family: str, build: Callable[..., HttpRequest], code: str, status: int
) -> None:
    error = reject(build(secret="not-test"), family)
    assert (error.code, error.status) == (code, status)
    if family != "ec2":
        assert error.message.startswith("The request signature we calculated does not match")


@pytest.mark.parametrize(
    ("family", "code", "status"),
    [
        ("query", "InvalidClientTokenId", 403),
        ("ec2", "AuthFailure", 401),
        ("json", "UnrecognizedClientException", 403),
    ],
)
def test_unknown_key(family: str, code: str, status: int) -> None:
    error = reject(json_post(key="AKIDEXAMPLE"), family)
    assert (error.code, error.status) == (code, status)


@pytest.mark.parametrize(
    ("family", "code"),
    [
        ("query", "MissingAuthenticationToken"),
        ("ec2", "MissingAuthenticationToken"),
        ("json", "MissingAuthenticationTokenException"),
    ],
)
def test_missing_signature(family: str, code: str) -> None:
    request = HttpRequest("POST", "/", "", {"host": "127.0.0.1:4566"}, b"Action=X")
    assert reject(request, family).code == code


@pytest.mark.parametrize(
    ("authorization", "family", "code"),
    [
        (
            "AWS4-HMAC-SHA256 Credential=test/20240101/us-east-1/ds/aws4_request",
            "json",
            "IncompleteSignatureException",
        ),
        (
            "AWS4-HMAC-SHA256 Credential=test, SignedHeaders=host, Signature=00",
            "query",
            "IncompleteSignature",
        ),
        ("AWS test:abcdef", "query", "IncompleteSignature"),
    ],
)
def test_malformed_authorization(authorization: str, family: str, code: str) -> None:
    request = HttpRequest("GET", "/", "", {"authorization": authorization}, b"")
    assert reject(request, family).code == code


def test_tampered_body_query() -> None:
    request = query_post()
    tampered = replace(request, body=request.body.replace(b"db%2D1", b"db%2D2"))
    assert reject(tampered, "query").code == "SignatureDoesNotMatch"


def test_tampered_body_json_with_declared_hash() -> None:
    request = signed(
        "POST",
        ENDPOINT + "/",
        "ds",
        b'{"a": 1}',
        {"X-Amz-Content-SHA256": hashlib.sha256(b'{"a": 1}').hexdigest()},
    )
    sigv4.verify(request, "json")
    error = reject(replace(request, body=b'{"a": 2}'), "json")
    assert error.code == "InvalidSignatureException"
    assert "x-amz-content-sha256" in error.message


def test_tampered_query_string_and_header() -> None:
    request = rest_get()
    assert reject(replace(request, query_string=request.query_string + "&x=1"), "json")
    headers = dict(request.headers, **{"x-amz-date": "20200101T000000Z"})
    assert reject(replace(request, headers=headers), "json").code == "InvalidSignatureException"


@pytest.mark.parametrize("shift", [timedelta(minutes=16), timedelta(minutes=-16)])
def test_clock_skew(shift: timedelta) -> None:
    request = query_post()
    signed_at = datetime.strptime(request.headers["x-amz-date"], "%Y%m%dT%H%M%SZ")
    now = signed_at.replace(tzinfo=UTC) + shift
    error = reject(request, "query", now=now)
    assert error.code == "SignatureDoesNotMatch"
    word = "expired" if shift > timedelta(0) else "not yet current"
    assert error.message.startswith(f"Signature {word}: {request.headers['x-amz-date']}")
    assert reject(request, "ec2", now=now).code == "RequestExpired"
    assert reject(request, "json", now=now).code == "InvalidSignatureException"
    # 14 minutes of skew is tolerated
    sigv4.verify(request, "query", now=now - shift * 14 / 16)


def test_presigned_query() -> None:
    url = ENDPOINT + "/?Action=GetCallerIdentity&Version=2011-06-15"
    request = AWSRequest(method="GET", url=url)
    SigV4QueryAuth(Credentials("test", "test"), "sts", "us-east-1", expires=60).add_auth(request)
    http = to_http(request.prepare())
    assert "authorization" not in http.headers
    identity = sigv4.verify(http, "query")
    assert identity.presigned and identity.service == "sts"
    signed_at = datetime.strptime(
        identity.signed_at.strftime("%Y%m%dT%H%M%SZ"), "%Y%m%dT%H%M%SZ"
    ).replace(tzinfo=UTC)
    error = reject(http, "query", now=signed_at + timedelta(seconds=61))
    assert error.code == "SignatureDoesNotMatch" and "expired" in error.message
    wrong = replace(http, query_string=http.query_string.replace("GetCallerIdentity", "X"))
    assert reject(wrong, "query").code == "SignatureDoesNotMatch"


def test_unknown_family() -> None:
    with pytest.raises(ValueError):
        sigv4.verify(query_post(), "rest-xml")


# -- the credential scope: the right service, a real region ------------------------------

SCOPE_FAULTS = [
    ("query", "SignatureDoesNotMatch", 403),
    ("ec2", "AuthFailure", 401),
    ("json", "InvalidSignatureException", 403),
]


@pytest.mark.parametrize(("family", "code", "status"), SCOPE_FAULTS)
def test_a_scope_naming_another_service_is_refused(family: str, code: str, status: int) -> None:
    """Signed for ds, sent as a logs request: AWS names the service it wanted."""
    error = reject_scope(json_post(), family, signing_name="logs")
    assert (error.code, error.status) == (code, status)
    assert error.message == "Credential should be scoped to correct service: 'logs'."


@pytest.mark.parametrize(("family", "code", "status"), SCOPE_FAULTS)
@pytest.mark.parametrize("region", ["us-moon-1", "aws-global", "US-EAST-1", "cn-north-1"])
def test_a_scope_naming_a_region_aws_lacks_is_refused(
    family: str, code: str, status: int, region: str
) -> None:
    """aws-global is what botocore signs IAM with when told that region; AWS refuses it."""
    error = reject_scope(json_post(region=region), family, signing_name="ds")
    assert (error.code, error.status) == (code, status)
    assert error.message == f"Credential should be scoped to a valid region, not '{region}'."


def test_the_scope_is_checked_before_the_key() -> None:
    """An unknown key with a bad scope hears about the scope: it gives nothing away."""
    error = reject_scope(json_post(key="AKIDEXAMPLE", region="us-moon-1"), "json")
    assert "valid region" in error.message


def test_a_presigned_scope_is_checked_too() -> None:
    request = AWSRequest(method="GET", url=ENDPOINT + "/?Action=GetCallerIdentity")
    SigV4QueryAuth(Credentials("test", "test"), "sts", "us-east-1", 60).add_auth(request)
    presigned = to_http(request.prepare())
    assert sigv4.verify(presigned, "query", signing_name="sts").presigned
    error = reject_scope(presigned, "query", signing_name="iam")
    assert error.message == "Credential should be scoped to correct service: 'iam'."


def reject_scope(request: HttpRequest, family: str, signing_name: str = "ds") -> CommonError:
    with pytest.raises(CommonError) as info:
        sigv4.verify(request, family, signing_name=signing_name)
    return info.value


# -- through the real client pipeline: exactly what boto3 / the aws CLI put on the wire ---


class _Captured(Exception):
    def __init__(self, request: Any) -> None:
        self.request = request


def _capture(service: str, operation: str, region: str = "us-west-2", **params: Any) -> HttpRequest:
    client = boto3.session.Session(
        aws_access_key_id="test", aws_secret_access_key="test", region_name=region
    ).client(service, endpoint_url=ENDPOINT)

    def grab(request: Any, **_: Any) -> None:
        raise _Captured(request)

    client.meta.events.register("before-send", grab)
    with pytest.raises(_Captured) as info:
        getattr(client, operation)(**params)
    return to_http(info.value.request)


@pytest.mark.parametrize(
    ("service", "operation", "params", "family"),
    [
        ("ds", "describe_directories", {"DirectoryIds": ["d-1234567890"]}, "json"),
        (
            "ds-data",
            "list_users",
            {"DirectoryId": "d-1234567890", "Realm": "corp.example.com"},
            "json",
        ),
        (
            "ds-data",
            "create_user",
            {"DirectoryId": "d-1234567890", "SAMAccountName": "a b"},
            "json",
        ),
        ("rds", "describe_db_instances", {"DBInstanceIdentifier": "db 1/é"}, "query"),
        ("ec2", "describe_vpcs", {"VpcIds": ["vpc-1"]}, "ec2"),
        ("iam", "get_role", {"RoleName": "r+x"}, "query"),
        ("sts", "get_caller_identity", {}, "query"),
    ],
)
def test_real_client_requests(
    service: str, operation: str, params: dict[str, Any], family: str
) -> None:
    request = _capture(service, operation, **params)
    identity = sigv4.verify(request, family)
    assert identity.region == "us-west-2"
    assert identity.service == service


def test_first_canonical_uri_is_botocores() -> None:
    """botocore encodes the already-encoded path again (all services but S3)."""
    url = ENDPOINT + "/Users/d-1%3Aa%20b/./x//y"
    request = AWSRequest(method="GET", url=url)
    auth = SigV4Auth(Credentials("test", "test"), "ds-data", "us-east-1")
    request.context["timestamp"] = "20240101T000000Z"
    botocore_uri = auth.canonical_request(request).split("\n")[1]
    assert botocore_uri == "/Users/d-1%253Aa%2520b/x/y"
    assert sigv4._canonical_uris(urlsplit(url).path)[0] == botocore_uri


@pytest.mark.parametrize("region", ["us-east-1", "eu-central-1", "af-south-1"])
@pytest.mark.parametrize(("service", "operation", "params"), CALLS)
def test_every_served_clients_requests_pass_the_scope_checks(
    service: str, operation: str, params: dict[str, Any], region: str
) -> None:
    """What routing decides and what the client signed for agree, in any real region,
    for the global services (IAM, STS) too: botocore signs them with the client's region
    when given an endpoint URL."""
    request = _capture(service, operation, region, **params)
    routed = routing.route(request)
    assert routed == service
    family = routing.AUTH_FAMILY[routed]
    identity = sigv4.verify(request, family, signing_name=routing.signing_name(routed))
    assert (identity.service, identity.region) == (service, region)


# -- through the dispatcher: the refusal in the routed service's own shape ---------------


class _Sts:
    def get_caller_identity(self, ctx: Any, params: dict[str, Any]) -> dict[str, Any]:
        arn = f"arn:aws:iam::{ctx.account_id}:root"
        return {"Account": ctx.account_id, "Arn": arn, "UserId": ctx.account_id}


def _answer(
    request: HttpRequest, protocol: str, monkeypatch: pytest.MonkeyPatch, shape: Any = None
) -> Any:
    """(HTTP status, what botocore's parser for ``protocol`` reads from the answer)."""
    # the dispatcher freezes the heap after a model loads: a server's concern, not a test's
    monkeypatch.setattr(dispatch, "_settle_heap", lambda: None)
    response = Dispatcher({"sts": _Sts()}).handle(request)
    wire = {"body": response.body, "headers": response.headers, "status_code": response.status}
    return response.status, botocore_parser(protocol).parse(wire, shape)


def _form(body: str, signing: str, region: str = "us-east-1") -> HttpRequest:
    ctype = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}
    return signed("POST", ENDPOINT + "/", signing, body.encode(), ctype, region=region)


def test_a_logs_request_signed_for_ds_is_refused_in_json(monkeypatch: pytest.MonkeyPatch) -> None:
    headers = {
        "Content-Type": "application/x-amz-json-1.1",
        "X-Amz-Target": "Logs_20140328.DescribeLogGroups",
    }
    request = signed("POST", ENDPOINT + "/", "ds", b"{}", headers)
    status, parsed = _answer(request, "json", monkeypatch)
    assert status == 403
    assert parsed["Error"] == {
        "Code": "InvalidSignatureException",
        "Message": "Credential should be scoped to correct service: 'logs'.",
    }


def test_an_iam_request_signed_for_sts_is_refused_in_xml(monkeypatch: pytest.MonkeyPatch) -> None:
    request = _form("Action=ListRoles&Version=2010-05-08", "sts")
    status, parsed = _answer(request, "query", monkeypatch)
    assert (status, parsed["Error"]["Code"]) == (403, "SignatureDoesNotMatch")
    assert parsed["Error"]["Message"] == "Credential should be scoped to correct service: 'iam'."


def test_an_ec2_request_in_a_made_up_region_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    request = _form("Action=DescribeVpcs&Version=2016-11-15", "ec2", region="us-moon-1")
    status, parsed = _answer(request, "ec2", monkeypatch)
    assert (status, parsed["Error"]["Code"]) == (401, "AuthFailure")
    assert "not 'us-moon-1'" in parsed["Error"]["Message"]


def test_a_rightly_scoped_request_still_reaches_its_service(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    request = _form("Action=GetCallerIdentity&Version=2011-06-15", "sts", region="eu-west-1")
    shape = load_service("sts").operation_model("GetCallerIdentity").output_shape
    status, parsed = _answer(request, "query", monkeypatch, shape)
    assert status == 200, parsed
    assert parsed["Account"] == "000000000000"
