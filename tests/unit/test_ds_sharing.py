"""Directory sharing against a real Store: ShareStatus moves, refusals, the consumer's view."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from pgrealm.services.base import Service
from pgrealm.services.context import RequestContext
from pgrealm.services.ds.service import DsService
from pgrealm.services.ds.sharing import SHARE
from pgrealm.services.errors import ServiceError
from pgrealm.services.rds.service import INSTANCE, RdsService
from pgrealm.store import Store

OWNER, CONSUMER, OTHER = "111111111111", "222222222222", "333333333333"
REGION = "us-east-1"
DIR_ID = "d-0123456789"


def ctx(account: str) -> RequestContext:
    return RequestContext(account_id=account, region=REGION, request_id="r", service="ds")


class _Iam(Service):
    def check_rds_directory_role(self, account: str, role: str, region: str = "") -> str | None:
        return None


@pytest.fixture
def store(tmp_path: Path) -> Store:
    s = Store(tmp_path / "state.db")
    s.put("directory", OWNER, REGION, DIR_ID, _directory(DIR_ID, "Standard"))
    return s


@pytest.fixture
def ds(store: Store) -> DsService:
    registry: dict[str, Service] = {}
    service = DsService(store, registry, sealer=None, data=None)  # type: ignore[arg-type]
    registry["ds"] = service
    registry["rds"] = RdsService(store, registry, settings=None, sealer=None)  # type: ignore[arg-type]
    registry["iam"] = _Iam(store, registry)
    return service


def _directory(directory_id: str, edition: str) -> dict[str, Any]:
    stamp = "2024-01-01T00:00:00+00:00"
    return {
        "aws": {
            "DirectoryId": directory_id,
            "Name": "corp.example.com",
            "ShortName": "CORP",
            "Edition": edition,
            "Type": "MicrosoftAD",
            "Stage": "Active",
            "LaunchTime": stamp,
            "StageLastUpdatedDateTime": stamp,
            "DnsIpAddrs": ["127.0.0.10", "127.0.0.11"],
            "VpcSettings": {"VpcId": "vpc-1", "SubnetIds": ["subnet-1", "subnet-2"]},
        },
        "dcs": [],
        "desired": "present",
        "data_access": "Disabled",
    }


def share(ds: DsService, target: str = CONSUMER, method: str = "HANDSHAKE") -> str:
    out = ds.share_directory(
        ctx(OWNER),
        {
            "DirectoryId": DIR_ID,
            "ShareMethod": method,
            "ShareTarget": {"Id": target, "Type": "ACCOUNT"},
            "ShareNotes": "welcome",
        },
    )
    return str(out["SharedDirectoryId"])


def owner_status(ds: DsService) -> list[str]:
    out = ds.describe_shared_directories(ctx(OWNER), {"OwnerDirectoryId": DIR_ID})
    return [s["ShareStatus"] for s in out["SharedDirectories"]]


def code(exc: pytest.ExceptionInfo[ServiceError]) -> str:
    return exc.value.shape


def test_handshake_then_accept(ds: DsService) -> None:
    shared_id = share(ds)
    assert shared_id != DIR_ID and shared_id.startswith("d-")
    assert owner_status(ds) == ["PendingAcceptance"]
    [view] = ds.describe_directories(ctx(CONSUMER), {})["DirectoryDescriptions"]
    assert view["DirectoryId"] == shared_id and view["Type"] == "SharedMicrosoftAD"
    assert view["ShareStatus"] == "PendingAcceptance"
    assert view["OwnerDirectoryDescription"]["DirectoryId"] == DIR_ID
    assert view["OwnerDirectoryDescription"]["AccountId"] == OWNER
    # Not joinable before acceptance.
    with pytest.raises(ServiceError) as exc:
        ds.directory_key(ctx(CONSUMER), shared_id)
    assert code(exc) == "EntityDoesNotExistException"

    accepted = ds.accept_shared_directory(ctx(CONSUMER), {"SharedDirectoryId": shared_id})
    assert accepted["SharedDirectory"]["ShareStatus"] == "Shared"
    assert owner_status(ds) == ["Shared"]
    assert ds.directory_key(ctx(CONSUMER), shared_id) == [OWNER, REGION, DIR_ID]
    with pytest.raises(ServiceError) as exc:
        ds.accept_shared_directory(ctx(CONSUMER), {"SharedDirectoryId": shared_id})
    assert code(exc) == "DirectoryAlreadySharedException"
    consumer_side = ds.describe_shared_directories(ctx(CONSUMER), {"OwnerDirectoryId": DIR_ID})
    assert [s["SharedDirectoryId"] for s in consumer_side["SharedDirectories"]] == [shared_id]


def test_reject_then_share_again(ds: DsService) -> None:
    shared_id = share(ds)
    ds.reject_shared_directory(ctx(CONSUMER), {"SharedDirectoryId": shared_id})
    assert owner_status(ds) == ["Rejected"]
    assert ds.describe_directories(ctx(CONSUMER), {})["DirectoryDescriptions"] == []
    with pytest.raises(ServiceError) as exc:
        ds.accept_shared_directory(ctx(CONSUMER), {"SharedDirectoryId": shared_id})
    assert code(exc) == "EntityDoesNotExistException"
    assert share(ds) == shared_id
    assert owner_status(ds) == ["PendingAcceptance"]


@pytest.mark.parametrize(
    ("target", "method", "expected"),
    [
        (OWNER, "HANDSHAKE", "InvalidTargetException"),
        ("12345", "HANDSHAKE", "InvalidTargetException"),
        (CONSUMER, "ORGANIZATIONS", "OrganizationsException"),
    ],
)
def test_share_refusals(ds: DsService, target: str, method: str, expected: str) -> None:
    with pytest.raises(ServiceError) as exc:
        share(ds, target, method)
    assert code(exc) == expected


def test_already_shared_and_limit(ds: DsService) -> None:
    share(ds)
    with pytest.raises(ServiceError) as exc:
        share(ds)
    assert code(exc) == "DirectoryAlreadySharedException"
    for n in range(24):  # Standard edition: 25 accounts
        share(ds, f"4444444444{n:02d}")
    with pytest.raises(ServiceError) as exc:
        share(ds, OTHER)
    assert code(exc) == "ShareLimitExceededException"


def test_unknown_directory(ds: DsService) -> None:
    for call in (
        lambda: ds.describe_shared_directories(ctx(OTHER), {"OwnerDirectoryId": DIR_ID}),
        lambda: ds.accept_shared_directory(ctx(CONSUMER), {"SharedDirectoryId": "d-9999999999"}),
        lambda: ds.get_directory(ctx(CONSUMER), DIR_ID, shared=True),
    ):
        with pytest.raises(ServiceError) as exc:
            call()
        assert code(exc) == "EntityDoesNotExistException"
    with pytest.raises(ServiceError) as exc:
        ds.unshare_directory(
            ctx(OWNER), {"DirectoryId": DIR_ID, "UnshareTarget": {"Id": OTHER, "Type": "ACCOUNT"}}
        )
    assert code(exc) == "DirectoryNotSharedException"


def _joined_instance(store: Store, account: str, name: str) -> None:
    doc = {
        "aws": {"DBInstanceIdentifier": name},
        "desired": "present",
        "directory": [OWNER, REGION, DIR_ID],
    }
    store.put(INSTANCE, account, REGION, name, doc)


def test_joined_consumer_instance_blocks_unshare_and_deletes(ds: DsService, store: Store) -> None:
    shared_id = share(ds)
    ds.accept_shared_directory(ctx(CONSUMER), {"SharedDirectoryId": shared_id})
    rds = ds.registry["rds"]
    membership = rds._domain_membership(  # type: ignore[attr-defined]
        ctx(CONSUMER), {"Domain": shared_id, "DomainIAMRoleName": "role"}
    )
    assert membership["Domain"] == shared_id and membership["FQDN"] == "corp.example.com"
    _joined_instance(store, CONSUMER, "consumerdb")
    unshare = {"DirectoryId": DIR_ID, "UnshareTarget": {"Id": CONSUMER, "Type": "ACCOUNT"}}
    attempts = (
        lambda: ds.unshare_directory(ctx(OWNER), unshare),
        lambda: ds.delete_directory(ctx(OWNER), {"DirectoryId": DIR_ID}),
        lambda: ds.delete_directory(ctx(CONSUMER), {"DirectoryId": shared_id}),
    )
    for attempt in attempts:
        with pytest.raises(ServiceError) as exc:
            attempt()
        assert code(exc) == "ClientException" and "consumerdb" in exc.value.message
    store.delete(INSTANCE, CONSUMER, REGION, "consumerdb")
    assert ds.unshare_directory(ctx(OWNER), unshare) == {"SharedDirectoryId": shared_id}
    assert store.list(SHARE) == []


def test_consumer_deletes_its_shared_directory(ds: DsService, store: Store) -> None:
    shared_id = share(ds)
    ds.accept_shared_directory(ctx(CONSUMER), {"SharedDirectoryId": shared_id})
    assert ds.delete_directory(ctx(CONSUMER), {"DirectoryId": shared_id}) == {
        "DirectoryId": shared_id
    }
    assert owner_status(ds) == []
    assert store.get("directory", OWNER, REGION, DIR_ID)["desired"] == "present"  # type: ignore[index]


def test_owner_directory_deletion_ends_shares(ds: DsService, store: Store) -> None:
    shared_id = share(ds)
    ds.accept_shared_directory(ctx(CONSUMER), {"SharedDirectoryId": shared_id})
    ds.delete_directory(ctx(OWNER), {"DirectoryId": DIR_ID})
    [view] = ds.describe_directories(ctx(CONSUMER), {})["DirectoryDescriptions"]
    assert view["ShareStatus"] == "Deleting" and view["Stage"] == "Deleting"
    store.delete("directory", OWNER, REGION, DIR_ID)  # what the reconciler does at the end
    assert ds.describe_directories(ctx(CONSUMER), {})["DirectoryDescriptions"] == []
    assert store.list(SHARE) == []
