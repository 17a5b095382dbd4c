"""An instance's TLS certificate, as RDS serves one on every instance: issued for its
endpoint by the CA its CACertificateIdentifier names (gateways/rds_ca.py), kept in
``home/tls`` (the key 0600 and the OS user's, or postgres refuses it). conf.py turns
``ssl`` on when the spec names an issuer; a reload reads a new certificate."""

from __future__ import annotations

import logging

from pgrealm.engines.postgres._files import atomic_write
from pgrealm.engines.postgres.initdb import ensure_layout
from pgrealm.engines.postgres.osuser import ensure_owned_dir
from pgrealm.engines.postgres.spec import PgSpec, tls_dir

__all__ = ["install_certificate", "tls_installed"]

log = logging.getLogger(__name__)


def install_certificate(spec: PgSpec, cert_pem: str, key_pem: str) -> None:
    uid, gid = ensure_layout(spec)
    ensure_owned_dir(tls_dir(spec), uid, gid, 0o700)
    atomic_write(tls_dir(spec) / "server.key", key_pem, uid=uid, gid=gid, mode=0o600)
    atomic_write(tls_dir(spec) / "server.crt", cert_pem, uid=uid, gid=gid)
    log.info("%s: TLS certificate from %s installed", spec.home, spec.tls_issuer)


def tls_installed(spec: PgSpec) -> bool:
    return (tls_dir(spec) / "server.crt").is_file() and (tls_dir(spec) / "server.key").is_file()
