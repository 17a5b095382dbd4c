"""DescribeSettings and UpdateSettings against a real Store, and the DCs' TLS priority the
record asks for (model/settings.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from pgrealm.model.settings import tls_priority
from pgrealm.services.ds.service import KIND
from pgrealm.services.errors import ServiceError
from tests.fixtures.ds_service import REGION, DsStack, ds_stack

OWNER = "111111111111"


@pytest.fixture
def stack(tmp_path: Path) -> DsStack:
    return ds_stack(tmp_path)


def test_defaults_then_a_request(stack: DsStack) -> None:
    did = stack.directory(OWNER)
    ctx = stack.ctx(OWNER)
    entries = stack.ds.describe_settings(ctx, {"DirectoryId": did})["SettingEntries"]
    assert {e["Name"]: e["RequestStatus"] for e in entries} == {
        "TLS_1_0": "Default",
        "TLS_1_1": "Default",
    }
    assert tls_priority(stack.store.get(KIND, OWNER, REGION, did)) is None
    stack.ds.update_settings(
        ctx, {"DirectoryId": did, "Settings": [{"Name": "TLS_1_1", "Value": "Disable"}]}
    )
    [entry] = stack.ds.describe_settings(ctx, {"DirectoryId": did, "Status": "Updating"})[
        "SettingEntries"
    ]
    assert (entry["Name"], entry["RequestedValue"], entry["AppliedValue"]) == (
        "TLS_1_1",
        "Disable",
        "Enable",
    )
    assert (
        tls_priority(stack.store.get(KIND, OWNER, REGION, did))
        == "NORMAL:-VERS-SSL3.0:-VERS-TLS1.1"
    )


@pytest.mark.parametrize(
    ("setting", "code"),
    [
        ({"Name": "RC4_128_128", "Value": "Disable"}, "UnsupportedSettingsException"),
        ({"Name": "TLS_1_0", "Value": "Off"}, "InvalidParameterException"),
    ],
)
def test_bad_settings_change_nothing(stack: DsStack, setting: dict[str, str], code: str) -> None:
    did = stack.directory(OWNER)
    before = stack.store.get(KIND, OWNER, REGION, did)
    with pytest.raises(ServiceError) as exc:
        stack.ds.update_settings(stack.ctx(OWNER), {"DirectoryId": did, "Settings": [setting]})
    assert exc.value.shape == code
    assert stack.store.get(KIND, OWNER, REGION, did) == before


def test_simple_ad_has_no_settings(stack: DsStack) -> None:
    did = stack.directory(OWNER, simple=True)
    with pytest.raises(ServiceError) as exc:
        stack.ds.describe_settings(stack.ctx(OWNER), {"DirectoryId": did})
    assert exc.value.shape == "UnsupportedOperationException"
