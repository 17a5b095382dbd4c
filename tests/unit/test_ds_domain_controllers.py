"""UpdateNumberOfDomainControllers against a real Store: the DC records and addresses it
adds (by turns in the directory's subnets) or marks for removal, and AWS's refusals."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from pgrealm.services.ds.service import KIND, MAX_DOMAIN_CONTROLLERS
from pgrealm.services.errors import ServiceError
from pgrealm.store.kinds import Kind
from tests.fixtures.ds_service import REGION, DsStack, ds_stack

OWNER = "111111111111"


@pytest.fixture
def stack(tmp_path: Path) -> DsStack:
    return ds_stack(tmp_path)


def resize(stack: DsStack, did: str, number: int) -> None:
    stack.ds.update_number_of_domain_controllers(
        stack.ctx(OWNER), {"DirectoryId": did, "DesiredNumber": number}
    )


def test_more_dcs_take_addresses_in_the_subnets_by_turns(stack: DsStack) -> None:
    did = stack.directory(OWNER)
    resize(stack, did, 5)
    doc = stack.store.get(KIND, OWNER, REGION, did)
    dcs = doc["dcs"]
    assert [dc["name"] for dc in dcs] == ["dc1", "dc2", "dc3", "dc4", "dc5"]
    first, second = dcs[0]["subnet_id"], dcs[1]["subnet_id"]
    assert [dc["subnet_id"] for dc in dcs[2:]] == [first, second, first]
    assert {dc["status"] for dc in dcs[2:]} == {"Creating"}
    assert doc["aws"]["DesiredNumberOfDomainControllers"] == 5
    assert len(stack.store.list(Kind.ADDRESS, OWNER, REGION)) == 5
    shown = stack.ds.describe_domain_controllers(stack.ctx(OWNER), {"DirectoryId": did})
    assert [c["DomainControllerId"][-1] for c in shown["DomainControllers"]] == list("12345")


def test_fewer_dcs_mark_the_newest_for_removal(stack: DsStack) -> None:
    did = stack.directory(OWNER)
    resize(stack, did, 4)

    def settle(d: dict[str, Any]) -> None:
        for dc in d["dcs"]:
            dc["status"] = "Active"

    stack.store.update(KIND, OWNER, REGION, did, settle)
    resize(stack, did, 2)
    dcs = stack.store.get(KIND, OWNER, REGION, did)["dcs"]
    assert [dc["status"] for dc in dcs] == ["Active", "Active", "Deleting", "Deleting"]


@pytest.mark.parametrize(
    ("number", "code"),
    [
        (1, "InvalidParameterException"),
        (MAX_DOMAIN_CONTROLLERS + 1, "DomainControllerLimitExceededException"),
    ],
)
def test_out_of_range_is_refused(stack: DsStack, number: int, code: str) -> None:
    did = stack.directory(OWNER)
    with pytest.raises(ServiceError) as exc:
        resize(stack, did, number)
    assert exc.value.shape == code
    assert len(stack.store.get(KIND, OWNER, REGION, did)["dcs"]) == 2


def test_a_change_waits_for_the_last_one(stack: DsStack) -> None:
    did = stack.directory(OWNER)
    resize(stack, did, 3)
    with pytest.raises(ServiceError) as exc:
        resize(stack, did, 4)
    assert exc.value.shape == "ClientException"
    assert len(stack.store.list(Kind.ADDRESS, OWNER, REGION)) == 3


def test_simple_ad_keeps_its_two(stack: DsStack) -> None:
    did = stack.directory(OWNER, simple=True)
    with pytest.raises(ServiceError) as exc:
        resize(stack, did, 3)
    assert exc.value.shape == "UnsupportedOperationException"
