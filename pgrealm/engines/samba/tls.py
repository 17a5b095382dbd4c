"""The DCs' LDAPS certificates, and the directory's certificate authority that issues them.

Samba generates tls/key.pem, cert.pem and ca.pem under its private dir on first start
when they are missing: a 4096-bit RSA key, which costs seconds of CPU on the path to
"ready" (measured ~8 s per DC on this 2-core machine). A 2048-bit key made here takes
milliseconds. Samba requires the key file to be 0600 and owned by the user it runs as.

A directory of the stack has a certificate authority of its own (``new_authority``), as
an AD with AD CS has an enterprise CA: each DC's certificate is issued by it
(``issue_dc_certificate``), so a client that trusts that one CA certificate can check
every DC's LDAPS, which is what RegisterCertificate and EnableLDAPS are about. The DCs of
the engine's own tests, which have none, get a self-signed certificate (``ensure_tls``).
"""

from __future__ import annotations

import datetime
import ipaddress
import logging

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from pgrealm.engines.samba.conf import write_atomic
from pgrealm.engines.samba.spec import DcSpec

__all__ = ["certificate_current", "ensure_tls", "issue_dc_certificate", "new_authority"]

log = logging.getLogger(__name__)

_VALIDITY = datetime.timedelta(days=700)  # Samba's own self-signed certificates: ~2 years
_CA_VALIDITY = datetime.timedelta(days=5 * 365)  # AD CS's default for a root CA
_CLOCK_SKEW = datetime.timedelta(minutes=5)


def ensure_tls(dc: DcSpec) -> None:
    """Write a self-signed key and certificate for ``dc.fqdn`` unless they exist."""
    tls = dc.paths.private / "tls"
    if (tls / "key.pem").exists() and (tls / "cert.pem").exists():
        return
    key = _new_key()
    name = _name(dc.fqdn)
    cert = _builder(name, name, key.public_key(), _VALIDITY, dc).add_extension(
        x509.BasicConstraints(ca=True, path_length=None), critical=True
    )
    pem = _pem(cert.sign(key, hashes.SHA256()))
    _write(dc, _key_pem(key), pem, pem)  # self-signed: it is its own CA


def new_authority(common_name: str) -> tuple[str, str]:
    """A new root CA: (certificate PEM, private key PEM)."""
    key = _new_key()
    name = _name(common_name)
    cert = (
        _builder(name, name, key.public_key(), _CA_VALIDITY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )  # fmt: skip
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
        .sign(key, hashes.SHA256())
    )
    return _pem(cert).decode(), _key_pem(key).decode()


def certificate_current(dc: DcSpec) -> bool:
    """Whether the DC's certificate is issued by the authority its spec names (always,
    for a DC that has none)."""
    if dc.tls_ca is None:
        return True
    try:
        return (dc.paths.private / "tls" / "ca.pem").read_text() == dc.tls_ca
    except OSError:
        return False


def issue_dc_certificate(dc: DcSpec, ca_key_pem: str) -> None:
    """Give the DC a new key and a certificate for its name and address, issued by
    ``dc.tls_ca`` (whose key is ``ca_key_pem``); no-op when it has one already."""
    if dc.tls_ca is None or certificate_current(dc):
        return
    ca_cert = x509.load_pem_x509_certificate(dc.tls_ca.encode())
    ca_key = serialization.load_pem_private_key(ca_key_pem.encode(), password=None)
    if not isinstance(ca_key, rsa.RSAPrivateKey):
        raise ValueError("the directory's certificate authority key is not an RSA key")
    key = _new_key()
    cert = (
        _builder(_name(dc.fqdn), ca_cert.subject, key.public_key(), _VALIDITY, dc)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
        )
        .sign(ca_key, hashes.SHA256())
    )
    _write(dc, _key_pem(key), _pem(cert), dc.tls_ca.encode())
    log.info("%s: LDAPS certificate issued by %s", dc.hostname, ca_cert.subject.rfc4514_string())


def _builder(
    subject: x509.Name,
    issuer: x509.Name,
    public_key: rsa.RSAPublicKey,
    validity: datetime.timedelta,
    dc: DcSpec | None = None,
) -> x509.CertificateBuilder:
    now = datetime.datetime.now(datetime.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - _CLOCK_SKEW)
        .not_valid_after(now + validity)
    )
    if dc is None:
        return builder
    names: list[x509.GeneralName] = [
        x509.DNSName(dc.fqdn),
        x509.IPAddress(ipaddress.IPv4Address(dc.address)),
    ]
    return builder.add_extension(x509.SubjectAlternativeName(names), critical=False)


def _write(dc: DcSpec, key_pem: bytes, cert_pem: bytes, ca_pem: bytes) -> None:
    tls = dc.paths.private / "tls"
    tls.mkdir(mode=0o700, parents=True, exist_ok=True)
    write_atomic(tls / "key.pem", key_pem, mode=0o600)
    write_atomic(tls / "cert.pem", cert_pem)
    write_atomic(tls / "ca.pem", ca_pem)
    log.debug("%s: TLS certificate written", dc.hostname)


def _new_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "pgrealm"),
        ]
    )


def _pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def _key_pem(key: rsa.RSAPrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )
