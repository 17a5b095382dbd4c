"""The certificate authorities that issue DB instances' TLS certificates, as RDS's CAs do
(``rds-ca-rsa2048-g1`` and the others DescribeCertificates lists).

Each is made the first time it is needed, once per stack (account "", region "" in the
store), its key sealed (sealing.py); the API lists them, the db-instance reconciler has
them issue certificates, and ``pgrealm client rds-ca-bundle`` prints them all, as AWS's
global-bundle.pem holds every RDS CA.
"""

from __future__ import annotations

from datetime import datetime

from pgrealm.engines import x509
from pgrealm.sealing import Sealer
from pgrealm.store import Doc, Store
from pgrealm.store.kinds import Kind

__all__ = ["DEFAULT_CA", "OFFERED", "authorities", "authority", "facts", "issue_for"]

# CertificateIdentifier -> its key type, in the order RDS lists them.
OFFERED = {
    "rds-ca-ecc384-g1": "ecc384",
    "rds-ca-rsa2048-g1": "rsa2048",
    "rds-ca-rsa4096-g1": "rsa4096",
}
DEFAULT_CA = "rds-ca-rsa2048-g1"  # RDS's default for new instances


def authority(store: Store, sealer: Sealer, identifier: str) -> tuple[str, str]:
    """(certificate PEM, private key PEM) of the CA ``identifier``, made if need be."""
    doc = _made(store, sealer, identifier)
    return str(doc["certificate"]), sealer.unseal(doc["sealed_key"])


def issue_for(
    store: Store, sealer: Sealer, identifier: str, endpoint: str, addresses: list[str]
) -> tuple[str, str]:
    """An instance's server certificate for its endpoint name (and addresses), from the CA
    ``identifier``: (certificate PEM, private key PEM)."""
    ca_pem, ca_key = authority(store, sealer, identifier)
    return x509.issue(ca_pem, ca_key, endpoint, [endpoint], addresses)


def authorities(store: Store, sealer: Sealer) -> dict[str, str]:
    """Every offered CA's certificate PEM, by identifier."""
    return {i: str(_made(store, sealer, i)["certificate"]) for i in OFFERED}


def facts(pem: str) -> tuple[str, datetime, datetime]:
    """A CA certificate's SHA-1 thumbprint and validity, as DescribeCertificates shows."""
    return (x509.thumbprint(pem), *x509.validity(pem))


def _made(store: Store, sealer: Sealer, identifier: str) -> Doc:
    found = store.get(Kind.RDS_CA, "", "", identifier)
    if found is not None:
        return found
    kind = OFFERED[identifier]
    name = f"pgrealm RDS Root CA {kind.upper()} G1"
    certificate, key = x509.new_authority(name, kind)
    store.insert(Kind.RDS_CA, "", "", identifier,
                 {"certificate": certificate, "sealed_key": sealer.seal(key)})  # fmt: skip
    stored = store.get(Kind.RDS_CA, "", "", identifier)  # another's, if it was first
    assert stored is not None
    return stored
