"""describe-settings and update-settings on the session's directory, checked on the wire:
with TLS_1_0 disabled the DCs' LDAPS refuses a TLS 1.0 handshake and still speaks TLS 1.2;
with AES_128 disabled it refuses a client that offers only AES-128 suites; the DCs restart
one at a time and the directory stays Active."""

from __future__ import annotations

import socket
import ssl
import warnings
from typing import Any

import pytest

from tests.fixtures.stack import StackHandle

pytestmark = pytest.mark.acceptance


_AES_128_ONLY = "ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-SHA256:AES128-GCM-SHA256"
_AES_256_ONLY = "ECDHE-RSA-AES256-GCM-SHA384:AES256-GCM-SHA384"


def _handshake(address: str, version: ssl.TLSVersion, ciphers: str = "DEFAULT:@SECLEVEL=0") -> bool:
    """Whether the DC's LDAPS completes a TLS handshake pinned to ``version``, offering
    ``ciphers`` (OpenSSL 3 refuses TLS 1.0 without @SECLEVEL=0)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    with warnings.catch_warnings():  # TLSv1 is deprecated: testing its refusal is the point
        warnings.simplefilter("ignore", DeprecationWarning)
        context.minimum_version = context.maximum_version = version
    context.set_ciphers(ciphers)
    try:
        with socket.create_connection((address, 636), timeout=5) as raw:
            with context.wrap_socket(raw):
                return True
    except (OSError, ssl.SSLError):
        return False


def _entries(stack: StackHandle, directory_id: str) -> dict[str, dict[str, Any]]:
    found = stack.aws("ds", "describe-settings", "--directory-id", directory_id)["SettingEntries"]
    return {e["Name"]: e for e in found}


def _set(stack: StackHandle, directory_id: str, value: str, name: str = "TLS_1_0") -> Any:
    stack.aws("ds", "update-settings", "--directory-id", directory_id,
              "--settings", f"Name={name},Value={value}")  # fmt: skip

    def updated() -> Any:
        entry = _entries(stack, directory_id)[name]
        return entry if entry["RequestStatus"] == "Updated" else None

    return dict(stack.wait(f"{name} {value}d on every DC", updated, timeout=180))


def test_disabling_tls_1_0_reaches_every_dc(stack: StackHandle, directory: dict[str, Any]) -> None:
    did = directory["DirectoryId"]
    before = _entries(stack, did)
    assert set(before) >= {"TLS_1_0", "TLS_1_1"}
    assert before["TLS_1_0"]["AppliedValue"] == "Enable"
    dcs = stack.kdcs(directory)
    assert all(_handshake(dc, ssl.TLSVersion.TLSv1) for dc in dcs)
    try:
        entry = _set(stack, did, "Disable")
        assert entry["AppliedValue"] == "Disable"
        assert not any(_handshake(dc, ssl.TLSVersion.TLSv1) for dc in dcs)
        assert all(_handshake(dc, ssl.TLSVersion.TLSv1_2) for dc in dcs)
        shown = stack.aws("ds", "describe-directories", "--directory-ids", did)
        assert shown["DirectoryDescriptions"][0]["Stage"] == "Active"
    finally:
        _set(stack, did, "Enable")
    assert all(_handshake(dc, ssl.TLSVersion.TLSv1) for dc in dcs)


def test_disabling_aes_128_reaches_every_dc(stack: StackHandle, directory: dict[str, Any]) -> None:
    did, dcs, tls12 = directory["DirectoryId"], stack.kdcs(directory), ssl.TLSVersion.TLSv1_2
    assert _entries(stack, did)["AES_128"]["Type"] == "Cipher"
    assert all(_handshake(dc, tls12, _AES_128_ONLY) for dc in dcs)
    try:
        assert _set(stack, did, "Disable", "AES_128")["AppliedValue"] == "Disable"
        assert not any(_handshake(dc, tls12, _AES_128_ONLY) for dc in dcs)
        assert all(_handshake(dc, tls12, _AES_256_ONLY) for dc in dcs)
    finally:
        _set(stack, did, "Enable", "AES_128")
    assert all(_handshake(dc, tls12, _AES_128_ONLY) for dc in dcs)


@pytest.mark.parametrize(
    ("setting", "code"),
    [("Name=SSL_9_9,Value=Disable", "UnsupportedSettingsException"),
     ("Name=TLS_1_1,Value=Sometimes", "InvalidParameterException"),
     ("Name=RC2_40,Value=Enable", "UnsupportedSettingsException")],
)  # fmt: skip
def test_bad_settings_are_refused(
    stack: StackHandle, directory: dict[str, Any], setting: str, code: str
) -> None:
    done = stack.aws("ds", "update-settings", "--directory-id", directory["DirectoryId"],
                     "--settings", setting, check=False)  # fmt: skip
    assert done.returncode != 0 and f"({code})" in done.stderr, done.stderr
    assert _entries(stack, directory["DirectoryId"])["TLS_1_1"]["RequestStatus"] == "Default"
