"""DB parameter groups through the RDS service with a fake settings catalog: no PostgreSQL
binary runs (the gateway is the seam)."""

from __future__ import annotations

from pathlib import Path

import pytest

from pgrealm.model.parameters import Setting
from pgrealm.sealing import Sealer
from pgrealm.services.base import Service
from pgrealm.services.context import RequestContext
from pgrealm.services.errors import CommonError
from pgrealm.services.rds.service import RdsService
from pgrealm.store import Store
from tests.fixtures.settings import settings_in

CTX = RequestContext(account_id="111122223333", region="us-east-1", request_id="r")


class FakeCatalog:
    def settings(self) -> dict[str, Setting]:
        return {
            "work_mem": Setting("work_mem", "user", "INTEGER", "64", "2147483647", "workspace"),
            "port": Setting("port", "postmaster", "INTEGER", "1", "65535", "the port"),
        }

    def managed(self) -> frozenset[str]:
        return frozenset({"port"})


@pytest.fixture
def rds(tmp_path: Path) -> RdsService:
    settings = settings_in(tmp_path)
    registry: dict[str, Service] = {}
    store = Store(tmp_path / "state.db")
    return RdsService(store, registry, settings, Sealer(tmp_path), catalog=FakeCatalog())


def _modify(rds: RdsService, name: str, value: str) -> None:
    rds.modify_db_parameter_group(
        CTX,
        {
            "DBParameterGroupName": "kerb",
            "Parameters": [
                {"ParameterName": name, "ParameterValue": value, "ApplyMethod": "immediate"}
            ],
        },
    )


def test_settings_come_from_the_catalog_and_managed_ones_stay_put(rds: RdsService) -> None:
    rds.create_db_parameter_group(
        CTX,
        {
            "DBParameterGroupName": "kerb",
            "DBParameterGroupFamily": "postgres15",
            "Description": "k",
        },
    )
    _modify(rds, "work_mem", "8192")
    with pytest.raises(CommonError, match="Unmodifiable DB Parameter: port"):
        _modify(rds, "port", "5433")
    shown = rds.describe_db_parameters(CTX, {"DBParameterGroupName": "kerb"})["Parameters"]
    by_name = {p["ParameterName"]: p for p in shown}
    assert by_name["work_mem"]["ParameterValue"] == "8192"
    assert by_name["port"]["IsModifiable"] is False
