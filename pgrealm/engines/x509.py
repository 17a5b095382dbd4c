"""Certificate authorities and the server certificates they issue, for the engines that
serve TLS: a directory's DCs (LDAPS, samba/tls.py) and DB instances (postgres/tls.py).

Keys are made here and handed back as PEM; where they are kept is the caller's business
(an authority's key is sealed in the state store, a server's lies 0600 beside its server).
"""

from __future__ import annotations

import datetime
import hashlib
import ipaddress

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

__all__ = ["KEY_TYPES", "issue", "new_authority", "self_signed", "thumbprint", "validity"]

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
KEY_TYPES = ("rsa2048", "rsa4096", "ecc384")
_CA_VALIDITY = datetime.timedelta(days=5 * 365)  # AD CS's default for a root CA
_SERVER_VALIDITY = datetime.timedelta(days=700)  # Samba's own certificates: ~2 years
_CLOCK_SKEW = datetime.timedelta(minutes=5)


def new_authority(common_name: str, key_type: str = "rsa2048") -> tuple[str, str]:
    """A new root CA: (certificate PEM, private key PEM)."""
    key = _new_key(key_type)
    name = _name(common_name)
    usage = x509.KeyUsage(
        digital_signature=True, content_commitment=False, key_encipherment=False,
        data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=True,
        encipher_only=False, decipher_only=False,
    )  # fmt: skip
    cert = (
        _builder(name, name, key.public_key(), _CA_VALIDITY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(usage, critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
        .sign(key, hashes.SHA256())
    )
    return _pem(cert), _key_pem(key)


def issue(
    ca_pem: str, ca_key_pem: str, common_name: str, names: list[str], addresses: list[str]
) -> tuple[str, str]:
    """A server certificate for ``names`` and ``addresses``, issued by the CA: (certificate
    PEM, private key PEM). Its key is of the CA's own kind."""
    ca_cert = x509.load_pem_x509_certificate(ca_pem.encode())
    ca_key = serialization.load_pem_private_key(ca_key_pem.encode(), password=None)
    if not isinstance(ca_key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
        raise ValueError("a certificate authority's key must be RSA or EC")
    key = _new_key("ecc384" if isinstance(ca_key, ec.EllipticCurvePrivateKey) else "rsa2048")
    alt: list[x509.GeneralName] = [x509.DNSName(n) for n in names]
    alt += [x509.IPAddress(ipaddress.IPv4Address(a)) for a in addresses]
    cert = (
        _builder(_name(common_name), ca_cert.subject, key.public_key(), _SERVER_VALIDITY)
        .add_extension(x509.SubjectAlternativeName(alt), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
        )
        .sign(ca_key, hashes.SHA256())
    )
    return _pem(cert), _key_pem(key)


def self_signed(common_name: str, names: list[str], addresses: list[str]) -> tuple[str, str]:
    """A self-signed server certificate, its own CA: (certificate PEM, private key PEM)."""
    key = _new_key("rsa2048")
    name = _name(common_name)
    alt: list[x509.GeneralName] = [x509.DNSName(n) for n in names]
    alt += [x509.IPAddress(ipaddress.IPv4Address(a)) for a in addresses]
    cert = (
        _builder(name, name, key.public_key(), _SERVER_VALIDITY)
        .add_extension(x509.SubjectAlternativeName(alt), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    return _pem(cert), _key_pem(key)


def thumbprint(pem: str) -> str:
    """The SHA-1 thumbprint RDS shows for a CA certificate (hex, lower case)."""
    der = x509.load_pem_x509_certificate(pem.encode()).public_bytes(serialization.Encoding.DER)
    return hashlib.sha1(der, usedforsecurity=False).hexdigest()


def validity(pem: str) -> tuple[datetime.datetime, datetime.datetime]:
    cert = x509.load_pem_x509_certificate(pem.encode())
    return cert.not_valid_before_utc, cert.not_valid_after_utc


def _builder(
    subject: x509.Name, issuer: x509.Name, public_key: object, lifetime: datetime.timedelta
) -> x509.CertificateBuilder:
    now = datetime.datetime.now(datetime.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)  # type: ignore[arg-type]
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - _CLOCK_SKEW)
        .not_valid_after(now + lifetime)
    )


def _new_key(key_type: str) -> PrivateKey:
    if key_type == "ecc384":
        return ec.generate_private_key(ec.SECP384R1())
    bits = {"rsa2048": 2048, "rsa4096": 4096}[key_type]
    return rsa.generate_private_key(public_exponent=65537, key_size=bits)


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "pgrealm"),
        ]
    )


def _pem(cert: x509.Certificate) -> str:
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def _key_pem(key: PrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
