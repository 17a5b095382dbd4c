"""A create-db-instance that the network refuses leaves nothing behind.

Regression for issue 14: create-db-instance answered an address refusal (then
VpcLimitExceeded) and still kept the instance, ``creating`` forever. The service stores
the instance before it takes an address, so the refusal must take the record back out.
The refusal here is real: the stack's host block (a /24, the smallest allowed) is
filled by another account's hosts.
"""

from __future__ import annotations

import dataclasses
import ipaddress
from pathlib import Path

import pytest

from pgrealm.api.errors import resolve_error
from pgrealm.api.specs import load_service
from pgrealm.sealing import Sealer
from pgrealm.services.base import Service
from pgrealm.services.context import RequestContext
from pgrealm.services.ec2 import Ec2Service
from pgrealm.services.errors import ServiceError
from pgrealm.services.rds.service import RdsService
from pgrealm.store import Store
from tests.fixtures.settings import settings_in

ACCOUNT, OTHER, REGION = "111122223333", "444455556666", "us-east-1"
CTX = RequestContext(account_id=ACCOUNT, region=REGION, request_id="r", service="rds")


@pytest.fixture
def rds(tmp_path: Path) -> RdsService:
    small = ipaddress.IPv4Network("198.19.240.0/24")
    settings = dataclasses.replace(settings_in(tmp_path), host_block=small)
    store = Store(tmp_path / "state.db")
    registry: dict[str, Service] = {}
    registry["ec2"] = Ec2Service(store, registry, small)
    service = RdsService(store, registry, settings, Sealer(tmp_path))
    registry["rds"] = service
    return service


def _fill_host_block(ec2: Ec2Service) -> list[str]:
    """Take every free host address for another account's hosts; their host addresses."""
    other = RequestContext(account_id=OTHER, region=REGION, request_id="r", service="ec2")
    subnet_id = ec2.describe_subnets(other, {})["Subnets"][0]["SubnetId"]
    taken: list[str] = []
    while True:
        try:
            taken.append(ec2.network.allocate_address(OTHER, REGION, subnet_id, "filler")[1])
        except ServiceError:
            return taken


def _create(rds: RdsService, name: str) -> dict[str, object]:
    params = {
        "DBInstanceIdentifier": name,
        "DBInstanceClass": "db.t3.micro",
        "Engine": "postgres",
        "MasterUsername": "master",
        "MasterUserPassword": "Secret-password-1",
    }
    instance: dict[str, object] = rds.create_db_instance(CTX, params)["DBInstance"]
    return instance


def _wire_code(error: ServiceError) -> str:
    """The code the client reads, as the dispatcher would put it on the wire."""
    return resolve_error(load_service("rds"), error).code


def test_a_refused_address_leaves_no_instance_and_the_name_free(rds: RdsService) -> None:
    ec2 = rds.sibling("ec2", Ec2Service)
    taken = _fill_host_block(ec2)
    assert taken, "the filler took no address: the block was never full"

    with pytest.raises(ServiceError) as refused:
        _create(rds, "db-refused")
    assert _wire_code(refused.value) == "InsufficientFreeAddressesInSubnet"
    assert rds.describe_db_instances(CTX, {})["DBInstances"] == []
    with pytest.raises(ServiceError) as missing:
        rds.describe_db_instances(CTX, {"DBInstanceIdentifier": "db-refused"})
    assert _wire_code(missing.value) == "DBInstanceNotFound"

    ec2.network.release_address(OTHER, REGION, taken[-1])
    instance = _create(rds, "db-refused")
    assert (instance["DBInstanceIdentifier"], instance["DBInstanceStatus"]) == (
        "db-refused",
        "creating",
    )
    [listed] = rds.describe_db_instances(CTX, {})["DBInstances"]
    assert listed["DBInstanceIdentifier"] == "db-refused"
