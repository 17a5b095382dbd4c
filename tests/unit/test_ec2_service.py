"""Ec2Service and Network against a real Store: defaults, VPCs, subnets, groups, addresses."""

from __future__ import annotations

import ipaddress
import threading
from pathlib import Path
from typing import Any

import botocore.session
import pytest

from pgrealm.services.context import RequestContext
from pgrealm.services.ec2 import Ec2Service, Network
from pgrealm.services.ec2._common import DEFAULTS, SUBNET, VPC
from pgrealm.services.errors import CommonError, ServiceError
from pgrealm.store import Store

ACCOUNT = "111122223333"
BLOCK = "198.19.240.0/20"


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store(tmp_path / "state.db")


@pytest.fixture
def ec2(store: Store, monkeypatch: pytest.MonkeyPatch) -> Ec2Service:
    monkeypatch.setenv("PGREALM_HOST_BLOCK", BLOCK)
    return Ec2Service(store, {})


@pytest.fixture
def ctx() -> RequestContext:
    return RequestContext(account_id=ACCOUNT, region="us-west-2", request_id="r1", service="ec2")


def error_code(exc: ServiceError) -> str:
    assert isinstance(exc, CommonError)
    return exc.code


def default_vpc(ec2: Ec2Service, ctx: RequestContext) -> dict[str, Any]:
    vpcs = ec2.describe_vpcs(ctx, {"Filters": [{"Name": "is-default", "Values": ["true"]}]})
    [vpc] = vpcs["Vpcs"]
    return vpc  # type: ignore[no-any-return]


def test_default_network(ec2: Ec2Service, ctx: RequestContext) -> None:
    vpc = default_vpc(ec2, ctx)
    assert vpc["CidrBlock"] == "172.31.0.0/16" and vpc["VpcId"].startswith("vpc-")
    assert len(vpc["VpcId"]) == 21
    subnets = ec2.describe_subnets(
        ctx,
        {
            "Filters": [
                {"Name": "vpc-id", "Values": [vpc["VpcId"]]},
                {"Name": "default-for-az", "Values": ["true"]},
            ]
        },
    )["Subnets"]
    by_az = {s["AvailabilityZone"]: s for s in subnets}
    assert by_az["us-west-2a"]["CidrBlock"] == "172.31.0.0/20"
    assert by_az["us-west-2b"]["CidrBlock"] == "172.31.16.0/20"
    assert by_az["us-west-2c"]["CidrBlock"] == "172.31.32.0/20"
    assert by_az["us-west-2a"]["AvailabilityZoneId"] == "usw2-az1"
    assert by_az["us-west-2a"]["MapPublicIpOnLaunch"] is True
    assert by_az["us-west-2a"]["AvailableIpAddressCount"] == 4091
    groups = ec2.describe_security_groups(ctx, {"GroupNames": ["default"]})["SecurityGroups"]
    assert groups[0]["VpcId"] == vpc["VpcId"]
    assert groups[0]["IpPermissionsEgress"][0]["IpRanges"] == [{"CidrIp": "0.0.0.0/0"}]


def test_defaults_are_made_once_under_concurrency(store: Store, ec2: Ec2Service) -> None:
    errors: list[BaseException] = []

    def touch() -> None:
        try:
            ec2.network.ensure_defaults(ACCOUNT, "eu-west-1")
        except BaseException as exc:  # noqa: B036 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=touch) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(store.list(VPC, ACCOUNT, "eu-west-1")) == 1
    assert len(store.list(SUBNET, ACCOUNT, "eu-west-1")) == 3
    assert store.get(DEFAULTS, ACCOUNT, "eu-west-1", "defaults") is not None


def test_outputs_match_botocore_shapes(ec2: Ec2Service, ctx: RequestContext) -> None:
    model = botocore.session.get_session().get_service_model("ec2")
    vpc = default_vpc(ec2, ctx)
    assert set(vpc) <= set(model.shape_for("Vpc").members)
    subnet = ec2.describe_subnets(ctx, {})["Subnets"][0]
    assert set(subnet) <= set(model.shape_for("Subnet").members)
    group = ec2.describe_security_groups(ctx, {})["SecurityGroups"][0]
    assert set(group) <= set(model.shape_for("SecurityGroup").members)
    zone = ec2.describe_availability_zones(ctx, {})["AvailabilityZones"][0]
    assert set(zone) <= set(model.shape_for("AvailabilityZone").members)


def test_availability_zones(ec2: Ec2Service) -> None:
    east = RequestContext(account_id=ACCOUNT, region="us-east-1", request_id="r")
    zones = ec2.describe_availability_zones(east, {})["AvailabilityZones"]
    assert zones[0]["ZoneName"] == "us-east-1a" and zones[0]["ZoneId"] == "use1-az1"
    assert zones[0]["State"] == "available" and zones[0]["ZoneType"] == "availability-zone"
    some = ec2.describe_availability_zones(east, {"ZoneNames": ["us-east-1b"]})
    assert [z["ZoneName"] for z in some["AvailabilityZones"]] == ["us-east-1b"]


def test_create_vpc_and_subnets(ec2: Ec2Service, ctx: RequestContext) -> None:
    vpc = ec2.create_vpc(
        ctx,
        {
            "CidrBlock": "10.0.0.0/16",
            "TagSpecifications": [
                {"ResourceType": "vpc", "Tags": [{"Key": "Name", "Value": "db"}]}
            ],
        },
    )["Vpc"]
    assert vpc["IsDefault"] is False and vpc["Tags"] == [{"Key": "Name", "Value": "db"}]
    groups = ec2.describe_security_groups(
        ctx, {"Filters": [{"Name": "vpc-id", "Values": [vpc["VpcId"]]}]}
    )["SecurityGroups"]
    assert [g["GroupName"] for g in groups] == ["default"]
    a = ec2.create_subnet(
        ctx, {"VpcId": vpc["VpcId"], "CidrBlock": "10.0.1.0/24", "AvailabilityZone": "us-west-2b"}
    )["Subnet"]
    assert a["AvailabilityZone"] == "us-west-2b" and a["DefaultForAz"] is False
    b = ec2.create_subnet(
        ctx, {"VpcId": vpc["VpcId"], "CidrBlock": "10.0.2.0/24", "AvailabilityZoneId": "usw2-az3"}
    )["Subnet"]
    assert b["AvailabilityZone"] == "us-west-2c"
    c = ec2.create_subnet(ctx, {"VpcId": vpc["VpcId"], "CidrBlock": "10.0.3.0/24"})["Subnet"]
    assert c["AvailabilityZone"] == "us-west-2a"  # the zone with no subnet yet
    found = ec2.describe_subnets(
        ctx,
        {
            "Filters": [
                {"Name": "vpc-id", "Values": [vpc["VpcId"]]},
                {"Name": "availability-zone", "Values": ["us-west-2b", "us-west-2c"]},
            ]
        },
    )["Subnets"]
    assert {s["SubnetId"] for s in found} == {a["SubnetId"], b["SubnetId"]}
    tagged = ec2.describe_vpcs(ctx, {"Filters": [{"Name": "tag:Name", "Values": ["d*"]}]})
    assert [v["VpcId"] for v in tagged["Vpcs"]] == [vpc["VpcId"]]


@pytest.mark.parametrize(
    "cidr, code",
    [
        ("10.0.0.0/8", "InvalidVpc.Range"),
        ("10.0.0.0/29", "InvalidVpc.Range"),
        ("not-a-cidr", "InvalidParameterValue"),
    ],
)
def test_create_vpc_rejects(ec2: Ec2Service, ctx: RequestContext, cidr: str, code: str) -> None:
    with pytest.raises(ServiceError) as err:
        ec2.create_vpc(ctx, {"CidrBlock": cidr})
    assert error_code(err.value) == code


def test_subnet_rules(ec2: Ec2Service, ctx: RequestContext) -> None:
    vpc_id = ec2.create_vpc(ctx, {"CidrBlock": "10.1.0.0/20"})["Vpc"]["VpcId"]
    ec2.create_subnet(ctx, {"VpcId": vpc_id, "CidrBlock": "10.1.0.0/24"})
    cases = [
        ({"CidrBlock": "10.2.0.0/24"}, "InvalidSubnet.Range"),
        ({"CidrBlock": "10.1.0.128/25"}, "InvalidSubnet.Conflict"),
        ({"CidrBlock": "10.1.1.0/29"}, "InvalidSubnet.Range"),
        ({"CidrBlock": "10.1.1.0/24", "AvailabilityZone": "us-west-2z"}, "InvalidParameterValue"),
        ({"CidrBlock": "10.1.1.0/24", "VpcId": "vpc-00000000000000000"}, "InvalidVpcID.NotFound"),
    ]
    for extra, code in cases:
        with pytest.raises(ServiceError) as err:
            ec2.create_subnet(ctx, {"VpcId": vpc_id, **extra})
        assert error_code(err.value) == code, extra


def test_not_found_errors(ec2: Ec2Service, ctx: RequestContext) -> None:
    cases: list[tuple[Any, dict[str, Any], str]] = [
        (ec2.describe_vpcs, {"VpcIds": ["vpc-0123456789abcdef0"]}, "InvalidVpcID.NotFound"),
        (
            ec2.describe_subnets,
            {"SubnetIds": ["subnet-0123456789abcdef0"]},
            "InvalidSubnetID.NotFound",
        ),
        (
            ec2.describe_security_groups,
            {"GroupIds": ["sg-0123456789abcdef0"]},
            "InvalidGroup.NotFound",
        ),
        (
            ec2.describe_vpcs,
            {"Filters": [{"Name": "bogus", "Values": ["x"]}]},
            "InvalidParameterValue",
        ),
    ]
    for call, params, code in cases:
        with pytest.raises(ServiceError) as err:
            call(ctx, params)
        assert error_code(err.value) == code


def test_delete_vpc_dependencies(ec2: Ec2Service, ctx: RequestContext) -> None:
    vpc_id = ec2.create_vpc(ctx, {"CidrBlock": "10.3.0.0/16"})["Vpc"]["VpcId"]
    subnet_id = ec2.create_subnet(ctx, {"VpcId": vpc_id, "CidrBlock": "10.3.0.0/24"})["Subnet"][
        "SubnetId"
    ]
    group_id = ec2.create_security_group(
        ctx, {"GroupName": "db", "Description": "db", "VpcId": vpc_id}
    )["GroupId"]
    with pytest.raises(ServiceError) as err:
        ec2.delete_vpc(ctx, {"VpcId": vpc_id})
    assert error_code(err.value) == "DependencyViolation"
    ec2.delete_subnet(ctx, {"SubnetId": subnet_id})
    ec2.delete_security_group(ctx, {"GroupId": group_id})
    ec2.delete_vpc(ctx, {"VpcId": vpc_id})
    with pytest.raises(ServiceError):
        ec2.describe_vpcs(ctx, {"VpcIds": [vpc_id]})


def test_deleted_default_vpc_stays_deleted(ec2: Ec2Service, ctx: RequestContext) -> None:
    vpc = default_vpc(ec2, ctx)
    for subnet in ec2.describe_subnets(ctx, {})["Subnets"]:
        ec2.delete_subnet(ctx, {"SubnetId": subnet["SubnetId"]})
    ec2.delete_vpc(ctx, {"VpcId": vpc["VpcId"]})
    assert ec2.describe_vpcs(ctx, {})["Vpcs"] == []
    with pytest.raises(ServiceError) as err:
        ec2.create_security_group(ctx, {"GroupName": "x", "Description": "x"})
    assert error_code(err.value) == "VPCIdNotSpecified"


def test_security_group_rules(ec2: Ec2Service, ctx: RequestContext) -> None:
    db = ec2.create_security_group(ctx, {"GroupName": "db", "Description": "db"})["GroupId"]
    app = ec2.create_security_group(ctx, {"GroupName": "app", "Description": "app"})["GroupId"]
    out = ec2.authorize_security_group_ingress(
        ctx,
        {
            "GroupId": db,
            "IpPermissions": [
                {
                    "IpProtocol": "tcp",
                    "FromPort": 5432,
                    "ToPort": 5432,
                    "IpRanges": [{"CidrIp": "10.0.0.0/8", "Description": "office"}],
                    "UserIdGroupPairs": [{"GroupId": app}],
                }
            ],
        },
    )
    assert out["Return"] is True and len(out["SecurityGroupRules"]) == 2
    assert out["SecurityGroupRules"][0]["SecurityGroupRuleId"].startswith("sgr-")
    legacy = ec2.authorize_security_group_ingress(
        ctx,
        {
            "GroupName": "db",
            "IpProtocol": "udp",
            "FromPort": 53,
            "ToPort": 53,
            "CidrIp": "0.0.0.0/0",
        },
    )
    assert legacy["SecurityGroupRules"][0]["IpProtocol"] == "udp"
    [group] = ec2.describe_security_groups(ctx, {"GroupIds": [db]})["SecurityGroups"]
    tcp = next(p for p in group["IpPermissions"] if p["IpProtocol"] == "tcp")
    assert tcp["IpRanges"] == [{"CidrIp": "10.0.0.0/8", "Description": "office"}]
    assert tcp["UserIdGroupPairs"] == [{"GroupId": app, "UserId": ACCOUNT}]
    with pytest.raises(ServiceError) as err:
        ec2.authorize_security_group_ingress(
            ctx,
            {
                "GroupId": db,
                "IpPermissions": [
                    {
                        "IpProtocol": "tcp",
                        "FromPort": 5432,
                        "ToPort": 5432,
                        "IpRanges": [{"CidrIp": "10.0.0.0/8"}],
                    }
                ],
            },
        )
    assert error_code(err.value) == "InvalidPermission.Duplicate"
    with pytest.raises(ServiceError) as err:
        ec2.delete_security_group(ctx, {"GroupId": app})
    assert error_code(err.value) == "DependencyViolation"
    revoked = ec2.revoke_security_group_ingress(
        ctx,
        {
            "GroupId": db,
            "IpPermissions": [
                {
                    "IpProtocol": "tcp",
                    "FromPort": 5432,
                    "ToPort": 5432,
                    "UserIdGroupPairs": [{"GroupId": app}],
                }
            ],
        },
    )
    assert revoked["RevokedSecurityGroupRules"][0]["ReferencedGroupId"] == app
    ec2.delete_security_group(ctx, {"GroupId": app})
    egress = ec2.authorize_security_group_egress(
        ctx,
        {
            "GroupId": db,
            "IpPermissions": [
                {
                    "IpProtocol": "tcp",
                    "FromPort": 88,
                    "ToPort": 88,
                    "IpRanges": [{"CidrIp": "10.0.0.0/8"}],
                }
            ],
        },
    )
    assert egress["SecurityGroupRules"][0]["IsEgress"] is True


def test_security_group_names(ec2: Ec2Service, ctx: RequestContext) -> None:
    ec2.create_security_group(ctx, {"GroupName": "db", "Description": "db"})
    for name, code in [("db", "InvalidGroup.Duplicate"), ("default", "InvalidGroup.Reserved")]:
        with pytest.raises(ServiceError) as err:
            ec2.create_security_group(ctx, {"GroupName": name, "Description": "x"})
        assert error_code(err.value) == code
    [default] = ec2.describe_security_groups(ctx, {"GroupNames": ["default"]})["SecurityGroups"]
    with pytest.raises(ServiceError) as err:
        ec2.delete_security_group(ctx, {"GroupId": default["GroupId"]})
    assert error_code(err.value) == "CannotDelete"


def test_tags(ec2: Ec2Service, ctx: RequestContext) -> None:
    vpc_id = default_vpc(ec2, ctx)["VpcId"]
    ec2.create_tags(ctx, {"Resources": [vpc_id], "Tags": [{"Key": "Name", "Value": "main"}]})
    tags = ec2.describe_tags(ctx, {"Filters": [{"Name": "resource-id", "Values": [vpc_id]}]})
    assert tags["Tags"] == [
        {"ResourceId": vpc_id, "ResourceType": "vpc", "Key": "Name", "Value": "main"}
    ]
    ec2.delete_tags(ctx, {"Resources": [vpc_id], "Tags": [{"Key": "Name", "Value": "other"}]})
    assert len(ec2.describe_tags(ctx, {})["Tags"]) == 1
    ec2.delete_tags(ctx, {"Resources": [vpc_id], "Tags": [{"Key": "Name"}]})
    assert ec2.describe_tags(ctx, {})["Tags"] == []
    with pytest.raises(ServiceError) as err:
        ec2.create_tags(ctx, {"Resources": ["vpc-0000000000000000f"], "Tags": [{"Key": "k"}]})
    assert error_code(err.value) == "InvalidVpcID.NotFound"


def test_dry_run(ec2: Ec2Service, ctx: RequestContext) -> None:
    with pytest.raises(ServiceError) as err:
        ec2.create_vpc(ctx, {"CidrBlock": "10.0.0.0/16", "DryRun": True})
    assert error_code(err.value) == "DryRunOperation"


# -- Network --------------------------------------------------------------------------


def test_allocate_addresses(ec2: Ec2Service, ctx: RequestContext) -> None:
    """A host takes the next address of its subnet, and the block's next machine address,
    whatever its VPC: CIDRs overlap (every default VPC is 172.31.0.0/16), machine
    addresses never do."""
    net = ec2.network
    subnets = ec2.describe_subnets(
        ctx, {"Filters": [{"Name": "availability-zone", "Values": ["us-west-2a"]}]}
    )["Subnets"]
    subnet_id = subnets[0]["SubnetId"]
    vpc_ip, machine = net.allocate_address(ACCOUNT, "us-west-2", subnet_id, "dc1")
    assert (vpc_ip, machine) == ("172.31.0.4", "198.19.240.16")  # past the link addresses
    second = net.allocate_address(ACCOUNT, "us-west-2", subnet_id, "dc2")
    assert second == ("172.31.0.5", "198.19.240.17")
    [subnet] = net.get_subnets(ACCOUNT, "us-west-2", [subnet_id])
    assert subnet["AvailableIpAddressCount"] == 4089
    with pytest.raises(ServiceError) as err:
        ec2.delete_subnet(ctx, {"SubnetId": subnet_id})
    assert error_code(err.value) == "DependencyViolation"
    net.release_address(ACCOUNT, "us-west-2", machine)
    assert net.allocate_address(ACCOUNT, "us-west-2", subnet_id, "db") == (vpc_ip, machine)
    eu = ec2.describe_subnets(
        RequestContext(account_id=ACCOUNT, region="eu-west-1", request_id="r"),
        {"Filters": [{"Name": "availability-zone", "Values": ["eu-west-1a"]}]},
    )["Subnets"]
    vpc_ip, machine = net.allocate_address(ACCOUNT, "eu-west-1", eu[0]["SubnetId"], "dc1")
    assert (vpc_ip, machine) == ("172.31.0.4", "198.19.240.18")


def test_small_subnet_fills_up(ec2: Ec2Service, ctx: RequestContext) -> None:
    vpc_id = ec2.create_vpc(ctx, {"CidrBlock": "10.9.0.0/24"})["Vpc"]["VpcId"]
    subnet_id = ec2.create_subnet(ctx, {"VpcId": vpc_id, "CidrBlock": "10.9.0.16/28"})["Subnet"][
        "SubnetId"
    ]
    got = [ec2.network.allocate_address(ACCOUNT, "us-west-2", subnet_id, "x")[0] for _ in range(11)]
    assert got[0] == "10.9.0.20" and got[-1] == "10.9.0.30"
    with pytest.raises(ServiceError) as err:
        ec2.network.allocate_address(ACCOUNT, "us-west-2", subnet_id, "x")
    assert error_code(err.value) == "InsufficientFreeAddressesInSubnet"


def test_block_exhaustion_and_release(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    """A /24 holds 239 hosts (its first 16 addresses are the links'), in any VPCs."""
    monkeypatch.setenv("PGREALM_HOST_BLOCK", "198.19.250.0/24")
    ec2 = Ec2Service(store, {})
    east = RequestContext(account_id=ACCOUNT, region="us-east-1", request_id="r")
    default_subnet = ec2.describe_subnets(east, {})["Subnets"][0]["SubnetId"]
    taken = [
        ec2.network.allocate_address(ACCOUNT, "us-east-1", default_subnet, "x")[1]
        for _ in range(239)
    ]
    assert taken[0] == "198.19.250.16" and taken[-1] == "198.19.250.254"
    with pytest.raises(ServiceError) as err:
        ec2.network.allocate_address(ACCOUNT, "us-east-1", default_subnet, "b")
    assert error_code(err.value) == "InsufficientFreeAddressesInSubnet"
    ec2.network.release_address(ACCOUNT, "us-east-1", taken[7])
    assert ec2.network.allocate_address(ACCOUNT, "us-east-1", default_subnet, "b")[1] == taken[7]


def test_explicit_block(store: Store) -> None:
    ec2 = Ec2Service(store, {}, ipaddress.IPv4Network("198.19.8.0/24"))
    subnet = store.list(SUBNET, ACCOUNT, "us-east-1")  # nothing until first touch
    assert subnet == []
    ec2.network.ensure_defaults(ACCOUNT, "us-east-1")
    subnet_id = store.list(SUBNET, ACCOUNT, "us-east-1")[0]["SubnetId"]
    assert ec2.network.allocate_address(ACCOUNT, "us-east-1", subnet_id, "x")[1] == "198.19.8.16"


def test_network_rejects_loopback_and_small_blocks(store: Store) -> None:
    """127/8 looks local inside every namespace; a /25 leaves too few hosts to be useful."""
    with pytest.raises(ValueError):
        Network(store, ipaddress.IPv4Network("127.64.0.0/10"))
    with pytest.raises(ValueError):
        Network(store, ipaddress.IPv4Network("198.19.1.0/25"))


def test_default_subnets(ec2: Ec2Service, ctx: RequestContext) -> None:
    subnets = ec2.network.default_subnets(ACCOUNT, "us-west-2")
    assert [s["AvailabilityZone"] for s in subnets] == [
        "us-west-2a",
        "us-west-2b",
        "us-west-2c",
        "us-west-2d",
    ]
    assert {s["VpcId"] for s in subnets} == {default_vpc(ec2, ctx)["VpcId"]}


def test_get_subnets_missing(ec2: Ec2Service) -> None:
    with pytest.raises(ServiceError) as err:
        ec2.network.get_subnets(ACCOUNT, "us-west-2", ["subnet-0123456789abcdef0"])
    assert error_code(err.value) == "InvalidSubnetID.NotFound"


def test_security_group_names_keep_to_what_aws_allows(tmp_path: Path) -> None:
    ec2 = Ec2Service(Store(tmp_path / "state.db"), {}, ipaddress.IPv4Network("198.19.8.0/24"))
    ctx = RequestContext(account_id="111111111111", region="us-east-1", request_id="r")
    for name, description in (("it's", "quoted"), ("ok", "ümlaut"), ("x" * 256, "long")):
        with pytest.raises(CommonError, match="Valid values"):
            ec2.create_security_group(ctx, {"GroupName": name, "Description": description})
    ec2.create_security_group(ctx, {"GroupName": "app-sg_1", "Description": "For [app]: ok!"})
