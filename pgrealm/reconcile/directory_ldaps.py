"""A directory's certificate authority and client LDAPS, part of the directory reconciler:
the authority is made once (its key sealed in the record) and issues each DC's LDAPS
certificate before the DC starts; registered certificates become Registered; enabling
client LDAPS checks that every DC's certificate chains to a registered one, as an LDAPS
client that trusts only those would (model/certificates.py)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from pgrealm.errors import ReconcileError
from pgrealm.gateways.directory import dc_spec
from pgrealm.model.certificates import (
    CertificateState,
    LdapsStatus,
    ldaps_status,
    registered_pems,
    set_ldaps,
)
from pgrealm.reconcile._directory_parts import DirectoryParts
from pgrealm.reconcile.runner import Key
from pgrealm.store import Doc
from pgrealm.store.kinds import Kind

__all__ = ["LdapsPart"]

log = logging.getLogger(__name__)


class LdapsPart(DirectoryParts):
    def _authority(self, key: Key, doc: Doc) -> Doc:
        """The directory's certificate authority, made on first need and then kept: the
        record's copy wins, so two passes never make two. Also set in ``doc``."""
        if "authority" not in doc:
            certificate, private_key = self.ad.new_authority(f"{doc['aws']['ShortName']}-CA")
            made = {"certificate": certificate, "sealed_key": self.sealer.seal(private_key)}
            self._update(key, lambda d: d.setdefault("authority", made))
            stored = self.store.get(Kind.DIRECTORY, *key)
            if stored is None:
                raise ReconcileError("the directory's record is gone")
            doc["authority"] = stored["authority"]
        return dict(doc["authority"])

    def _issue_certificate(self, key: Key, doc: Doc, dc: Doc) -> None:
        """Before ``dc`` starts: its LDAPS certificate, from the directory's authority."""
        authority = self._authority(key, doc)
        spec = dc_spec(self.settings, doc, dc)
        if not self.ad.certificate_current(spec):
            self.ad.issue_dc_certificate(spec, self.sealer.unseal(authority["sealed_key"]))

    def _certificates(self, key: Key, doc: Doc) -> None:
        """Registering certificates become Registered; Enabling client LDAPS is checked."""
        if any(
            c["aws"]["State"] == CertificateState.REGISTERING for c in doc.get("certificates", [])
        ):
            self._update(key, _registered)
        if ldaps_status(doc) != LdapsStatus.ENABLING:
            return
        fresh = self.store.get(Kind.DIRECTORY, *key) or doc
        problem = self._ldaps_problem(key, fresh)
        status = LdapsStatus.ENABLE_FAILED if problem else LdapsStatus.ENABLED

        def settle(d: Doc) -> None:
            if ldaps_status(d) == LdapsStatus.ENABLING:  # not disabled meanwhile
                set_ldaps(d, status, problem, datetime.now(UTC).isoformat())

        self._update(key, settle)
        log.info("directory %s: client LDAPS %s%s", key[2], status, f" ({problem})" * bool(problem))

    def _ldaps_problem(self, key: Key, doc: Doc) -> str | None:
        """Why an LDAPS client that trusts only the registered certificates refuses one of
        the directory's LDAP servers: its DCs (by name), or an AD Connector's customer DCs
        (from the connector's interface, by chain only: they are known by address)."""
        if self.network is None:
            return "Client LDAPS needs the kernel network, which this stack runs without."
        cadata = "\n".join(registered_pems(doc))
        targets: list[tuple[str | None, str, str | None, str]] = []
        if doc["aws"].get("Type") == "ADConnector":
            eni = self.network.realise_host(key[0], key[1], doc["enis"][0]["address"])
            targets = [(eni, ip, None, ip) for ip in doc["aws"]["DnsIpAddrs"]]
        for dc in doc.get("dcs", []):
            spec = dc_spec(self.settings, doc, dc)
            targets.append((None, spec.reach_address, spec.fqdn, dc["vpc_ip"]))
        for namespace, address, hostname, shown in targets:
            problem = self.network.ldaps_problem(namespace, address, cadata, hostname)
            if problem:
                return (
                    f"The LDAPS certificate of the domain controller at {shown} is not "
                    f"trusted by a registered certificate: {problem}."
                )
        return None


def _registered(doc: Doc) -> None:
    for certificate in doc.get("certificates", []):
        if certificate["aws"]["State"] == CertificateState.REGISTERING:
            certificate["aws"]["State"] = str(CertificateState.REGISTERED)
