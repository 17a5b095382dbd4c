"""A Multi-AZ instance's standby, part of the DB instance reconciler (db_instance.py).

The standby is a second server of the instance in another zone's subnet: a copy of the
primary made by ``pg_basebackup`` from the standby's own namespace, then streaming as
MULTI_AZ_STANDBY. Once it streams, the primary's commits wait for it
(``synchronous_standby_names``), so every commit that returned is on both.

A failover (reboot-db-instance --force-failover, or the primary's postmaster dying)
stops what is left of the primary, promotes the standby and swaps the two servers' places
in the record (model/multi_az.py): the endpoint name moves to the promoted server, whose
keytab holds the same postgres/<endpoint> key, so Kerberos logins work again as soon as a
client reconnects. The former primary's files are then replaced by a fresh clone of the
new primary, which becomes the standby.
"""

from __future__ import annotations

import copy
import dataclasses
import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from pgrealm.config import Settings
from pgrealm.engines import postgres
from pgrealm.engines.interfaces import DirectoryEngine, InstanceEngine, NamePublisher
from pgrealm.errors import ReconcileError
from pgrealm.gateways import rds_ca
from pgrealm.gateways.directory import DirectoryData
from pgrealm.model.addresses import AddressAllocator
from pgrealm.model.layout import instance_keytab, node_home
from pgrealm.model.multi_az import SLOT_A, standby, standby_ready, swap_roles
from pgrealm.model.rds import InstanceStatus
from pgrealm.reconcile.network import HostNetwork
from pgrealm.reconcile.runner import Key
from pgrealm.sealing import Sealer
from pgrealm.store import Doc, Store
from pgrealm.store.kinds import Kind
from pgrealm.supervisor import ProcessSpec, Supervisor

__all__ = ["MultiAzPart", "StepCtx", "process_name"]

log = logging.getLogger(__name__)

_STREAM_TIMEOUT = 60.0  # seconds a new standby has to start streaming
_NO_FAILOVER = (
    InstanceStatus.STOPPING,
    InstanceStatus.STOPPED,
    InstanceStatus.FAILED,
    InstanceStatus.DELETING,
)


def process_name(doc: Doc, slot: str | None = None) -> str:
    """The supervisor's name for the server in ``slot`` (the primary's by default)."""
    arn = doc["aws"]["DBInstanceArn"].split(":")
    name = f"rds/{arn[4]}-{arn[3]}-{doc['aws']['DBInstanceIdentifier']}"
    slot = slot or doc.get("slot") or SLOT_A
    return name if slot == SLOT_A else f"{name}/{slot}"


class StepCtx:
    """What the steps of one instance's pass share."""

    def __init__(self, key: Key, doc: Doc, spec: postgres.PgSpec) -> None:
        self.key = key
        self.doc = doc
        self.spec = spec


class MultiAzPart:
    """The reconciler's attributes and methods this part uses."""

    store: Store
    settings: Settings
    supervisor: Supervisor
    sealer: Sealer
    directories: DirectoryData
    pg: InstanceEngine
    ad: DirectoryEngine
    names: NamePublisher
    network: HostNetwork | None

    if TYPE_CHECKING:

        def spec(self, doc: Doc) -> postgres.PgSpec: ...
        def process_spec(
            self, doc: Doc, spec: postgres.PgSpec, slot: str | None = None
        ) -> ProcessSpec: ...
        def _update(self, key: Key, change: Callable[[Doc], object]) -> Doc | None: ...
        def _event(self, key: Key, doc: Doc, message: str, category: str) -> None: ...
        def _write_config(self, ctx: StepCtx) -> None: ...
        def _reload(self, ctx: StepCtx) -> None: ...
        def _export_to(self, doc: Doc, keytab: Path) -> None: ...
        def _realm(self, doc: Doc) -> str | None: ...

    # -- the standby's spec -------------------------------------------------------------
    def standby_spec(self, doc: Doc) -> postgres.PgSpec:
        """The standby's server: the instance's spec seen from the standby's place,
        streaming from the primary, archiving nothing."""
        view = copy.deepcopy(doc)
        swap_roles(view)
        return dataclasses.replace(
            self.spec(view),
            primary=str(doc["vpc_ip"]),
            multi_az_standby=True,
            synchronous=False,
            replicas=(),
            wal_archive=None,
            recovery=None,
        )

    # -- failover -----------------------------------------------------------------------
    def _failover_due(self, doc: Doc) -> bool:
        """Asked for, or the primary died, and a synchronous standby runs to take over."""
        if not standby_ready(doc) or doc["aws"]["DBInstanceStatus"] in _NO_FAILOVER:
            return False
        spare = standby(doc)
        assert spare is not None
        if self.supervisor.running(process_name(doc, spare["slot"])) is None:
            return False
        return bool(doc.get("failover_requested")) or self.supervisor.crashed(process_name(doc))

    def _fail_over(self, key: Key, doc: Doc) -> Doc:
        """Promote the standby and move the endpoint to it (the module docstring)."""
        forced = bool(doc.get("failover_requested"))
        log.warning("db instance %s: failing over (%s)", key[2], "asked" if forced else "crash")
        self._event(key, doc, "Multi-AZ instance failover started", "failover")
        # A fast shutdown: the walsender hands the standby the last WAL before it exits.
        self.supervisor.stop(process_name(doc), hurry=True)
        self.pg.promote(self.standby_spec(doc))

        def swapped(d: Doc) -> None:
            swap_roles(d)
            d.pop("failover_requested", None)

        updated = self._update(key, swapped)
        assert updated is not None
        self.names.publish(
            self.settings.hosts_file, str(self.settings.home),
            updated["aws"]["Endpoint"]["Address"], updated["address"],
        )  # fmt: skip
        self._repoint_replicas(updated)
        self._event(key, updated, "Multi-AZ instance failover completed", "failover")
        return updated

    def _repoint_replicas(self, doc: Doc) -> None:
        """Read replicas stream from the promoted server: their config names it."""
        arn = doc["aws"]["DBInstanceArn"].split(":")
        for ident in doc["aws"].get("ReadReplicaDBInstanceIdentifiers") or []:
            self.store.update(
                Kind.DB_INSTANCE, arn[4], arn[3], ident,
                lambda d: d.__setitem__("source_moved", True),
            )  # fmt: skip

    # -- the standby step ---------------------------------------------------------------
    def _standby_settled(self, ctx: StepCtx) -> bool:
        spare = standby(ctx.doc)
        if spare is None:
            return True
        if spare.get("desired") == "absent":
            return False
        running = self.supervisor.running(process_name(ctx.doc, spare["slot"])) is not None
        return bool(spare.get("ready")) and running

    def _ensure_standby(self, ctx: StepCtx) -> None:
        """Clone the standby if it has no data yet, run it, and once it streams make the
        primary's commits wait for it."""
        spare = standby(ctx.doc)
        assert spare is not None
        if spare.get("desired") == "absent":
            self._drop_standby(ctx)
            return
        spec = self.standby_spec(ctx.doc)
        if self.network is not None:  # its namespace, and the routers' rules for its stream
            self.network.realise_host(ctx.key[0], ctx.key[1], spare["address"])
        if not spare.get("cloned"):
            self._clone_standby(ctx, spec)
        name = process_name(ctx.doc, spare["slot"])
        self.supervisor.ensure_running(self.process_spec(ctx.doc, spec, spare["slot"]))
        deadline = time.monotonic() + _STREAM_TIMEOUT
        while not self.pg.standby_streaming(ctx.spec):
            if time.monotonic() > deadline or self.supervisor.running(name) is None:
                raise ReconcileError(
                    f"the standby in {spare['zone']} did not start streaming; "
                    f"see {spec.home / 'log'}"
                )
            time.sleep(0.2)
        if not spare.get("ready"):
            self._set_standby(ctx, ready=True)
            log.info("db instance %s: standby in %s is synchronous", ctx.key[2], spare["zone"])
            if ctx.doc["aws"]["DBInstanceStatus"] == InstanceStatus.MODIFYING:
                self._event(
                    ctx.key, ctx.doc,
                    "Finished applying modification to convert to a Multi-AZ DB instance",
                    "configuration change",
                )  # fmt: skip
        self._primary_follows(ctx)

    def _clone_standby(self, ctx: StepCtx, spec: postgres.PgSpec) -> None:
        """A fresh copy of the primary in the standby's place (replacing what a former
        primary left there), with its own keytab and certificate."""
        spare = standby(ctx.doc)
        assert spare is not None
        self.supervisor.stop(process_name(ctx.doc, spare["slot"]), hurry=True)
        self.pg.remove_server(spec)
        self.pg.clone_from_primary(spec)
        if spec.keytab is not None and ctx.doc.get("keytab_for"):
            self._export_to(ctx.doc, spec.keytab)
        issuer = ctx.doc["aws"].get("CACertificateIdentifier")
        if issuer:
            cert, key = rds_ca.issue_for(
                self.store, self.sealer, issuer, ctx.doc["aws"]["Endpoint"]["Address"],
                [spec.address],
            )  # fmt: skip
            self.pg.install_certificate(spec, cert, key)
        self.pg.write_config(spec)
        self._set_standby(ctx, cloned=True)

    def _set_standby(self, ctx: StepCtx, **progress: bool) -> None:
        def change(d: Doc) -> None:
            if standby(d) is not None:
                d["standby"].update(progress)

        ctx.doc = self._update(ctx.key, change) or ctx.doc

    def _primary_follows(self, ctx: StepCtx) -> None:
        """The primary's config says whether its commits wait for a standby, and its
        process whether a death fails over (then the supervisor does not restart it)."""
        ctx.spec = self.spec(ctx.doc)
        if ctx.doc.get("config_hash") != self.pg.config_digest(ctx.spec):
            self._write_config(ctx)
            self._reload(ctx)
        self.supervisor.ensure_running(self.process_spec(ctx.doc, ctx.spec))

    def _drop_standby(self, ctx: StepCtx) -> None:
        """modify-db-instance --no-multi-az: the primary stops waiting, then the standby
        goes with its files and address."""
        self._set_standby(ctx, ready=False)
        self._primary_follows(ctx)
        self.remove_standby(ctx.key, ctx.doc)

        def single(d: Doc) -> None:
            d.pop("standby", None)
            d["aws"]["MultiAZ"] = False
            d["aws"].pop("SecondaryAvailabilityZone", None)

        ctx.doc = self._update(ctx.key, single) or ctx.doc
        self._primary_follows(ctx)  # the standby's address leaves pg_hba
        self._event(
            ctx.key, ctx.doc,
            "Finished applying modification to convert to a standard (Single-AZ) DB instance",
            "configuration change",
        )  # fmt: skip

    def remove_standby(self, key: Key, doc: Doc) -> None:
        """Stop the standby and give back its files, keytab and address."""
        spare = standby(doc)
        if spare is None:
            return
        self.supervisor.stop(process_name(doc, spare["slot"]), forget=True, hurry=True)
        if spare["slot"] == SLOT_A:  # the instance's own folder: only the server's files
            self.pg.remove_server(self.standby_spec(doc))
        else:
            self.pg.remove_tree(node_home(self.settings, doc, spare["slot"]))
        self.pg.remove_keytab(instance_keytab(self.settings, doc, spare["slot"]))
        if spare.get("address"):
            AddressAllocator(self.store, self.settings.host_block).release(
                key[0], key[1], spare["address"]
            )

    def _stop_standby(self, doc: Doc) -> None:
        """stop-db-instance stops both servers; the standby streams anew at start."""
        spare = standby(doc)
        if spare is not None:
            self.supervisor.stop(process_name(doc, spare["slot"]))
