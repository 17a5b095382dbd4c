"""Unit tests of the Samba engine: specs, rendered configs, keytab format, helper error mapping."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path

import pytest

from pgrealm.engines import _exec
from pgrealm.engines import samba as S
from pgrealm.engines.samba.keytab import KeytabEntry, parse_keytab, render_keytab

DOMAIN = S.DomainSpec("corp.example.com", "CORP")
DC = S.DcSpec(DOMAIN, "DC1-0A1B2C3D", "127.31.0.10", Path("/var/lib/pgrealm/d-1/dc1"))


def test_specs_validate_and_derive() -> None:
    assert DOMAIN.realm == "CORP.EXAMPLE.COM"
    assert DOMAIN.users_ou_dn == "OU=Users,OU=CORP,DC=corp,DC=example,DC=com"
    assert DC.fqdn == "dc1-0a1b2c3d.corp.example.com"
    with pytest.raises(ValueError):
        S.DcSpec(DOMAIN, "DC1", "10.0.0.300", Path("/x"))
    with pytest.raises(ValueError):
        S.DcSpec(DOMAIN, "A-NAME-LONGER-THAN-15", "127.0.0.2", Path("/x"))
    with pytest.raises(ValueError):
        S.DomainSpec("Corp.Example.com", "CORP")


def test_smb_conf_binds_one_loopback_address_and_keeps_paths_home() -> None:
    conf = S.render_smb_conf(DC)
    assert "interfaces = 127.31.0.10/8" in conf
    assert "bind interfaces only = yes" in conf
    assert "-s3fs" in conf and "-dnsupdate" in conf
    assert "dns forwarder =\n" in conf
    for line in conf.splitlines():
        if line.strip().split(" = ")[0] in ("private dir", "state directory", "lock directory"):
            assert line.split(" = ")[1].startswith(str(DC.home))


def test_krb5_conf_has_no_dns_lookups() -> None:
    conf = S.render_krb5_conf(["127.31.0.10", "127.31.0.11"], DOMAIN.realm)
    assert "dns_lookup_kdc = false" in conf and "rdns = false" in conf
    assert conf.count("kdc = 127.31.0.1") == 2


def test_keytab_round_trip() -> None:
    entries = [
        KeytabEntry("postgres/db1.x@CORP.EXAMPLE.COM", 3, 18, b"k" * 32),
        KeytabEntry("postgres/db1.x@CORP.EXAMPLE.COM", 3, 17, b"q" * 16),
    ]
    data = render_keytab(entries, timestamp=0)
    assert data[:2] == b"\x05\x02"
    assert parse_keytab(data) == entries


def _fake(answer: dict[str, object]) -> object:
    def runner(
        argv: Sequence[str],
        env: Mapping[str, str] | None,
        timeout: float,
        input: str | None,
        cwd: str | None,
        user: str | None,
    ) -> _exec.Completed:
        assert input is not None and "s3cret-Pass1" in input  # secret travels on stdin
        assert all("s3cret" not in a for a in argv)
        return _exec.Completed(tuple(argv), 0, json.dumps(answer) + "\n", "")

    return runner


def test_policy_refusal_maps_to_password_policy_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        _exec, "runner", _fake({"ok": False, "error": "password_policy", "message": "too short"})
    )
    with pytest.raises(S.PasswordPolicyError, match="too short"):
        S.set_password(DC, "alice", "s3cret-Pass1")


def test_other_refusals_map(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        _exec,
        "runner",
        _fake({"ok": False, "error": "no_such_object", "message": "no account named x"}),
    )
    with pytest.raises(S.NoSuchObjectError):
        S.set_password(DC, "x", "s3cret-Pass1")
