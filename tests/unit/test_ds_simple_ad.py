"""CreateDirectory (Simple AD) against a real Store: what DescribeDirectories and
GetDirectoryLimits show, and what only Managed AD offers, refused for a Simple AD as AWS
refuses it (each refusal changing nothing)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from pgrealm.services.ds.service import CLOUD_ONLY_LIMIT, KIND
from pgrealm.services.errors import ServiceError
from pgrealm.store.kinds import Kind
from tests.fixtures.ds_service import REGION, DsStack, ds_stack

OWNER = "111111111111"


@pytest.fixture
def stack(tmp_path: Path) -> DsStack:
    return ds_stack(tmp_path)


def refused(call: Any, params: dict[str, Any], stack: DsStack) -> ServiceError:
    with pytest.raises(ServiceError) as exc:
        call(stack.ctx(OWNER), params)
    return exc.value


def test_a_simple_ad_is_described_with_its_type_and_size(stack: DsStack) -> None:
    did = stack.directory(OWNER, stage="Requested", simple=True)
    desc = stack.describe(OWNER, did)
    assert (desc["Type"], desc["Size"], desc["Stage"]) == ("SimpleAD", "Small", "Requested")
    assert "Edition" not in desc
    assert len(desc["DnsIpAddrs"]) == 2 and desc["VpcSettings"]["SecurityGroupId"]


def test_limits_count_simple_ad_as_cloud_only_and_managed_ad_apart(stack: DsStack) -> None:
    stack.directory(OWNER, simple=True)
    stack.directory(OWNER)
    limits = stack.ds.get_directory_limits(stack.ctx(OWNER), {})["DirectoryLimits"]
    assert limits["CloudOnlyDirectoriesCurrentCount"] == 1
    assert limits["CloudOnlyMicrosoftADCurrentCount"] == 1
    assert limits["CloudOnlyDirectoriesLimit"] == CLOUD_ONLY_LIMIT


def test_the_simple_ad_quota_is_enforced(stack: DsStack) -> None:
    for _ in range(CLOUD_ONLY_LIMIT):
        stack.directory(OWNER, simple=True)
    error = refused(
        stack.ds.create_directory,
        {"Name": "x.example.com", "Password": "Sup3r-Secret-Pw", "Size": "Large",
         "VpcSettings": stack.vpc_settings(OWNER)},
        stack,
    )  # fmt: skip
    assert error.shape == "DirectoryLimitExceededException"
    assert len(stack.store.list(KIND, OWNER, REGION)) == CLOUD_ONLY_LIMIT


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"Password": "short"}, "InvalidParameterException"),
        ({"VpcSettings": None}, "InvalidParameterException"),
    ],
)
def test_bad_input_creates_nothing(stack: DsStack, params: dict[str, Any], code: str) -> None:
    base = {"Name": "corp.example.com", "Password": "Sup3r-Secret-Pw", "Size": "Small",
            "VpcSettings": stack.vpc_settings(OWNER)}  # fmt: skip
    request = {k: v for k, v in {**base, **params}.items() if v is not None}
    error = refused(stack.ds.create_directory, request, stack)
    assert error.shape == code and error.message.endswith(".")
    assert stack.store.list(KIND, OWNER, REGION) == []
    assert stack.store.list(Kind.ADDRESS, OWNER, REGION) == []


@pytest.mark.parametrize(
    ("operation", "params"),
    [
        ("share_directory", {"ShareMethod": "HANDSHAKE",
                             "ShareTarget": {"Id": "222222222222", "Type": "ACCOUNT"}}),
        ("add_ip_routes", {"IpRoutes": [{"CidrIp": "10.9.0.0/16"}]}),
        ("enable_directory_data_access", {}),
    ],
)  # fmt: skip
def test_what_only_managed_ad_offers_is_refused(
    stack: DsStack, operation: str, params: dict[str, Any]
) -> None:
    did = stack.directory(OWNER, simple=True)
    before = stack.store.get(KIND, OWNER, REGION, did)
    error = refused(getattr(stack.ds, operation), {"DirectoryId": did, **params}, stack)
    assert error.shape == "UnsupportedOperationException"
    assert "Simple AD" in error.message
    assert stack.store.get(KIND, OWNER, REGION, did) == before
