"""Registered certificates and client LDAPS against a real Store (model/certificates.py):
the states a request leaves, the limits, and AWS's error for each bad request, after
which nothing has changed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from pgrealm.engines.samba.tls import new_authority
from pgrealm.model.certificates import CERTIFICATE_LIMIT, certificate_work, registered_pems
from pgrealm.services.ds.service import KIND
from pgrealm.services.errors import ServiceError
from tests.fixtures.ds_service import REGION, DsStack, ds_stack

OWNER = "111111111111"


@pytest.fixture
def stack(tmp_path: Path) -> DsStack:
    return ds_stack(tmp_path)


def _call(stack: DsStack, op: str, **params: Any) -> Any:
    return getattr(stack.ds, op)(stack.ctx(OWNER), params)


def _refused(stack: DsStack, op: str, code: str, **params: Any) -> str:
    did = params.get("DirectoryId")
    before = stack.store.get(KIND, OWNER, REGION, did) if did else None
    with pytest.raises(ServiceError) as exc:
        _call(stack, op, **params)
    assert exc.value.shape == code, exc.value.message
    if did:
        assert stack.store.get(KIND, OWNER, REGION, did) == before
    return exc.value.message


def _registered(stack: DsStack, did: str, pem: str) -> str:
    certificate_id = str(_call(stack, "register_certificate", DirectoryId=did,
                               CertificateData=pem)["CertificateId"])  # fmt: skip
    stack.store.update(KIND, OWNER, REGION, did, _mark_registered)
    return certificate_id


def _mark_registered(doc: dict[str, Any]) -> None:
    for c in doc["certificates"]:
        c["aws"]["State"] = "Registered"


def test_a_registered_ca_enables_client_ldaps(stack: DsStack) -> None:
    did = stack.directory(OWNER)
    pem, _ = new_authority("CORP-CA")
    out = _call(stack, "register_certificate", DirectoryId=did, CertificateData=pem)
    shown = _call(stack, "describe_certificate", DirectoryId=did,
                  CertificateId=out["CertificateId"])["Certificate"]  # fmt: skip
    assert (shown["State"], shown["CommonName"], shown["Type"]) == (
        "Registering", "CORP-CA", "ClientLDAPS",
    )  # fmt: skip
    doc = stack.store.get(KIND, OWNER, REGION, did)
    assert certificate_work(doc) and registered_pems(doc) == []
    _refused(stack, "enable_ldaps", "NoAvailableCertificateException", DirectoryId=did,
             Type="Client")  # fmt: skip
    stack.store.update(KIND, OWNER, REGION, did, _mark_registered)
    _call(stack, "enable_ldaps", DirectoryId=did, Type="Client")
    [info] = _call(stack, "describe_ldaps_settings", DirectoryId=did)["LDAPSSettingsInfo"]
    assert info["LDAPSStatus"] == "Enabling"
    _refused(stack, "enable_ldaps", "InvalidLDAPSStatusException", DirectoryId=did,
             Type="Client")  # fmt: skip
    _refused(stack, "deregister_certificate", "CertificateInUseException", DirectoryId=did,
             CertificateId=out["CertificateId"])  # fmt: skip


def test_listed_paged_and_deregistered(stack: DsStack) -> None:
    did = stack.directory(OWNER)
    ids = [_registered(stack, did, new_authority(f"CA-{n}")[0]) for n in range(3)]
    first = _call(stack, "list_certificates", DirectoryId=did, Limit=2)
    rest = _call(stack, "list_certificates", DirectoryId=did, NextToken=first["NextToken"])
    listed = [c["CertificateId"] for c in first["CertificatesInfo"] + rest["CertificatesInfo"]]
    assert listed == ids
    assert set(first["CertificatesInfo"][0]) == {
        "CertificateId", "CommonName", "State", "ExpiryDateTime", "Type",
    }  # fmt: skip
    _call(stack, "deregister_certificate", DirectoryId=did, CertificateId=ids[0])
    left = _call(stack, "list_certificates", DirectoryId=did)["CertificatesInfo"]
    assert [c["CertificateId"] for c in left] == ids[1:]


def test_the_limit_and_duplicates(stack: DsStack) -> None:
    did = stack.directory(OWNER)
    pems = [new_authority(f"CA-{n}")[0] for n in range(CERTIFICATE_LIMIT + 1)]
    for pem in pems[:CERTIFICATE_LIMIT]:
        _call(stack, "register_certificate", DirectoryId=did, CertificateData=pem)
    _refused(stack, "register_certificate", "CertificateAlreadyExistsException",
             DirectoryId=did, CertificateData=pems[0])  # fmt: skip
    _refused(stack, "register_certificate", "CertificateLimitExceededException",
             DirectoryId=did, CertificateData=pems[-1])  # fmt: skip


@pytest.mark.parametrize(
    ("op", "params", "code"),
    [
        ("register_certificate", {"CertificateData": "not a certificate"},
         "InvalidCertificateException"),
        ("register_certificate", {"CertificateData": "x", "Type": "ClientCertAuth"},
         "UnsupportedOperationException"),
        ("describe_certificate", {"CertificateId": "c-0123456789"},
         "CertificateDoesNotExistException"),
        ("deregister_certificate", {"CertificateId": "c-0123456789"},
         "CertificateDoesNotExistException"),
        ("disable_ldaps", {"Type": "Client"}, "InvalidLDAPSStatusException"),
    ],
)  # fmt: skip
def test_bad_requests_change_nothing(
    stack: DsStack, op: str, params: dict[str, Any], code: str
) -> None:
    did = stack.directory(OWNER)
    _refused(stack, op, code, DirectoryId=did, **params)


def test_other_directories_are_refused(stack: DsStack) -> None:
    _refused(stack, "list_certificates", "DirectoryDoesNotExistException",
             DirectoryId="d-0000000000")  # fmt: skip
    simple = stack.directory(OWNER, simple=True)
    _refused(stack, "list_certificates", "UnsupportedOperationException", DirectoryId=simple)
    creating = stack.directory(OWNER, stage="Creating")
    pem, _ = new_authority("CORP-CA")
    _refused(stack, "register_certificate", "DirectoryUnavailableException",
             DirectoryId=creating, CertificateData=pem)  # fmt: skip
