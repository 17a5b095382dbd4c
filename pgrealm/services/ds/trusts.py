"""Trusts with other forests (CreateTrust, DescribeTrusts, VerifyTrust, UpdateTrust,
DeleteTrust) and conditional forwarders, mixed into ``DsService``.

The API records what is asked and answers at once; the directory reconciler makes this
directory's side of the trust with samba-tool and moves its TrustState on
(model/trusts.py). The trust password is sealed in the record until this side exists.
Conditional forwarders become the DCs' DNS forwarder list: Samba 4.17 has one list for
every name it does not serve, so each forwarder's addresses answer for all of them.

Refused rather than pretended: selective authentication, which pgrealm has not shown to
work on Samba 4.17 (a trust with CROSS_ORGANIZATION set, samba-tool's
``--cross-organisation``, is made, but whether its KDC then checks the "Allowed to
Authenticate" right could not be established), and IPv6 forwarders (pgrealm's VPCs are
IPv4 only).
"""

from __future__ import annotations

import ipaddress
import logging
from datetime import datetime
from typing import Any

from pgrealm.model.directory import now
from pgrealm.model.trusts import LIVE, TrustState, put_forwarder, set_trust_state
from pgrealm.services.base import new_id
from pgrealm.services.context import RequestContext
from pgrealm.services.ds._mixin import DsMixin
from pgrealm.services.ds.rules import require_microsoft_ad
from pgrealm.services.errors import ServiceError
from pgrealm.services.pagination import page
from pgrealm.store import Doc
from pgrealm.store.kinds import Kind

__all__ = ["TrustsMixin"]

log = logging.getLogger(__name__)

_KIND = Kind.DIRECTORY
_VERIFIABLE = {
    TrustState.CREATED.value,
    TrustState.VERIFIED.value,
    TrustState.VERIFY_FAILED.value,
    TrustState.UPDATED.value,
}
# Measured (tests/acceptance/test_trusts.py): with the trust's TDO marked
# TRUST_ATTRIBUTE_CROSS_ORGANIZATION, Samba 4.17's KDC answers a TGS request made with
# the other forest's cross-realm TGT with KRB5KRB_AP_ERR_NOT_US, before any access check
# (granting "Allowed to Authenticate" was not tried): the user gets no ticket at all.
_NO_SELECTIVE_AUTH = (
    "Selective authentication is not supported: pgrealm's Samba 4.17 domain controllers "
    'refuse every ticket across a trust that has it ("The ticket isn\'t for us"), so no '
    "user of the other forest could sign in."
)


def _live(trust: Doc) -> bool:
    return TrustState(trust["aws"]["TrustState"]) in LIVE


def _forwarder_addresses(params: dict[str, Any], member: str) -> list[str]:
    if params.get(member.replace("Ip", "Ipv6")):
        raise ServiceError(
            "UnsupportedOperationException",
            "IPv6 DNS addresses are not supported: pgrealm's VPCs are IPv4 only.",
        )
    addresses = list(params.get(member) or [])
    for address in addresses:
        try:
            ipaddress.IPv4Address(address)
        except ValueError:
            raise ServiceError(
                "InvalidParameterException", f"Invalid IP address {address!r} in {member}."
            ) from None
    return addresses


class TrustsMixin(DsMixin):
    """Trusts and conditional forwarders of the caller's Managed AD directories."""

    # -- trusts ----------------------------------------------------------------------------
    def create_trust(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        directory_id, remote = params["DirectoryId"], params["RemoteDomainName"].lower()
        if params.get("SelectiveAuth") == "Enabled":
            raise ServiceError("UnsupportedOperationException", _NO_SELECTIVE_AUTH)
        forwarders = _forwarder_addresses(params, "ConditionalForwarderIpAddrs")
        trust_id = new_id("t-", 10)
        with self.store.transaction():
            doc = self._active(ctx, directory_id)
            require_microsoft_ad(doc, "A trust")
            if remote == doc["aws"]["Name"].lower():
                raise ServiceError(
                    "InvalidParameterException", "A directory cannot trust its own domain."
                )
            if any(
                t["aws"]["RemoteDomainName"].lower() == remote and _live(t)
                for t in doc.get("trusts", [])
            ):
                raise ServiceError(
                    "EntityAlreadyExistsException",
                    f"A trust with {remote} already exists for directory {directory_id}.",
                )
            stamp = now().isoformat()
            trust = {
                "aws": {
                    "DirectoryId": directory_id,
                    "TrustId": trust_id,
                    "RemoteDomainName": params["RemoteDomainName"],
                    "TrustType": params.get("TrustType", "Forest"),
                    "TrustDirection": params["TrustDirection"],
                    "TrustState": TrustState.CREATING.value,
                    "CreatedDateTime": stamp,
                    "LastUpdatedDateTime": stamp,
                    "StateLastUpdatedDateTime": stamp,
                    "SelectiveAuth": "Disabled",
                },
                "sealed_password": self.sealer.seal(params["TrustPassword"]),
            }

            doc["trusts"] = [*doc.get("trusts", []), trust]
            if forwarders:
                put_forwarder(doc, params["RemoteDomainName"], forwarders)
            self.store.put(_KIND, ctx.account_id, ctx.region, directory_id, doc)
        log.info("directory %s: trust %s with %s requested", directory_id, trust_id, remote)
        self.kick()
        return {"TrustId": trust_id}

    def describe_trusts(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        trusts = [t["aws"] for t in self._listed(ctx, params, "trusts", "TrustIds")]
        return page("ds", "DescribeTrusts", [_shown(t) for t in trusts], params)

    def verify_trust(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        doc, trust = self._trust(ctx, params["TrustId"])
        state = trust["aws"]["TrustState"]
        if state not in _VERIFIABLE:
            raise ServiceError(
                "ClientException", f"Trust {params['TrustId']} cannot be verified while {state}."
            )
        self._move_trust(ctx, doc, params["TrustId"], TrustState.VERIFYING)
        return {"TrustId": params["TrustId"]}

    def update_trust(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        self._trust(ctx, params["TrustId"])
        if params.get("SelectiveAuth") == "Enabled":
            raise ServiceError("ClientException", _NO_SELECTIVE_AUTH)
        return {"RequestId": ctx.request_id, "TrustId": params["TrustId"]}

    def delete_trust(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        doc, trust = self._trust(ctx, params["TrustId"])
        if trust["aws"]["TrustState"] == TrustState.DELETING.value:
            raise ServiceError("ClientException", f"Trust {params['TrustId']} is being deleted.")
        remote = trust["aws"]["RemoteDomainName"]
        self._move_trust(
            ctx, doc, params["TrustId"], TrustState.DELETING,
            drop_forwarder=remote if params.get("DeleteAssociatedConditionalForwarder") else None,
        )  # fmt: skip
        return {"TrustId": params["TrustId"]}

    def _trust(self, ctx: RequestContext, trust_id: str) -> tuple[Doc, Doc]:
        for doc in self.store.list(_KIND, ctx.account_id, ctx.region):
            for trust in doc.get("trusts", []):
                if trust["aws"]["TrustId"] == trust_id:
                    return doc, trust
        raise ServiceError("EntityDoesNotExistException", f"Trust {trust_id} does not exist.")

    def _move_trust(
        self,
        ctx: RequestContext,
        doc: Doc,
        trust_id: str,
        state: TrustState,
        drop_forwarder: str | None = None,
    ) -> None:
        def change(d: Doc) -> None:
            for trust in d.get("trusts", []):
                if trust["aws"]["TrustId"] == trust_id:
                    set_trust_state(trust, state)
            if drop_forwarder:
                d["conditional_forwarders"] = [
                    f
                    for f in d.get("conditional_forwarders", [])
                    if f["RemoteDomainName"].lower() != drop_forwarder.lower()
                ]

        self.store.update(_KIND, ctx.account_id, ctx.region, doc["aws"]["DirectoryId"], change)
        self.kick()

    # -- conditional forwarders -------------------------------------------------------------
    def create_conditional_forwarder(
        self, ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        return self._set_forwarder(ctx, params, exists=False)

    def update_conditional_forwarder(
        self, ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        return self._set_forwarder(ctx, params, exists=True)

    def describe_conditional_forwarders(
        self, ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        doc = self._active(ctx, params["DirectoryId"])
        forwarders = doc.get("conditional_forwarders", [])
        wanted = [n.lower() for n in params.get("RemoteDomainNames") or []]
        if wanted:
            missing = set(wanted) - {f["RemoteDomainName"].lower() for f in forwarders}
            if missing:
                raise ServiceError(
                    "EntityDoesNotExistException",
                    f"No conditional forwarder for {sorted(missing)[0]} exists.",
                )
            forwarders = [f for f in forwarders if f["RemoteDomainName"].lower() in wanted]
        return {"ConditionalForwarders": forwarders}

    def delete_conditional_forwarder(
        self, ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        remote = params["RemoteDomainName"]
        with self.store.transaction():
            doc = self._active(ctx, params["DirectoryId"])
            if _forwarder(doc, remote) is None:
                raise ServiceError(
                    "EntityDoesNotExistException", f"No conditional forwarder for {remote} exists."
                )

            doc["conditional_forwarders"] = [
                f
                for f in doc.get("conditional_forwarders", [])
                if f["RemoteDomainName"].lower() != remote.lower()
            ]
            self.store.put(_KIND, ctx.account_id, ctx.region, params["DirectoryId"], doc)
        self.kick()
        return {}

    def _set_forwarder(
        self, ctx: RequestContext, params: dict[str, Any], exists: bool
    ) -> dict[str, Any]:
        remote = params["RemoteDomainName"]
        addresses = _forwarder_addresses(params, "DnsIpAddrs")
        if not addresses:
            raise ServiceError("InvalidParameterException", "DnsIpAddrs must name an address.")
        with self.store.transaction():
            doc = self._active(ctx, params["DirectoryId"])
            require_microsoft_ad(doc, "A conditional forwarder")
            found = _forwarder(doc, remote) is not None
            if found != exists:
                code = "EntityDoesNotExistException" if exists else "EntityAlreadyExistsException"
                verb = "does not exist" if exists else "already exists"
                raise ServiceError(code, f"A conditional forwarder for {remote} {verb}.")
            put_forwarder(doc, remote, addresses)
            self.store.put(_KIND, ctx.account_id, ctx.region, params["DirectoryId"], doc)
        self.kick()
        return {}


def _forwarder(doc: Doc, remote: str) -> Doc | None:
    for forwarder in doc.get("conditional_forwarders", []):
        if forwarder["RemoteDomainName"].lower() == remote.lower():
            return dict(forwarder)
    return None


def _shown(trust: Doc) -> Doc:
    out = dict(trust)
    for field in ("CreatedDateTime", "LastUpdatedDateTime", "StateLastUpdatedDateTime"):
        out[field] = datetime.fromisoformat(out[field])
    return out
