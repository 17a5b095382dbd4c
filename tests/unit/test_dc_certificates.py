"""The directory's certificate authority and the DC certificates it issues
(engines/samba/tls.py), in a temporary DC home: what an LDAPS client checks."""

from __future__ import annotations

import dataclasses
import ipaddress
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography import x509

from pgrealm.engines import samba as S
from pgrealm.engines.samba.tls import ensure_tls

DOMAIN = S.DomainSpec("corp.example.com", "CORP")


@pytest.fixture
def home() -> Iterator[Path]:
    """A short temporary directory: a DC home's path is at most 64 characters."""
    with tempfile.TemporaryDirectory(prefix="dc-", dir="/tmp") as path:
        yield Path(path)


def _cert(dc: S.DcSpec) -> x509.Certificate:
    return x509.load_pem_x509_certificate((dc.paths.private / "tls" / "cert.pem").read_bytes())


def test_a_dc_certificate_is_issued_by_the_directorys_authority(home: Path) -> None:
    ca_pem, ca_key = S.new_authority("CORP-CA")
    dc = S.DcSpec(DOMAIN, "DC1-0A1B2C3D", "10.0.1.10", home / "dc1", tls_ca=ca_pem)
    ensure_tls(dc)  # what provisioning leaves: a self-signed one
    assert not S.certificate_current(dc)
    S.issue_dc_certificate(dc, ca_key)
    assert S.certificate_current(dc)
    cert, ca = _cert(dc), x509.load_pem_x509_certificate(ca_pem.encode())
    cert.verify_directly_issued_by(ca)
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert names.get_values_for_type(x509.DNSName) == [dc.fqdn]
    assert names.get_values_for_type(x509.IPAddress) == [ipaddress.IPv4Address("10.0.1.10")]
    key_file = dc.paths.private / "tls" / "key.pem"
    assert key_file.stat().st_mode & 0o777 == 0o600


def test_a_new_authority_means_a_new_certificate(home: Path) -> None:
    first_pem, first_key = S.new_authority("CORP-CA")
    dc = S.DcSpec(DOMAIN, "DC1-0A1B2C3D", "10.0.1.10", home / "dc1", tls_ca=first_pem)
    S.issue_dc_certificate(dc, first_key)
    before = _cert(dc)
    S.issue_dc_certificate(dc, first_key)  # current: left alone
    assert _cert(dc) == before
    second_pem, second_key = S.new_authority("CORP-CA")
    moved = dataclasses.replace(dc, tls_ca=second_pem)
    assert not S.certificate_current(moved)
    S.issue_dc_certificate(moved, second_key)
    _cert(moved).verify_directly_issued_by(x509.load_pem_x509_certificate(second_pem.encode()))


def test_a_dc_without_an_authority_keeps_its_own(home: Path) -> None:
    dc = S.DcSpec(DOMAIN, "DC1-0A1B2C3D", "127.31.0.10", home / "dc1")
    ensure_tls(dc)
    assert S.certificate_current(dc)
    with_ca = dataclasses.replace(dc, tls_ca=S.new_authority("CORP-CA")[0])
    assert "BEGIN CERTIFICATE" not in repr(with_ca)  # a spec is logged; a PEM is noise
