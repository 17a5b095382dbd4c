"""A settled directory's configuration and trusts, part of the directory reconciler: each
DC's smb.conf follows the record (trusts turn on the file server and winbindd,
conditional forwarders the DNS forwarder list, settings the TLS priority), rewritten and
restarted one DC at a time; settings become Updated; each trust moves through its states
(samba-tool makes, validates and deletes this side of it: engines/samba/trust.py)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from pgrealm.errors import EngineError, ReconcileError, one_line_reason
from pgrealm.gateways.directory import dc_spec, live_dc_spec
from pgrealm.model.directory import dc_changing
from pgrealm.model.trusts import (
    AWS_TO_SAMBA_DIRECTION,
    AWS_TO_SAMBA_TYPE,
    TrustState,
    set_trust_state,
)
from pgrealm.reconcile._directory_parts import DirectoryParts, addresses, process_name
from pgrealm.reconcile.runner import Key
from pgrealm.store import Doc

__all__ = ["TrustsPart"]

log = logging.getLogger(__name__)


class TrustsPart(DirectoryParts):
    def _configs_converged(self, key: Key, doc: Doc) -> bool:
        """True when every DC runs with the configuration its record asks for, and with a
        certificate from the directory's authority (one made before there was any gets
        one); otherwise rewrite and restart the first DC that does not (the other keeps
        serving)."""
        self._authority(key, doc)
        for dc in doc["dcs"]:
            spec = dc_spec(self.settings, doc, dc)
            current = self.ad.config_current(spec) and self.ad.certificate_current(spec)
            if dc_changing(dc) or current:
                continue
            log.info("directory %s: %s restarts with a new configuration", key[2], dc["name"])
            self.ad.write_dc_configs(spec, addresses(doc))
            self.supervisor.stop(process_name(doc, dc))
            self._run_dc(key, doc, dc)
            return False
        return True

    def _settings_applied(self, key: Key, doc: Doc) -> None:
        """Every DC runs the settings as ``doc`` (read before the DCs were checked) asks:
        those requests are Updated; one made since waits for the next pass."""
        checked = {
            name: state["LastRequestedDateTime"]
            for name, state in doc.get("settings", {}).items()
            if state.get("RequestStatus") == "Updating"
        }
        if not checked:
            return

        def applied(d: Doc) -> None:
            stamp = datetime.now(UTC).isoformat()
            for name, state in d.get("settings", {}).items():
                if checked.get(name) == state.get("LastRequestedDateTime"):
                    state.update(
                        AppliedValue=state["RequestedValue"],
                        RequestStatus="Updated",
                        LastUpdatedDateTime=stamp,
                    )

        self._update(key, applied)

    def _trust_step(self, key: Key, doc: Doc, trust: Doc) -> None:
        """One move of ``trust`` through its states (model/trusts.py)."""
        aws = trust["aws"]
        state, remote = aws["TrustState"], aws["RemoteDomainName"]
        dc = live_dc_spec(self.settings, doc)
        try:
            if state == TrustState.CREATING:
                token = trust.get("sealed_password")
                if token is None:
                    raise ReconcileError("the trust password is no longer available")
                self.ad.create_trust(
                    dc, remote, AWS_TO_SAMBA_TYPE[aws["TrustType"]],
                    AWS_TO_SAMBA_DIRECTION[aws["TrustDirection"]],
                    self.sealer.unseal(token), _remote_dc(doc, remote),
                )  # fmt: skip
                self._set_trust(key, aws["TrustId"], TrustState.CREATED, forget_password=True)
            elif state == TrustState.CREATED:
                self._set_trust(key, aws["TrustId"], TrustState.VERIFYING)
            elif state == TrustState.VERIFYING:
                problem = self.ad.validate_trust(dc, remote)
                if problem is None:
                    self._set_trust(key, aws["TrustId"], TrustState.VERIFIED)
                else:
                    self._set_trust(key, aws["TrustId"], TrustState.VERIFY_FAILED, problem)
            elif state == TrustState.DELETING:
                self.ad.delete_trust(dc, remote)
                self._update(key, lambda d: _drop_trust(d, aws["TrustId"]))
                log.info("directory %s: trust %s deleted", key[2], aws["TrustId"])
        except (EngineError, ReconcileError) as exc:
            log.error("directory %s: trust %s: %s", key[2], aws["TrustId"], exc)
            failed = TrustState.FAILED if state == TrustState.CREATING else None
            if failed is not None:
                self._set_trust(key, aws["TrustId"], failed, one_line_reason(exc, None))

    def _set_trust(
        self,
        key: Key,
        trust_id: str,
        state: TrustState,
        reason: str | None = None,
        forget_password: bool = False,
    ) -> None:
        def change(d: Doc) -> None:
            for trust in d.get("trusts", []):
                if trust["aws"]["TrustId"] == trust_id:
                    set_trust_state(trust, state, reason)
                    if forget_password:
                        trust.pop("sealed_password", None)

        self._update(key, change)


def _remote_dc(doc: Doc, remote: str) -> str:
    """Where the trusted forest's DC answers: its conditional forwarder's first address
    (a forest's DNS servers are its DCs)."""
    for forwarder in doc.get("conditional_forwarders", []):
        if forwarder["RemoteDomainName"].lower() == remote.lower():
            return str(forwarder["DnsIpAddrs"][0])
    raise ReconcileError(
        f"no conditional forwarder for {remote}: the directory cannot find its domain controllers"
    )


def _drop_trust(doc: Doc, trust_id: str) -> None:
    doc["trusts"] = [t for t in doc.get("trusts", []) if t["aws"]["TrustId"] != trust_id]
