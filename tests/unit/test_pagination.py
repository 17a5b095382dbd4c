"""One pagination for every service, keyed as botocore's paginator definitions say."""

from __future__ import annotations

import pytest

from pgrealm.services.errors import ServiceError
from pgrealm.services.pagination import page

ITEMS = list(range(250))


def test_each_service_pages_with_its_own_members() -> None:
    rds = page("rds", "DescribeDBInstances", ITEMS, {"MaxRecords": 20})
    assert rds["DBInstances"] == ITEMS[:20] and "Marker" in rds
    iam = page("iam", "ListRoles", ITEMS, {"MaxItems": 200})
    assert iam["IsTruncated"] is True and len(iam["Roles"]) == 200
    last = page("iam", "ListRoles", ITEMS, {"Marker": iam["Marker"]})
    assert last["Roles"] == ITEMS[200:] and last["IsTruncated"] is False
    assert "Marker" not in last
    ds = page("ds", "DescribeDirectories", ITEMS, {"Limit": 5})
    assert ds["DirectoryDescriptions"] == ITEMS[:5] and "NextToken" in ds


def test_defaults_are_each_services() -> None:
    assert len(page("ec2", "DescribeVpcs", ITEMS, {})["Vpcs"]) == 250  # EC2: all
    assert len(page("rds", "DescribeDBInstances", ITEMS, {})["DBInstances"]) == 100
    assert len(page("ds", "ListTagsForResource", ITEMS, {}, default_size=50)["Tags"]) == 50


@pytest.mark.parametrize(
    ("service", "operation", "member", "code"),
    [
        ("ds", "DescribeDirectories", "NextToken", "InvalidNextTokenException"),
        ("ds-data", "ListUsers", "NextToken", "ValidationException"),
        ("ec2", "DescribeVpcs", "NextToken", "InvalidParameterValue"),
        ("iam", "ListRoles", "Marker", "InvalidInputException"),
        ("rds", "DescribeDBInstances", "Marker", "InvalidParameterValue"),
    ],
)
def test_a_token_it_did_not_issue_gets_the_services_error(
    service: str, operation: str, member: str, code: str
) -> None:
    with pytest.raises(ServiceError) as err:
        page(service, operation, ITEMS, {member: "not-a-token"})
    assert err.value.shape == code


def test_rds_page_sizes_are_bounded() -> None:
    with pytest.raises(ServiceError, match="Must be between 20 and 100"):
        page("rds", "DescribeDBSnapshots", ITEMS, {"MaxRecords": 5})
