"""Route tables through Ec2Service against a real Store: every VPC's main table, subnet
associations, local and peering routes (blackholes included), and the subnet -> table
rule the network reconciler reads (model/network.py)."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.parsers import create_parser as botocore_parser

from pgrealm.api.protocols import create_serializer
from pgrealm.api.specs import load_service
from pgrealm.model.network import route_table_for_subnet
from pgrealm.services.context import RequestContext
from pgrealm.services.ec2 import Ec2Service
from pgrealm.services.ec2._common import ACL, DEFAULTS, RTB
from pgrealm.services.errors import CommonError, ServiceError
from pgrealm.store import Store

ACCOUNT, PEER = "111111111111", "222222222222"
REGION = "us-west-2"


def ctx(account: str = ACCOUNT) -> RequestContext:
    return RequestContext(account_id=account, region=REGION, request_id="r", service="ec2")


def refused(call: Any, params: dict[str, Any], caller: RequestContext | None = None) -> str:
    with pytest.raises(ServiceError) as err:
        call(caller or ctx(), params)
    assert isinstance(err.value, CommonError)
    return err.value.code


def vpc(ec2: Ec2Service, cidr: str, caller: RequestContext | None = None) -> str:
    return str(ec2.create_vpc(caller or ctx(), {"CidrBlock": cidr})["Vpc"]["VpcId"])


def subnet(ec2: Ec2Service, vpc_id: str, cidr: str) -> str:
    return str(ec2.create_subnet(ctx(), {"VpcId": vpc_id, "CidrBlock": cidr})["Subnet"]["SubnetId"])


def tables(ec2: Ec2Service, filters: dict[str, str] | None = None) -> list[dict[str, Any]]:
    flts = [{"Name": k, "Values": [v]} for k, v in (filters or {}).items()]
    found: list[dict[str, Any]] = ec2.describe_route_tables(ctx(), {"Filters": flts})["RouteTables"]
    return found


def table(ec2: Ec2Service, rtb_id: str) -> dict[str, Any]:
    [found] = ec2.describe_route_tables(ctx(), {"RouteTableIds": [rtb_id]})["RouteTables"]
    return found  # type: ignore[no-any-return]


def main_of(ec2: Ec2Service, vpc_id: str) -> dict[str, Any]:
    [found] = [
        t for t in tables(ec2, {"vpc-id": vpc_id}) if any(a["Main"] for a in t["Associations"])
    ]
    return found


def peered(ec2: Ec2Service, mine: str, theirs: str, accept: bool = True) -> str:
    pcx = ec2.create_vpc_peering_connection(ctx(), {"VpcId": mine, "PeerVpcId": theirs})
    pcx_id = str(pcx["VpcPeeringConnection"]["VpcPeeringConnectionId"])
    if accept:
        ec2.accept_vpc_peering_connection(ctx(), {"VpcPeeringConnectionId": pcx_id})
    return pcx_id


LOCAL = {
    "GatewayId": "local",
    "Origin": "CreateRouteTable",
    "State": "active",
}


def test_every_vpc_has_a_main_table(ec2: Ec2Service) -> None:
    [default] = tables(ec2, {"association.main": "true"})
    assert default["Routes"] == [{"DestinationCidrBlock": "172.31.0.0/16", **LOCAL}]
    [main] = default["Associations"]
    assert main["Main"] is True and "SubnetId" not in main
    assert main["RouteTableAssociationId"].startswith("rtbassoc-")
    assert main["AssociationState"] == {"State": "associated"}
    assert default["OwnerId"] == ACCOUNT and default["PropagatingVgws"] == []
    vpc_id = vpc(ec2, "10.1.0.0/16")
    assert main_of(ec2, vpc_id)["Routes"] == [{"DestinationCidrBlock": "10.1.0.0/16", **LOCAL}]


def test_tables_and_associations(ec2: Ec2Service, kicks: list[int]) -> None:
    vpc_id = vpc(ec2, "10.1.0.0/16")
    subnet_id = subnet(ec2, vpc_id, "10.1.0.0/24")
    main = main_of(ec2, vpc_id)
    assert (
        route_table_for_subnet(ec2.store, ACCOUNT, REGION, subnet_id)["RouteTableId"]
        == (main["RouteTableId"])
    )
    before = len(kicks)
    made = ec2.create_route_table(
        ctx(),
        {
            "VpcId": vpc_id,
            "TagSpecifications": [
                {"ResourceType": "route-table", "Tags": [{"Key": "Name", "Value": "app"}]}
            ],
        },
    )["RouteTable"]
    rtb_id = made["RouteTableId"]
    assert made["Associations"] == [] and made["Tags"] == [{"Key": "Name", "Value": "app"}]
    out = ec2.associate_route_table(ctx(), {"RouteTableId": rtb_id, "SubnetId": subnet_id})
    assert out["AssociationState"] == {"State": "associated"}
    assert route_table_for_subnet(ec2.store, ACCOUNT, REGION, subnet_id)["RouteTableId"] == rtb_id
    assert [t["RouteTableId"] for t in tables(ec2, {"association.subnet-id": subnet_id})] == [
        rtb_id
    ]
    again = {"RouteTableId": main["RouteTableId"], "SubnetId": subnet_id}
    assert refused(ec2.associate_route_table, again) == "Resource.AlreadyAssociated"
    assert refused(ec2.delete_route_table, {"RouteTableId": rtb_id}) == "DependencyViolation"
    moved = ec2.replace_route_table_association(
        ctx(), {"AssociationId": out["AssociationId"], "RouteTableId": main["RouteTableId"]}
    )
    assert moved["NewAssociationId"] != out["AssociationId"]
    assert table(ec2, rtb_id)["Associations"] == []
    ec2.disassociate_route_table(ctx(), {"AssociationId": moved["NewAssociationId"]})
    assert (
        route_table_for_subnet(ec2.store, ACCOUNT, REGION, subnet_id)["RouteTableId"]
        == (main["RouteTableId"])
    )
    ec2.delete_route_table(ctx(), {"RouteTableId": rtb_id})
    assert refused(ec2.describe_route_tables, {"RouteTableIds": [rtb_id]}) == (
        "InvalidRouteTableID.NotFound"
    )
    assert len(kicks) - before == 5


def test_the_main_table_stays_and_can_move(ec2: Ec2Service) -> None:
    vpc_id = vpc(ec2, "10.1.0.0/16")
    main = main_of(ec2, vpc_id)
    main_association = main["Associations"][0]["RouteTableAssociationId"]
    assert refused(ec2.delete_route_table, {"RouteTableId": main["RouteTableId"]}) == (
        "DependencyViolation"
    )
    with pytest.raises(CommonError) as err:
        ec2.disassociate_route_table(ctx(), {"AssociationId": main_association})
    assert err.value.code == "InvalidParameterValue"
    assert err.value.message == (
        f"cannot disassociate the main route table association {main_association}"
    )
    other = ec2.create_route_table(ctx(), {"VpcId": vpc_id})["RouteTable"]["RouteTableId"]
    ec2.replace_route_table_association(
        ctx(), {"AssociationId": main_association, "RouteTableId": other}
    )
    assert main_of(ec2, vpc_id)["RouteTableId"] == other
    # The old main table is an ordinary one now, and goes.
    ec2.delete_route_table(ctx(), {"RouteTableId": main["RouteTableId"]})


def test_association_refusals(ec2: Ec2Service, store: Store) -> None:
    vpc_id, elsewhere = vpc(ec2, "10.1.0.0/16"), vpc(ec2, "10.2.0.0/16")
    rtb_id = ec2.create_route_table(ctx(), {"VpcId": vpc_id})["RouteTable"]["RouteTableId"]
    foreign = subnet(ec2, elsewhere, "10.2.0.0/24")
    cases = [
        ({"RouteTableId": rtb_id, "SubnetId": foreign}, "InvalidParameterValue"),
        (
            {"RouteTableId": rtb_id, "SubnetId": "subnet-0123456789abcdef0"},
            "InvalidSubnetID.NotFound",
        ),
        (
            {"RouteTableId": "rtb-0123456789abcdef0", "SubnetId": foreign},
            "InvalidRouteTableID.NotFound",
        ),
        ({"RouteTableId": rtb_id, "GatewayId": "igw-0123456789abcdef0"}, "UnsupportedOperation"),
        ({"RouteTableId": rtb_id}, "MissingParameter"),
    ]
    for params, expected in cases:
        assert refused(ec2.associate_route_table, params) == expected, params
    assert store.get(RTB, ACCOUNT, REGION, rtb_id)["Associations"] == []  # type: ignore[index]
    gone = {"AssociationId": "rtbassoc-0123456789abcdef0"}
    assert refused(ec2.disassociate_route_table, gone) == "InvalidAssociationID.NotFound"
    params = {**gone, "RouteTableId": rtb_id}
    assert refused(ec2.replace_route_table_association, params) == "InvalidAssociationID.NotFound"
    other_main = main_of(ec2, elsewhere)["Associations"][0]["RouteTableAssociationId"]
    params = {"AssociationId": other_main, "RouteTableId": rtb_id}
    assert refused(ec2.replace_route_table_association, params) == "InvalidParameterValue"


def test_peering_routes_follow_the_peering(ec2: Ec2Service) -> None:
    mine, theirs = vpc(ec2, "10.1.0.0/16"), vpc(ec2, "10.2.0.0/16")
    pcx_id = peered(ec2, mine, theirs, accept=False)
    rtb_id = main_of(ec2, mine)["RouteTableId"]
    route = {"RouteTableId": rtb_id, "DestinationCidrBlock": "10.2.0.0/16"}
    assert ec2.create_route(ctx(), {**route, "VpcPeeringConnectionId": pcx_id}) == {"Return": True}

    def state() -> str:
        [peering] = [r for r in table(ec2, rtb_id)["Routes"] if "VpcPeeringConnectionId" in r]
        assert peering["Origin"] == "CreateRoute"
        return str(peering["State"])

    assert state() == "blackhole"  # not accepted yet
    ec2.accept_vpc_peering_connection(ctx(), {"VpcPeeringConnectionId": pcx_id})
    assert state() == "active"
    assert [t["RouteTableId"] for t in tables(ec2, {"route.state": "active", "vpc-id": mine})] == [
        rtb_id
    ]
    found = tables(ec2, {"route.vpc-peering-connection-id": pcx_id})
    assert [t["RouteTableId"] for t in found] == [rtb_id]
    # Its own local route and the peering route to it.
    assert len(tables(ec2, {"route.destination-cidr-block": "10.2.0.0/16"})) == 2
    ec2.delete_vpc_peering_connection(ctx(), {"VpcPeeringConnectionId": pcx_id})
    assert state() == "blackhole"  # AWS keeps the route, pointing nowhere
    assert tables(ec2, {"route.state": "blackhole"})[0]["RouteTableId"] == rtb_id
    ec2.delete_route(ctx(), route)
    assert len(table(ec2, rtb_id)["Routes"]) == 1


def test_route_refusals(ec2: Ec2Service, store: Store) -> None:
    mine, theirs, third = (vpc(ec2, f"10.{n}.0.0/16") for n in (1, 2, 3))
    pcx_id = peered(ec2, mine, theirs)
    elsewhere = peered(ec2, theirs, third)
    rtb_id = main_of(ec2, mine)["RouteTableId"]
    route = {"RouteTableId": rtb_id, "DestinationCidrBlock": "10.2.0.0/16"}
    ec2.create_route(ctx(), {**route, "VpcPeeringConnectionId": pcx_id})
    cases: list[tuple[Any, dict[str, Any], str]] = [
        (ec2.create_route, {**route, "VpcPeeringConnectionId": pcx_id}, "RouteAlreadyExists"),
        (ec2.create_route, {**route, "GatewayId": "igw-0123456789abcdef0"}, "UnsupportedOperation"),
        (
            ec2.create_route,
            {**route, "DestinationCidrBlock": "0.0.0.0/0", "NatGatewayId": "nat-0123456789abcdef0"},
            "UnsupportedOperation",
        ),
        (
            ec2.create_route,
            {
                "RouteTableId": rtb_id,
                "DestinationIpv6CidrBlock": "::/0",
                "VpcPeeringConnectionId": pcx_id,
            },
            "UnsupportedOperation",
        ),
        (ec2.create_route, {**route, "DestinationCidrBlock": "10.9.0.0/16"}, "MissingParameter"),
        (
            ec2.create_route,
            {**route, "DestinationCidrBlock": "10.1.4.0/24", "VpcPeeringConnectionId": pcx_id},
            "InvalidParameterValue",  # inside the VPC: only the local route takes it
        ),
        (
            ec2.create_route,
            {**route, "DestinationCidrBlock": "10.3.0.0/16", "VpcPeeringConnectionId": elsewhere},
            "InvalidParameterValue",  # a peering of other VPCs
        ),
        (
            ec2.create_route,
            {
                **route,
                "DestinationCidrBlock": "10.3.0.0/16",
                "VpcPeeringConnectionId": "pcx-0123456789abcdef0",
            },
            "InvalidVpcPeeringConnectionID.NotFound",
        ),
        (
            ec2.create_route,
            {**route, "DestinationCidrBlock": "nonsense", "VpcPeeringConnectionId": pcx_id},
            "InvalidParameterValue",
        ),
        (
            ec2.delete_route,
            {**route, "DestinationCidrBlock": "10.1.0.0/16"},
            "InvalidParameterValue",
        ),
        (
            ec2.delete_route,
            {**route, "DestinationCidrBlock": "10.8.0.0/16"},
            "InvalidRoute.NotFound",
        ),
        (
            ec2.replace_route,
            {**route, "DestinationCidrBlock": "10.8.0.0/16", "VpcPeeringConnectionId": pcx_id},
            "InvalidParameterValue",
        ),
        (ec2.replace_route, {**route, "LocalTarget": True}, "InvalidParameterValue"),
        (
            ec2.create_route,
            {**route, "RouteTableId": "rtb-0123456789abcdef0", "VpcPeeringConnectionId": pcx_id},
            "InvalidRouteTableID.NotFound",
        ),
    ]
    for call, params, expected in cases:
        assert refused(call, params) == expected, params
    assert len(store.get(RTB, ACCOUNT, REGION, rtb_id)["Routes"]) == 2  # type: ignore[index]
    with pytest.raises(CommonError) as err:
        ec2.replace_route(
            ctx(), {**route, "DestinationCidrBlock": "10.8.0.0/16", "LocalTarget": True}
        )
    assert err.value.message == (
        "There is no route defined for '10.8.0.0/16' in the route table. Use CreateRoute instead."
    )


def test_replace_route(ec2: Ec2Service) -> None:
    mine, theirs, third = (vpc(ec2, f"10.{n}.0.0/16") for n in (1, 2, 3))
    first, second = peered(ec2, mine, theirs), peered(ec2, mine, third)
    rtb_id = main_of(ec2, mine)["RouteTableId"]
    route = {"RouteTableId": rtb_id, "DestinationCidrBlock": "10.0.0.0/8"}
    ec2.create_route(ctx(), {**route, "VpcPeeringConnectionId": first})
    assert ec2.replace_route(ctx(), {**route, "VpcPeeringConnectionId": second}) == {}
    [peering] = [r for r in table(ec2, rtb_id)["Routes"] if "VpcPeeringConnectionId" in r]
    assert peering["VpcPeeringConnectionId"] == second
    # The local route keeps its target: resetting it to local changes nothing.
    local = {"RouteTableId": rtb_id, "DestinationCidrBlock": "10.1.0.0/16", "LocalTarget": True}
    ec2.replace_route(ctx(), local)
    assert table(ec2, rtb_id)["Routes"][0] == {"DestinationCidrBlock": "10.1.0.0/16", **LOCAL}


def test_a_cross_account_peering_routes_both_ways(ec2: Ec2Service) -> None:
    mine, theirs = vpc(ec2, "10.1.0.0/16"), vpc(ec2, "10.2.0.0/16", ctx(PEER))
    pcx = ec2.create_vpc_peering_connection(
        ctx(), {"VpcId": mine, "PeerVpcId": theirs, "PeerOwnerId": PEER}
    )
    pcx_id = pcx["VpcPeeringConnection"]["VpcPeeringConnectionId"]
    ec2.accept_vpc_peering_connection(ctx(PEER), {"VpcPeeringConnectionId": pcx_id})
    [their_main] = ec2.describe_route_tables(
        ctx(PEER), {"Filters": [{"Name": "vpc-id", "Values": [theirs]}]}
    )["RouteTables"]
    back = {
        "RouteTableId": their_main["RouteTableId"],
        "DestinationCidrBlock": "10.1.0.0/16",
        "VpcPeeringConnectionId": pcx_id,
    }
    ec2.create_route(ctx(PEER), back)
    # Another account's table is not found from here.
    assert refused(ec2.create_route, {**back, "DestinationCidrBlock": "10.7.0.0/16"}) == (
        "InvalidRouteTableID.NotFound"
    )


def test_subnets_and_vpcs_take_their_tables_with_them(ec2: Ec2Service, store: Store) -> None:
    vpc_id = vpc(ec2, "10.1.0.0/16")
    subnet_id = subnet(ec2, vpc_id, "10.1.0.0/24")
    rtb_id = ec2.create_route_table(ctx(), {"VpcId": vpc_id})["RouteTable"]["RouteTableId"]
    ec2.associate_route_table(ctx(), {"RouteTableId": rtb_id, "SubnetId": subnet_id})
    ec2.delete_subnet(ctx(), {"SubnetId": subnet_id})
    assert table(ec2, rtb_id)["Associations"] == []
    with pytest.raises(LookupError):
        route_table_for_subnet(store, ACCOUNT, REGION, subnet_id)
    assert refused(ec2.delete_vpc, {"VpcId": vpc_id}) == "DependencyViolation"
    ec2.delete_route_table(ctx(), {"RouteTableId": rtb_id})
    main_id = main_of(ec2, vpc_id)["RouteTableId"]
    ec2.delete_vpc(ctx(), {"VpcId": vpc_id})
    assert store.get(RTB, ACCOUNT, REGION, main_id) is None


def test_client_token_makes_one_table(ec2: Ec2Service) -> None:
    vpc_id, other = vpc(ec2, "10.1.0.0/16"), vpc(ec2, "10.2.0.0/16")
    params = {"VpcId": vpc_id, "ClientToken": "abc"}
    first = ec2.create_route_table(ctx(), params)
    assert first["ClientToken"] == "abc"
    second = ec2.create_route_table(ctx(), params)
    assert second["RouteTable"]["RouteTableId"] == first["RouteTable"]["RouteTableId"]
    assert len(tables(ec2, {"vpc-id": vpc_id})) == 2
    mismatch = {"VpcId": other, "ClientToken": "abc"}
    assert refused(ec2.create_route_table, mismatch) == "IdempotentParameterMismatch"


def test_vpcs_made_before_route_tables_get_theirs(ec2: Ec2Service, store: Store) -> None:
    vpc_id = vpc(ec2, "10.1.0.0/16")
    subnet_id = subnet(ec2, vpc_id, "10.1.0.0/24")
    for kind in (RTB, ACL):
        for account, region, key in store.keys(kind):
            store.delete(kind, account, region, key)
    store.delete(DEFAULTS, ACCOUNT, REGION, "route-tables-and-acls")
    # Until its owner's next EC2 request, the reconciler sees AWS's initial table.
    implicit = route_table_for_subnet(store, ACCOUNT, REGION, subnet_id)
    assert implicit["RouteTableId"] == "" and implicit["Routes"][0]["GatewayId"] == "local"
    assert len(tables(ec2)) == 2  # the default VPC's and this one's
    assert (
        route_table_for_subnet(store, ACCOUNT, REGION, subnet_id)["RouteTableId"]
        == (main_of(ec2, vpc_id)["RouteTableId"])
    )
    acls = ec2.describe_network_acls(
        ctx(), {"Filters": [{"Name": "association.subnet-id", "Values": [subnet_id]}]}
    )["NetworkAcls"]
    assert [a["IsDefault"] for a in acls] == [True]


def test_outputs_read_back_as_the_cli_reads_them(ec2: Ec2Service) -> None:
    mine, theirs = vpc(ec2, "10.1.0.0/16"), vpc(ec2, "10.2.0.0/16")
    pcx_id = peered(ec2, mine, theirs)
    subnet_id = subnet(ec2, mine, "10.1.0.0/24")
    made = ec2.create_route_table(ctx(), {"VpcId": mine, "ClientToken": "t"})
    assert wire("CreateRouteTable", made) == made
    rtb_id = made["RouteTable"]["RouteTableId"]
    route = {"RouteTableId": rtb_id, "DestinationCidrBlock": "10.2.0.0/16"}
    assert wire("CreateRoute", ec2.create_route(ctx(), {**route, "VpcPeeringConnectionId": pcx_id}))
    associated = ec2.associate_route_table(ctx(), {"RouteTableId": rtb_id, "SubnetId": subnet_id})
    assert wire("AssociateRouteTable", associated) == associated
    described = ec2.describe_route_tables(ctx(), {})
    assert wire("DescribeRouteTables", described) == described
    replaced = ec2.replace_route_table_association(
        ctx(), {"AssociationId": associated["AssociationId"], "RouteTableId": rtb_id}
    )
    assert wire("ReplaceRouteTableAssociation", replaced) == replaced


def wire(operation: str, output: dict[str, Any]) -> dict[str, Any]:
    """``output`` as the AWS CLI reads it: pgrealm's serializer, then botocore's parser."""
    model = load_service("ec2")
    op = model.operation_model(operation)
    response = create_serializer(model, "ec2").serialize_response(op, output, "r")
    raw = {"status_code": response.status, "headers": dict(response.headers), "body": response.body}
    parsed: dict[str, Any] = botocore_parser("ec2").parse(raw, op.output_shape)
    parsed.pop("ResponseMetadata", None)
    return parsed
