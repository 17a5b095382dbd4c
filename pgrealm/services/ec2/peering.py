"""EC2 VPC peering connections: request, accept, reject, delete and describe them.

One record per peering, under account "" and region "" (model/network.py has its
statuses and their moves); each side sees it from its own account and Region. The rules
are the VPC Peering Guide's
(https://docs.aws.amazon.com/vpc/latest/peering/create-vpc-peering-connection.html,
.../accept-vpc-peering-connection.html, .../delete-vpc-peering-connection.html):

- a request whose VPCs overlap, or whose accepter VPC does not exist in the account and
  Region named, is accepted and then ``failed``; in the requester's own account and
  Region a missing VPC is refused at once, as EC2 can check it there;
- only the accepter's owner accepts or rejects, in the accepter's Region;
- either owner deletes an active peering; only the requester withdraws a pending one;
- a request unanswered for 7 days expires.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from pgrealm.model.network import (
    PeeringStatus,
    can_move,
    cidrs_overlap,
    peering_joins,
    peering_status,
    vpc_cidrs,
)
from pgrealm.services.context import RequestContext
from pgrealm.services.ec2._base import Ec2Base
from pgrealm.services.ec2._common import (
    PCX,
    VPC,
    Getter,
    check_dry_run,
    dependency_violation,
    filtered,
    invalid,
    peering_not_found,
    public,
    tag_specs,
    vpc_not_found,
)
from pgrealm.services.ec2.records import new_peering, peering_side
from pgrealm.services.errors import CommonError
from pgrealm.services.pagination import page
from pgrealm.store import Doc, Store

__all__ = ["PeeringOps", "end_peerings", "visible_to"]

log = logging.getLogger(__name__)

_S = PeeringStatus
_LIVE = (_S.PENDING_ACCEPTANCE, _S.ACTIVE)
_REQUEST_LIFETIME = timedelta(days=7)
# EC2's words for a request it accepted but cannot carry out.
_FAILED = "Failed due to incorrect VPC-ID, Account ID, or overlapping CIDR range"
_REQUESTER, _ACCEPTER = "RequesterVpcInfo", "AccepterVpcInfo"
# The options an active peering shows on each side (pgrealm offers no way to change them).
_OPTIONS = {
    "AllowDnsResolutionFromRemoteVpc": False,
    "AllowEgressFromLocalClassicLinkToRemoteVpc": False,
    "AllowEgressFromLocalVpcToRemoteClassicLink": False,
}


def _side(side: str, key: str) -> Getter:
    return lambda d: [d[side][key]] if key in d[side] else []


_FILTERS: dict[str, Getter] = {
    "vpc-peering-connection-id": lambda d: [d["VpcPeeringConnectionId"]],
    "status-code": lambda d: [d["Status"]["Code"]],
    "status-message": lambda d: [d["Status"].get("Message", "")],
    "expiration-time": lambda d: (
        [d["ExpirationTime"].strftime("%Y-%m-%dT%H:%M:%S.000Z")] if "ExpirationTime" in d else []
    ),
    **{
        f"{prefix}-vpc-info.{name}": _side(side, key)
        for prefix, side in (("requester", _REQUESTER), ("accepter", _ACCEPTER))
        for name, key in (("vpc-id", "VpcId"), ("owner-id", "OwnerId"), ("cidr-block", "CidrBlock"))
    },
}


def _is(ctx: RequestContext, info: dict[str, Any]) -> bool:
    return bool(info["OwnerId"] == ctx.account_id and info["Region"] == ctx.region)


def visible_to(ctx: RequestContext, doc: Doc) -> bool:
    """Whether the caller sees the peering: its requester, or its accepter once the request
    reached it (a failed request never did)."""
    if _is(ctx, doc[_REQUESTER]):
        return True
    return _is(ctx, doc[_ACCEPTER]) and doc["Status"]["Code"] != _S.FAILED


def _shape(doc: Doc) -> dict[str, Any]:
    out = public(doc)
    status = peering_status(doc)
    if status != doc["Status"]["Code"]:
        out["Status"] = {"Code": status, "Message": "Expired"}
    if "ExpirationTime" in out:
        out["ExpirationTime"] = datetime.fromisoformat(out["ExpirationTime"])
    if status == _S.ACTIVE:
        for side in (_REQUESTER, _ACCEPTER):
            out[side] = {**out[side], "PeeringOptions": dict(_OPTIONS)}
    return out


def _key(info: dict[str, Any]) -> tuple[str, str, str]:
    return (info["OwnerId"], info["Region"], info["VpcId"])


def end_peerings(store: Store, account: str, region: str, vpc_id: str) -> list[str]:
    """The peerings a VPC being deleted takes with it, marked deleted (call inside the
    VPC's delete transaction). As the Peering Guide says, deleting a VPC deletes its active
    peerings and the requests it made, but not a request another account made to it:
    that one must be rejected first (DependencyViolation)."""
    ended = []
    for doc in store.list(PCX, "", ""):
        if not peering_joins(doc, account, region, vpc_id) or peering_status(doc) not in _LIVE:
            continue
        asked_by_other = doc[_REQUESTER]["OwnerId"] != account
        if peering_status(doc) == _S.PENDING_ACCEPTANCE and asked_by_other:
            raise dependency_violation("vpc", vpc_id)
        doc["Status"] = {"Code": _S.DELETED.value, "Message": f"Deleted by {account}"}
        doc.pop("ExpirationTime", None)
        store.put(PCX, "", "", doc["VpcPeeringConnectionId"], doc)
        ended.append(doc["VpcPeeringConnectionId"])
    return ended


class PeeringOps(Ec2Base):
    """VPC peering connection operations (mixed into Ec2Service)."""

    def _peering(self, ctx: RequestContext, pcx_id: str) -> Doc:
        doc = self.store.get(PCX, "", "", pcx_id)
        if doc is None or not visible_to(ctx, doc):
            raise peering_not_found(pcx_id)
        return doc

    def _live_between(self, requester: dict[str, Any], accepter: dict[str, Any]) -> Doc | None:
        """The pending or active peering already joining these two VPCs: EC2 answers a
        repeated request with it, and refuses one in the other direction."""
        wanted = (_key(requester), _key(accepter))
        for doc in self.store.list(PCX, "", ""):
            if peering_status(doc) not in _LIVE:
                continue
            pair = (_key(doc[_REQUESTER]), _key(doc[_ACCEPTER]))
            if pair == wanted:
                return doc
            if pair == wanted[::-1]:
                raise CommonError(
                    "VpcPeeringConnectionAlreadyExists",
                    f"A VPC peering connection between {requester['VpcId']} and "
                    f"{accepter['VpcId']} already exists: {doc['VpcPeeringConnectionId']}.",
                )
        return None

    def _move(self, doc: Doc, wanted: _S, message: str) -> None:
        """Move the peering to ``wanted`` (InvalidStateTransition if its table forbids)."""
        current = peering_status(doc)
        if not can_move(current, wanted):
            raise CommonError(
                "InvalidStateTransition",
                f"The VPC peering connection '{doc['VpcPeeringConnectionId']}' is {current} and "
                f"cannot become {wanted.value}.",
            )
        doc["Status"] = {"Code": wanted.value, "Message": message}
        doc.pop("ExpirationTime", None)
        self.store.put(PCX, "", "", doc["VpcPeeringConnectionId"], doc)
        log.info("VPC peering %s %s (%s)", doc["VpcPeeringConnectionId"], wanted.value, message)

    # -- operations -----------------------------------------------------------------
    def create_vpc_peering_connection(
        self, ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        check_dry_run(params)
        self._touch(ctx)
        peer_vpc_id = params.get("PeerVpcId")
        if not peer_vpc_id:
            raise CommonError(
                "MissingParameter", "The request must contain the parameter peerVpcId"
            )
        owner = params.get("PeerOwnerId") or ctx.account_id
        region = params.get("PeerRegion") or ctx.region
        tags = tag_specs(params, "vpc-peering-connection")
        with self.store.transaction():
            vpc = self._vpc(ctx, params["VpcId"])
            here = (owner, region) == (ctx.account_id, ctx.region)
            if here and peer_vpc_id == vpc["VpcId"]:
                raise invalid(f"The VPC {peer_vpc_id} cannot be peered with itself.")
            peer = self.store.get(VPC, owner, region, peer_vpc_id)
            if peer is None and here:
                raise vpc_not_found(peer_vpc_id)
            requester = peering_side(ctx.account_id, ctx.region, vpc["VpcId"], vpc)
            accepter = peering_side(owner, region, peer_vpc_id, peer)
            existing = self._live_between(requester, accepter)
            if existing is not None:
                return {"VpcPeeringConnection": _shape(existing)}
            doc = self._request(requester, accepter, vpc, peer, tags)
            self.store.put(PCX, "", "", doc["VpcPeeringConnectionId"], doc)
        self.kick()
        log.info(
            "VPC peering %s requested: %s -> %s/%s/%s (%s)",
            doc["VpcPeeringConnectionId"],
            vpc["VpcId"],
            owner,
            region,
            peer_vpc_id,
            doc["Status"]["Code"],
        )
        return {"VpcPeeringConnection": _shape(doc)}

    def _request(
        self,
        requester: dict[str, Any],
        accepter: dict[str, Any],
        vpc: Doc,
        peer: Doc | None,
        tags: list[Any],
    ) -> Doc:
        if peer is None or cidrs_overlap(vpc_cidrs(vpc), vpc_cidrs(peer)):
            status = {"Code": _S.FAILED.value, "Message": _FAILED}
            return new_peering(requester, accepter, status, tags, None)
        status = {
            "Code": _S.PENDING_ACCEPTANCE.value,
            "Message": f"Pending Acceptance by {accepter['OwnerId']}",
        }
        expires = (datetime.now(UTC) + _REQUEST_LIFETIME).isoformat()
        return new_peering(requester, accepter, status, tags, expires)

    def accept_vpc_peering_connection(
        self, ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        check_dry_run(params)
        self._touch(ctx)
        pcx_id = params["VpcPeeringConnectionId"]
        with self.store.transaction():
            doc = self._peering(ctx, pcx_id)
            if not _is(ctx, doc[_ACCEPTER]):
                raise CommonError(
                    "OperationNotPermitted",
                    f"User ({ctx.account_id}) cannot accept peering {pcx_id}",
                )
            self._move(doc, _S.ACTIVE, "Active")
        self.kick()
        return {"VpcPeeringConnection": _shape(doc)}

    def reject_vpc_peering_connection(
        self, ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        check_dry_run(params)
        self._touch(ctx)
        pcx_id = params["VpcPeeringConnectionId"]
        with self.store.transaction():
            doc = self._peering(ctx, pcx_id)
            if not _is(ctx, doc[_ACCEPTER]):
                raise CommonError(
                    "OperationNotPermitted",
                    f"User ({ctx.account_id}) cannot reject peering {pcx_id}",
                )
            self._move(doc, _S.REJECTED, f"Rejected by {ctx.account_id}")
        self.kick()
        return {"Return": True}

    def delete_vpc_peering_connection(
        self, ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        check_dry_run(params)
        self._touch(ctx)
        pcx_id = params["VpcPeeringConnectionId"]
        with self.store.transaction():
            doc = self._peering(ctx, pcx_id)
            pending = peering_status(doc) == _S.PENDING_ACCEPTANCE
            if pending and not _is(ctx, doc[_REQUESTER]):
                # The accepter answers a request by rejecting it; only its sender withdraws it.
                raise CommonError(
                    "OperationNotPermitted",
                    f"User ({ctx.account_id}) cannot delete peering {pcx_id}",
                )
            self._move(doc, _S.DELETED, f"Deleted by {ctx.account_id}")
        self.kick()
        return {"Return": True}

    def describe_vpc_peering_connections(
        self, ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        check_dry_run(params)
        self._touch(ctx)
        ids = params.get("VpcPeeringConnectionIds")
        if ids:
            docs = [self._peering(ctx, i) for i in dict.fromkeys(ids)]
        else:
            docs = [d for d in self.store.list(PCX, "", "") if visible_to(ctx, d)]
        shapes = filtered([_shape(d) for d in docs], params.get("Filters"), _FILTERS)
        return page("ec2", "DescribeVpcPeeringConnections", shapes, params)
