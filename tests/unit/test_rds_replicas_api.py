"""create-db-instance-read-replica and promote-read-replica against a real Store: what a
replica inherits and how both records show the link; RDS's refusals, after which nothing
was created; promotion and deletion ending the link."""

from __future__ import annotations

from typing import Any

import pytest

from pgrealm.services.context import RequestContext
from pgrealm.services.errors import ServiceError
from pgrealm.services.rds.replicas import MAX_CHAIN
from pgrealm.services.rds.service import INSTANCE, RdsService
from pgrealm.store import Store
from tests.unit.test_rds_describe import ACCOUNT, REGION, create, ctx, rds, set_status, store

__all__ = ["ctx", "rds", "store"]  # the fixtures, shared


def _replica(rds: RdsService, ctx: RequestContext, name: str, source: str, **more: Any) -> Any:
    return rds.create_db_instance_read_replica(
        ctx, {"DBInstanceIdentifier": name, "SourceDBInstanceIdentifier": source, **more}
    )["DBInstance"]


def _available(store: Store, *names: str) -> None:
    for name in names:
        set_status(store, name, "available")


def _refused(rds: RdsService, store: Store, call: Any, code: str) -> str:
    before = store.list(INSTANCE, ACCOUNT, REGION)
    with pytest.raises(ServiceError) as exc:
        call()
    assert exc.value.shape == code, exc.value.message
    assert store.list(INSTANCE, ACCOUNT, REGION) == before
    return exc.value.message


def test_a_replica_inherits_and_both_show_the_link(
    rds: RdsService, store: Store, ctx: RequestContext
) -> None:
    create(rds, ctx, "main", klass="db.t3.small")
    _available(store, "main")
    shown = _replica(rds, ctx, "main-r1", "main")
    assert shown["ReadReplicaSourceDBInstanceIdentifier"] == "main"
    assert (shown["DBInstanceClass"], shown["BackupRetentionPeriod"]) == ("db.t3.small", 0)
    assert shown["MasterUsername"] == "master"
    replica = store.get(INSTANCE, ACCOUNT, REGION, "main-r1")
    assert "sealed_master_password" not in replica and replica["roles_bootstrapped"]
    source = store.get(INSTANCE, ACCOUNT, REGION, "main")
    assert source["aws"]["ReadReplicaDBInstanceIdentifiers"] == ["main-r1"]
    assert source["parameters_due"]


def test_refusals_create_nothing(rds: RdsService, store: Store, ctx: RequestContext) -> None:
    create(rds, ctx, "main")
    _refused(rds, store, lambda: _replica(rds, ctx, "r", "main"), "InvalidDBInstanceStateFault")
    _available(store, "main")
    _refused(rds, store, lambda: _replica(rds, ctx, "r", "nope"), "DBInstanceNotFoundFault")
    store.update(INSTANCE, ACCOUNT, REGION, "main",
                 lambda d: d["aws"].__setitem__("BackupRetentionPeriod", 0))  # fmt: skip
    message = _refused(
        rds, store, lambda: _replica(rds, ctx, "r", "main"), "InvalidDBInstanceStateFault"
    )
    assert "Automated backups are not enabled" in message


def test_a_chain_stops_at_its_third_replica(
    rds: RdsService, store: Store, ctx: RequestContext
) -> None:
    create(rds, ctx, "main")
    _available(store, "main")
    previous = "main"
    for n in range(1, MAX_CHAIN + 1):
        _replica(rds, ctx, f"r{n}", previous)
        _available(store, f"r{n}")
        store.update(INSTANCE, ACCOUNT, REGION, f"r{n}",
                     lambda d: d["aws"].__setitem__("BackupRetentionPeriod", 1))  # fmt: skip
        previous = f"r{n}"
    message = _refused(
        rds, store, lambda: _replica(rds, ctx, "r4", previous), "InvalidDBInstanceStateFault"
    )
    assert "at most 3" in message


def test_promotion_and_deletion_end_the_link(
    rds: RdsService, store: Store, ctx: RequestContext
) -> None:
    create(rds, ctx, "main")
    _available(store, "main")
    _replica(rds, ctx, "r1", "main")
    _replica(rds, ctx, "r2", "main")
    _refused(
        rds,
        store,
        lambda: rds.promote_read_replica(ctx, {"DBInstanceIdentifier": "r1"}),
        "InvalidDBInstanceStateFault",
    )  # fmt: skip (still creating)
    _available(store, "r1")
    promoted = rds.promote_read_replica(ctx, {"DBInstanceIdentifier": "r1"})["DBInstance"]
    assert "ReadReplicaSourceDBInstanceIdentifier" not in promoted
    assert (promoted["DBInstanceStatus"], promoted["BackupRetentionPeriod"]) == ("modifying", 1)
    assert store.get(INSTANCE, ACCOUNT, REGION, "r1")["promote_requested"]
    main = store.get(INSTANCE, ACCOUNT, REGION, "main")
    assert main["aws"]["ReadReplicaDBInstanceIdentifiers"] == ["r2"]
    _refused(rds, store, lambda: rds.promote_read_replica(ctx, {"DBInstanceIdentifier": "main"}),
             "InvalidDBInstanceStateFault")  # fmt: skip
    _refused(
        rds,
        store,
        lambda: rds.stop_db_instance(ctx, {"DBInstanceIdentifier": "main"}),
        "InvalidDBInstanceStateFault",
    )  # fmt: skip (it has a replica)
    rds.delete_db_instance(ctx, {"DBInstanceIdentifier": "main", "SkipFinalSnapshot": True})
    r2 = store.get(INSTANCE, ACCOUNT, REGION, "r2")
    assert "replica_of" not in r2 and r2["promote_requested"]


def test_a_replica_without_a_source_instance_is_refused(
    rds: RdsService, store: Store, ctx: RequestContext
) -> None:
    # Found by make chaos's bad-input sweep: the model makes the source optional, and a
    # request without it answered 500 InternalFailure.
    for asked in ({}, {"SourceDBClusterIdentifier": "cluster-1"}):
        message = _refused(
            rds, store,
            lambda asked=asked: rds.create_db_instance_read_replica(
                ctx, {"DBInstanceIdentifier": "orphan", **asked}),
            "InvalidParameterCombination",
        )  # fmt: skip
        assert "SourceDBInstanceIdentifier" in message
