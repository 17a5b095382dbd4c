"""UpdateDirectorySetup and DescribeUpdateDirectory against a real Store: a SIZE update
of a Simple AD is recorded as an Updating activity, with the directory's new size; every
other request gets AWS's error and changes nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from pgrealm.model.directory import updating
from pgrealm.services.ds.service import KIND
from pgrealm.services.errors import ServiceError
from tests.fixtures.ds_service import REGION, DsStack, ds_stack

OWNER = "111111111111"
LARGE = {"UpdateType": "SIZE", "DirectorySizeUpdateSettings": {"DirectorySize": "Large"}}


@pytest.fixture
def stack(tmp_path: Path) -> DsStack:
    return ds_stack(tmp_path)


def test_a_simple_ad_grows_large(stack: DsStack) -> None:
    did = stack.directory(OWNER, simple=True)
    ctx = stack.ctx(OWNER)
    stack.ds.update_directory_setup(ctx, {"DirectoryId": did, **LARGE})
    doc = stack.store.get(KIND, OWNER, REGION, did)
    assert doc["aws"]["Size"] == "Large" and len(updating(doc)) == 1
    shown = stack.ds.describe_update_directory(ctx, {"DirectoryId": did, "UpdateType": "SIZE"})
    [activity] = shown["UpdateActivities"]
    assert (activity["Status"], activity["Region"]) == ("Updating", REGION)
    empty = stack.ds.describe_update_directory(ctx, {"DirectoryId": did, "UpdateType": "OS"})
    assert empty["UpdateActivities"] == []


@pytest.mark.parametrize(
    ("simple", "size", "params", "code"),
    [
        (True, "Small", {"UpdateType": "OS", "OSUpdateSettings": {"OSVersion": "SERVER_2019"}},
         "UnsupportedOperationException"),
        (True, "Small", {"UpdateType": "SIZE"}, "InvalidParameterException"),
        (True, "Large", LARGE, "DirectoryInDesiredStateException"),
        (True, "Large", {"UpdateType": "SIZE",
                         "DirectorySizeUpdateSettings": {"DirectorySize": "Small"}},
         "UnsupportedOperationException"),
        (False, None, LARGE, "UnsupportedOperationException"),
    ],
)  # fmt: skip
def test_bad_updates_change_nothing(
    stack: DsStack, simple: bool, size: str | None, params: dict[str, Any], code: str
) -> None:
    did = stack.directory(OWNER, simple=simple, **({"Size": size} if size else {}))
    before = stack.store.get(KIND, OWNER, REGION, did)
    with pytest.raises(ServiceError) as exc:
        stack.ds.update_directory_setup(stack.ctx(OWNER), {"DirectoryId": did, **params})
    assert exc.value.shape == code, exc.value.message
    assert stack.store.get(KIND, OWNER, REGION, did) == before


def test_an_unknown_directory(stack: DsStack) -> None:
    with pytest.raises(ServiceError) as exc:
        stack.ds.describe_update_directory(
            stack.ctx(OWNER), {"DirectoryId": "d-0000000000", "UpdateType": "OS"}
        )
    assert exc.value.shape == "DirectoryDoesNotExistException"
