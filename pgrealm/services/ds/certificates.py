"""Registered certificates (RegisterCertificate, DescribeCertificate, ListCertificates,
DeregisterCertificate) and client LDAPS (EnableLDAPS, DisableLDAPS, DescribeLDAPSSettings),
mixed into ``DsService``; the record's fields and states: model/certificates.py.

A registered certificate is the CA certificate that issued the domain controllers' LDAPS
certificates: for a pgrealm directory, its own authority's (``pgrealm directory
ca-certificate`` prints it); for an AD Connector, the customer's AD's. The directory
reconciler registers it (Registering -> Registered) and checks, when client LDAPS is
enabled, that every DC's certificate chains to one (Enabling -> Enabled | EnableFailed).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from cryptography import x509
from cryptography.x509.oid import NameOID

from pgrealm.model.certificates import (
    CERTIFICATE_LIMIT,
    CertificateState,
    LdapsStatus,
    ldaps_status,
    registered_pems,
    set_ldaps,
)
from pgrealm.model.directory import now
from pgrealm.services.base import new_id
from pgrealm.services.context import RequestContext
from pgrealm.services.ds._mixin import DsMixin
from pgrealm.services.errors import ServiceError
from pgrealm.services.pagination import page
from pgrealm.store import Doc
from pgrealm.store.kinds import Kind

__all__ = ["CertificatesMixin"]

_KIND = Kind.DIRECTORY
_SHOWN = ("CertificateId", "CommonName", "State", "ExpiryDateTime", "Type")  # CertificateInfo


class CertificatesMixin(DsMixin):
    # -- certificates ---------------------------------------------------------------------
    def register_certificate(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        directory_id = params["DirectoryId"]
        if params.get("Type", "ClientLDAPS") == "ClientCertAuth":
            raise ServiceError(
                "UnsupportedOperationException",
                "pgrealm does not offer client certificate (smart card) authentication; "
                "register ClientLDAPS certificates.",
            )
        cert = _parse(params["CertificateData"])
        certificate_id = new_id("c-", 10)
        with self.store.transaction():
            doc = self._ldaps_directory(ctx, directory_id, active=True)
            fingerprint = _fingerprint(cert)
            registered = doc.setdefault("certificates", [])
            if any(c["fingerprint"] == fingerprint for c in registered):
                raise ServiceError(
                    "CertificateAlreadyExistsException",
                    f"The certificate is already registered with directory {directory_id}.",
                )
            if len(registered) >= CERTIFICATE_LIMIT:
                raise ServiceError(
                    "CertificateLimitExceededException",
                    f"Directory {directory_id} has reached its limit of {CERTIFICATE_LIMIT} "
                    "registered certificates.",
                )
            registered.append(
                {
                    "aws": {
                        "CertificateId": certificate_id,
                        "State": str(CertificateState.REGISTERING),
                        "CommonName": _common_name(cert),
                        "RegisteredDateTime": now().isoformat(),
                        "ExpiryDateTime": cert.not_valid_after_utc.isoformat(),
                        "Type": "ClientLDAPS",
                    },
                    "pem": params["CertificateData"],
                    "fingerprint": fingerprint,
                }
            )
            self.store.put(_KIND, ctx.account_id, ctx.region, directory_id, doc)
        self.kick()
        return {"CertificateId": certificate_id}

    def describe_certificate(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        doc = self._ldaps_directory(ctx, params["DirectoryId"])
        return {"Certificate": _shown(_certificate(doc, params["CertificateId"]))}

    def list_certificates(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        doc = self._ldaps_directory(ctx, params["DirectoryId"])
        infos = [
            {k: v for k, v in _shown(c).items() if k in _SHOWN} for c in doc.get("certificates", [])
        ]
        return page("ds", "ListCertificates", infos, params)

    def deregister_certificate(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        directory_id, certificate_id = params["DirectoryId"], params["CertificateId"]
        with self.store.transaction():
            doc = self._ldaps_directory(ctx, directory_id)
            certificate = _certificate(doc, certificate_id)
            in_use = ldaps_status(doc) in (LdapsStatus.ENABLED, LdapsStatus.ENABLING)
            if in_use and registered_pems(doc) == [certificate["pem"]]:
                raise ServiceError(
                    "CertificateInUseException",
                    f"Certificate {certificate_id} is the one client LDAPS of directory "
                    f"{directory_id} relies on: disable LDAPS before deregistering it.",
                )
            doc["certificates"] = [
                c for c in doc["certificates"] if c["aws"]["CertificateId"] != certificate_id
            ]
            self.store.put(_KIND, ctx.account_id, ctx.region, directory_id, doc)
        return {}

    # -- client LDAPS -----------------------------------------------------------------------
    def enable_ldaps(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        def check(doc: Doc, status: LdapsStatus) -> None:
            if status in (LdapsStatus.ENABLED, LdapsStatus.ENABLING):
                raise ServiceError(
                    "InvalidLDAPSStatusException",
                    f"Client LDAPS is already {status} for directory {params['DirectoryId']}.",
                )
            if not registered_pems(doc):
                raise ServiceError(
                    "NoAvailableCertificateException",
                    f"Directory {params['DirectoryId']} has no Registered ClientLDAPS "
                    "certificate: register the CA certificate of its domain controllers first.",
                )

        self._set_ldaps(ctx, params["DirectoryId"], check, LdapsStatus.ENABLING)
        self.kick()
        return {}

    def disable_ldaps(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        def check(_: Doc, status: LdapsStatus) -> None:
            if status not in (LdapsStatus.ENABLED, LdapsStatus.ENABLE_FAILED):
                raise ServiceError(
                    "InvalidLDAPSStatusException",
                    f"Client LDAPS is {status} for directory {params['DirectoryId']}: only an "
                    "Enabled (or EnableFailed) setting can be disabled.",
                )

        self._set_ldaps(ctx, params["DirectoryId"], check, LdapsStatus.DISABLED)
        return {}

    def _set_ldaps(
        self,
        ctx: RequestContext,
        directory_id: str,
        check: Callable[[Doc, LdapsStatus], None],
        to: LdapsStatus,
    ) -> None:
        """Move the directory's client LDAPS to ``to`` once ``check`` allows it."""
        with self.store.transaction():
            doc = self._ldaps_directory(ctx, directory_id, active=True)
            check(doc, ldaps_status(doc))
            set_ldaps(doc, to, None, now().isoformat())
            self.store.put(_KIND, ctx.account_id, ctx.region, directory_id, doc)

    def describe_ldaps_settings(
        self, ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        doc = self._ldaps_directory(ctx, params["DirectoryId"])
        info = dict(doc.get("ldaps", {"LDAPSStatus": str(LdapsStatus.DISABLED)}))
        if "LastUpdatedDateTime" in info:
            info["LastUpdatedDateTime"] = datetime.fromisoformat(info["LastUpdatedDateTime"])
        return page("ds", "DescribeLDAPSSettings", [info], params)

    def _ldaps_directory(self, ctx: RequestContext, directory_id: str, active: bool = False) -> Doc:
        try:
            doc = (
                self._active(ctx, directory_id) if active else self.get_directory(ctx, directory_id)
            )
        except ServiceError as exc:
            if exc.shape != "EntityDoesNotExistException":
                raise
            raise ServiceError("DirectoryDoesNotExistException", exc.message) from exc
        if doc["aws"].get("Type") == "SimpleAD":
            raise ServiceError(
                "UnsupportedOperationException",
                f"LDAPS certificates are not supported for Simple AD directory {directory_id}.",
            )
        return doc


def _parse(pem: str) -> x509.Certificate:
    try:
        cert = x509.load_pem_x509_certificate(pem.encode())
    except ValueError:
        raise ServiceError(
            "InvalidCertificateException", "The certificate data is not a PEM X.509 certificate."
        ) from None
    if cert.not_valid_after_utc <= datetime.now(UTC):
        raise ServiceError(
            "InvalidCertificateException",
            f"The certificate expired on {cert.not_valid_after_utc:%Y-%m-%d}.",
        )
    return cert


def _fingerprint(cert: x509.Certificate) -> str:
    return hashlib.sha256(cert.tbs_certificate_bytes).hexdigest()


def _common_name(cert: x509.Certificate) -> str:
    names = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(names[0].value) if names else cert.subject.rfc4514_string()


def _certificate(doc: Doc, certificate_id: str) -> Doc:
    for certificate in doc.get("certificates", []):
        if certificate["aws"]["CertificateId"] == certificate_id:
            return dict(certificate)
    raise ServiceError(
        "CertificateDoesNotExistException",
        f"Certificate {certificate_id} does not exist in directory {doc['aws']['DirectoryId']}.",
    )


def _shown(certificate: Doc) -> Doc:
    shown = dict(certificate["aws"])
    for field in ("RegisteredDateTime", "ExpiryDateTime"):
        shown[field] = datetime.fromisoformat(shown[field])
    return shown
