"""Read-your-writes across a directory's DCs: calls stay on the DC the last one used."""

from __future__ import annotations

from pathlib import Path

import pytest

from pgrealm.engines import samba
from pgrealm.gateways.directory import DirectoryData
from tests.fixtures.settings import settings_in

DOC = {
    "aws": {"DirectoryId": "d-1234567890", "Name": "corp.example.com", "ShortName": "CORP"},
    "dcs": [
        {"name": "dc1", "hostname": "dc1", "address": "198.19.240.16", "vpc_ip": "172.31.0.4"},
        {"name": "dc2", "hostname": "dc2", "address": "198.19.240.17", "vpc_ip": "172.31.16.4"},
    ],
}


def _gateway() -> DirectoryData:
    # Samba's paths must stay short (a DC home of 64 characters at most): a short home of
    # its own, which the test only names (nothing is written there).
    settings = settings_in(Path("/nonexistent/pgrealm-gw"))
    return DirectoryData(settings)


def test_a_dc_back_from_a_crash_does_not_take_over_mid_sequence(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    alive = {"dc1": False, "dc2": True}
    monkeypatch.setattr(samba, "dc_alive", lambda spec: alive[spec.home.name])
    data = _gateway()
    assert data.dc(DOC).home.name == "dc2"  # create-user while dc1 is down
    alive["dc1"] = True  # the supervisor brought dc1 back
    assert data.dc(DOC).home.name == "dc2"  # reset-user-password: same DC
    alive["dc2"] = False
    assert data.dc(DOC).home.name == "dc1"  # the sticky DC died: the live one


def test_without_history_dc1_serves(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(samba, "dc_alive", lambda spec: True)
    assert _gateway().dc(DOC).home.name == "dc1"
