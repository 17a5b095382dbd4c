"""The base the EC2 operation mixins share: the Network, and lookups that raise EC2 errors."""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Callable
from typing import Any

from pgrealm.services.base import Service
from pgrealm.services.context import RequestContext
from pgrealm.services.ec2._common import (
    SG,
    SUBNET,
    VPC,
    by_client_token,
    group_not_found,
    subnet_not_found,
    vpc_not_found,
)
from pgrealm.services.ec2.network import Network
from pgrealm.store import Doc, Store

__all__ = ["Ec2Base"]

log = logging.getLogger(__name__)


class Ec2Base(Service):
    """Holds the :class:`Network` and the per-request lookups."""

    network: Network

    def __init__(
        self,
        store: Store,
        registry: dict[str, Service],
        host_block: ipaddress.IPv4Network | None = None,
        kick: Callable[[], None] | None = None,
    ) -> None:
        super().__init__(store, registry)
        # Wakes the network reconciler: a changed rule, route or peering applies within a second.
        self.kick = kick or (lambda: None)
        if host_block is None:
            self.network = Network.from_env(store)
        else:
            self.network = Network(store, host_block)

    def _touch(self, ctx: RequestContext) -> None:
        """Every account+region has its default VPC from its first EC2 request on."""
        self.network.ensure_defaults(ctx.account_id, ctx.region)

    def _vpc(self, ctx: RequestContext, vpc_id: str) -> Doc:
        doc = self.store.get(VPC, ctx.account_id, ctx.region, vpc_id)
        if doc is None:
            raise vpc_not_found(vpc_id)
        return doc

    def _subnet(self, ctx: RequestContext, subnet_id: str) -> Doc:
        doc = self.store.get(SUBNET, ctx.account_id, ctx.region, subnet_id)
        if doc is None:
            raise subnet_not_found(subnet_id)
        return doc

    def _group(self, ctx: RequestContext, group_id: str) -> Doc:
        doc = self.store.get(SG, ctx.account_id, ctx.region, group_id)
        if doc is None:
            raise group_not_found(group_id)
        return doc

    def _vpcs(self, ctx: RequestContext) -> list[Doc]:
        return self.store.list(VPC, ctx.account_id, ctx.region)

    def _subnets(self, ctx: RequestContext) -> list[Doc]:
        return self.store.list(SUBNET, ctx.account_id, ctx.region)

    def _groups(self, ctx: RequestContext) -> list[Doc]:
        return self.store.list(SG, ctx.account_id, ctx.region)

    def _create_in_vpc(
        self,
        ctx: RequestContext,
        params: dict[str, Any],
        kind: str,
        id_field: str,
        build: Callable[[Doc], Doc],
    ) -> Doc:
        """A resource of ``params["VpcId"]`` made by ``build(vpc)``, with EC2's ClientToken
        idempotency: the same token again answers what the first call made."""
        token = params.get("ClientToken")
        with self.store.transaction():
            vpc = self._vpc(ctx, params["VpcId"])
            existing = by_client_token(
                self.store.list(kind, ctx.account_id, ctx.region), token, vpc["VpcId"]
            )
            if existing is not None:
                return existing
            doc = build(vpc)
            if token:
                doc["_client_token"] = token
            self.store.put(kind, ctx.account_id, ctx.region, doc[id_field], doc)
        self.kick()
        log.info("%s %s created in %s", kind, doc[id_field], vpc["VpcId"])
        return doc
