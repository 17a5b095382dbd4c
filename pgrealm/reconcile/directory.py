"""Turns a desired directory into running Samba AD domain controllers, and back.

Steps for a directory (each idempotent, observed from the real world):

    samba.provision_dc1     the domain exists on disk, Admin has its password
    supervisor.run_dc1      the DC process runs and answers KDC/LDAP/DNS
    samba.join_dc2          dc2 joined the running domain (a half-joined home is redone)
    supervisor.run_dc2      dc2 runs and answers; it replicates with dc1 both ways
    seal.forget_admin       the sealed Admin password is erased from the store

Then, while the directory is Active or Impaired: each DC's smb.conf follows the record
(trusts turn on the file server and winbindd, conditional forwarders the DNS forwarder
list), rewritten and restarted one DC at a time; and each trust moves through its states
(samba-tool makes, validates and deletes this side of it: engines/samba/trust.py).

The join needs dc1 running, so it cannot overlap dc1's provisioning. Health after that:
a DC that is down makes the directory Impaired, naming the DC (the supervisor restarts
it), Active again once both answer; each DC's own status says the same for
DescribeDomainControllers. :func:`pgrealm.gateways.directory.live_dc_spec` names the DC
that live operations (users, passwords, service accounts, keytabs) go to: the first whose
process is up, so they keep working, and reach clients, while the other is down.
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime

from pgrealm.config import Settings
from pgrealm.engines import samba
from pgrealm.engines.interfaces import DirectoryEngine
from pgrealm.engines.sockets import LDAP_INVALID_CREDENTIALS
from pgrealm.errors import EngineError, ReconcileError, one_line_reason
from pgrealm.gateways.directory import dc_spec, live_dc_spec
from pgrealm.model.addresses import AddressAllocator
from pgrealm.model.directory import DirectoryStage, domain_controller_id, set_stage
from pgrealm.model.layout import directory_home, directory_snapshot, directory_snapshots
from pgrealm.model.trusts import (
    AWS_TO_SAMBA_DIRECTION,
    AWS_TO_SAMBA_TYPE,
    TrustState,
    set_trust_state,
)
from pgrealm.reconcile.network import HostNetwork
from pgrealm.reconcile.runner import Key
from pgrealm.reconcile.step import Step, run_steps
from pgrealm.sealing import Sealer
from pgrealm.store import Doc, Store
from pgrealm.store.kinds import Kind
from pgrealm.supervisor import ProcessSpec, Supervisor

__all__ = ["DirectoryReconciler"]

log = logging.getLogger(__name__)

KIND = Kind.DIRECTORY
_READY_TIMEOUT = 90.0
_HEALTH_INTERVAL = 3.0  # seconds between health checks of a settled directory
_CONNECT_ATTEMPTS = 20  # passes without an LDAP answer before an AD Connector fails
_TRUST_WORK = {"Creating", "Created", "Verifying", "Deleting"}  # states the reconciler moves on


def process_name(doc: Doc, dc: Doc) -> str:
    return f"{doc['aws']['DirectoryId']}/{dc['name']}"


class _Ctx:
    """What the steps of one directory run share."""

    def __init__(self, key: Key, doc: Doc) -> None:
        self.key = key
        self.doc = doc


class DirectoryReconciler:
    kind = KIND

    def __init__(
        self,
        store: Store,
        settings: Settings,
        supervisor: Supervisor,
        sealer: Sealer,
        ad: DirectoryEngine = samba,
        network: HostNetwork | None = None,
    ) -> None:
        self.store = store
        self.network = network
        self.settings = settings
        self.supervisor = supervisor
        self.sealer = sealer
        self.ad = ad
        self._checked: dict[Key, float] = {}

    def pending(self) -> list[Key]:
        """Directories being created or deleted, and settled ones due for a health check
        (every few seconds: probing each DC's KDC, LDAP and DNS is not free)."""
        now = time.monotonic()
        out = []
        for key, doc in self.store.items(KIND):
            settled = doc["desired"] == "present" and doc["aws"]["Stage"] in ("Active", "Impaired")
            busy = any(t["aws"]["TrustState"] in _TRUST_WORK for t in doc.get("trusts", []))
            if settled and not busy and now - self._checked.get(key, 0.0) < _HEALTH_INTERVAL:
                continue
            out.append(key)
        return out

    def reconcile(self, key: Key) -> None:
        doc = self.store.get(KIND, *key)
        if doc is None:
            return
        if doc["desired"] == "absent":
            self._delete(key, doc)
            return
        stage = doc["aws"]["Stage"]
        if doc["aws"].get("Type") == "ADConnector":
            if stage in ("Requested", "Creating"):
                self._connect(key, doc)
            return
        if stage == "Restoring":
            self._restore(key, doc)
        elif stage in ("Requested", "Creating"):
            self._create(key, doc)
        elif stage in ("Active", "Impaired"):
            self._check_health(key, doc)
            if self._configs_converged(key, doc) and self._resized(key, doc):
                self._snapshots(key, doc)
                self._settings_applied(key, doc)
                for trust in doc.get("trusts", []):
                    self._trust_step(key, doc, trust)

    # -- creation -----------------------------------------------------------------------
    def _steps(self, doc: Doc) -> list[Step[_Ctx]]:
        dc1, *others = doc["dcs"]
        steps: list[Step[_Ctx]] = [
            Step(
                "samba.provision_dc1",
                lambda c: self._provisioned(c.doc, dc1),
                lambda c: self._provision(c, dc1),
            ),
            Step(
                "supervisor.run_dc1",
                lambda c: self._serving(c.doc, dc1),
                lambda c: self._run_dc(c.key, c.doc, dc1),
            ),
        ]
        for dc in others:
            steps += self._join_steps(dc1, dc)
        return [
            *steps,
            Step(
                "seal.forget_admin",
                lambda c: "sealed_admin_password" not in c.doc,
                self._forget_admin,
            ),
        ]

    def _join_steps(self, dc1: Doc, dc: Doc) -> list[Step[_Ctx]]:
        return [
            Step(
                f"samba.join_{dc['name']}",
                lambda c: self._provisioned(c.doc, dc),
                lambda c: self._join(c.key, c.doc, dc, dc1),
            ),
            Step(
                f"supervisor.run_{dc['name']}",
                lambda c: self._serving(c.doc, dc),
                lambda c: self._run_dc(c.key, c.doc, dc),
            ),
        ]

    def _create(self, key: Key, doc: Doc) -> None:
        self._update(key, lambda d: set_stage(d, DirectoryStage.CREATING))
        ctx = _Ctx(key, doc)
        try:
            run_steps(doc["aws"]["DirectoryId"], self._steps(doc), ctx)
        except (EngineError, ReconcileError) as exc:
            attempts = int(doc.get("attempts", 0)) + 1
            final = attempts >= 3 or "sealed_admin_password" not in doc
            log.error("directory %s: %s (attempt %d)", key[2], exc, attempts)
            free = self.ad.free_bytes(self.settings.home)
            reason = (
                f"Directory creation failed: {one_line_reason(exc, free)}. "
                f"See {self.settings.home / 'server.log'}."
            )

            def fail(d: Doc) -> None:
                d["attempts"] = attempts
                if final:
                    set_stage(d, DirectoryStage.FAILED, reason)

            self._update(key, fail)
            if not final:
                raise
            return
        for dc in doc["dcs"]:
            dc["status"] = "Active"
            dc.pop("status_reason", None)
        self._update(key, lambda d: _finish(d, doc["dcs"]))
        log.info("directory %s: Active", key[2])

    def _provisioned(self, doc: Doc, dc: Doc) -> bool:
        return self.ad.is_provisioned(dc_spec(self.settings, doc, dc))

    def _provision(self, ctx: _Ctx, dc: Doc) -> None:
        token = ctx.doc.get("sealed_admin_password")
        if token is None:
            raise ReconcileError(
                "the Admin password is no longer available; recreate the directory"
            )
        spec = dc_spec(self.settings, ctx.doc, dc)
        self._realise(ctx.key, dc)
        self.ad.remove_tree(spec.home)  # a half-provisioned domain from a crash: start over
        self.ad.provision_dc(spec, self.sealer.unseal(token), _addresses(ctx.doc))

    def _realise(self, key: Key, dc: Doc) -> None:
        """The DC's namespace in its VPC, before anything runs in it."""
        if self.network is not None:
            self.network.realise_host(key[0], key[1], dc["address"])

    def _join(self, key: Key, doc: Doc, dc: Doc, first: Doc) -> None:
        spec = dc_spec(self.settings, doc, dc)
        self.supervisor.stop(process_name(doc, dc), forget=True)  # never run a half-joined DC
        self._realise(key, dc)
        # join_dc wipes a half-joined home's state itself (logs stay for the post-mortem);
        # samba-tool removes that attempt's DC objects from dc1 before joining again.
        self.ad.join_dc(spec, dc_spec(self.settings, doc, first), _addresses(doc))

    def _serving(self, doc: Doc, dc: Doc) -> bool:
        spec = dc_spec(self.settings, doc, dc)
        return self.supervisor.running(process_name(doc, dc)) is not None and self.ad.dc_ready(spec)

    def _run_dc(self, key: Key, doc: Doc, dc: Doc) -> None:
        spec = dc_spec(self.settings, doc, dc)
        self._realise(key, dc)
        self.supervisor.ensure_running(self.process_spec(doc, dc))
        deadline = time.monotonic() + _READY_TIMEOUT
        while time.monotonic() < deadline:
            if self.ad.dc_ready(spec):
                return
            if self.supervisor.running(process_name(doc, dc)) is None:
                raise ReconcileError(f"samba exited at start: {self.ad.start_failure(spec)}")
            time.sleep(0.1)
        raise ReconcileError(f"the domain controller at {spec.address} did not become ready")

    def process_spec(self, doc: Doc, dc: Doc) -> ProcessSpec:
        spec = dc_spec(self.settings, doc, dc)
        return ProcessSpec(
            name=process_name(doc, dc),
            argv=self.ad.dc_argv(spec),
            env=self.ad.dc_env(spec),
            log_path=spec.home / "log" / "samba.out",
            netns=spec.netns,
        )

    def _forget_admin(self, ctx: _Ctx) -> None:
        ctx.doc.pop("sealed_admin_password", None)
        self._update(ctx.key, lambda d: d.pop("sealed_admin_password", None))

    # -- health ---------------------------------------------------------------------------
    def _check_health(self, key: Key, doc: Doc) -> None:
        self._checked[key] = time.monotonic()
        settled = [dc for dc in doc["dcs"] if dc.get("status") not in ("Creating", "Deleting")]
        down = {dc["name"] for dc in settled if not self._serving(doc, dc)}
        for dc in doc["dcs"]:  # make sure the supervisor wants it; it restarts it with backoff
            if dc["name"] in down and self.supervisor.running(process_name(doc, dc)) is None:
                self.supervisor.ensure_running(self.process_spec(doc, dc))
        names = ", ".join(
            f"{domain_controller_id(doc, dc)} ({dc['vpc_ip']})"
            for dc in doc["dcs"]
            if dc["name"] in down
        )

        def record(d: Doc) -> None:
            for dc in d["dcs"]:
                if dc.get("status") not in ("Creating", "Deleting"):
                    _set_dc_status(dc, dc["name"] in down)
            if down:
                reason = f"Domain controller {names} is not responding."
                set_stage(d, DirectoryStage.IMPAIRED, reason)
            else:
                set_stage(d, DirectoryStage.ACTIVE)

        if _health_changed(doc, down):
            self._update(key, record)

    # -- more or fewer DCs (UpdateNumberOfDomainControllers) ---------------------------------
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
        run_steps(doc["aws"]["DirectoryId"], self._join_steps(first, dc), _Ctx(key, doc))

        def joined(d: Doc) -> None:
            for record in d["dcs"]:
                if record["name"] == dc["name"]:
                    _set_dc_status(record, down=False)
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
                key, lambda d, s=snapshot["SnapshotId"], v=status: _snapshot_status(d, s, v)
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
                run_steps(did, self._join_steps(first, dc), _Ctx(key, doc))
        except Exception as exc:  # noqa: BLE001 - whatever it was, the stage must say so
            reason = f"Restoring snapshot {snapshot_id} failed: {one_line_reason(exc)}."
            log.error("directory %s: %s", did, reason)

            def failed(d: Doc) -> None:
                d.pop("restoring", None)
                set_stage(d, DirectoryStage.RESTORE_FAILED, reason)

            self._update(key, failed)
            return

        def restored(d: Doc) -> None:
            d.pop("restoring", None)
            set_stage(d, DirectoryStage.ACTIVE)

        self._update(key, restored)
        log.info("directory %s: restored from %s", did, snapshot_id)

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

    # -- configuration and trusts ----------------------------------------------------------
    def _configs_converged(self, key: Key, doc: Doc) -> bool:
        """True when every DC runs with the configuration its record asks for; otherwise
        rewrite and restart the first DC that does not (the other keeps serving)."""
        for dc in doc["dcs"]:
            spec = dc_spec(self.settings, doc, dc)
            if dc.get("status") in ("Creating", "Deleting") or self.ad.config_current(spec):
                continue
            log.info("directory %s: %s restarts with a new configuration", key[2], dc["name"])
            self.ad.write_dc_configs(spec, _addresses(doc))
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

    # -- deletion ---------------------------------------------------------------------------
    def _delete(self, key: Key, doc: Doc) -> None:
        for dc in doc["dcs"]:
            self.supervisor.stop(process_name(doc, dc), forget=True)
        home = directory_home(self.settings, doc)
        self.ad.remove_tree(home)  # an error keeps the record: the next pass tries again
        self.ad.remove_tree(directory_snapshots(self.settings, key[2]))
        addresses = AddressAllocator(self.store, self.settings.host_block)
        for host in [*doc["dcs"], *doc.get("enis", [])]:  # DCs, or an AD Connector's
            addresses.release(key[0], key[1], host["address"])
        group_id = doc["aws"].get("VpcSettings", {}).get("SecurityGroupId")
        if group_id:  # AWS deletes the controllers' group with its directory
            self.store.delete(Kind.SECURITY_GROUP, key[0], key[1], group_id)
        self.store.delete(KIND, *key)
        log.info("directory %s: deleted", key[2])

    def _update(self, key: Key, change: object) -> None:
        self.store.update(KIND, *key, change)  # type: ignore[arg-type]


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


def _addresses(doc: Doc) -> list[str]:
    """Every DC's VPC address: what the DCs' own krb5.conf names."""
    return [str(dc["vpc_ip"]) for dc in doc["dcs"]]


def _set_dc_status(dc: Doc, down: bool) -> None:
    if down:
        dc["status"] = "Impaired"
        dc["status_reason"] = "The domain controller is not responding; it is being recovered."
    else:
        dc["status"] = "Active"
        dc.pop("status_reason", None)


def _health_changed(doc: Doc, down: set[str]) -> bool:
    """Write only on a change: this runs every reconcile cycle."""
    expected = "Impaired" if down else "Active"
    return doc["aws"]["Stage"] != expected or any(
        dc.get("status") != ("Impaired" if dc["name"] in down else "Active")
        for dc in doc["dcs"]
        if dc.get("status") not in ("Creating", "Deleting")
    )


def _snapshot_status(doc: Doc, snapshot_id: str, status: str) -> None:
    for snapshot in doc.get("snapshots", []):
        if snapshot["SnapshotId"] == snapshot_id:
            snapshot["Status"] = status


def _connected(doc: Doc) -> None:
    doc.pop("sealed_service_password", None)  # checked once; the connector keeps no secret
    doc.pop("attempts", None)
    set_stage(doc, DirectoryStage.ACTIVE)


def _finish(doc: Doc, dcs: list[Doc]) -> None:
    doc["dcs"] = dcs
    doc.pop("sealed_admin_password", None)
    set_stage(doc, DirectoryStage.ACTIVE)
