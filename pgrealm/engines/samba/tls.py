"""The DC's LDAPS certificate, made before its first start.

Samba generates tls/key.pem, cert.pem and ca.pem under its private dir on first start
when they are missing: a 4096-bit RSA key, which costs seconds of CPU on the path to
"ready" (measured ~8 s per DC on this 2-core machine). A 2048-bit key made here takes
milliseconds. Samba requires the key file to be 0600 and owned by the user it runs as.
"""

from __future__ import annotations

import datetime
import logging

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from pgrealm.engines.samba.conf import write_atomic
from pgrealm.engines.samba.spec import DcSpec

__all__ = ["ensure_tls"]

log = logging.getLogger(__name__)

_VALIDITY = datetime.timedelta(days=700)  # Samba's own self-signed certificates: ~2 years


def ensure_tls(dc: DcSpec) -> None:
    """Write a self-signed key and certificate for ``dc.fqdn`` unless they exist."""
    tls = dc.paths.private / "tls"
    key_path, cert_path, ca_path = tls / "key.pem", tls / "cert.pem", tls / "ca.pem"
    if key_path.exists() and cert_path.exists():
        return
    tls.mkdir(mode=0o700, parents=True, exist_ok=True)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, dc.fqdn),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "pgrealm"),
        ]
    )
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + _VALIDITY)
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(dc.fqdn)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    pem = cert.public_bytes(serialization.Encoding.PEM)
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )
    write_atomic(key_path, key_pem, mode=0o600)
    write_atomic(cert_path, pem)
    write_atomic(ca_path, pem)  # self-signed: it is its own CA
    log.debug("%s: TLS certificate written", dc.hostname)
