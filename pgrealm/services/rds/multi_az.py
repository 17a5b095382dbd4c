"""Multi-AZ deployments, mixed into ``RdsService``: --multi-az on create and modify, and
reboot-db-instance --force-failover. The db-instance reconciler makes the standby real and
fails over (reconcile/db_multi_az.py).

The standby is placed in a subnet of the instance's DB subnet group in another zone than
the primary's (a subnet group always covers two zones), with the instance's security
groups, and SecondaryAvailabilityZone names that zone.
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any

from pgrealm.model.multi_az import new_standby, standby
from pgrealm.services.context import RequestContext
from pgrealm.services.errors import CommonError
from pgrealm.store import Doc, Store
from pgrealm.store.kinds import Kind

__all__ = ["MultiAzMixin", "add_standby", "drop_standby"]

_INSTANCE = Kind.DB_INSTANCE


class MultiAzMixin:
    store: Store

    if TYPE_CHECKING:  # RdsService's, which this is mixed into

        def _instance(self, ctx: RequestContext, ident: str) -> Doc: ...
        def _allocate(self, ctx: RequestContext, doc: Doc, subnet_id: str) -> tuple[str, str]: ...
        def _release(self, ctx: RequestContext, address: str) -> None: ...

    def _with_standby(self, doc: Doc, params: dict[str, Any]) -> None:
        """create (or restore) with MultiAZ: the new instance's standby, to be placed."""
        if not params.get("MultiAZ"):
            return
        if params.get("AvailabilityZone"):
            raise CommonError(
                "InvalidParameterCombination",
                "Requesting a specific availability zone is not valid for Multi-AZ instances.",
            )
        add_standby(doc)

    def _place_standby(self, ctx: RequestContext, doc: Doc) -> None:
        """Give the new standby its address in its subnet (the primary has one already)."""
        spare = standby(doc)
        if spare is None or spare.get("address"):
            return
        vpc_ip, address = self._allocate(ctx, doc, spare["subnet_id"])
        ident = doc["aws"]["DBInstanceIdentifier"]

        def placed(d: Doc) -> None:
            if standby(d) is not None:
                d["standby"].update(address=address, vpc_ip=vpc_ip)

        if self.store.update(_INSTANCE, ctx.account_id, ctx.region, ident, placed) is None:
            self._release(ctx, address)
        doc["standby"].update(address=address, vpc_ip=vpc_ip)

    def _standby_address(self, ctx: RequestContext, doc: Doc) -> tuple[str, str]:
        """modify --multi-az: the new standby's address, taken before the record changes."""
        probe = copy.deepcopy(doc)
        add_standby(probe)
        return self._allocate(ctx, doc, probe["standby"]["subnet_id"])

    def _multi_az_change(self, doc: Doc, params: dict[str, Any]) -> str | None:
        """modify --multi-az / --no-multi-az: "add", "drop", or None for no change."""
        wanted = params.get("MultiAZ")
        if wanted is None or bool(wanted) == bool(doc["aws"].get("MultiAZ")):
            return None
        if wanted and doc.get("replica_of"):
            raise CommonError(
                "InvalidParameterCombination",
                "pgrealm does not offer Multi-AZ read replicas: promote the replica first.",
            )
        return "add" if wanted else "drop"

    @staticmethod
    def _check_failover(ident: str, doc: Doc) -> None:
        """reboot-db-instance --force-failover needs a standby to take over."""
        if not doc["aws"].get("MultiAZ"):
            raise CommonError(
                "InvalidParameterCombination",
                f"ForceFailover needs a Multi-AZ instance, and {ident} is not one.",
            )


def add_standby(doc: Doc) -> None:
    """The record's standby, in the first subnet of its group in another zone than the
    primary's (its address is given next)."""
    aws = doc["aws"]
    zone = aws["AvailabilityZone"]
    others = [
        s for s in aws["DBSubnetGroup"]["Subnets"] if s["SubnetAvailabilityZone"]["Name"] != zone
    ]
    if not others:
        raise CommonError(
            "InvalidParameterCombination",
            f"DB subnet group {aws['DBSubnetGroup']['DBSubnetGroupName']} has no subnet in "
            f"another availability zone than {zone} for the standby.",
        )
    other = others[0]
    other_zone = other["SubnetAvailabilityZone"]["Name"]
    doc["standby"] = new_standby(doc, other["SubnetIdentifier"], other_zone)
    aws["MultiAZ"] = True
    aws["SecondaryAvailabilityZone"] = other_zone


def drop_standby(doc: Doc) -> None:
    """modify --no-multi-az: the reconciler removes the standby, then the record's."""
    spare = standby(doc)
    if spare is not None:
        spare["desired"] = "absent"
        spare["ready"] = False
