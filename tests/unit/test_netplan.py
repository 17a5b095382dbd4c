"""From records to what the routers enforce, without a kernel: the RouterSpecs that
reconcile/netplan.py derives, the nft table engines/netns/nft.py renders for them, and
what model/reachability.py says is in a packet's way."""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Any

import pytest

from pgrealm.engines.netns import StackNet, nft
from pgrealm.model.reachability import blocked_because
from pgrealm.reconcile.netplan import plan
from pgrealm.services.context import RequestContext
from pgrealm.services.ec2 import Ec2Service
from pgrealm.store import Doc, Store
from pgrealm.store.kinds import Kind

ACCOUNT = "111111111111"
CTX = RequestContext(account_id=ACCOUNT, region="us-east-1", request_id="r", service="ec2")
STACK = StackNet.for_block("198.19.240.0/20", "198.19.240.1", "198.19.240.2")


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store(tmp_path / "state.db")


@pytest.fixture
def ec2(store: Store) -> Ec2Service:
    return Ec2Service(store, {}, ipaddress.IPv4Network("198.19.240.0/20"))


def _vpc(ec2: Ec2Service, cidr: str) -> tuple[str, str, str]:
    """A VPC with one subnet and one host in it: (vpc id, subnet id, host address)."""
    vpc_id = ec2.create_vpc(CTX, {"CidrBlock": cidr})["Vpc"]["VpcId"]
    subnet = cidr.replace("0.0/16", "1.0/24")
    subnet_id = ec2.create_subnet(
        CTX, {"VpcId": vpc_id, "CidrBlock": subnet, "AvailabilityZone": "us-east-1a"}
    )["Subnet"]["SubnetId"]
    group = ec2.network.default_group_id(ACCOUNT, "us-east-1", vpc_id)
    _, host = ec2.network.allocate_address(ACCOUNT, "us-east-1", subnet_id, "x", "", [group])
    return vpc_id, subnet_id, host


def _peer(ec2: Ec2Service, one: str, other: str, routes: bool = True) -> str:
    pcx = ec2.create_vpc_peering_connection(CTX, {"VpcId": one, "PeerVpcId": other})
    pcx_id = pcx["VpcPeeringConnection"]["VpcPeeringConnectionId"]
    ec2.accept_vpc_peering_connection(CTX, {"VpcPeeringConnectionId": pcx_id})
    if routes:
        for vpc_id, cidr in ((one, "10.2.0.0/16"), (other, "10.1.0.0/16")):
            _route(ec2, vpc_id, cidr, pcx_id)
    return str(pcx_id)


def _route(ec2: Ec2Service, vpc_id: str, cidr: str, pcx_id: str) -> None:
    tables = ec2.describe_route_tables(CTX, {"Filters": [{"Name": "vpc-id", "Values": [vpc_id]}]})[
        "RouteTables"
    ]
    ec2.create_route(
        CTX,
        {
            "RouteTableId": tables[0]["RouteTableId"],
            "DestinationCidrBlock": cidr,
            "VpcPeeringConnectionId": pcx_id,
        },
    )


def _host(store: Store, address: str) -> Doc:
    doc = store.get(Kind.ADDRESS, ACCOUNT, "us-east-1", address)
    assert doc is not None
    return doc


def _allow(ec2: Ec2Service, host: Doc, cidr: str, port: int) -> None:
    perm: dict[str, Any] = {"IpProtocol": "tcp", "FromPort": port, "ToPort": port}
    perm["IpRanges"] = [{"CidrIp": cidr}]
    ec2.authorize_security_group_ingress(
        CTX, {"GroupId": host["SecurityGroupIds"][0], "IpPermissions": [perm]}
    )


def test_each_vpc_with_hosts_is_a_router_with_its_hosts_mapped(
    ec2: Ec2Service, store: Store
) -> None:
    vpc_a, _, host = _vpc(ec2, "10.1.0.0/16")
    ec2.create_vpc(CTX, {"CidrBlock": "10.9.0.0/16"})  # no hosts: no router
    routers = plan(store, STACK).routers
    assert list(routers) == [(ACCOUNT, "us-east-1", vpc_a)]
    spec = routers[(ACCOUNT, "us-east-1", vpc_a)]
    assert spec.namespace == STACK.router_namespace(vpc_a)
    assert spec.firewall.dnat == {host: "10.1.1.4"}
    table = nft.render(spec.firewall)
    assert "delete table inet pgrealm" in table  # replaced whole, in one transaction
    assert f"dnat ip to ip daddr map {{ {host} : 10.1.1.4 }}" in table
    assert 'iifname "p*" oifname "p*" drop' in table  # peering is not transitive


def test_routes_follow_active_peerings_only(ec2: Ec2Service, store: Store) -> None:
    vpc_a, _, _ = _vpc(ec2, "10.1.0.0/16")
    vpc_b, _, _ = _vpc(ec2, "10.2.0.0/16")
    pcx = _peer(ec2, vpc_a, vpc_b)
    spec = plan(store, STACK).routers[(ACCOUNT, "us-east-1", vpc_a)]
    [link] = spec.peer_links
    assert link.remote_namespace == STACK.router_namespace(vpc_b)
    assert [(dest, name) for _, dest, name in spec.routes] == [("10.2.0.0/16", link.name)]
    ec2.delete_vpc_peering_connection(CTX, {"VpcPeeringConnectionId": pcx})
    spec = plan(store, STACK).routers[(ACCOUNT, "us-east-1", vpc_a)]
    assert spec.peer_links == () and spec.routes == ()


def test_reachability_names_the_first_thing_in_the_way(ec2: Ec2Service, store: Store) -> None:
    vpc_a, _, dc = _vpc(ec2, "10.1.0.0/16")
    vpc_b, _, db = _vpc(ec2, "10.2.0.0/16")
    src, dst = _host(store, db), _host(store, dc)
    assert blocked_because(store, src, dst, "tcp", 88) == (
        f"no active VPC peering between {vpc_b} and {vpc_a}"
    )
    pcx = _peer(ec2, vpc_a, vpc_b, routes=False)
    _route(ec2, vpc_b, "10.1.0.0/16", pcx)
    assert "no route from " + vpc_a in str(blocked_because(store, src, dst, "tcp", 88))
    _route(ec2, vpc_a, "10.2.0.0/16", pcx)
    assert "allows no ingress from 10.2.1.4 to 88/tcp" in str(
        blocked_because(store, src, dst, "tcp", 88)
    )
    _allow(ec2, dst, "10.2.0.0/16", 88)
    assert blocked_because(store, src, dst, "tcp", 88) is None
    acl = ec2.create_network_acl(CTX, {"VpcId": vpc_a})["NetworkAcl"]["NetworkAclId"]
    assoc = [
        a
        for d in ec2.describe_network_acls(CTX, {})["NetworkAcls"]
        for a in d["Associations"]
        if a["SubnetId"] == dst["SubnetId"]
    ][0]
    ec2.replace_network_acl_association(
        CTX, {"AssociationId": assoc["NetworkAclAssociationId"], "NetworkAclId": acl}
    )
    assert f"network ACL {acl}" in str(blocked_because(store, src, dst, "tcp", 88))
