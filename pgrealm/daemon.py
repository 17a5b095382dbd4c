"""``pgrealm server``: wires the store, services, reconcilers, supervisor and API together.

Threads: the HTTP server (one thread per connection), the reconcile loop (plus its
workers), and the supervisor's watch loop. SIGTERM/SIGINT stop the API, then every
managed process (they come back with the next start); a crash (SIGKILL) leaves them
running, and the next start adopts them.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
from dataclasses import dataclass
from typing import Any

from pgrealm.api.dispatch import Dispatcher
from pgrealm.api.error_shapes import unknown_error_shapes
from pgrealm.api.server import ApiServer
from pgrealm.config import Settings
from pgrealm.console import Console, with_console
from pgrealm.errors import StoreError
from pgrealm.gateways.directory import DirectoryData
from pgrealm.gateways.parameters import PostgresCatalog
from pgrealm.model.addresses import loopback_hosts
from pgrealm.reconcile.db_backups import RetainedBackupReconciler
from pgrealm.reconcile.db_instance import DbInstanceReconciler
from pgrealm.reconcile.db_snapshot import DbSnapshotReconciler
from pgrealm.reconcile.directory import DirectoryReconciler
from pgrealm.reconcile.network import NetworkReconciler
from pgrealm.reconcile.runner import Runner
from pgrealm.sealing import Sealer
from pgrealm.services.base import Service
from pgrealm.services.ds.service import DsService
from pgrealm.services.ds_data.service import DsDataService
from pgrealm.services.ec2.service import Ec2Service
from pgrealm.services.iam.service import IamService
from pgrealm.services.logs import LogsService
from pgrealm.services.rds.service import RdsService
from pgrealm.services.sts.service import StsService
from pgrealm.store import Store
from pgrealm.supervisor import Supervisor

__all__ = ["Stack", "build", "serve"]

log = logging.getLogger(__name__)


@dataclass
class Stack:
    settings: Settings
    store: Store
    supervisor: Supervisor
    runner: Runner
    services: dict[str, Service]
    dispatcher: Dispatcher
    network: NetworkReconciler


# The services the API serves, by botocore name: an operation is served when its class has
# the method named as botocore's snake_case operation name.
SERVICE_CLASSES: dict[str, type[Service]] = {
    "ec2": Ec2Service,
    "iam": IamService,
    "sts": StsService,
    "ds": DsService,
    "ds-data": DsDataService,
    "rds": RdsService,
    "logs": LogsService,
}


def build(settings: Settings) -> Stack:
    misspelt = unknown_error_shapes()
    if misspelt:  # would go out as codes no SDK knows: refuse to start instead
        raise RuntimeError(f"services raise error shapes their models lack: {misspelt}")
    settings.home.mkdir(parents=True, exist_ok=True)
    os.chmod(settings.home, 0o711)  # instance homes below must be reachable by their OS user
    store = Store(settings.state_db)
    store.check()
    if loopback_hosts(store):
        raise StoreError(
            f"{settings.state_db} was made by a pgrealm from before VPCs were network "
            "namespaces (its hosts have loopback addresses) and cannot be carried over: "
            f"move {settings.home} aside and run make up again for a new stack."
        )
    sealer = Sealer(settings.home)
    supervisor = Supervisor(store)
    directory_data = DirectoryData(settings)
    network = NetworkReconciler(store, settings)
    directories = DirectoryReconciler(store, settings, supervisor, sealer, network=network)
    instances = DbInstanceReconciler(
        store, settings, supervisor, sealer, directory_data, network=network
    )
    instances.upgrade_memberships()
    snapshots = DbSnapshotReconciler(store, settings, instances)
    retained = RetainedBackupReconciler(store, instances.backups)
    runner = Runner([network, directories, instances, snapshots, retained])
    registry: dict[str, Service] = {}
    registry["ec2"] = Ec2Service(store, registry, settings.host_block, kick=runner.kick)
    registry["iam"] = IamService(store, registry)
    registry["sts"] = StsService(store, registry)
    registry["ds"] = DsService(store, registry, sealer, directory_data, kick=runner.kick)
    registry["ds-data"] = DsDataService(store, registry, directory_data)
    catalog = PostgresCatalog()
    registry["rds"] = RdsService(
        store,
        registry,
        settings,
        sealer,
        kick=runner.kick,
        catalog=catalog,
        engine_version=catalog.version(),
    )
    registry["logs"] = LogsService(store, registry, settings)
    return Stack(settings, store, supervisor, runner, registry, Dispatcher(registry), network)


def serve(settings: Settings) -> None:
    """Run the stack until SIGTERM or SIGINT."""
    stack = build(settings)
    # Every VPC's namespaces before any process: the supervisor restarts DCs and instances
    # inside them (after a reboot, /run/netns starts empty).
    stack.network.start(owner=str(settings.home))
    console = Console(settings.api_url, sorted(stack.services), settings.home)
    api = ApiServer(with_console(stack.dispatcher, console), settings.api_host, settings.api_port)
    stop = threading.Event()

    def on_signal(signum: int, _frame: Any) -> None:
        log.info("signal %d: stopping", signum)
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    threads = [
        threading.Thread(target=api.serve_forever, name="api", daemon=True),
        threading.Thread(target=stack.runner.run_forever, name="reconcile", daemon=True),
        threading.Thread(target=stack.supervisor.watch_forever, name="supervisor", daemon=True),
    ]
    for t in threads:
        t.start()
    (settings.home / "server.ready").write_text(f"{os.getpid()}\n")
    log.info("pgrealm server: API on %s, state in %s", settings.api_url, settings.home)
    # Python runs a signal's handler in the main thread, at its next bytecode. A SIGTERM
    # the kernel hands to another thread does not interrupt a main thread blocked in an
    # untimed wait, and the server would never stop (seen once in a full test run: no
    # "signal 15" line, killed after 180 s, its namespaces left behind). Waking every
    # second lets the handler run whichever thread took the signal.
    while not stop.wait(1.0):
        pass
    (settings.home / "server.ready").unlink(missing_ok=True)
    api.shutdown()
    stack.runner.stop()
    stack.supervisor.stop_all()
    stack.network.teardown()
    log.info("pgrealm server: stopped")
