"""RDS DB subnet groups: the subnets (two AZs at least) an instance's address comes from.

The account's default VPC gives every account and region a ``default`` group, as on RDS;
it is made from the VPC's default subnets when asked for, not stored.
"""

from __future__ import annotations

from typing import Any

from pgrealm.services.base import Service, sibling
from pgrealm.services.context import RequestContext
from pgrealm.services.ec2.service import Ec2Service
from pgrealm.services.errors import ServiceError
from pgrealm.services.pagination import page
from pgrealm.store import Doc, Store
from pgrealm.store.kinds import Kind

__all__ = ["SUBNET_GROUP", "SubnetGroupsMixin"]

SUBNET_GROUP = Kind.DB_SUBNET_GROUP
_INSTANCE = Kind.DB_INSTANCE


class SubnetGroupsMixin:
    """The DB subnet group operations, mixed into ``RdsService``."""

    store: Store
    registry: dict[str, Service]

    def create_db_subnet_group(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        name = params["DBSubnetGroupName"].lower()
        network = sibling(self.registry, "ec2", Ec2Service).network
        try:
            subnets = network.get_subnets(ctx.account_id, ctx.region, params["SubnetIds"])
        except ServiceError as exc:
            raise ServiceError("InvalidSubnet", exc.message) from exc
        if len({s["VpcId"] for s in subnets}) != 1:
            raise ServiceError("InvalidSubnet", "Subnets must all be in the same VPC.")
        if len({s["AvailabilityZone"] for s in subnets}) < 2:
            raise ServiceError(
                "DBSubnetGroupDoesNotCoverEnoughAZs",
                "The DB subnet group doesn't meet Availability Zone (AZ) coverage requirement. "
                "Current AZ coverage: " + subnets[0]["AvailabilityZone"] + ". Add subnets to "
                "cover at least 2 AZs.",
            )
        group = {
            **_subnet_group_shape(name, params["DBSubnetGroupDescription"], subnets),
            "DBSubnetGroupArn": f"arn:aws:rds:{ctx.region}:{ctx.account_id}:subgrp:{name}",
            "SupportedNetworkTypes": ["IPV4"],
            "_tags": params.get("Tags", []),  # not in the shape: ListTagsForResource
        }
        if not self.store.insert(SUBNET_GROUP, ctx.account_id, ctx.region, name, group):
            raise ServiceError(
                "DBSubnetGroupAlreadyExistsFault", f"The DB subnet group '{name}' already exists."
            )
        return {"DBSubnetGroup": _public(group)}

    def describe_db_subnet_groups(
        self, ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        name = params.get("DBSubnetGroupName")
        if name:
            return {"DBSubnetGroups": [_public(self._subnet_group(ctx, name))]}
        groups = [_public(g) for g in self.store.list(SUBNET_GROUP, ctx.account_id, ctx.region)]
        return page("rds", "DescribeDBSubnetGroups", groups, params)

    def delete_db_subnet_group(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        name = params["DBSubnetGroupName"].lower()
        self._subnet_group(ctx, name)
        users = [
            d["aws"]["DBInstanceIdentifier"]
            for d in self.store.list(_INSTANCE, ctx.account_id, ctx.region)
            if d["aws"].get("DBSubnetGroup", {}).get("DBSubnetGroupName") == name
        ]
        if users:
            raise ServiceError(
                "InvalidDBSubnetGroupStateFault",
                f"Cannot delete the subnet group '{name}' because at least one database "
                "instance: " + users[0] + " is still using it.",
            )
        self.store.delete(SUBNET_GROUP, ctx.account_id, ctx.region, name)
        return {}

    def _subnet_group(self, ctx: RequestContext, name: str) -> Doc:
        group = self.store.get(SUBNET_GROUP, ctx.account_id, ctx.region, name.lower())
        if group is None:
            raise ServiceError("DBSubnetGroupNotFoundFault", f"DBSubnetGroup '{name}' not found.")
        return group

    def _default_subnet_group(self, ctx: RequestContext) -> Doc:
        network = sibling(self.registry, "ec2", Ec2Service).network
        subnets = network.default_subnets(ctx.account_id, ctx.region)
        if not subnets:
            raise ServiceError(
                "DBSubnetGroupNotFoundFault",
                "Default DBSubnetGroup not found: the default VPC was deleted.",
            )
        return _subnet_group_shape("default", "default", subnets)


def _subnet_group_shape(name: str, description: str, subnets: list[Doc]) -> Doc:
    return {
        "DBSubnetGroupName": name,
        "DBSubnetGroupDescription": description,
        "VpcId": subnets[0]["VpcId"],
        "SubnetGroupStatus": "Complete",
        "Subnets": [
            {
                "SubnetIdentifier": s["SubnetId"],
                "SubnetAvailabilityZone": {"Name": s["AvailabilityZone"]},
                "SubnetStatus": "Active",
            }
            for s in subnets
        ],
    }


def _public(group: Doc) -> Doc:
    """The DBSubnetGroup shape: without what the document keeps beside it (its tags)."""
    return {k: v for k, v in group.items() if not k.startswith("_")}
