"""Registered certificates and client LDAPS on the session's directory, through the aws
CLI, checked on the wire: the directory's own CA certificate (``pgrealm directory
ca-certificate``) is registered, client LDAPS becomes Enabled because every DC's LDAPS
certificate chains to it, and an LDAPS client that trusts only that CA binds. A CA that
issued nothing here makes enabling fail with the reason, and bad input creates nothing."""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from pgrealm.engines.sockets import ldaps_bind
from tests.acceptance.test_doctor import pgrealm
from tests.acceptance.test_seed_flow import new_directory_user
from tests.fixtures.stack import StackHandle

pytestmark = pytest.mark.acceptance


def _stray_ca() -> str:
    """A CA certificate that issued none of the stack's certificates."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Stray Root CA")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now).not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )  # fmt: skip
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def _fails(stack: StackHandle, code: str, *args: str) -> str:
    done = stack.aws("ds", *args, check=False)
    assert done.returncode != 0 and f"({code})" in done.stderr, done.stderr
    return str(done.stderr)


def _register(stack: StackHandle, did: str, pem_file: Path) -> str:
    out = stack.aws("ds", "register-certificate", "--directory-id", did,
                    "--certificate-data", f"file://{pem_file}")  # fmt: skip
    certificate_id = str(out["CertificateId"])

    def registered() -> Any:
        c = stack.aws("ds", "describe-certificate", "--directory-id", did,
                      "--certificate-id", certificate_id)["Certificate"]  # fmt: skip
        return c if c["State"] == "Registered" else None

    stack.wait(f"{certificate_id} to be Registered", registered, timeout=60)
    return certificate_id


def _ldaps(stack: StackHandle, did: str) -> dict[str, Any]:
    info = stack.aws("ds", "describe-ldaps-settings", "--directory-id", did)["LDAPSSettingsInfo"]
    return dict(info[0])


def _settled_ldaps(stack: StackHandle, did: str) -> dict[str, Any]:
    def settled() -> Any:
        info = _ldaps(stack, did)
        return info if info["LDAPSStatus"] != "Enabling" else None

    return dict(stack.wait("client LDAPS to settle", settled, timeout=60))


@pytest.fixture
def certificates(stack: StackHandle, directory: dict[str, Any], tmp_path: Path) -> Iterator[Path]:
    """A place for PEM files; every certificate registered is deregistered after."""
    did = directory["DirectoryId"]
    yield tmp_path
    if _ldaps(stack, did)["LDAPSStatus"] in ("Enabled", "EnableFailed"):
        stack.aws("ds", "disable-ldaps", "--directory-id", did, "--type", "Client")
    listed = stack.aws("ds", "list-certificates", "--directory-id", did)["CertificatesInfo"]
    for c in listed:
        stack.aws("ds", "deregister-certificate", "--directory-id", did,
                  "--certificate-id", c["CertificateId"])  # fmt: skip


def test_client_ldaps_with_the_directorys_ca(
    stack: StackHandle, directory: dict[str, Any], certificates: Path
) -> None:
    did = directory["DirectoryId"]
    assert _ldaps(stack, did)["LDAPSStatus"] == "Disabled"
    _fails(stack, "NoAvailableCertificateException",
           "enable-ldaps", "--directory-id", did, "--type", "Client")  # fmt: skip

    exported = pgrealm(stack, stack.env, "directory", "-d", did, "ca-certificate")
    assert exported.returncode == 0, exported.stderr
    ca = exported.stdout
    assert ca.startswith("-----BEGIN CERTIFICATE-----")
    (certificates / "ca.pem").write_text(ca)
    certificate_id = _register(stack, did, certificates / "ca.pem")
    shown = stack.aws("ds", "describe-certificate", "--directory-id", did,
                      "--certificate-id", certificate_id)["Certificate"]  # fmt: skip
    assert shown["CommonName"] == "CORP-CA" and shown["Type"] == "ClientLDAPS"
    again = f"file://{certificates / 'ca.pem'}"
    _fails(stack, "CertificateAlreadyExistsException", "register-certificate",
           "--directory-id", did, "--certificate-data", again)  # fmt: skip

    stack.aws("ds", "enable-ldaps", "--directory-id", did, "--type", "Client")
    assert _settled_ldaps(stack, did)["LDAPSStatus"] == "Enabled", _ldaps(stack, did)
    _fails(stack, "CertificateInUseException", "deregister-certificate",
           "--directory-id", did, "--certificate-id", certificate_id)  # fmt: skip

    # An LDAPS client that trusts that CA, and nothing else, binds to every DC.
    password = new_directory_user(stack, did, "lena")
    for dc in stack.kdcs(directory):  # the password reaches the other DC by replication
        stack.wait(
            f"lena to bind to {dc} over LDAPS",
            lambda dc=dc: ldaps_bind(dc, "lena@corp.example.com", password, 5, cadata=ca) == 0,
            timeout=60,
        )
        assert ldaps_bind(dc, "lena@corp.example.com", password, 5, cadata=_stray_ca()) is None

    stack.aws("ds", "disable-ldaps", "--directory-id", did, "--type", "Client")
    assert _ldaps(stack, did)["LDAPSStatus"] == "Disabled"


def test_a_ca_that_issued_nothing_here_fails_enabling(
    stack: StackHandle, directory: dict[str, Any], certificates: Path
) -> None:
    did = directory["DirectoryId"]
    (certificates / "stray.pem").write_text(_stray_ca())
    _register(stack, did, certificates / "stray.pem")
    stack.aws("ds", "enable-ldaps", "--directory-id", did, "--type", "Client")
    info = _settled_ldaps(stack, did)
    assert info["LDAPSStatus"] == "EnableFailed"
    assert "not trusted" in info["LDAPSStatusReason"], info


def test_bad_certificates_create_nothing(
    stack: StackHandle, directory: dict[str, Any], certificates: Path
) -> None:
    did = directory["DirectoryId"]
    (certificates / "junk.pem").write_text("-----BEGIN CERTIFICATE-----\nnot one\n")
    junk = f"file://{certificates / 'junk.pem'}"
    _fails(stack, "InvalidCertificateException", "register-certificate",
           "--directory-id", did, "--certificate-data", junk)  # fmt: skip
    _fails(stack, "DirectoryDoesNotExistException", "list-certificates",
           "--directory-id", "d-0000000000")  # fmt: skip
    _fails(stack, "CertificateDoesNotExistException", "describe-certificate",
           "--directory-id", did, "--certificate-id", "c-0000000000")  # fmt: skip
    _fails(stack, "InvalidLDAPSStatusException",
           "disable-ldaps", "--directory-id", did, "--type", "Client")  # fmt: skip
    listed = stack.aws("ds", "list-certificates", "--directory-id", did)["CertificatesInfo"]
    assert listed == []
