"""DescribeNetworkInterfaces through Ec2Service over stored host address records, with
every field a record may lack derived (ids, descriptions, requesters)."""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Any

import pytest
from botocore.parsers import create_parser as botocore_parser

from pgrealm.api.protocols import create_serializer
from pgrealm.api.specs import load_service
from pgrealm.services.context import RequestContext
from pgrealm.services.ec2 import Ec2Service
from pgrealm.services.ec2._common import ADDRESS
from pgrealm.services.errors import CommonError
from pgrealm.store import Store

ACCOUNT, OTHER = "111111111111", "222222222222"
REGION = "us-west-2"


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store(tmp_path / "state.db")


@pytest.fixture
def ec2(store: Store) -> Ec2Service:
    return Ec2Service(store, {}, ipaddress.IPv4Network("198.18.0.0/16"))


def ctx(account: str = ACCOUNT, region: str = REGION) -> RequestContext:
    return RequestContext(account_id=account, region=region, request_id="r", service="ec2")


def describe(ec2: Ec2Service, filters: dict[str, str] | None = None) -> list[dict[str, Any]]:
    flts = [{"Name": k, "Values": [v]} for k, v in (filters or {}).items()]
    found: list[dict[str, Any]] = ec2.describe_network_interfaces(ctx(), {"Filters": flts})[
        "NetworkInterfaces"
    ]
    return found


@pytest.fixture
def hosts(ec2: Ec2Service, store: Store) -> dict[str, Any]:
    """A DB instance's record as the allocator writes it, and a DC's with only the fields
    older records have."""
    [subnet] = ec2.describe_subnets(
        ctx(), {"Filters": [{"Name": "availability-zone", "Values": ["us-west-2a"]}]}
    )["Subnets"]
    group = ec2.create_security_group(ctx(), {"GroupName": "db", "Description": "db"})["GroupId"]
    db = {
        "VpcIp": "172.31.0.4",
        "HostIp": "198.18.0.16",
        "SubnetId": subnet["SubnetId"],
        "VpcId": subnet["VpcId"],
        "Purpose": "rds/mydb",
        "InterfaceId": "eni-0123456789abcdef0",
        "Description": "RDSNetworkInterface",
        "SecurityGroupIds": [group],
    }
    dc = {
        "VpcIp": "172.31.0.5",
        "HostIp": "198.18.0.18",
        "SubnetId": subnet["SubnetId"],
        "VpcId": subnet["VpcId"],
        "Purpose": "d-1234567890/dc1",
    }
    store.put(ADDRESS, ACCOUNT, REGION, "198.18.0.16", db)
    store.put(ADDRESS, ACCOUNT, REGION, "198.18.0.18", dc)
    store.put(ADDRESS, OTHER, REGION, "198.18.0.17", {**db, "InterfaceId": "eni-0ffffffffffffffff"})
    return {"subnet": subnet, "group": group}


def test_a_db_instance_interface(ec2: Ec2Service, hosts: dict[str, Any]) -> None:
    [eni] = describe(ec2, {"network-interface-id": "eni-0123456789abcdef0"})
    subnet = hosts["subnet"]
    public = {"IpOwnerId": "amazon", "PublicDnsName": "", "PublicIp": "198.18.0.16"}
    assert eni["Association"] == public
    assert eni["PrivateIpAddress"] == "172.31.0.4"
    assert eni["PrivateDnsName"] == "ip-172-31-0-4.us-west-2.compute.internal"
    assert eni["PrivateIpAddresses"] == [
        {
            "Primary": True,
            "PrivateIpAddress": "172.31.0.4",
            "PrivateDnsName": "ip-172-31-0-4.us-west-2.compute.internal",
            "Association": public,
        }
    ]
    assert eni["Groups"] == [{"GroupId": hosts["group"], "GroupName": "db"}]
    assert eni["AvailabilityZone"] == "us-west-2a" and eni["SubnetId"] == subnet["SubnetId"]
    assert eni["VpcId"] == subnet["VpcId"] and eni["OwnerId"] == ACCOUNT
    assert (eni["Status"], eni["InterfaceType"]) == ("in-use", "interface")
    assert (eni["RequesterId"], eni["RequesterManaged"]) == ("amazon-rds", True)
    assert eni["Description"] == "RDSNetworkInterface"
    assert eni["MacAddress"].startswith("02:") and len(eni["MacAddress"]) == 17
    assert eni["Attachment"]["Status"] == "attached"


def test_missing_fields_are_derived(ec2: Ec2Service, hosts: dict[str, Any]) -> None:
    [eni] = describe(ec2, {"private-ip-address": "172.31.0.5"})
    assert eni["NetworkInterfaceId"].startswith("eni-") and len(eni["NetworkInterfaceId"]) == 21
    assert eni["Description"] == "AWS created network interface for directory d-1234567890"
    assert eni["RequesterId"] == "amazon-ds"
    assert eni["Groups"] == []
    assert eni["Association"]["PublicIp"] == "198.18.0.18"
    # The derived id is stable: it finds the interface again.
    again = describe(ec2, {"network-interface-id": eni["NetworkInterfaceId"]})
    assert again == [eni]


def test_filters_and_ids(ec2: Ec2Service, hosts: dict[str, Any]) -> None:
    subnet = hosts["subnet"]
    cases = [
        ({}, 2),
        ({"vpc-id": subnet["VpcId"]}, 2),
        ({"subnet-id": subnet["SubnetId"]}, 2),
        ({"description": "RDS*"}, 1),
        ({"addresses.private-ip-address": "172.31.0.4"}, 1),
        ({"group-id": hosts["group"]}, 1),
        ({"association.public-ip": "198.18.0.16"}, 1),
        ({"requester-id": "amazon-ds"}, 1),
        ({"availability-zone": "us-west-2a", "status": "in-use"}, 2),
        ({"requester-managed": "true"}, 2),
    ]
    for filters, count in cases:
        assert len(describe(ec2, filters)) == count, filters
    # Another account's interface is not this caller's.
    with pytest.raises(CommonError) as err:
        ec2.describe_network_interfaces(ctx(), {"NetworkInterfaceIds": ["eni-0ffffffffffffffff"]})
    assert err.value.code == "InvalidNetworkInterfaceID.NotFound"
    assert err.value.message == "The networkInterface ID 'eni-0ffffffffffffffff' does not exist"
    assert ec2.describe_network_interfaces(ctx(region="eu-west-1"), {})["NetworkInterfaces"] == []
    paged = ec2.describe_network_interfaces(ctx(), {"MaxResults": 1})
    assert len(paged["NetworkInterfaces"]) == 1 and "NextToken" in paged


def test_us_east_1_names(ec2: Ec2Service, store: Store) -> None:
    east = ctx(region="us-east-1")
    [subnet] = ec2.describe_subnets(
        east, {"Filters": [{"Name": "availability-zone", "Values": ["us-east-1a"]}]}
    )["Subnets"]
    record = {"VpcIp": "172.31.0.9", "SubnetId": subnet["SubnetId"], "Purpose": "client"}
    store.put(ADDRESS, ACCOUNT, "us-east-1", "198.18.0.20", record)
    [eni] = ec2.describe_network_interfaces(east, {})["NetworkInterfaces"]
    assert eni["PrivateDnsName"] == "ip-172-31-0-9.ec2.internal"
    assert eni["VpcId"] == subnet["VpcId"] and "Association" not in eni
    assert eni["Description"] == "client"


def test_outputs_read_back_as_the_cli_reads_them(ec2: Ec2Service, hosts: dict[str, Any]) -> None:
    described = ec2.describe_network_interfaces(ctx(), {})
    model = load_service("ec2")
    op = model.operation_model("DescribeNetworkInterfaces")
    response = create_serializer(model, "ec2").serialize_response(op, described, "r")
    raw = {"status_code": response.status, "headers": dict(response.headers), "body": response.body}
    parsed = botocore_parser("ec2").parse(raw, op.output_shape)
    parsed.pop("ResponseMetadata", None)
    assert parsed == described
