"""Turns a desired DB instance into a running PostgreSQL server, joined to its directory.

Steps (each idempotent, observed from the real world):

    postgres.os_user          the unprivileged OS user that runs the cluster exists
    samba.service_keytab      (enabling-kerberos) postgres/<endpoint> in AD, keytab exported;
                              a join that cannot complete leaves the membership
                              enable-kerberos-failed and the instance serving passwords
    samba.left_domain         (disabling-kerberos) its computer account and keytab gone
    postgres.initdb           the cluster exists (made by initdb, from a DB snapshot, or,
                              for a read replica, cloned from its source over the VPC)
    postgres.config           postgresql.conf / pg_hba.conf say what the instance should be
    supervisor.postmaster     postgres runs and accepts connections
    postgres.recovered        (a point-in-time restore) WAL replayed to the target, promoted
    postgres.reload           a running server has read the current configuration
    postgres.roles            rds_superuser, rds_ad and the master user exist (password erased)
    postgres.replication      (a source) its read replicas may stream from it
    postgres.standalone       (promote-read-replica) the standby has left recovery
    hosts.endpoint            the endpoint name resolves to the instance's address
    postgres.standby          (Multi-AZ) the standby streams, the primary's commits wait
                              for it (db_multi_az.py, which also fails over)

then its automated backups (db_backups.py): the first base backup (backing-up), and every
few minutes after that.
"""

from __future__ import annotations

import copy
import functools
import hashlib
import logging
import signal
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pgrealm.config import Settings
from pgrealm.engines import hosts, postgres, samba
from pgrealm.engines.interfaces import DirectoryEngine, InstanceEngine, NamePublisher
from pgrealm.errors import EngineError, ReconcileError, one_line_reason
from pgrealm.gateways import rds_ca
from pgrealm.gateways.directory import DirectoryData
from pgrealm.gateways.network import host_namespace
from pgrealm.model.addresses import AddressAllocator
from pgrealm.model.events import instance_events
from pgrealm.model.events import record as record_event
from pgrealm.model.layout import (
    instance_home,
    instance_keytab,
    instance_root,
    instances_root,
    retained_backups_root,
    snapshot_home,
)
from pgrealm.model.membership import (
    KERBEROS_ON,
    MembershipStatus,
    applied_status,
    in_maintenance_window,
)
from pgrealm.model.multi_az import standby, standby_ready
from pgrealm.model.parameters import group_parameters, is_true
from pgrealm.model.rds import RUNNING, InstanceStatus, SnapshotStatus, move_instance
from pgrealm.model.reachability import blocked_because
from pgrealm.reconcile.db_backups import (
    WAL_ARCHIVE,
    AutomatedBackups,
    backup_due,
    backups_on,
)
from pgrealm.reconcile.db_multi_az import MultiAzPart, StepCtx, process_name
from pgrealm.reconcile.network import HostNetwork
from pgrealm.reconcile.runner import Key
from pgrealm.reconcile.step import Step, run_steps
from pgrealm.sealing import Sealer
from pgrealm.store import Doc, Store
from pgrealm.store.kinds import Kind
from pgrealm.supervisor import ProcessSpec, Supervisor

__all__ = ["DbInstanceReconciler"]

log = logging.getLogger(__name__)

KIND = Kind.DB_INSTANCE
DIRECTORY = Kind.DIRECTORY
ADDRESS = Kind.ADDRESS
SNAPSHOT = Kind.DB_SNAPSHOT
_READY_TIMEOUT = 60.0
_JOIN_ATTEMPTS = 3
# What a join needs of every DC, checked from the instance's VPC (udp: a DNS query).
_JOIN_PORTS = (("udp", 53), ("tcp", 53), ("tcp", 88), ("tcp", 389), ("tcp", 464))
_RECHECK_PAUSE = 1.0  # before a join check asks again (see _check_network)
_LAG_EVERY = 30.0  # seconds between two readings of a source's replicas' lag


class _NetworkBlocked(ReconcileError):
    """The instance's VPC cannot reach the directory: final until the network changes."""


# A directory in these stages will be Active soon: a join waits for it, and does not fail.
_DIRECTORY_COMING = ("Requested", "Creating")


class _Waiting(Exception):
    """The instance waits for something outside it (its directory being created)."""


_Ctx = StepCtx


class DbInstanceReconciler(MultiAzPart):
    kind = KIND

    def __init__(
        self,
        store: Store,
        settings: Settings,
        supervisor: Supervisor,
        sealer: Sealer,
        directories: DirectoryData,
        pg: InstanceEngine = postgres,
        ad: DirectoryEngine = samba,
        names: NamePublisher = hosts,
        network: HostNetwork | None = None,
    ) -> None:
        self.store = store
        self.network = network
        self.settings = settings
        self.supervisor = supervisor
        self.sealer = sealer
        self.directories = directories
        self.pg, self.ad, self.names = pg, ad, names
        self._lag_checked: dict[str, float] = {}  # source ARN -> when its replicas' lag was read
        self.backups = AutomatedBackups(
            store, instances_root(settings), retained_backups_root(settings), pg
        )

    def _update(self, key: Key, change: Callable[[Doc], object]) -> Doc | None:
        """Change the instance's record, and keep the RDS events the change makes."""
        before: Doc = {}

        def tracked(doc: Doc) -> None:
            before.update(copy.deepcopy(doc))
            change(doc)

        after = self.store.update(KIND, *key, tracked)
        if after is not None and before:
            for message, category in instance_events(before, after):
                self._event(key, after, message, category)
        return after

    def _event(self, key: Key, doc: Doc, message: str, category: str) -> None:
        source = ("db-instance", key[2], str(doc["aws"]["DBInstanceArn"]))
        record_event(self.store, key[0], key[1], source, message, category)

    def upgrade_memberships(self) -> None:
        """Memberships stored before pgrealm used RDS's status names get those names."""
        for key, doc in self.store.items(KIND):
            if any(
                m.get("Status") in _OLD_STATUSES for m in doc["aws"].get("DomainMemberships") or []
            ):
                self._update(key, _renamed_statuses)

    def pending(self) -> list[Key]:
        """Instances with work to do: settled, healthy ones cost no worker."""
        alive = self.supervisor.running_names()
        return [
            key
            for key, doc in self.store.items(KIND)
            if "address" in doc and self._needs_work(doc, alive)
        ]

    def _needs_work(self, doc: Doc, alive: set[str]) -> bool:
        running = process_name(doc) in alive
        if doc["desired"] == "absent" or doc.get("reboot_requested") or _window_due(doc):
            return True
        spare = standby(doc)
        if spare is not None and running and process_name(doc, spare["slot"]) not in alive:
            return True  # a standby to start, or a failover if the primary died too
        if running and self._lag_due(doc):
            return True
        status = doc["aws"]["DBInstanceStatus"]
        if status == InstanceStatus.FAILED:
            return False
        if status == InstanceStatus.STOPPED:
            return _restart_due(doc)
        if _changes_due(doc):
            return True
        if running and not _tls_issued(doc):  # a new CA, or one made before pgrealm served TLS
            return True
        return status not in RUNNING or not running or backup_due(doc)

    def home(self, doc: Doc) -> Path:
        return instance_home(self.settings, doc)

    def spec(self, doc: Doc) -> postgres.PgSpec:
        home = self.home(doc)
        realm = self._realm(doc)
        return postgres.PgSpec(
            home=home,
            address=doc.get("vpc_ip") or doc["address"],
            reach=doc["address"],
            netns=host_namespace(self.settings, doc["address"]),
            port=5432,
            os_user=self.settings.pg_os_user,
            realm=realm,
            keytab=instance_keytab(self.settings, doc) if realm else None,
            wal_archive=instance_root(self.settings, doc) / WAL_ARCHIVE
            if backups_on(doc)
            else None,
            recovery=self.backups.recovery(doc),
            primary=self._source_address(doc),
            tls_issuer=doc["aws"].get("CACertificateIdentifier"),
            replicas=self._replica_addresses(doc),
            synchronous=standby_ready(doc),
            **self._group_settings(doc),
        )

    def _source_address(self, doc: Doc) -> str | None:
        """A read replica's source's VPC address, where it streams from."""
        source = self.store.get(KIND, *doc["replica_of"]) if doc.get("replica_of") else None
        return str(source["vpc_ip"]) if source and source.get("vpc_ip") else None

    def _replica_addresses(self, doc: Doc) -> tuple[str, ...]:
        """The VPC addresses of the instance's read replicas (those placed already)."""
        account, region = _account_region(doc)
        found = []
        for ident in doc["aws"].get("ReadReplicaDBInstanceIdentifiers") or []:
            replica = self.store.get(KIND, account, region, ident)
            if replica and replica.get("vpc_ip") and replica["desired"] == "present":
                found.append(str(replica["vpc_ip"]))
        spare = standby(doc)
        if spare is not None and spare.get("vpc_ip") and spare.get("desired") != "absent":
            found.append(str(spare["vpc_ip"]))  # a Multi-AZ standby streams as they do
        return tuple(sorted(found))

    def _group_settings(self, doc: Doc) -> dict[str, Any]:
        """The PgSpec fields its DB parameter group sets; krb_caseins_users is a field
        of its own, because pg_hba's Kerberos lines depend on it."""
        account, region = _account_region(doc)
        values = group_parameters(self.store, account, region, doc.get("parameter_group") or "")
        caseins = values.pop("krb_caseins_users", None)
        return {
            "parameters": values,
            "krb_caseins_users": caseins is not None and is_true(caseins),
        }

    def _realm(self, doc: Doc) -> str | None:
        """The realm whose logins the instance serves (or is about to)."""
        members = [
            m for m in doc["aws"].get("DomainMemberships") or [] if m["Status"] in KERBEROS_ON
        ]
        return str(members[0]["FQDN"]).upper() if members else None

    def reconcile(self, key: Key) -> None:
        doc = self.store.get(KIND, *key)
        if doc is None or "address" not in doc:
            return
        if doc["desired"] == "absent":
            self._delete(key, doc)
            return
        status = doc["aws"]["DBInstanceStatus"]
        if status == InstanceStatus.FAILED:
            return
        if status in (InstanceStatus.STOPPING, InstanceStatus.STOPPED):
            doc = self._stop_or_restart(key, doc)
            if doc["aws"]["DBInstanceStatus"] != InstanceStatus.STARTING:
                return
        if self._failover_due(doc):
            doc = self._fail_over(key, doc)
        if _window_due(doc):
            doc = self._apply_pending_memberships(key)
        if status in RUNNING and self._healthy(doc) and not _changes_due(doc):
            if backup_due(doc):
                self.backups.run(key, doc, self.spec(doc))
            if self._lag_due(doc):
                self._record_lag(doc)
            return
        ctx = _Ctx(key, doc, self.spec(doc))
        try:
            if doc.get("reboot_requested"):
                self._reboot(ctx)
            run_steps(key[2], self._steps(doc), ctx)
        except _Waiting as why:
            log.info("db instance %s: waiting: %s", key[2], why)
            return
        except (EngineError, ReconcileError) as exc:
            self._record_failure(key, doc, exc)
            return
        if not backups_on(doc):
            self.backups.drop(instance_root(self.settings, doc))
        # A new instance's first automated backup: creating -> backing-up -> available.
        first_backup = backups_on(doc) and not doc.get("restorable_since")
        status = InstanceStatus.BACKING_UP if first_backup else InstanceStatus.AVAILABLE
        applied = "pending-reboot" if self.pg.pending_restart(ctx.spec) else "in-sync"
        self._update(key, lambda d: _mark_available(d, status, applied))
        log.info("db instance %s: %s", key[2], status.value)
        if first_backup:
            self.backups.run(key, doc, ctx.spec)

    def _lag_due(self, doc: Doc) -> bool:
        """A source with replicas has their lag measured every _LAG_EVERY seconds."""
        if not doc["aws"].get("ReadReplicaDBInstanceIdentifiers"):
            return False
        last = self._lag_checked.get(doc["aws"]["DBInstanceArn"], 0.0)
        return time.monotonic() - last >= _LAG_EVERY

    def _record_lag(self, doc: Doc) -> None:
        """Each replica's replay lag, as the source sees it, into the replica's record
        (``pgrealm status`` shows it; ReplicaLag is a CloudWatch metric on RDS)."""
        self._lag_checked[doc["aws"]["DBInstanceArn"]] = time.monotonic()
        try:
            lags = self.pg.replica_lag(self.spec(doc))
        except EngineError as exc:
            log.warning("db instance %s: replica lag: %s", doc["aws"]["DBInstanceIdentifier"], exc)
            return
        account, region = _account_region(doc)
        for ident in doc["aws"]["ReadReplicaDBInstanceIdentifiers"]:
            replica = self.store.get(KIND, account, region, ident)
            lag = lags.get(str(replica.get("vpc_ip"))) if replica else None
            self.store.update(KIND, account, region, ident, functools.partial(_set_lag, lag=lag))

    def serving(self, doc: Doc) -> bool:
        """Its primary's postmaster runs and accepts connections now."""
        return self._healthy(doc) and self.pg.is_ready(self.spec(doc))

    def _healthy(self, doc: Doc) -> bool:
        return self.supervisor.running(process_name(doc)) is not None

    def _record_failure(self, key: Key, doc: Doc, exc: Exception) -> None:
        attempts = int(doc.get("attempts", 0)) + 1
        reason = one_line_reason(exc, self.pg.free_bytes(self.settings.home))
        log.error("db instance %s: %s (attempt %d)", key[2], exc, attempts)

        def fail(d: Doc) -> None:
            d["attempts"] = attempts
            d["status_reason"] = reason
            if attempts >= 3:
                move_instance(d, InstanceStatus.FAILED)
                for m in d["aws"].get("DomainMemberships", []):
                    if m["Status"] == MembershipStatus.ENABLING:
                        m["Status"] = MembershipStatus.ENABLE_FAILED.value

        self._update(key, fail)
        if attempts < 3:
            raise exc

    # -- steps ----------------------------------------------------------------------------
    def _steps(self, doc: Doc) -> list[Step[_Ctx]]:
        steps: list[Step[_Ctx]] = [
            Step(
                "postgres.os_user",
                lambda c: self.pg.os_user_exists(c.spec.os_user),
                lambda c: self.pg.ensure_os_user(c.spec.os_user),
            ),
        ]
        if self._realm(doc):
            steps.append(Step("samba.service_keytab", self._keytab_done, self._join))
        elif any(_leaving(m) for m in doc["aws"].get("DomainMemberships") or []):
            steps.append(
                Step("samba.left_domain", lambda c: not c.doc.get("keytab_for"), self._leave)
            )
        steps += [
            Step(
                "postgres.initdb",
                lambda c: self.pg.is_initialized(c.spec),
                self._make_cluster,
            ),
            Step(
                "postgres.tls",
                lambda c: _tls_issued(c.doc) and self.pg.tls_installed(c.spec),
                self._install_certificate,
            ),
            Step(
                "postgres.config",
                lambda c: (
                    c.doc.get("config_hash") == self.pg.config_digest(c.spec)
                    and self.pg.is_initialized(c.spec)
                ),
                self._write_config,
            ),
            Step("supervisor.postmaster", self._serving, self._run_postmaster),
            Step(
                "postgres.recovered",
                lambda c: self.backups.recovery(c.doc) is None,
                self._promoted,
            ),
            Step(
                "postgres.reload",
                lambda c: c.doc.get("loaded_hash") == self.pg.config_digest(c.spec),
                self._reload,
            ),
            Step(
                "postgres.roles",
                lambda c: bool(c.doc.get("roles_bootstrapped")),
                self._bootstrap_roles,
            ),
            Step(
                "postgres.replication",
                lambda c: c.doc.get("replication_open", []) == list(c.spec.replicas),
                self._open_replication,
            ),
            Step(
                "postgres.standalone",
                lambda c: not c.doc.get("promote_requested"),
                self._promote,
            ),
            Step("hosts.endpoint", self._published, self._publish),
        ]
        if standby(doc) is not None:
            steps.append(Step("postgres.standby", self._standby_settled, self._ensure_standby))
        return steps

    def _keytab_done(self, ctx: _Ctx) -> bool:
        """The keytab of its domain is in place, or the join failed for good."""
        member = ctx.doc["aws"]["DomainMemberships"][0]
        if member["Status"] == MembershipStatus.ENABLE_FAILED:
            return True
        return bool(
            ctx.spec.keytab
            and self.pg.keytab_present(ctx.spec.keytab)
            and ctx.doc.get("keytab_for") == member["Domain"]
        )

    def _join(self, ctx: _Ctx) -> None:
        """Export the keytab; a join that cannot complete fails the membership (with its
        reason), not the instance, which goes on serving password logins, as on RDS."""
        directory = self.store.get(DIRECTORY, *ctx.doc["directory"])
        stage = directory["aws"]["Stage"] if directory else "deleted"
        if stage in _DIRECTORY_COMING:
            raise _Waiting(f"directory {ctx.doc['directory'][2]} is {stage}")
        try:
            if stage not in ("Active", "Impaired"):
                raise ReconcileError(f"directory {ctx.doc['directory'][2]} is {stage}")
            self._check_network(ctx, directory)
            self._export_keytab(ctx)
        except (EngineError, ReconcileError) as exc:
            attempts = int(ctx.doc.get("join_attempts", 0)) + 1
            final = (
                attempts >= _JOIN_ATTEMPTS
                or stage not in ("Active", "Impaired")
                or isinstance(exc, _NetworkBlocked)  # it stays so until the user fixes it
            )
            reason = one_line_reason(exc)
            log.error("db instance %s: join: %s (attempt %d)", ctx.key[2], reason, attempts)
            ctx.doc = (
                self._update(ctx.key, lambda d: _join_failed(d, attempts, reason, final)) or ctx.doc
            )
            if not final:
                raise
            ctx.spec = self.spec(ctx.doc)  # without Kerberos

    def _check_network(self, ctx: _Ctx, directory: Doc | None) -> None:
        """From the instance's namespace, as RDS's join does from its VPC: every DC answers
        on DNS, Kerberos, LDAP and kpasswd. If one does not, the records say why."""
        if self.network is None or directory is None:
            return
        account, region, _ = ctx.key
        namespace = self.network.realise_host(account, region, ctx.doc["address"])
        src = self.store.get(ADDRESS, account, region, ctx.doc["address"])
        dir_account, dir_region, _ = ctx.doc["directory"]
        for dc in directory["dcs"]:
            closed = self.network.first_closed(
                namespace, dc["vpc_ip"], directory["aws"]["Name"], _JOIN_PORTS
            )
            if closed is None:
                continue
            dst = self.store.get(ADDRESS, dir_account, dir_region, dc["address"])
            why = blocked_because(self.store, src, dst, *closed) if src and dst else None
            if why is None:
                # The records allow it: not a block of the user's making, but a namespace
                # still settling (seen once: an address freed and reused within 2 s).
                # Make sure the routers are current and ask once more.
                time.sleep(_RECHECK_PAUSE)
                namespace = self.network.realise_host(account, region, ctx.doc["address"])
                closed = self.network.first_closed(
                    namespace, dc["vpc_ip"], directory["aws"]["Name"], _JOIN_PORTS
                )
                if closed is None:
                    continue
            raise _NetworkBlocked(
                f"the domain controller {dc['vpc_ip']} does not answer on "
                f"{closed[1]}/{closed[0]} from the DB instance's subnet: "
                f"{why or 'see pgrealm client doctor'}"
            )

    def _export_keytab(self, ctx: _Ctx) -> None:
        former = ctx.doc.get("former_directory")
        if former:  # moved by modify-db-instance --domain from another directory
            self._remove_service_account(ctx.key, ctx.doc, former)
            ctx.doc.pop("former_directory")
            self._update(ctx.key, lambda d: d.pop("former_directory", None))
        dc = self.directories.dc(self._directory(ctx.doc))
        principal = f"postgres/{ctx.doc['aws']['Endpoint']['Address']}"
        self.ad.ensure_service_account(dc, _service_account(ctx.doc), principal)
        assert ctx.spec.keytab is not None
        self._export_to(ctx.doc, ctx.spec.keytab)
        spare = standby(ctx.doc)
        if spare is not None and spare.get("cloned"):  # the same key, for a failover
            self._export_to(ctx.doc, instance_keytab(self.settings, ctx.doc, spare["slot"]))
        domain = ctx.doc["aws"]["DomainMemberships"][0]["Domain"]
        ctx.doc["keytab_for"] = domain
        self._update(ctx.key, lambda d: d.__setitem__("keytab_for", domain))

    def _export_to(self, doc: Doc, keytab: Path) -> None:
        """The instance's postgres/<endpoint> key, from its directory, into ``keytab``."""
        dc = self.directories.dc(self._directory(doc))
        principal = f"postgres/{doc['aws']['Endpoint']['Address']}@{dc.domain.dns_name.upper()}"
        uid, gid = self.pg.ensure_os_user(self.settings.pg_os_user)
        self.pg.ensure_dir(keytab.parent)
        self.ad.export_keytab(dc, principal, keytab, uid, gid)

    def _make_cluster(self, ctx: _Ctx) -> None:
        snapshot, point = ctx.doc.get("restore_from"), ctx.doc.get("restore_point")
        if ctx.doc.get("replica_of"):
            self._clone(ctx)
        elif snapshot is not None:
            path = snapshot_home(self.settings, snapshot)
            if not self.pg.exists(path):
                raise ReconcileError(f"DB snapshot {snapshot[2]} is gone; it cannot be restored")
            self.pg.restore_cluster(ctx.spec, path)
        elif point is not None:
            self.pg.restore_cluster(ctx.spec, self._base_for(point), recover=True)
        else:
            self.pg.init_cluster(ctx.spec)

    def _install_certificate(self, ctx: _Ctx) -> None:
        """A TLS certificate for its endpoint, from the CA its CACertificateIdentifier names."""
        issuer = ctx.doc["aws"]["CACertificateIdentifier"]
        cert, key = rds_ca.issue_for(
            self.store, self.sealer, issuer, ctx.doc["aws"]["Endpoint"]["Address"],
            [ctx.spec.address],
        )  # fmt: skip
        self.pg.install_certificate(ctx.spec, cert, key)
        ctx.doc["tls_issued_by"] = issuer
        self._update(ctx.key, lambda d: d.__setitem__("tls_issued_by", issuer))

    def _clone(self, ctx: _Ctx) -> None:
        """A read replica's cluster: a copy of its source's, once the source lets it in."""
        source = self.store.get(KIND, *ctx.doc["replica_of"])
        if source is None or source["desired"] != "present":
            raise ReconcileError(f"source DB instance {ctx.doc['replica_of'][2]} is gone")
        if ctx.doc.get("vpc_ip") not in source.get("replication_open", []):
            raise _Waiting(f"source {ctx.doc['replica_of'][2]} to let the replica in")
        if self.network is not None:  # its namespace, and the routers' rules for its stream
            self.network.realise_host(ctx.key[0], ctx.key[1], ctx.doc["address"])
        self.pg.clone_from_primary(ctx.spec)

    def _open_replication(self, ctx: _Ctx) -> None:
        """The read replicas named in the (reloaded) pg_hba may stream as rdsrepladmin."""
        if ctx.spec.replicas:
            self.pg.ensure_replication_role(ctx.spec)
        opened = list(ctx.spec.replicas)
        ctx.doc["replication_open"] = opened
        self._update(ctx.key, lambda d: d.__setitem__("replication_open", opened))

    def _promote(self, ctx: _Ctx) -> None:
        """promote-read-replica: its config no longer names the source; recovery ends."""
        self.pg.promote(ctx.spec)
        ctx.doc.pop("promote_requested", None)
        self._update(ctx.key, lambda d: d.pop("promote_requested", None))

    def _base_for(self, point: Doc) -> Path:
        if point.get("retained"):  # kept after its instance was deleted
            return self.backups.base_for(point, None)
        source = self.store.get(KIND, *point["source"])
        if source is None:
            raise ReconcileError(f"DB instance {point['source'][2]} and its backups are gone")
        running = self.spec(source) if self._healthy(source) else None
        return self.backups.base_for(point, running)

    def _promoted(self, ctx: _Ctx) -> None:
        """Once the replay has reached its target, the instance's config drops it."""
        self.backups.wait_promoted(ctx.spec)
        ctx.doc["recovered"] = True
        self._update(ctx.key, lambda d: d.__setitem__("recovered", True))
        ctx.spec = self.spec(ctx.doc)
        self._write_config(ctx)
        self._reload(ctx)

    def _leave(self, ctx: _Ctx) -> None:
        """modify-db-instance --disable-domain: its service account and keytab go."""
        self._remove_service_account(ctx.key, ctx.doc)
        self.pg.remove_keytab(instance_keytab(self.settings, ctx.doc))
        spare = standby(ctx.doc)
        if spare is not None:
            self.pg.remove_keytab(instance_keytab(self.settings, ctx.doc, spare["slot"]))
        ctx.doc.pop("keytab_for", None)
        self._update(ctx.key, lambda d: d.pop("keytab_for", None))

    def _remove_service_account(self, key: Key, doc: Doc, where: list[str] | None = None) -> None:
        """Delete the instance's computer account from its directory (or ``where``)."""
        where = where or doc.get("directory")
        directory = self.store.get(DIRECTORY, *where) if where else None
        if directory is None or directory["desired"] != "present":
            return
        try:
            # The service account is a computer account: its name ends in "$".
            self.ad.delete_user(self.directories.dc(directory), _service_account(doc).upper() + "$")
        except EngineError as exc:
            log.warning("db instance %s: service account not removed: %s", key[2], exc)

    def _directory(self, doc: Doc) -> Doc:
        directory = self.store.get(DIRECTORY, *doc["directory"])
        if directory is None:
            raise ReconcileError(f"directory {doc['directory'][2]} no longer exists")
        return directory

    def _write_config(self, ctx: _Ctx) -> None:
        self.pg.write_config(ctx.spec)
        digest = self.pg.config_digest(ctx.spec)
        ctx.doc["config_hash"] = digest
        self._update(ctx.key, lambda d: d.__setitem__("config_hash", digest))

    def _serving(self, ctx: _Ctx) -> bool:
        return self.supervisor.running(process_name(ctx.doc)) is not None and self.pg.is_ready(
            ctx.spec
        )

    def process_spec(self, doc: Doc, spec: postgres.PgSpec, slot: str | None = None) -> ProcessSpec:
        """The postmaster of the primary, or of the server in ``slot``. A Multi-AZ
        primary with a synchronous standby is not restarted when it dies: it fails over."""
        return ProcessSpec(
            name=process_name(doc, slot),
            argv=self.pg.postmaster_argv(spec),
            env=self.pg.postmaster_env(spec),
            log_path=spec.home / "log" / "postmaster.out",
            user=spec.os_user,
            cwd=spec.home,
            # smart, fast, immediate: as pg_ctl's modes (SIGTERM, SIGINT, SIGQUIT)
            stop_signals=(signal.SIGTERM, signal.SIGINT, signal.SIGQUIT, signal.SIGKILL),
            netns=spec.netns,
            restart=slot is not None or not standby_ready(doc),
        )

    def _run_postmaster(self, ctx: _Ctx) -> None:
        if self.network is not None:  # its namespace in its VPC, before it runs there
            self.network.realise_host(ctx.key[0], ctx.key[1], ctx.doc["address"])
        self.supervisor.ensure_running(self.process_spec(ctx.doc, ctx.spec))
        deadline = time.monotonic() + _READY_TIMEOUT
        while time.monotonic() < deadline:
            if self.pg.is_ready(ctx.spec):
                self._loaded(ctx)
                return
            if self.supervisor.running(process_name(ctx.doc)) is None:
                raise ReconcileError(
                    f"postgres exited at start; see {ctx.spec.home / 'log' / 'postmaster.out'}"
                )
            time.sleep(0.05)
        raise ReconcileError("postgres did not accept connections in time")

    def _loaded(self, ctx: _Ctx) -> None:
        digest = self.pg.config_digest(ctx.spec)
        ctx.doc["loaded_hash"] = digest
        self._update(ctx.key, lambda d: d.__setitem__("loaded_hash", digest))

    def _reload(self, ctx: _Ctx) -> None:
        proc = self.supervisor.running(process_name(ctx.doc))
        if proc is None:
            raise ReconcileError("postgres is not running")
        self.pg.signal_reload(proc.pid)
        time.sleep(0.2)
        self._loaded(ctx)

    def _stop_or_restart(self, key: Key, doc: Doc) -> Doc:
        """stop-db-instance: the postmaster stops (fast) and is no longer wanted. A stopped
        instance starts again by itself after seven days, as on RDS."""
        if doc["aws"]["DBInstanceStatus"] == InstanceStatus.STOPPING:
            self.supervisor.stop(process_name(doc))
            self._stop_standby(doc)
            stamp = time.time()

            def stopped(d: Doc) -> None:
                if move_instance(d, InstanceStatus.STOPPED):
                    d["stopped_at"] = stamp
                if standby(d) is not None:  # the primary waits for it again once it streams
                    d["standby"]["ready"] = False

            log.info("db instance %s: stopped", key[2])
            return self._update(key, stopped) or doc
        if _restart_due(doc):
            log.info("db instance %s: stopped for seven days: starting it", key[2])

            def starting(d: Doc) -> None:
                move_instance(d, InstanceStatus.STARTING)

            return self._update(key, starting) or doc
        return doc

    def _apply_pending_memberships(self, key: Key) -> Doc:
        """The maintenance window has come: pending Kerberos changes are applied."""

        def apply(d: Doc) -> None:
            for member in d["aws"].get("DomainMemberships") or []:
                member["Status"] = applied_status(member["Status"])
            move_instance(d, InstanceStatus.MODIFYING)

        log.info("db instance %s: maintenance window: applying the domain change", key[2])
        updated = self._update(key, apply)
        assert updated is not None
        return updated

    def _reboot(self, ctx: _Ctx) -> None:
        self.supervisor.stop(process_name(ctx.doc))
        ctx.doc["reboot_requested"] = False
        ctx.doc.pop("archiving", None)  # a restart starts archiving that was waiting for one

        def rebooted(d: Doc) -> None:
            d["reboot_requested"] = False
            d.pop("archiving", None)

        self._update(ctx.key, rebooted)

    def _bootstrap_roles(self, ctx: _Ctx) -> None:
        token = ctx.doc.get("sealed_master_password")
        if token is None:
            raise ReconcileError("the master password is no longer available")
        self.pg.bootstrap_roles(
            ctx.spec, ctx.doc["aws"]["MasterUsername"], self.sealer.unseal(token)
        )
        if ctx.doc["aws"].get("DBName"):
            self.pg.ensure_database(
                ctx.spec, ctx.doc["aws"]["DBName"], ctx.doc["aws"]["MasterUsername"]
            )
        ctx.doc["roles_bootstrapped"] = True

        def done(d: Doc) -> None:
            d["roles_bootstrapped"] = True
            d.pop("sealed_master_password", None)

        self._update(ctx.key, done)

    def _published(self, ctx: _Ctx) -> bool:
        names = self.names.published(self.settings.hosts_file, str(self.settings.home))
        return bool(names.get(ctx.doc["aws"]["Endpoint"]["Address"]) == ctx.doc["address"])

    def _publish(self, ctx: _Ctx) -> None:
        self.names.publish(
            self.settings.hosts_file,
            str(self.settings.home),
            ctx.doc["aws"]["Endpoint"]["Address"],
            ctx.doc["address"],
        )

    # -- deletion ----------------------------------------------------------------------------
    def _delete(self, key: Key, doc: Doc) -> None:
        if self._final_snapshot_pending(doc) or self.backups.restoring_from(key):
            return  # its final snapshot, or a restore from its backups, first; next pass
        if doc.get("retain_backups"):  # DeleteAutomatedBackups=false
            self.backups.retain(key, doc, self.spec(doc) if self._healthy(doc) else None)
        self.supervisor.stop(process_name(doc), forget=True)
        self.names.unpublish(
            self.settings.hosts_file, str(self.settings.home), doc["aws"]["Endpoint"]["Address"]
        )
        if doc.get("keytab_for"):
            self._remove_service_account(key, doc)
        self.remove_standby(key, doc)
        # An error keeps the record: the next pass tries again.
        self.pg.remove_tree(instance_root(self.settings, doc))
        AddressAllocator(self.store, self.settings.host_block).release(
            key[0], key[1], doc["address"]
        )
        self.store.delete(KIND, *key)
        self._event(key, doc, "DB instance deleted", "deletion")
        log.info("db instance %s: deleted", key[2])

    def _final_snapshot_pending(self, doc: Doc) -> bool:
        final = doc.get("final_snapshot")
        snapshot = self.store.get(SNAPSHOT, *final) if final else None
        return snapshot is not None and snapshot["aws"]["Status"] == SnapshotStatus.CREATING


def _tls_issued(doc: Doc) -> bool:
    return bool(doc.get("tls_issued_by") == doc["aws"].get("CACertificateIdentifier"))


def _set_lag(doc: Doc, lag: float | None) -> None:
    doc["replica_lag"] = lag  # None: not streaming now


def _account_region(doc: Doc) -> tuple[str, str]:
    arn = doc["aws"]["DBInstanceArn"].split(":")
    return arn[4], arn[3]


def _service_account(doc: Doc) -> str:
    # sAMAccountName is at most 20 characters: a stable digest of the instance's ARN.
    # A computer account: its name must also fit NetBIOS's 15 characters.
    return "pg" + hashlib.sha256(doc["aws"]["DBInstanceArn"].encode()).hexdigest()[:13]


def _leaving(member: Doc) -> bool:
    return bool(member.get("Status") == MembershipStatus.DISABLING)


_OLD_STATUSES = {
    "joining": MembershipStatus.ENABLING.value,
    "failed": MembershipStatus.ENABLE_FAILED.value,
    "removing": MembershipStatus.DISABLING.value,
}


def _renamed_statuses(doc: Doc) -> None:
    for member in doc["aws"].get("DomainMemberships") or []:
        member["Status"] = _OLD_STATUSES.get(member["Status"], member["Status"])


_STOPPED_AT_MOST = 7 * 24 * 3600.0  # RDS starts a stopped instance again after seven days


def _restart_due(doc: Doc) -> bool:
    stopped_at = float(doc.get("stopped_at") or time.time())
    return time.time() - stopped_at > _STOPPED_AT_MOST


def _changes_due(doc: Doc) -> bool:
    """A running instance has work: new parameters, or a domain to join or leave."""
    settling = (MembershipStatus.ENABLING, MembershipStatus.DISABLING)
    members = doc["aws"].get("DomainMemberships") or []
    flags = ("parameters_due", "promote_requested", "failover_requested", "source_moved")
    spare = standby(doc)
    return (
        any(doc.get(flag) for flag in flags)
        or any(m["Status"] in settling for m in members)
        or (spare is not None and not standby_ready(doc))
    )


def _window_due(doc: Doc) -> bool:
    """A pending Kerberos change whose maintenance window is now."""
    pending = any(
        applied_status(m["Status"]) != m["Status"]
        for m in doc["aws"].get("DomainMemberships") or []
    )
    window = doc["aws"].get("PreferredMaintenanceWindow", "")
    return pending and in_maintenance_window(window, datetime.now(UTC))


def _join_failed(doc: Doc, attempts: int, reason: str, final: bool) -> None:
    doc["join_attempts"] = attempts
    doc["membership_reason"] = reason
    if final:
        for member in doc["aws"].get("DomainMemberships") or []:
            if member["Status"] == MembershipStatus.ENABLING:
                member["Status"] = MembershipStatus.ENABLE_FAILED.value


def _mark_available(doc: Doc, status: InstanceStatus, parameters: str) -> None:
    aws = doc["aws"]
    if not move_instance(doc, status):
        return  # marked for deletion meanwhile
    for group in aws.get("DBParameterGroups", []):
        group["ParameterApplyStatus"] = parameters  # in-sync, or pending-reboot
    doc.pop("parameters_due", None)
    aws.setdefault("InstanceCreateTime", time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime()))
    aws["DomainMemberships"] = [m for m in aws.get("DomainMemberships", []) if not _leaving(m)]
    for member in aws["DomainMemberships"]:
        if member["Status"] == MembershipStatus.ENABLING and doc.get("keytab_for"):
            member["Status"] = MembershipStatus.ENABLED.value
            doc.pop("join_attempts", None)
            doc.pop("membership_reason", None)
    if not aws["DomainMemberships"]:
        doc["directory"] = None  # delete-directory no longer counts it
    if doc.get("replica_of"):
        aws["StatusInfos"] = [
            {"StatusType": "read replication", "Normal": True, "Status": "replicating"}
        ]
    doc.pop("attempts", None)
    doc.pop("status_reason", None)
    doc.pop("source_moved", None)
