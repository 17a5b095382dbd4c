"""ConnectDirectory (AD Connector) against a real Store: what it records and shows, and
AWS's refusals, each creating nothing. The LDAP check is the reconciler's."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from pgrealm.services.ds.service import CONNECTED_LIMIT, KIND
from pgrealm.services.errors import ServiceError
from pgrealm.store.kinds import Kind
from tests.fixtures.ds_service import REGION, DsStack, ds_stack

OWNER = "111111111111"


@pytest.fixture
def stack(tmp_path: Path) -> DsStack:
    return ds_stack(tmp_path)


def connect(stack: DsStack, **settings: Any) -> dict[str, Any]:
    connect_settings = {
        **stack.vpc_settings(OWNER),
        "CustomerDnsIps": ["192.168.0.4"],
        "CustomerUserName": "svc-connector",
        **settings,
    }
    return {
        "Name": "onprem.example.com",
        "Password": "service-account-pw",
        "Size": "Small",
        "ConnectSettings": {k: v for k, v in connect_settings.items() if v is not None},
    }


def test_a_connector_is_described_with_its_connect_settings(stack: DsStack) -> None:
    did = stack.ds.connect_directory(stack.ctx(OWNER), connect(stack))["DirectoryId"]
    desc = stack.describe(OWNER, did)
    assert (desc["Type"], desc["Size"], desc["Stage"]) == ("ADConnector", "Small", "Requested")
    assert desc["DnsIpAddrs"] == ["192.168.0.4"] and "VpcSettings" not in desc
    settings = desc["ConnectSettings"]
    assert settings["CustomerUserName"] == "svc-connector" and len(settings["ConnectIps"]) == 2
    assert "service-account-pw" not in repr(stack.store.get(KIND, OWNER, REGION, did))
    limits = stack.ds.get_directory_limits(stack.ctx(OWNER), {})["DirectoryLimits"]
    assert limits["ConnectedDirectoriesCurrentCount"] == 1


@pytest.mark.parametrize(
    "settings",
    [
        {"CustomerDnsIps": []},
        {"CustomerDnsIps": ["dc1.onprem.example.com"]},
        {"CustomerDnsIpsV6": ["fd00::4"]},
        {"CustomerUserName": None},
    ],
)
def test_bad_connect_settings_create_nothing(stack: DsStack, settings: dict[str, Any]) -> None:
    with pytest.raises(ServiceError) as exc:
        stack.ds.connect_directory(stack.ctx(OWNER), connect(stack, **settings))
    assert exc.value.shape == "InvalidParameterException" and exc.value.message.endswith(".")
    assert stack.store.list(KIND, OWNER, REGION) == []
    assert stack.store.list(Kind.ADDRESS, OWNER, REGION) == []


def test_the_connector_quota_is_enforced(stack: DsStack) -> None:
    for _ in range(CONNECTED_LIMIT):
        stack.ds.connect_directory(stack.ctx(OWNER), connect(stack))
    with pytest.raises(ServiceError) as exc:
        stack.ds.connect_directory(stack.ctx(OWNER), connect(stack))
    assert exc.value.shape == "DirectoryLimitExceededException"


def test_a_connector_holds_no_users_to_reset(stack: DsStack) -> None:
    did = stack.ds.connect_directory(stack.ctx(OWNER), connect(stack))["DirectoryId"]
    stack.store.update(KIND, OWNER, REGION, did, lambda d: d["aws"].update(Stage="Active"))
    with pytest.raises(ServiceError) as exc:
        stack.ds.reset_user_password(
            stack.ctx(OWNER), {"DirectoryId": did, "UserName": "bob", "NewPassword": "x"}
        )
    assert (
        exc.value.shape == "UnsupportedOperationException" and "AD Connector" in exc.value.message
    )
