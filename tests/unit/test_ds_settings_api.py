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
    assert {e["Name"] for e in entries} >= {"TLS_1_0", "TLS_1_1", "AES_128", "RC4_128"}
    assert {e["RequestStatus"] for e in entries} == {"Default"}
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
        ({"Name": "RC2_40", "Value": "Enable"}, "UnsupportedSettingsException"),
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


def test_ciphers_turn_gnutls_suites_on_and_off(stack: DsStack) -> None:
    did = stack.directory(OWNER)
    ctx = stack.ctx(OWNER)
    entries = stack.ds.describe_settings(ctx, {"DirectoryId": did})["SettingEntries"]
    shown = {e["Name"]: e for e in entries}
    assert (shown["AES_128"]["Type"], shown["AES_128"]["AppliedValue"]) == ("Cipher", "Enable")
    assert shown["3DES_168"]["AllowedValues"] == '["Enable", "Disable"]'
    assert (shown["RC2_40"]["AppliedValue"], shown["RC2_40"]["AllowedValues"]) == (
        "Disable",
        '["Disable"]',
    )
    stack.ds.update_settings(
        ctx,
        {
            "DirectoryId": did,
            "Settings": [
                {"Name": "AES_128", "Value": "Disable"},
                {"Name": "3DES_168", "Value": "Enable"},
                {"Name": "RC4_40", "Value": "Disable"},  # what it is already: no change
            ],
        },
    )
    assert tls_priority(stack.store.get(KIND, OWNER, REGION, did)) == (
        "NORMAL:-VERS-SSL3.0:-AES-128-GCM:-AES-128-CBC:-AES-128-CCM:+3DES-CBC"
    )
