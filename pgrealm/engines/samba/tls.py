"""The DCs' LDAPS certificates.

Samba generates tls/key.pem, cert.pem and ca.pem under its private dir on first start
when they are missing: a 4096-bit RSA key, which costs seconds of CPU on the path to
"ready" (measured ~8 s per DC on this 2-core machine). A 2048-bit key made here takes
milliseconds. Samba requires the key file to be 0600 and owned by the user it runs as.

A directory of the stack has a certificate authority of its own (engines/x509.py), as an
AD with AD CS has an enterprise CA: each DC's certificate is issued by it
(``issue_dc_certificate``), so a client that trusts that one CA certificate can check
every DC's LDAPS, which is what RegisterCertificate and EnableLDAPS are about. The DCs of
the engine's own tests, which have none, get a self-signed certificate (``ensure_tls``).
"""

from __future__ import annotations

import logging

from pgrealm.engines import x509
from pgrealm.engines.samba.conf import write_atomic
from pgrealm.engines.samba.spec import DcSpec

__all__ = ["certificate_current", "ensure_tls", "issue_dc_certificate", "new_authority"]

log = logging.getLogger(__name__)


def new_authority(common_name: str) -> tuple[str, str]:
    """A directory's certificate authority: (certificate PEM, private key PEM)."""
    return x509.new_authority(common_name)


def ensure_tls(dc: DcSpec) -> None:
    """Write a self-signed key and certificate for ``dc.fqdn`` unless they exist."""
    tls = dc.paths.private / "tls"
    if (tls / "key.pem").exists() and (tls / "cert.pem").exists():
        return
    cert, key = x509.self_signed(dc.fqdn, [dc.fqdn], [dc.address])
    _write(dc, key, cert, cert)  # self-signed: it is its own CA


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
    cert, key = x509.issue(dc.tls_ca, ca_key_pem, dc.fqdn, [dc.fqdn], [dc.address])
    _write(dc, key, cert, dc.tls_ca)
    log.info("%s: LDAPS certificate issued by the directory's authority", dc.hostname)


def _write(dc: DcSpec, key_pem: str, cert_pem: str, ca_pem: str) -> None:
    tls = dc.paths.private / "tls"
    tls.mkdir(mode=0o700, parents=True, exist_ok=True)
    write_atomic(tls / "key.pem", key_pem, mode=0o600)
    write_atomic(tls / "cert.pem", cert_pem)
    write_atomic(tls / "ca.pem", ca_pem)
    log.debug("%s: TLS certificate written", dc.hostname)
