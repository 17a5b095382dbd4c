"""AddIpRoutes, ListIpRoutes, RemoveIpRoutes against a real Store: the routes' shape and
pages, AWS's refusals (each changing nothing), and the controllers group's rules."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from pgrealm.services.ds.ip_routes import IP_ROUTE_LIMIT
from pgrealm.services.ds.service import KIND
from pgrealm.services.errors import ServiceError
from pgrealm.store.kinds import Kind
from tests.fixtures.ds_service import REGION, DsStack, ds_stack

OWNER, CONSUMER = "111111111111", "222222222222"
VPC_CIDR = "172.31.0.0/16"  # the default VPC's


@pytest.fixture
def stack(tmp_path: Path) -> DsStack:
    return ds_stack(tmp_path)


@pytest.fixture
def did(stack: DsStack) -> str:
    return stack.directory(OWNER)


def add(stack: DsStack, did: str, *cidrs: str, flag: bool = False, **extra: Any) -> None:
    stack.ds.add_ip_routes(
        stack.ctx(OWNER),
        {
            "DirectoryId": did,
            "IpRoutes": [{"CidrIp": c, **extra} for c in cidrs],
            "UpdateSecurityGroupForDirectoryControllers": flag,
        },
    )


def listed(stack: DsStack, did: str, account: str = OWNER) -> list[str]:
    out = stack.ds.list_ip_routes(stack.ctx(account), {"DirectoryId": did})
    return [r.get("CidrIp") or r["CidrIpv6"] for r in out["IpRoutesInfo"]]


def group(stack: DsStack, did: str) -> dict[str, Any]:
    doc = stack.store.get(KIND, OWNER, REGION, did)
    assert doc is not None
    group_id = doc["aws"]["VpcSettings"]["SecurityGroupId"]
    out = stack.ec2.describe_security_groups(stack.ctx(OWNER), {"GroupIds": [group_id]})
    return out["SecurityGroups"][0]  # type: ignore[no-any-return]


def refused(call: Any, *args: Any, **kwargs: Any) -> ServiceError:
    with pytest.raises(ServiceError) as exc:
        call(*args, **kwargs)
    return exc.value


def test_add_list_remove(stack: DsStack, did: str) -> None:
    add(stack, did, "203.0.113.0/24", Description="on-premises DNS")
    add(stack, did, "198.51.100.0/24")
    out = stack.ds.list_ip_routes(stack.ctx(OWNER), {"DirectoryId": did})
    first, second = out["IpRoutesInfo"]
    assert "NextToken" not in out
    assert first["DirectoryId"] == did and first["CidrIp"] == "203.0.113.0/24"
    assert first["IpRouteStatusMsg"] == "Added" and first["Description"] == "on-premises DNS"
    assert isinstance(first["AddedDateTime"], datetime)
    assert "Description" not in second and "CidrIpv6" not in second
    stack.ds.remove_ip_routes(stack.ctx(OWNER), {"DirectoryId": did, "CidrIps": ["203.0.113.0/24"]})
    assert listed(stack, did) == ["198.51.100.0/24"]
    # The routes live on the directory's record, not in what DescribeDirectories shows.
    assert "ip_routes" not in stack.describe(OWNER, did)


def test_list_pages(stack: DsStack, did: str) -> None:
    add(stack, did, *(f"203.0.{n}.0/24" for n in range(5)))
    ctx = stack.ctx(OWNER)
    one = stack.ds.list_ip_routes(ctx, {"DirectoryId": did, "Limit": 2})
    assert len(one["IpRoutesInfo"]) == 2 and one["NextToken"]
    rest = stack.ds.list_ip_routes(ctx, {"DirectoryId": did, "NextToken": one["NextToken"]})
    assert [r["CidrIp"] for r in one["IpRoutesInfo"] + rest["IpRoutesInfo"]] == [
        f"203.0.{n}.0/24" for n in range(5)
    ]
    bad = refused(stack.ds.list_ip_routes, ctx, {"DirectoryId": did, "NextToken": "x"})
    assert bad.shape == "InvalidNextTokenException"


def _permissions(perms: list[dict[str, Any]]) -> set[tuple[Any, ...]]:
    out = set()
    for p in perms:
        for r in p["IpRanges"]:
            out.add((p["IpProtocol"], p.get("FromPort"), p.get("ToPort"), r["CidrIp"]))
        for pair in p["UserIdGroupPairs"]:
            out.add((p["IpProtocol"], p.get("FromPort"), p.get("ToPort"), pair["GroupId"]))
    return out


# AddIpRoutes' documented rules for UpdateSecurityGroupForDirectoryControllers: AD's ports
# and all ICMP from the directory's VPC IPv4 CIDR, all traffic out.
_FLAG_INBOUND = {
    *(("udp", p, p, VPC_CIDR) for p in (53, 88, 123, 138, 389, 445, 464)),
    *(("tcp", p, p, VPC_CIDR) for p in (53, 88, 135, 389, 445, 464, 636)),
    ("tcp", 1024, 65535, VPC_CIDR),
    ("tcp", 3268, 3269, VPC_CIDR),
    ("icmp", -1, -1, VPC_CIDR),
}


def test_the_flag_replaces_the_controllers_rules(stack: DsStack, did: str) -> None:
    before = group(stack, did)
    stack.ec2.authorize_security_group_ingress(
        stack.ctx(OWNER),
        {
            "GroupId": before["GroupId"],
            "IpPermissions": [{"IpProtocol": "-1", "IpRanges": [{"CidrIp": "10.9.0.0/16"}]}],
        },
    )
    assert ("-1", None, None, "10.9.0.0/16") in _permissions(group(stack, did)["IpPermissions"])
    kicks = len(stack.kicks)
    add(stack, did, "203.0.113.0/24", flag=True)
    after = group(stack, did)
    assert after["GroupId"] == before["GroupId"]
    assert after["GroupName"] == f"{did}_controllers"
    assert _permissions(after["IpPermissions"]) == _FLAG_INBOUND  # 10.9/16 and self gone
    assert _permissions(after["IpPermissionsEgress"]) == {("-1", None, None, "0.0.0.0/0")}
    assert len(stack.kicks) == kicks + 1
    assert listed(stack, did) == ["203.0.113.0/24"]


def test_without_the_flag_the_group_is_untouched(stack: DsStack, did: str) -> None:
    before, kicks = group(stack, did), len(stack.kicks)
    add(stack, did, "203.0.113.0/24")
    assert group(stack, did) == before and len(stack.kicks) == kicks


@pytest.mark.parametrize(
    "route",
    [
        {"CidrIp": "10.0.0.0"},
        {"CidrIp": "10.0.0.1/8"},
        {"CidrIp": "300.0.0.0/8"},
        {"CidrIp": "0.0.0.0/0"},
        {"CidrIp": "fd00::/8"},
        {"CidrIpv6": "10.0.0.0/8"},
        {"CidrIp": "10.0.0.0/8", "CidrIpv6": "fd00::/8"},
        {"Description": "neither"},
    ],
)
def test_bad_routes_change_nothing(stack: DsStack, did: str, route: dict[str, str]) -> None:
    before = group(stack, did)
    params = {
        "DirectoryId": did,
        "IpRoutes": [{"CidrIp": "203.0.113.0/24"}, route],
        "UpdateSecurityGroupForDirectoryControllers": True,
    }
    error = refused(stack.ds.add_ip_routes, stack.ctx(OWNER), params)
    assert error.shape == "InvalidParameterException", error.message
    assert listed(stack, did) == [] and group(stack, did) == before


def test_empty_and_repeated_lists_are_refused(stack: DsStack, did: str) -> None:
    ctx = stack.ctx(OWNER)
    for routes in ([], [{"CidrIp": "203.0.113.0/24"}, {"CidrIp": "203.0.113.0/24"}]):
        error = refused(stack.ds.add_ip_routes, ctx, {"DirectoryId": did, "IpRoutes": routes})
        assert error.shape == "InvalidParameterException"
    assert listed(stack, did) == []


def test_host_bits_are_named(stack: DsStack, did: str) -> None:
    params = {"DirectoryId": did, "IpRoutes": [{"CidrIp": "10.1.2.3/16"}]}
    error = refused(stack.ds.add_ip_routes, stack.ctx(OWNER), params)
    assert "10.1.0.0/16" in error.message


def test_ipv6_routes_need_a_dual_stack_directory(stack: DsStack, did: str) -> None:
    params = {"DirectoryId": did, "IpRoutes": [{"CidrIpv6": "2001:db8::/32"}]}
    error = refused(stack.ds.add_ip_routes, stack.ctx(OWNER), params)
    assert error.shape == "InvalidParameterException" and "IPv4" in error.message
    dual = stack.directory(OWNER, NetworkType="Dual-stack")
    stack.ds.add_ip_routes(stack.ctx(OWNER), {**params, "DirectoryId": dual})
    assert listed(stack, dual) == ["2001:db8::/32"]
    stack.ds.remove_ip_routes(
        stack.ctx(OWNER), {"DirectoryId": dual, "CidrIpv6s": ["2001:db8::/32"]}
    )
    assert listed(stack, dual) == []


def test_a_block_already_there(stack: DsStack, did: str) -> None:
    add(stack, did, "203.0.113.0/24")
    params = {
        "DirectoryId": did,
        "IpRoutes": [{"CidrIp": "198.51.100.0/24"}, {"CidrIp": "203.0.113.0/24"}],
    }
    error = refused(stack.ds.add_ip_routes, stack.ctx(OWNER), params)
    assert error.shape == "EntityAlreadyExistsException"
    assert listed(stack, did) == ["203.0.113.0/24"]


def test_the_quota(stack: DsStack, did: str) -> None:
    blocks = [f"10.{n // 256}.{n % 256}.0/24" for n in range(IP_ROUTE_LIMIT + 1)]
    add(stack, did, *blocks[: IP_ROUTE_LIMIT - 1])
    error = refused(add, stack, did, *blocks[IP_ROUTE_LIMIT - 1 :])
    assert error.shape == "IpRouteLimitExceededException"
    assert len(listed(stack, did)) == IP_ROUTE_LIMIT - 1
    add(stack, did, blocks[IP_ROUTE_LIMIT - 1])
    error = refused(add, stack, did, blocks[IP_ROUTE_LIMIT])
    assert error.shape == "IpRouteLimitExceededException"
    assert len(listed(stack, did)) == IP_ROUTE_LIMIT


def test_removing_what_is_not_there(stack: DsStack, did: str) -> None:
    add(stack, did, "203.0.113.0/24")
    ctx = stack.ctx(OWNER)
    params = {"DirectoryId": did, "CidrIps": ["203.0.113.0/24", "198.51.100.0/24"]}
    error = refused(stack.ds.remove_ip_routes, ctx, params)
    assert error.shape == "EntityDoesNotExistException" and "198.51.100.0/24" in error.message
    assert listed(stack, did) == ["203.0.113.0/24"]
    for bad in ({"DirectoryId": did}, {"DirectoryId": did, "CidrIps": ["10.0.0.1/8"]}):
        assert refused(stack.ds.remove_ip_routes, ctx, bad).shape == "InvalidParameterException"
    assert listed(stack, did) == ["203.0.113.0/24"]


def test_a_directory_that_is_not_active(stack: DsStack) -> None:
    did = stack.directory(OWNER, stage="Creating")
    ctx = stack.ctx(OWNER)
    for call, params in (
        (stack.ds.add_ip_routes, {"DirectoryId": did, "IpRoutes": [{"CidrIp": "10.0.0.0/8"}]}),
        (stack.ds.remove_ip_routes, {"DirectoryId": did, "CidrIps": ["10.0.0.0/8"]}),
    ):
        assert refused(call, ctx, params).shape == "DirectoryUnavailableException"
    assert listed(stack, did) == []


def test_the_controllers_group_gone(stack: DsStack, did: str) -> None:
    stack.store.delete(Kind.SECURITY_GROUP, OWNER, REGION, group(stack, did)["GroupId"])
    error = refused(add, stack, did, "203.0.113.0/24", flag=True)
    assert error.shape == "ClientException"
    assert listed(stack, did) == []


def test_unknown_and_shared_directories(stack: DsStack, did: str) -> None:
    shared = stack.ds.share_directory(
        stack.ctx(OWNER),
        {
            "DirectoryId": did,
            "ShareMethod": "HANDSHAKE",
            "ShareTarget": {"Id": CONSUMER, "Type": "ACCOUNT"},
        },
    )["SharedDirectoryId"]
    stack.ds.accept_shared_directory(stack.ctx(CONSUMER), {"SharedDirectoryId": shared})
    for account, directory_id in ((OWNER, "d-0000000000"), (CONSUMER, shared), (CONSUMER, did)):
        ctx = stack.ctx(account)
        for call, params in (
            (stack.ds.add_ip_routes, {"IpRoutes": [{"CidrIp": "10.0.0.0/8"}]}),
            (stack.ds.list_ip_routes, {}),
            (stack.ds.remove_ip_routes, {"CidrIps": ["10.0.0.0/8"]}),
        ):
            error = refused(call, ctx, {"DirectoryId": directory_id, **params})
            assert error.shape == "EntityDoesNotExistException"
            assert error.message == f"Directory {directory_id} does not exist."
    assert listed(stack, did) == []
