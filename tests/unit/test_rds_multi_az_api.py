"""--multi-az on create and modify, and reboot --force-failover, against a real Store: the
standby's place in another zone, what describe shows, RDS's refusals (after which nothing
was created), and the failover's record change."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from pgrealm.model.multi_az import standby, swap_roles
from pgrealm.services.context import RequestContext
from pgrealm.services.errors import ServiceError
from pgrealm.services.rds.service import INSTANCE, RdsService
from pgrealm.store import Store
from pgrealm.store.kinds import Kind
from tests.unit.test_rds_describe import ACCOUNT, REGION, create, ctx, rds, set_status, store

__all__ = ["ctx", "rds", "store"]  # the fixtures, shared

_ASKED = {"DBInstanceClass": "db.t3.micro", "Engine": "postgres", "MasterUsername": "master",
          "MasterUserPassword": "Secret-password-1"}  # fmt: skip


def _create_multi_az(rds: RdsService, ctx: RequestContext, name: str, **more: Any) -> Any:
    asked = {"DBInstanceIdentifier": name, "MultiAZ": True, **_ASKED, **more}
    return rds.create_db_instance(ctx, asked)["DBInstance"]


def _addresses(store: Store) -> int:
    return len(store.list(Kind.ADDRESS, ACCOUNT, REGION))


def _refused(store: Store, call: Any, code: str) -> str:
    before = (store.list(INSTANCE, ACCOUNT, REGION), _addresses(store))
    with pytest.raises(ServiceError) as exc:
        call()
    assert exc.value.shape == code, exc.value.message
    assert (store.list(INSTANCE, ACCOUNT, REGION), _addresses(store)) == before
    return exc.value.message


def test_a_multi_az_instance_shows_its_second_zone(
    rds: RdsService, store: Store, ctx: RequestContext
) -> None:
    shown = _create_multi_az(rds, ctx, "maz")
    assert shown["MultiAZ"] is True
    assert shown["SecondaryAvailabilityZone"] != shown["AvailabilityZone"]
    doc = store.get(INSTANCE, ACCOUNT, REGION, "maz")
    spare = standby(doc)
    assert spare is not None and spare["zone"] == shown["SecondaryAvailabilityZone"]
    assert spare["address"] != doc["address"] and spare["vpc_ip"] != doc["vpc_ip"]
    assert _addresses(store) == 2


def test_multi_az_refusals_create_nothing(
    rds: RdsService, store: Store, ctx: RequestContext
) -> None:
    zone = f"{REGION}a"
    why = _refused(
        store,
        lambda: _create_multi_az(rds, ctx, "maz", AvailabilityZone=zone),
        "InvalidParameterCombination",
    )
    assert "availability zone" in why
    create(rds, ctx, "single")
    set_status(store, "single", "available")
    asked = {"DBInstanceIdentifier": "single", "ForceFailover": True}
    _refused(store, lambda: rds.reboot_db_instance(ctx, asked), "InvalidParameterCombination")
    rds.create_db_instance_read_replica(
        ctx, {"DBInstanceIdentifier": "single-r", "SourceDBInstanceIdentifier": "single"}
    )
    set_status(store, "single-r", "available")
    _refused(
        store,
        lambda: rds.modify_db_instance(ctx, {"DBInstanceIdentifier": "single-r", "MultiAZ": True}),
        "InvalidParameterCombination",
    )


def test_force_failover_waits_for_an_available_instance(
    rds: RdsService, store: Store, ctx: RequestContext
) -> None:
    _create_multi_az(rds, ctx, "maz")
    asked = {"DBInstanceIdentifier": "maz", "ForceFailover": True}
    _refused(store, lambda: rds.reboot_db_instance(ctx, asked), "InvalidDBInstanceStateFault")
    set_status(store, "maz", "available")
    shown = rds.reboot_db_instance(ctx, asked)["DBInstance"]
    assert shown["DBInstanceStatus"] == "rebooting"
    assert store.get(INSTANCE, ACCOUNT, REGION, "maz")["failover_requested"]


def test_modify_adds_and_drops_the_standby(
    rds: RdsService, store: Store, ctx: RequestContext
) -> None:
    create(rds, ctx, "grow")
    set_status(store, "grow", "available")
    shown = rds.modify_db_instance(ctx, {"DBInstanceIdentifier": "grow", "MultiAZ": True})
    assert (
        shown["DBInstance"]["SecondaryAvailabilityZone"] != shown["DBInstance"]["AvailabilityZone"]
    )
    spare = standby(store.get(INSTANCE, ACCOUNT, REGION, "grow"))
    assert spare is not None and spare["address"] and _addresses(store) == 2
    set_status(store, "grow", "available")
    rds.modify_db_instance(ctx, {"DBInstanceIdentifier": "grow", "MultiAZ": False})
    spare = standby(store.get(INSTANCE, ACCOUNT, REGION, "grow"))
    assert spare is not None and spare["desired"] == "absent"  # the reconciler removes it


def test_a_failover_swaps_the_servers_places(
    rds: RdsService, store: Store, ctx: RequestContext
) -> None:
    _create_multi_az(rds, ctx, "maz")
    doc = store.get(INSTANCE, ACCOUNT, REGION, "maz")
    doc["standby"].update(cloned=True, ready=True)
    doc["config_hash"] = "x"
    before = copy.deepcopy(doc)
    swap_roles(doc)
    assert (doc["address"], doc["vpc_ip"], doc["slot"]) == (
        before["standby"]["address"], before["standby"]["vpc_ip"], "b",
    )  # fmt: skip
    assert doc["aws"]["AvailabilityZone"] == before["aws"]["SecondaryAvailabilityZone"]
    assert doc["aws"]["SecondaryAvailabilityZone"] == before["aws"]["AvailabilityZone"]
    assert doc["standby"]["address"] == before["address"] and doc["standby"]["slot"] == "a"
    assert not doc["standby"]["ready"] and not doc["standby"]["cloned"]
    assert "config_hash" not in doc  # the promoted server's config is written afresh
