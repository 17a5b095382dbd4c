"""Turns a desired directory into running Samba AD domain controllers, and back.

Steps for a directory (each idempotent, observed from the real world):

    samba.provision_dc1     the domain exists on disk, Admin has its password
    supervisor.run_dc1      the DC process runs and answers KDC/LDAP/DNS
    samba.join_dc2          dc2 joined the running domain (a half-joined home is redone)
    supervisor.run_dc2      dc2 runs and answers; it replicates with dc1 both ways
    seal.forget_admin       the sealed Admin password is erased from the store

Then, while the directory is Active or Impaired, each pass: health (below), then the
parts mixed in: configuration, settings and trusts (directory_trusts.py), more or fewer
DCs and snapshots (directory_upkeep.py). Restoring a snapshot and an AD Connector's one
check are in directory_upkeep.py too.

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

from pgrealm.config import Settings
from pgrealm.engines import samba
from pgrealm.engines.interfaces import DirectoryEngine
from pgrealm.errors import EngineError, ReconcileError, one_line_reason
from pgrealm.gateways.directory import dc_spec
from pgrealm.model.addresses import AddressAllocator
from pgrealm.model.certificates import certificate_work
from pgrealm.model.directory import (
    DirectoryStage,
    dc_changing,
    domain_controller_id,
    set_stage,
    updating,
)
from pgrealm.model.layout import directory_home, directory_snapshots
from pgrealm.reconcile._directory_parts import StepCtx, addresses, process_name, set_dc_status
from pgrealm.reconcile.directory_ldaps import LdapsPart
from pgrealm.reconcile.directory_trusts import TrustsPart
from pgrealm.reconcile.directory_upkeep import UpkeepPart
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
_TRUST_WORK = {"Creating", "Created", "Verifying", "Deleting"}  # states the reconciler moves on


class DirectoryReconciler(TrustsPart, UpkeepPart, LdapsPart):
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
            busy = (
                certificate_work(doc)
                or bool(updating(doc))
                or any(t["aws"]["TrustState"] in _TRUST_WORK for t in doc.get("trusts", []))
            )
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
            elif stage == "Active":
                self._updates_applied(key, doc)  # its size is capacity: nothing to restart
                self._certificates(key, doc)
            return
        if stage == "Restoring":
            self._restore(key, doc)
        elif stage == "RestoreFailed":
            self._run_what_remains(doc)
        elif stage in ("Requested", "Creating"):
            self._create(key, doc)
        elif stage in ("Active", "Impaired"):
            self._check_health(key, doc)
            if self._configs_converged(key, doc) and self._resized(key, doc):
                self._snapshots(key, doc)
                self._settings_applied(key, doc)
                self._updates_applied(key, doc)
                for trust in doc.get("trusts", []):
                    self._trust_step(key, doc, trust)
                self._certificates(key, doc)

    # -- creation -----------------------------------------------------------------------
    def _steps(self, doc: Doc) -> list[Step[StepCtx]]:
        dc1, *others = doc["dcs"]
        steps: list[Step[StepCtx]] = [
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

    def _join_steps(self, dc1: Doc, dc: Doc) -> list[Step[StepCtx]]:
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
        ctx = StepCtx(key, doc)
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

    def _provision(self, ctx: StepCtx, dc: Doc) -> None:
        token = ctx.doc.get("sealed_admin_password")
        if token is None:
            raise ReconcileError(
                "the Admin password is no longer available; recreate the directory"
            )
        spec = dc_spec(self.settings, ctx.doc, dc)
        self._realise(ctx.key, dc)
        self.ad.remove_tree(spec.home)  # a half-provisioned domain from a crash: start over
        self.ad.provision_dc(spec, self.sealer.unseal(token), addresses(ctx.doc))

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
        self.ad.join_dc(spec, dc_spec(self.settings, doc, first), addresses(doc))

    def _serving(self, doc: Doc, dc: Doc) -> bool:
        spec = dc_spec(self.settings, doc, dc)
        return self.supervisor.running(process_name(doc, dc)) is not None and self.ad.dc_ready(spec)

    def _run_dc(self, key: Key, doc: Doc, dc: Doc) -> None:
        self._realise(key, dc)
        self._issue_certificate(key, doc, dc)
        spec = dc_spec(self.settings, doc, dc)
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

    def _forget_admin(self, ctx: StepCtx) -> None:
        ctx.doc.pop("sealed_admin_password", None)
        self._update(ctx.key, lambda d: d.pop("sealed_admin_password", None))

    # -- health ---------------------------------------------------------------------------
    def _check_health(self, key: Key, doc: Doc) -> None:
        self._checked[key] = time.monotonic()
        settled = [dc for dc in doc["dcs"] if not dc_changing(dc)]
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
                if not dc_changing(dc):
                    set_dc_status(dc, dc["name"] in down)
            if down:
                reason = f"Domain controller {names} is not responding."
                set_stage(d, DirectoryStage.IMPAIRED, reason)
            else:
                set_stage(d, DirectoryStage.ACTIVE)

        if _health_changed(doc, down):
            self._update(key, record)

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


def _health_changed(doc: Doc, down: set[str]) -> bool:
    """Write only on a change: this runs every reconcile cycle."""
    expected = "Impaired" if down else "Active"
    return doc["aws"]["Stage"] != expected or any(
        dc.get("status") != ("Impaired" if dc["name"] in down else "Active")
        for dc in doc["dcs"]
        if not dc_changing(dc)
    )


def _finish(doc: Doc, dcs: list[Doc]) -> None:
    doc["dcs"] = dcs
    doc.pop("sealed_admin_password", None)
    set_stage(doc, DirectoryStage.ACTIVE)
