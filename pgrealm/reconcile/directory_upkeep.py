"""A settled directory's other duties, part of the directory reconciler: more or fewer
DCs (UpdateNumberOfDomainControllers), snapshots and restoring one, an AD Connector's
one check (an LDAPS bind from its interface in the VPC), and an UpdateDirectorySetup
activity's end (the DCs already run as the record asks)."""

from __future__ import annotations

import functools
import logging
from datetime import UTC, datetime

from pgrealm.engines.sockets import LDAP_INVALID_CREDENTIALS
from pgrealm.errors import EngineError, ReconcileError, one_line_reason
from pgrealm.gateways.directory import dc_spec, live_dc_spec
from pgrealm.model.addresses import AddressAllocator
from pgrealm.model.directory import DirectoryStage, set_stage, updating
from pgrealm.model.layout import directory_snapshot
from pgrealm.reconcile._directory_parts import (
    DirectoryParts,
    StepCtx,
    process_name,
    set_dc_status,
)
from pgrealm.reconcile.runner import Key
from pgrealm.reconcile.step import run_steps
from pgrealm.store import Doc

__all__ = ["UpkeepPart"]

log = logging.getLogger(__name__)

_CONNECT_ATTEMPTS = 20  # passes without an LDAP answer before an AD Connector fails


class UpkeepPart(DirectoryParts):
    def _resized(self, key: Key, doc: Doc) -> bool:
        """True when no DC is joining or leaving; otherwise move the first one that is."""
        for dc in doc["dcs"]:
            if dc.get("status") == "Creating":
                self._add_dc(key, doc, dc)
                return False
            if dc.get("status") == "Deleting":
                self._remove_dc(key, doc, dc)
                return False
        return True

    def _add_dc(self, key: Key, doc: Doc, dc: Doc) -> None:
        first = next(d for d in doc["dcs"] if d.get("status") == "Active")
        run_steps(doc["aws"]["DirectoryId"], self._join_steps(first, dc), StepCtx(key, doc))

        def joined(d: Doc) -> None:
            for record in d["dcs"]:
                if record["name"] == dc["name"]:
                    set_dc_status(record, down=False)
            d["aws"]["DnsIpAddrs"] = [x["vpc_ip"] for x in d["dcs"] if x.get("status") == "Active"]

        self._update(key, joined)
        log.info("directory %s: %s joined", key[2], dc["name"])

    def _remove_dc(self, key: Key, doc: Doc, dc: Doc) -> None:
        self.supervisor.stop(process_name(doc, dc), forget=True)
        survivor = next(d for d in doc["dcs"] if d.get("status") == "Active")
        self.ad.remove_dc(dc_spec(self.settings, doc, survivor), dc_spec(self.settings, doc, dc))
        self.ad.remove_tree(dc_spec(self.settings, doc, dc).home)
        AddressAllocator(self.store, self.settings.host_block).release(
            key[0], key[1], dc["address"]
        )

        def removed(d: Doc) -> None:
            d["dcs"] = [x for x in d["dcs"] if x["name"] != dc["name"]]
            d["aws"]["DnsIpAddrs"] = [x["vpc_ip"] for x in d["dcs"]]

        self._update(key, removed)
        log.info("directory %s: %s demoted and removed", key[2], dc["name"])

    def _updates_applied(self, key: Key, doc: Doc) -> None:
        """Every DC runs as ``doc`` (read before the DCs were checked) asks: the update
        activities it holds are Updated; one asked for since waits for the next pass."""
        started = {a["StartTime"] for a in updating(doc)}
        if not started:
            return

        def applied(d: Doc) -> None:
            stamp = datetime.now(UTC).isoformat()
            for activity in updating(d):
                if activity["StartTime"] in started:
                    activity.update(Status="Updated", LastUpdatedDateTime=stamp)

        self._update(key, applied)
        log.info("directory %s: update applied", key[2])

    # -- snapshots (CreateSnapshot, RestoreFromSnapshot) ------------------------------------
    def _snapshots(self, key: Key, doc: Doc) -> None:
        """Take the snapshots asked for (a backup of the first DC); drop deleted ones' files."""
        did = doc["aws"]["DirectoryId"]
        for snapshot_id in doc.get("snapshot_files_to_remove", []):
            self.ad.remove_tree(directory_snapshot(self.settings, did, snapshot_id).parent)
        if doc.get("snapshot_files_to_remove"):
            self._update(key, lambda d: d.pop("snapshot_files_to_remove", None))
        for snapshot in doc.get("snapshots", []):
            if snapshot["Status"] != "Creating":
                continue
            target = directory_snapshot(self.settings, did, snapshot["SnapshotId"])
            try:
                self.ad.backup_dc(live_dc_spec(self.settings, doc), target)
                status = "Completed"
            except EngineError as exc:
                log.error("directory %s: snapshot %s: %s", did, snapshot["SnapshotId"], exc)
                status = "Failed"
            self._update(
                key, functools.partial(_snapshot_status, sid=snapshot["SnapshotId"], status=status)
            )

    def _restore(self, key: Key, doc: Doc) -> None:
        """The first DC gets the snapshot's database back; every other DC is wiped and
        joins again from it (they have seen its later changes: see engines/samba/backup.py)."""
        did, snapshot_id = doc["aws"]["DirectoryId"], doc.get("restoring", "")
        backup = directory_snapshot(self.settings, did, snapshot_id)
        first, *others = doc["dcs"]
        try:
            for dc in doc["dcs"]:
                self.supervisor.stop(process_name(doc, dc), forget=True)
            self.ad.restore_dc(dc_spec(self.settings, doc, first), backup)
            self._run_dc(key, doc, first)
            for dc in others:
                try:  # a DC made after the snapshot is not in it: nothing to remove
                    self.ad.remove_dc(
                        dc_spec(self.settings, doc, first), dc_spec(self.settings, doc, dc)
                    )
                except EngineError as exc:
                    log.info("directory %s: %s not in the snapshot: %s", did, dc["name"], exc)
                self.ad.remove_tree(dc_spec(self.settings, doc, dc).home)
                run_steps(did, self._join_steps(first, dc), StepCtx(key, doc))
        except Exception as exc:  # noqa: BLE001 - whatever it was, the stage must say so
            reason = f"Restoring snapshot {snapshot_id} failed: {one_line_reason(exc)}."
            log.error("directory %s: %s", did, reason)

            def failed(d: Doc) -> None:
                d.pop("restoring", None)
                set_stage(d, DirectoryStage.RESTORE_FAILED, reason)

            self._update(key, failed)
            self._run_what_remains(doc)
            return

        def restored(d: Doc) -> None:
            d.pop("restoring", None)
            set_stage(d, DirectoryStage.ACTIVE)

        self._update(key, restored)
        log.info("directory %s: restored from %s", did, snapshot_id)

    def _run_what_remains(self, doc: Doc) -> None:
        """A directory whose restore failed keeps serving from every DC that still has a
        whole database (a snapshot that could not be read changed none): it stays
        RestoreFailed, as on AWS, until a restore succeeds or it is deleted."""
        for dc in doc["dcs"]:
            spec = dc_spec(self.settings, doc, dc)
            if self.ad.is_provisioned(spec) and not self.supervisor.running(process_name(doc, dc)):
                self.supervisor.ensure_running(self.process_spec(doc, dc))

    # -- AD Connector ----------------------------------------------------------------------
    def _connect(self, key: Key, doc: Doc) -> None:
        """Bind as the service account to the customer's DNS servers (their DCs), over
        LDAPS from the connector's first interface: Active on success; Failed with AWS's
        kind of reason when the credentials are wrong, or when nothing answers for a
        while (routes, peering and security groups count, as for any host)."""
        self._update(key, lambda d: set_stage(d, DirectoryStage.CREATING))
        aws, eni = doc["aws"], doc["enis"][0]
        if self.network is None:
            raise ReconcileError("AD Connector needs the kernel network")
        namespace = self.network.realise_host(key[0], key[1], eni["address"])
        user = f"{aws['ConnectSettings']['CustomerUserName']}@{aws['Name']}"
        password = self.sealer.unseal(doc["sealed_service_password"])
        codes = [self.network.ldap_bind(namespace, ip, user, password) for ip in aws["DnsIpAddrs"]]
        if 0 in codes:
            self._update(key, _connected)
            log.info("directory %s: AD Connector Active", key[2])
            return
        attempts = int(doc.get("attempts", 0)) + 1
        if LDAP_INVALID_CREDENTIALS in codes:
            reason = (
                f"Invalid credentials: the directory at {', '.join(aws['DnsIpAddrs'])} refused "
                f"the service account {aws['ConnectSettings']['CustomerUserName']}."
            )
        elif attempts < _CONNECT_ATTEMPTS:
            self._update(key, lambda d: d.__setitem__("attempts", attempts))
            return
        else:
            reason = (
                "Connectivity issues detected: LDAP unavailable (TCP port 636) for IP: "
                f"{', '.join(aws['DnsIpAddrs'])}. Please ensure that the listed ports are "
                "available and retry the operation."
            )

        def fail(d: Doc) -> None:
            d.pop("sealed_service_password", None)
            set_stage(d, DirectoryStage.FAILED, reason)

        self._update(key, fail)


def _snapshot_status(doc: Doc, sid: str, status: str) -> None:
    for snapshot in doc.get("snapshots", []):
        if snapshot["SnapshotId"] == sid:
            snapshot["Status"] = status


def _connected(doc: Doc) -> None:
    doc.pop("sealed_service_password", None)  # checked once; the connector keeps no secret
    doc.pop("attempts", None)
    set_stage(doc, DirectoryStage.ACTIVE)
