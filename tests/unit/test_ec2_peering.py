"""VPC peering connections through Ec2Service against a real Store: the statuses and their
moves, who may do what across accounts and Regions, and what deleting a VPC does."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from botocore.parsers import create_parser as botocore_parser

from pgrealm.api.protocols import create_serializer
from pgrealm.api.specs import load_service
from pgrealm.model.network import active_peerings, can_move, peering_status
from pgrealm.services.context import RequestContext
from pgrealm.services.ec2 import Ec2Service
from pgrealm.services.ec2._common import PCX
from pgrealm.services.errors import CommonError, ServiceError
from pgrealm.store import Store

ALICE, BOB, CAROL = "111111111111", "222222222222", "333333333333"
FAILED = "Failed due to incorrect VPC-ID, Account ID, or overlapping CIDR range"


def ctx(account: str = ALICE, region: str = "us-west-2") -> RequestContext:
    return RequestContext(account_id=account, region=region, request_id="r", service="ec2")


def code(exc: ServiceError) -> str:
    assert isinstance(exc, CommonError)
    return exc.code


def vpc(ec2: Ec2Service, caller: RequestContext, cidr: str) -> str:
    return str(ec2.create_vpc(caller, {"CidrBlock": cidr})["Vpc"]["VpcId"])


def request(ec2: Ec2Service, caller: RequestContext, **params: Any) -> dict[str, Any]:
    out: dict[str, Any] = ec2.create_vpc_peering_connection(caller, params)["VpcPeeringConnection"]
    return out


def describe(ec2: Ec2Service, caller: RequestContext, **params: Any) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = ec2.describe_vpc_peering_connections(caller, params)[
        "VpcPeeringConnections"
    ]
    return found


def one(ec2: Ec2Service, caller: RequestContext, pcx_id: str) -> dict[str, Any]:
    [found] = describe(ec2, caller, VpcPeeringConnectionIds=[pcx_id])
    return found


def refused(call: Any, caller: RequestContext, params: dict[str, Any]) -> str:
    with pytest.raises(ServiceError) as err:
        call(caller, params)
    return code(err.value)


def test_same_account_request_accept_delete(ec2: Ec2Service, kicks: list[int]) -> None:
    a, b = vpc(ec2, ctx(), "10.1.0.0/16"), vpc(ec2, ctx(), "10.2.0.0/16")
    before = len(kicks)
    pcx = request(ec2, ctx(), VpcId=a, PeerVpcId=b)
    pcx_id = pcx["VpcPeeringConnectionId"]
    assert pcx_id.startswith("pcx-") and len(pcx_id) == 21
    assert pcx["Status"] == {
        "Code": "pending-acceptance",
        "Message": f"Pending Acceptance by {ALICE}",
    }
    assert pcx["RequesterVpcInfo"]["CidrBlockSet"] == [{"CidrBlock": "10.1.0.0/16"}]
    assert pcx["AccepterVpcInfo"] == {
        "OwnerId": ALICE,
        "VpcId": b,
        "Region": "us-west-2",
        "CidrBlock": "10.2.0.0/16",
        "CidrBlockSet": [{"CidrBlock": "10.2.0.0/16"}],
        "Ipv6CidrBlockSet": [],
    }
    assert pcx["ExpirationTime"] - datetime.now(UTC) > timedelta(days=6)
    accepted = ec2.accept_vpc_peering_connection(ctx(), {"VpcPeeringConnectionId": pcx_id})
    shown = accepted["VpcPeeringConnection"]
    assert shown["Status"] == {"Code": "active", "Message": "Active"}
    assert "ExpirationTime" not in shown
    assert shown["AccepterVpcInfo"]["PeeringOptions"]["AllowDnsResolutionFromRemoteVpc"] is False
    assert [p["VpcPeeringConnectionId"] for p in active_peerings(ec2.store)] == [pcx_id]
    out = ec2.delete_vpc_peering_connection(ctx(), {"VpcPeeringConnectionId": pcx_id})
    assert out == {"Return": True}
    # A deleted peering stays describable, as AWS keeps it visible for a while.
    assert one(ec2, ctx(), pcx_id)["Status"] == {
        "Code": "deleted",
        "Message": f"Deleted by {ALICE}",
    }
    assert active_peerings(ec2.store) == []
    assert len(kicks) - before == 3
    params = {"VpcPeeringConnectionId": pcx_id}
    assert refused(ec2.accept_vpc_peering_connection, ctx(), params) == "InvalidStateTransition"
    assert refused(ec2.delete_vpc_peering_connection, ctx(), params) == "InvalidStateTransition"


def test_cross_account_only_the_accepter_accepts(ec2: Ec2Service) -> None:
    mine, theirs = vpc(ec2, ctx(ALICE), "10.1.0.0/16"), vpc(ec2, ctx(BOB), "10.2.0.0/16")
    pcx_id = request(ec2, ctx(ALICE), VpcId=mine, PeerVpcId=theirs, PeerOwnerId=BOB)[
        "VpcPeeringConnectionId"
    ]
    seen_by_bob = one(ec2, ctx(BOB), pcx_id)
    assert seen_by_bob["Status"]["Message"] == f"Pending Acceptance by {BOB}"
    params = {"VpcPeeringConnectionId": pcx_id}
    with pytest.raises(CommonError) as err:
        ec2.accept_vpc_peering_connection(ctx(ALICE), params)
    assert err.value.code == "OperationNotPermitted"
    assert err.value.message == f"User ({ALICE}) cannot accept peering {pcx_id}"
    # Neither a third account nor Bob in another Region sees it at all.
    assert refused(ec2.accept_vpc_peering_connection, ctx(CAROL), params) == (
        "InvalidVpcPeeringConnectionID.NotFound"
    )
    assert describe(ec2, ctx(CAROL)) == []
    assert describe(ec2, ctx(BOB, "eu-west-1")) == []
    ec2.accept_vpc_peering_connection(ctx(BOB), params)
    for caller in (ctx(ALICE), ctx(BOB)):
        assert one(ec2, caller, pcx_id)["Status"]["Code"] == "active"
    by_owner = describe(
        ec2, ctx(ALICE), Filters=[{"Name": "accepter-vpc-info.owner-id", "Values": [BOB]}]
    )
    assert [p["VpcPeeringConnectionId"] for p in by_owner] == [pcx_id]
    # Either owner deletes an active peering.
    ec2.delete_vpc_peering_connection(ctx(BOB), params)
    assert one(ec2, ctx(ALICE), pcx_id)["Status"]["Message"] == f"Deleted by {BOB}"


def test_cross_region_is_accepted_in_the_accepter_region(ec2: Ec2Service) -> None:
    west, europe = ctx(ALICE, "us-west-2"), ctx(ALICE, "eu-west-1")
    mine, other = vpc(ec2, west, "10.1.0.0/16"), vpc(ec2, europe, "10.2.0.0/16")
    pcx = request(ec2, west, VpcId=mine, PeerVpcId=other, PeerRegion="eu-west-1")
    assert pcx["AccepterVpcInfo"]["Region"] == "eu-west-1"
    params = {"VpcPeeringConnectionId": pcx["VpcPeeringConnectionId"]}
    assert refused(ec2.accept_vpc_peering_connection, west, params) == "OperationNotPermitted"
    ec2.accept_vpc_peering_connection(europe, params)
    assert describe(ec2, west)[0]["Status"]["Code"] == "active"


def test_reject(ec2: Ec2Service, kicks: list[int]) -> None:
    mine, theirs = vpc(ec2, ctx(ALICE), "10.1.0.0/16"), vpc(ec2, ctx(BOB), "10.2.0.0/16")
    pcx_id = request(ec2, ctx(ALICE), VpcId=mine, PeerVpcId=theirs, PeerOwnerId=BOB)[
        "VpcPeeringConnectionId"
    ]
    params = {"VpcPeeringConnectionId": pcx_id}
    assert refused(ec2.reject_vpc_peering_connection, ctx(ALICE), params) == "OperationNotPermitted"
    # The accepter answers a request by rejecting it, not by deleting it.
    assert refused(ec2.delete_vpc_peering_connection, ctx(BOB), params) == "OperationNotPermitted"
    before = len(kicks)
    assert ec2.reject_vpc_peering_connection(ctx(BOB), params) == {"Return": True}
    assert len(kicks) == before + 1
    assert one(ec2, ctx(ALICE), pcx_id)["Status"] == {
        "Code": "rejected",
        "Message": f"Rejected by {BOB}",
    }
    for call in (ec2.delete_vpc_peering_connection, ec2.accept_vpc_peering_connection):
        assert refused(call, ctx(BOB), params) == "InvalidStateTransition"


def test_overlap_and_unknown_peers_fail(ec2: Ec2Service) -> None:
    mine = vpc(ec2, ctx(ALICE), "10.1.0.0/16")
    overlapping = vpc(ec2, ctx(BOB), "10.1.128.0/20")
    failed = request(ec2, ctx(ALICE), VpcId=mine, PeerVpcId=overlapping, PeerOwnerId=BOB)
    assert failed["Status"] == {"Code": "failed", "Message": FAILED}
    assert "ExpirationTime" not in failed
    missing = request(
        ec2, ctx(ALICE), VpcId=mine, PeerVpcId="vpc-0123456789abcdef0", PeerOwnerId=CAROL
    )
    assert missing["Status"]["Code"] == "failed"
    assert "CidrBlock" not in missing["AccepterVpcInfo"]
    # The requester sees its failed requests; they never reached the accepter.
    codes = [p["Status"]["Code"] for p in describe(ec2, ctx(ALICE))]
    assert codes == ["failed", "failed"]
    assert describe(ec2, ctx(BOB)) == []
    params = {"VpcPeeringConnectionId": failed["VpcPeeringConnectionId"]}
    assert refused(ec2.delete_vpc_peering_connection, ctx(ALICE), params) == (
        "InvalidStateTransition"
    )


def test_bad_requests_make_nothing(ec2: Ec2Service, store: Store) -> None:
    mine = vpc(ec2, ctx(), "10.1.0.0/16")
    cases = [
        ({"VpcId": mine, "PeerVpcId": mine}, "InvalidParameterValue"),
        ({"VpcId": mine, "PeerVpcId": "vpc-0123456789abcdef0"}, "InvalidVpcID.NotFound"),
        ({"VpcId": "vpc-0123456789abcdef0", "PeerVpcId": mine}, "InvalidVpcID.NotFound"),
        ({"VpcId": mine}, "MissingParameter"),
        ({"VpcId": mine, "PeerVpcId": mine, "DryRun": True}, "DryRunOperation"),
    ]
    for params, expected in cases:
        assert refused(ec2.create_vpc_peering_connection, ctx(), params) == expected, params
    assert store.list(PCX, "", "") == []
    missing = {"VpcPeeringConnectionIds": ["pcx-0123456789abcdef0"]}
    assert refused(ec2.describe_vpc_peering_connections, ctx(), missing) == (
        "InvalidVpcPeeringConnectionID.NotFound"
    )


def test_a_repeated_request_returns_the_live_one(ec2: Ec2Service, store: Store) -> None:
    a, b = vpc(ec2, ctx(), "10.1.0.0/16"), vpc(ec2, ctx(), "10.2.0.0/16")
    first = request(ec2, ctx(), VpcId=a, PeerVpcId=b)["VpcPeeringConnectionId"]
    assert request(ec2, ctx(), VpcId=a, PeerVpcId=b)["VpcPeeringConnectionId"] == first
    params = {"VpcId": b, "PeerVpcId": a}
    assert refused(ec2.create_vpc_peering_connection, ctx(), params) == (
        "VpcPeeringConnectionAlreadyExists"
    )
    assert len(store.list(PCX, "", "")) == 1


def test_an_unanswered_request_expires(ec2: Ec2Service, store: Store) -> None:
    a, b = vpc(ec2, ctx(), "10.1.0.0/16"), vpc(ec2, ctx(), "10.2.0.0/16")
    pcx_id = request(ec2, ctx(), VpcId=a, PeerVpcId=b)["VpcPeeringConnectionId"]
    doc = store.get(PCX, "", "", pcx_id)
    assert doc is not None
    doc["ExpirationTime"] = (datetime.now(UTC) - timedelta(seconds=1)).isoformat()
    store.put(PCX, "", "", pcx_id, doc)
    assert one(ec2, ctx(), pcx_id)["Status"]["Code"] == "expired"
    filtered = describe(ec2, ctx(), Filters=[{"Name": "status-code", "Values": ["expired"]}])
    assert len(filtered) == 1
    params = {"VpcPeeringConnectionId": pcx_id}
    assert refused(ec2.accept_vpc_peering_connection, ctx(), params) == "InvalidStateTransition"


def test_filters(ec2: Ec2Service) -> None:
    a, b, c = (vpc(ec2, ctx(), f"10.{n}.0.0/16") for n in (1, 2, 3))
    ab = request(ec2, ctx(), VpcId=a, PeerVpcId=b)["VpcPeeringConnectionId"]
    request(
        ec2,
        ctx(),
        VpcId=a,
        PeerVpcId=c,
        TagSpecifications=[{"ResourceType": "vpc-peering-connection", "Tags": [{"Key": "k"}]}],
    )
    ec2.accept_vpc_peering_connection(ctx(), {"VpcPeeringConnectionId": ab})
    cases = [
        ("vpc-peering-connection-id", ab, 1),
        ("status-code", "active", 1),
        ("status-code", "pending-acceptance", 1),
        ("requester-vpc-info.vpc-id", a, 2),
        ("accepter-vpc-info.vpc-id", c, 1),
        ("requester-vpc-info.owner-id", ALICE, 2),
        ("accepter-vpc-info.cidr-block", "10.2.0.0/16", 1),
        ("tag-key", "k", 1),
    ]
    for name, value, count in cases:
        found = describe(ec2, ctx(), Filters=[{"Name": name, "Values": [value]}])
        assert len(found) == count, name
    assert refused(
        ec2.describe_vpc_peering_connections, ctx(), {"Filters": [{"Name": "x", "Values": ["y"]}]}
    ) == ("InvalidParameterValue")


def test_deleting_a_vpc_ends_its_peerings(ec2: Ec2Service) -> None:
    mine, other = vpc(ec2, ctx(ALICE), "10.1.0.0/16"), vpc(ec2, ctx(ALICE), "10.2.0.0/16")
    theirs = vpc(ec2, ctx(BOB), "10.3.0.0/16")
    active = request(ec2, ctx(ALICE), VpcId=mine, PeerVpcId=other)["VpcPeeringConnectionId"]
    ec2.accept_vpc_peering_connection(ctx(ALICE), {"VpcPeeringConnectionId": active})
    asked = request(ec2, ctx(ALICE), VpcId=mine, PeerVpcId=theirs, PeerOwnerId=BOB)
    # A request another account made to a VPC holds it until rejected.
    incoming = request(ec2, ctx(BOB), VpcId=theirs, PeerVpcId=other, PeerOwnerId=ALICE)
    params = {"VpcId": other}
    assert refused(ec2.delete_vpc, ctx(ALICE), params) == "DependencyViolation"
    assert one(ec2, ctx(ALICE), active)["Status"]["Code"] == "active"  # nothing half-done
    ec2.delete_vpc(ctx(ALICE), {"VpcId": mine})
    for pcx_id in (active, asked["VpcPeeringConnectionId"]):
        assert one(ec2, ctx(ALICE), pcx_id)["Status"]["Code"] == "deleted"
    ec2.reject_vpc_peering_connection(
        ctx(ALICE), {"VpcPeeringConnectionId": incoming["VpcPeeringConnectionId"]}
    )
    ec2.delete_vpc(ctx(ALICE), params)


def test_the_status_table() -> None:
    assert can_move("pending-acceptance", "active")
    assert can_move("active", "deleted")
    assert not can_move("active", "rejected")
    assert not can_move("failed", "deleted")
    assert not can_move("deleted", "active")
    later = datetime.now(UTC) + timedelta(days=8)
    pending = {
        "Status": {"Code": "pending-acceptance"},
        "ExpirationTime": datetime.now(UTC).isoformat(),
    }
    assert peering_status(pending, later) == "expired"
    assert peering_status({"Status": {"Code": "active"}}, later) == "active"


def test_outputs_read_back_as_the_cli_reads_them(ec2: Ec2Service) -> None:
    a, b = vpc(ec2, ctx(), "10.1.0.0/16"), vpc(ec2, ctx(), "10.2.0.0/16")
    made = ec2.create_vpc_peering_connection(ctx(), {"VpcId": a, "PeerVpcId": b})
    parsed = wire("CreateVpcPeeringConnection", made)["VpcPeeringConnection"]
    assert parsed["Status"] == made["VpcPeeringConnection"]["Status"]
    assert parsed["ExpirationTime"].tzinfo is not None
    pcx_id = parsed["VpcPeeringConnectionId"]
    accepted = ec2.accept_vpc_peering_connection(ctx(), {"VpcPeeringConnectionId": pcx_id})
    assert wire("AcceptVpcPeeringConnection", accepted) == accepted
    described = ec2.describe_vpc_peering_connections(ctx(), {})
    assert wire("DescribeVpcPeeringConnections", described) == described
    deleted = ec2.delete_vpc_peering_connection(ctx(), {"VpcPeeringConnectionId": pcx_id})
    assert wire("DeleteVpcPeeringConnection", deleted) == {"Return": True}


def wire(operation: str, output: dict[str, Any]) -> dict[str, Any]:
    """``output`` as the AWS CLI reads it: pgrealm's serializer, then botocore's parser."""
    model = load_service("ec2")
    op = model.operation_model(operation)
    response = create_serializer(model, "ec2").serialize_response(op, output, "r")
    raw = {"status_code": response.status, "headers": dict(response.headers), "body": response.body}
    parsed: dict[str, Any] = botocore_parser("ec2").parse(raw, op.output_shape)
    parsed.pop("ResponseMetadata", None)
    return parsed
