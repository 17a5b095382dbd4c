"""CreateTrust, DescribeTrusts, VerifyTrust, UpdateTrust, DeleteTrust and the conditional
forwarder operations against a real Store: what they record and show, and AWS's
refusals, each changing nothing. The trust itself (samba-tool) is the reconciler's."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from pgrealm.model.trusts import TrustState, dns_forwarders, runs_trusts, set_trust_state
from pgrealm.services.ds.service import KIND
from pgrealm.services.errors import ServiceError
from tests.fixtures.ds_service import REGION, DsStack, ds_stack

OWNER = "111111111111"
REMOTE = "onprem.example.com"
SECRET = "Tr-" + "x7" * 8


@pytest.fixture
def stack(tmp_path: Path) -> DsStack:
    return ds_stack(tmp_path)


@pytest.fixture
def did(stack: DsStack) -> str:
    return stack.directory(OWNER)


def trust(stack: DsStack, did: str, **extra: Any) -> str:
    params = {
        "DirectoryId": did, "RemoteDomainName": REMOTE, "TrustPassword": SECRET,
        "TrustDirection": "Two-Way", "TrustType": "Forest",
        "ConditionalForwarderIpAddrs": ["192.168.0.4", "192.168.128.4"], **extra,
    }  # fmt: skip
    return str(stack.ds.create_trust(stack.ctx(OWNER), params)["TrustId"])


def refused(call: Any, params: dict[str, Any], stack: DsStack) -> ServiceError:
    before = stack.store.get(KIND, OWNER, REGION, params.get("DirectoryId", "")) or {}
    with pytest.raises(ServiceError) as exc:
        call(stack.ctx(OWNER), params)
    if params.get("DirectoryId"):
        assert (stack.store.get(KIND, OWNER, REGION, params["DirectoryId"]) or {}) == before
    return exc.value


def test_a_new_trust_is_creating_with_its_forwarder(stack: DsStack, did: str) -> None:
    trust_id = trust(stack, did)
    [shown] = stack.ds.describe_trusts(stack.ctx(OWNER), {"DirectoryId": did})["Trusts"]
    assert shown["TrustId"] == trust_id and shown["TrustState"] == "Creating"
    assert (shown["TrustDirection"], shown["TrustType"]) == ("Two-Way", "Forest")
    assert "TrustPassword" not in shown and SECRET not in repr(
        stack.store.get(KIND, OWNER, REGION, did)
    )
    forwarders = stack.ds.describe_conditional_forwarders(stack.ctx(OWNER), {"DirectoryId": did})
    assert forwarders["ConditionalForwarders"][0]["DnsIpAddrs"] == ["192.168.0.4", "192.168.128.4"]
    doc = stack.store.get(KIND, OWNER, REGION, did)
    assert runs_trusts(doc) and dns_forwarders(doc) == ("192.168.0.4", "192.168.128.4")


@pytest.mark.parametrize(
    ("extra", "code"),
    [
        ({"SelectiveAuth": "Enabled"}, "UnsupportedOperationException"),
        ({"RemoteDomainName": "corp.example.com"}, "InvalidParameterException"),
        ({"ConditionalForwarderIpAddrs": ["not-an-ip"]}, "InvalidParameterException"),
        ({"ConditionalForwarderIpv6Addrs": ["fd00::1"]}, "UnsupportedOperationException"),
        ({"DirectoryId": "d-0000000000"}, "EntityDoesNotExistException"),
    ],
)
def test_bad_trusts_are_refused(stack: DsStack, did: str, extra: dict[str, Any], code: str) -> None:
    params = {"DirectoryId": did, "RemoteDomainName": REMOTE, "TrustPassword": SECRET,
              "TrustDirection": "Two-Way", **extra}  # fmt: skip
    error = refused(stack.ds.create_trust, params, stack)
    assert error.shape == code and error.message.endswith(".")
    assert stack.ds.describe_trusts(stack.ctx(OWNER), {"DirectoryId": did})["Trusts"] == []


def test_a_second_trust_with_the_same_forest_is_refused(stack: DsStack, did: str) -> None:
    trust(stack, did)
    params = {"DirectoryId": did, "RemoteDomainName": REMOTE.upper(), "TrustPassword": SECRET,
              "TrustDirection": "One-Way: Outgoing"}  # fmt: skip
    assert refused(stack.ds.create_trust, params, stack).shape == "EntityAlreadyExistsException"


def test_a_simple_ad_has_no_trusts(stack: DsStack) -> None:
    simple = stack.directory(OWNER, simple=True)
    params = {"DirectoryId": simple, "RemoteDomainName": REMOTE, "TrustPassword": SECRET,
              "TrustDirection": "Two-Way"}  # fmt: skip
    assert refused(stack.ds.create_trust, params, stack).shape == "UnsupportedOperationException"


def test_verify_only_a_made_trust(stack: DsStack, did: str) -> None:
    trust_id = trust(stack, did)
    error = refused(stack.ds.verify_trust, {"TrustId": trust_id}, stack)
    assert error.shape == "ClientException"  # still Creating

    def made(d: dict[str, Any]) -> None:
        set_trust_state(d["trusts"][0], TrustState.VERIFY_FAILED, "not yet")

    stack.store.update(KIND, OWNER, REGION, did, made)
    stack.ds.verify_trust(stack.ctx(OWNER), {"TrustId": trust_id})
    [shown] = stack.ds.describe_trusts(stack.ctx(OWNER), {"TrustIds": [trust_id]})["Trusts"]
    assert shown["TrustState"] == "Verifying" and "TrustStateReason" not in shown


def test_update_trust_refuses_selective_authentication(stack: DsStack, did: str) -> None:
    trust_id = trust(stack, did)
    error = refused(stack.ds.update_trust, {"TrustId": trust_id, "SelectiveAuth": "Enabled"}, stack)
    assert error.shape == "ClientException" and "Samba" in error.message


def test_delete_trust_and_its_forwarder(stack: DsStack, did: str) -> None:
    trust_id = trust(stack, did)
    stack.ds.delete_trust(
        stack.ctx(OWNER), {"TrustId": trust_id, "DeleteAssociatedConditionalForwarder": True}
    )
    [shown] = stack.ds.describe_trusts(stack.ctx(OWNER), {"DirectoryId": did})["Trusts"]
    assert shown["TrustState"] == "Deleting"
    assert stack.ds.describe_conditional_forwarders(stack.ctx(OWNER), {"DirectoryId": did}) == {
        "ConditionalForwarders": []
    }
    assert refused(stack.ds.delete_trust, {"TrustId": trust_id}, stack).shape == "ClientException"
    missing = refused(stack.ds.delete_trust, {"TrustId": "t-0000000000"}, stack)
    assert missing.shape == "EntityDoesNotExistException"


def test_conditional_forwarders_create_update_delete(stack: DsStack, did: str) -> None:
    ctx = stack.ctx(OWNER)
    params = {"DirectoryId": did, "RemoteDomainName": "partner.example", "DnsIpAddrs": ["10.9.0.2"]}
    stack.ds.create_conditional_forwarder(ctx, params)
    assert refused(stack.ds.create_conditional_forwarder, params, stack).shape == (
        "EntityAlreadyExistsException"
    )
    stack.ds.update_conditional_forwarder(ctx, {**params, "DnsIpAddrs": ["10.9.0.3"]})
    shown = stack.ds.describe_conditional_forwarders(
        ctx, {"DirectoryId": did, "RemoteDomainNames": ["partner.example"]}
    )["ConditionalForwarders"]
    assert shown == [{"RemoteDomainName": "partner.example", "DnsIpAddrs": ["10.9.0.3"],
                      "ReplicationScope": "Domain"}]  # fmt: skip
    stack.ds.delete_conditional_forwarder(
        ctx, {"DirectoryId": did, "RemoteDomainName": "partner.example"}
    )
    gone = refused(
        stack.ds.delete_conditional_forwarder,
        {"DirectoryId": did, "RemoteDomainName": "partner.example"},
        stack,
    )
    assert gone.shape == "EntityDoesNotExistException"
