"""EC2 route tables: tables, their subnet and Main associations, and their routes.

Every VPC has a main route table from its creation on (vpcs.py, network.py), with a
local route for each of its CIDR blocks; a subnet follows its explicit association, else
the main table (model/network.py ``route_table_for_subnet``, which the network
reconciler reads). pgrealm routes only inside a VPC (``local``) and over VPC peering
connections: a route to any other target is refused as unsupported, not pretended.

A route over a peering that carries no traffic (not yet accepted, deleted ...) stays in
its table and shows as ``blackhole``, as in EC2; its state is computed when shown.
https://docs.aws.amazon.com/vpc/latest/userguide/RouteTables.html
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Collection
from typing import Any

from pgrealm.model.network import (
    PeeringStatus,
    active_peerings,
    peering_joins,
    peering_status,
    route_state,
)
from pgrealm.services.context import RequestContext
from pgrealm.services.ec2._base import Ec2Base
from pgrealm.services.ec2._common import (
    PCX,
    RTB,
    Getter,
    association_not_found,
    check_dry_run,
    dependency_violation,
    filtered,
    flag,
    invalid,
    parse_cidr,
    peering_not_found,
    public,
    route_table_not_found,
    tag_specs,
    unsupported,
)
from pgrealm.services.ec2.peering import visible_to
from pgrealm.services.ec2.records import new_route_table, route_table_association
from pgrealm.services.errors import CommonError
from pgrealm.services.pagination import page
from pgrealm.store import Doc

__all__ = ["RouteTableOps"]

log = logging.getLogger(__name__)

# Route targets EC2 has and pgrealm does not offer (a GatewayId other than "local" too).
_OTHER_TARGETS = (
    "GatewayId",
    "NatGatewayId",
    "TransitGatewayId",
    "LocalGatewayId",
    "CarrierGatewayId",
    "NetworkInterfaceId",
    "InstanceId",
    "EgressOnlyInternetGatewayId",
    "VpcEndpointId",
    "CoreNetworkArn",
    "OdbNetworkArn",
)


def _all(key: str, inner: str) -> Getter:
    return lambda d: [str(x[inner]) for x in d[key] if inner in x]


_FILTERS: dict[str, Getter] = {
    "route-table-id": lambda d: [d["RouteTableId"]],
    "vpc-id": lambda d: [d["VpcId"]],
    "owner-id": lambda d: [d["OwnerId"]],
    "association.route-table-association-id": _all("Associations", "RouteTableAssociationId"),
    "association.route-table-id": _all("Associations", "RouteTableId"),
    "association.subnet-id": _all("Associations", "SubnetId"),
    "association.gateway-id": _all("Associations", "GatewayId"),
    "association.main": lambda d: [flag(a["Main"])[0] for a in d["Associations"]],
    "route.destination-cidr-block": _all("Routes", "DestinationCidrBlock"),
    "route.gateway-id": _all("Routes", "GatewayId"),
    "route.vpc-peering-connection-id": _all("Routes", "VpcPeeringConnectionId"),
    "route.origin": _all("Routes", "Origin"),
    "route.state": _all("Routes", "State"),
}


def _member(key: str) -> str:
    """A request member as EC2's messages name it: NatGatewayId -> natGatewayId."""
    return key[0].lower() + key[1:]


def _table_shape(table: Doc, active: Collection[str]) -> dict[str, Any]:
    out = public(table)
    out["Routes"] = [{**r, "State": route_state(r, active)} for r in table["Routes"]]
    return out


def _destination(params: dict[str, Any]) -> str:
    for key in ("DestinationIpv6CidrBlock", "DestinationPrefixListId"):
        if params.get(key):
            raise unsupported(
                f"pgrealm routes IPv4 destinations only: {_member(key)} '{params[key]}' cannot "
                "be routed."
            )
    if not params.get("DestinationCidrBlock"):
        raise CommonError(
            "MissingParameter",
            "The request must contain the parameter destinationCidrBlock, "
            "destinationIpv6CidrBlock or destinationPrefixListId",
        )
    return str(parse_cidr(params["DestinationCidrBlock"], "destinationCidrBlock"))


def _target(params: dict[str, Any]) -> str | None:
    """The route's VPC peering connection, or None for the local target."""
    for key in _OTHER_TARGETS:
        value = params.get(key)
        if value and not (key == "GatewayId" and value == "local"):
            raise unsupported(
                f"pgrealm offers only local and VPC peering routes: a route to {_member(key)} "
                f"'{value}' cannot be made."
            )
    pcx_id = params.get("VpcPeeringConnectionId")
    local = bool(params.get("LocalTarget")) or params.get("GatewayId") == "local"
    if pcx_id and local:
        raise CommonError(
            "InvalidParameterCombination",
            "A route has one target: give vpcPeeringConnectionId or the local target, not both.",
        )
    if pcx_id or local:
        return pcx_id or None
    raise CommonError(
        "MissingParameter",
        "The request must contain exactly one of gatewayId, natGatewayId, networkInterfaceId, "
        "vpcPeeringConnectionId, egressOnlyInternetGatewayId, transitGatewayId, "
        "localGatewayId, carrierGatewayId, or instanceId",
    )


def _route_index(table: Doc, destination: str) -> int | None:
    for index, route in enumerate(table["Routes"]):
        if route.get("DestinationCidrBlock") == destination:
            return index
    return None


def _is_local(route: dict[str, Any]) -> bool:
    return route.get("GatewayId") == "local"


def _outside_vpc(table: Doc, destination: str) -> None:
    """A peering route may not take traffic that stays inside the VPC: EC2 lets only an
    interface or an instance take a destination inside a local route's."""
    net = ipaddress.IPv4Network(destination)
    for route in table["Routes"]:
        if _is_local(route) and net.subnet_of(ipaddress.IPv4Network(route["DestinationCidrBlock"])):
            raise invalid(
                f"The destination CIDR block {destination} is equal to or more specific than one "
                "of this VPC's CIDR blocks. This route can target only an interface or an "
                "instance."
            )


class RouteTableOps(Ec2Base):
    """Route table operations (mixed into Ec2Service)."""

    def _route_table(self, ctx: RequestContext, rtb_id: str) -> Doc:
        doc = self.store.get(RTB, ctx.account_id, ctx.region, rtb_id)
        if doc is None:
            raise route_table_not_found(rtb_id)
        return doc

    def _route_tables(self, ctx: RequestContext) -> list[Doc]:
        return self.store.list(RTB, ctx.account_id, ctx.region)

    def _shapes(self, tables: list[Doc]) -> list[dict[str, Any]]:
        active = {p["VpcPeeringConnectionId"] for p in active_peerings(self.store)}
        return [_table_shape(t, active) for t in tables]

    def _association(self, ctx: RequestContext, association_id: str) -> tuple[Doc, dict[str, Any]]:
        for table in self._route_tables(ctx):
            for association in table["Associations"]:
                if association["RouteTableAssociationId"] == association_id:
                    return table, association
        raise association_not_found(association_id)

    def _put(self, ctx: RequestContext, table: Doc) -> None:
        self.store.put(RTB, ctx.account_id, ctx.region, table["RouteTableId"], table)

    # -- tables ---------------------------------------------------------------------
    def create_route_table(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        check_dry_run(params)
        self._touch(ctx)
        tags = tag_specs(params, "route-table")
        table = self._create_in_vpc(
            ctx, params, RTB, "RouteTableId", lambda vpc: new_route_table(ctx.account_id, vpc, tags)
        )
        out: dict[str, Any] = {"RouteTable": self._shapes([table])[0]}
        if params.get("ClientToken"):
            out["ClientToken"] = params["ClientToken"]
        return out

    def delete_route_table(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        check_dry_run(params)
        self._touch(ctx)
        rtb_id = params["RouteTableId"]
        with self.store.transaction():
            table = self._route_table(ctx, rtb_id)
            # A subnet association, or the Main one, is a dependency: EC2 refuses alike.
            if table["Associations"]:
                raise dependency_violation("routeTable", rtb_id)
            self.store.delete(RTB, ctx.account_id, ctx.region, rtb_id)
        self.kick()
        log.info("route table %s deleted", rtb_id)
        return {}

    def describe_route_tables(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        check_dry_run(params)
        self._touch(ctx)
        ids = params.get("RouteTableIds")
        if ids:
            tables = [self._route_table(ctx, i) for i in dict.fromkeys(ids)]
        else:
            tables = self._route_tables(ctx)
        shapes = filtered(self._shapes(tables), params.get("Filters"), _FILTERS)
        return page("ec2", "DescribeRouteTables", shapes, params)

    # -- associations ---------------------------------------------------------------
    def associate_route_table(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        check_dry_run(params)
        self._touch(ctx)
        for key in ("GatewayId", "PublicIpv4Pool"):
            if params.get(key):
                raise unsupported(
                    f"pgrealm associates route tables with subnets only: {_member(key)} "
                    f"'{params[key]}' cannot be associated."
                )
        subnet_id = params.get("SubnetId")
        if not subnet_id:
            raise CommonError(
                "MissingParameter", "The request must contain the parameter subnetId or gatewayId"
            )
        rtb_id = params["RouteTableId"]
        with self.store.transaction():
            table = self._route_table(ctx, rtb_id)
            subnet = self._subnet(ctx, subnet_id)
            if subnet["VpcId"] != table["VpcId"]:
                raise invalid(
                    f"routetable {rtb_id} and subnet {subnet_id} belong to different networks"
                )
            for other in self._route_tables(ctx):
                if any(a.get("SubnetId") == subnet_id for a in other["Associations"]):
                    raise CommonError(
                        "Resource.AlreadyAssociated",
                        f"the specified association for route table {rtb_id} conflicts with an "
                        "existing association",
                    )
            association = route_table_association(rtb_id, subnet_id)
            table["Associations"].append(association)
            self._put(ctx, table)
        self.kick()
        log.info("subnet %s now follows route table %s", subnet_id, rtb_id)
        return {
            "AssociationId": association["RouteTableAssociationId"],
            "AssociationState": association["AssociationState"],
        }

    def disassociate_route_table(
        self, ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        check_dry_run(params)
        self._touch(ctx)
        association_id = params["AssociationId"]
        with self.store.transaction():
            table, association = self._association(ctx, association_id)
            if association["Main"]:
                raise invalid(
                    f"cannot disassociate the main route table association {association_id}"
                )
            table["Associations"].remove(association)
            self._put(ctx, table)
        self.kick()
        log.info("association %s of %s removed", association_id, table["RouteTableId"])
        return {}

    def replace_route_table_association(
        self, ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        """Move a subnet to another table, or (given the Main association) make another
        table the VPC's main one; either way the association gets a new id, as in EC2."""
        check_dry_run(params)
        self._touch(ctx)
        association_id, rtb_id = params["AssociationId"], params["RouteTableId"]
        with self.store.transaction():
            old, association = self._association(ctx, association_id)
            new = self._route_table(ctx, rtb_id)
            if new["VpcId"] != old["VpcId"]:
                what = association.get("SubnetId") or f"route table {old['RouteTableId']}"
                raise invalid(f"routetable {rtb_id} and {what} belong to different networks")
            if new["RouteTableId"] == old["RouteTableId"]:
                new = old
            old["Associations"].remove(association)
            replacement = route_table_association(rtb_id, association.get("SubnetId"))
            new["Associations"].append(replacement)
            self._put(ctx, old)
            self._put(ctx, new)
        self.kick()
        log.info("association %s replaced by %s", association_id, replacement)
        return {
            "NewAssociationId": replacement["RouteTableAssociationId"],
            "AssociationState": replacement["AssociationState"],
        }

    # -- routes ---------------------------------------------------------------------
    def _peering_route(
        self, ctx: RequestContext, table: Doc, pcx_id: str, destination: str
    ) -> dict[str, Any]:
        """A route over ``pcx_id``: the peering is the caller's, joins the table's VPC, and
        is pending or active (a pending one's routes are blackholes until it is accepted)."""
        peering = self.store.get(PCX, "", "", pcx_id)
        if peering is None or not visible_to(ctx, peering):
            raise peering_not_found(pcx_id)
        if not peering_joins(peering, ctx.account_id, ctx.region, table["VpcId"]):
            raise invalid(
                f"route table {table['RouteTableId']} and network gateway {pcx_id} belong to "
                "different networks"
            )
        status = peering_status(peering)
        if status not in (PeeringStatus.PENDING_ACCEPTANCE, PeeringStatus.ACTIVE):
            raise invalid(
                f"The VPC peering connection {pcx_id} is {status}: it cannot carry a route."
            )
        _outside_vpc(table, destination)
        return {
            "DestinationCidrBlock": destination,
            "VpcPeeringConnectionId": pcx_id,
            "Origin": "CreateRoute",
            "State": "active",
        }

    def create_route(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        check_dry_run(params)
        self._touch(ctx)
        destination, pcx_id = _destination(params), _target(params)
        rtb_id = params["RouteTableId"]
        with self.store.transaction():
            table = self._route_table(ctx, rtb_id)
            if _route_index(table, destination) is not None:
                raise CommonError(
                    "RouteAlreadyExists", f"The route identified by {destination} already exists."
                )
            if pcx_id is None:
                raise invalid(
                    "A route to the local target cannot be created: a route table has its local "
                    "routes from its creation on."
                )
            table["Routes"].append(self._peering_route(ctx, table, pcx_id, destination))
            self._put(ctx, table)
        self.kick()
        log.info("route %s -> %s added to %s", destination, pcx_id, rtb_id)
        return {"Return": True}

    def replace_route(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        check_dry_run(params)
        self._touch(ctx)
        destination, pcx_id = _destination(params), _target(params)
        rtb_id = params["RouteTableId"]
        with self.store.transaction():
            table = self._route_table(ctx, rtb_id)
            index = _route_index(table, destination)
            if index is None:
                raise invalid(
                    f"There is no route defined for '{destination}' in the route table. Use "
                    "CreateRoute instead."
                )
            current = table["Routes"][index]
            if pcx_id is None and not _is_local(current):
                raise invalid(
                    f"The route {destination} is not a local route: only a local route can be "
                    "reset to the local target."
                )
            if pcx_id is not None:
                table["Routes"][index] = self._peering_route(ctx, table, pcx_id, destination)
            self._put(ctx, table)
        self.kick()
        log.info("route %s of %s now -> %s", destination, rtb_id, pcx_id or "local")
        return {}

    def delete_route(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        check_dry_run(params)
        self._touch(ctx)
        destination = _destination(params)
        rtb_id = params["RouteTableId"]
        with self.store.transaction():
            table = self._route_table(ctx, rtb_id)
            index = _route_index(table, destination)
            if index is None:
                raise CommonError(
                    "InvalidRoute.NotFound",
                    f"no route with destination-cidr-block {destination} in route table {rtb_id}",
                )
            if _is_local(table["Routes"][index]):
                raise invalid(f"cannot remove local route {destination} in route table {rtb_id}")
            del table["Routes"][index]
            self._put(ctx, table)
        self.kick()
        log.info("route %s removed from %s", destination, rtb_id)
        return {}
