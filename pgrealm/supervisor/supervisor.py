"""Keeps the stack's processes (DCs, postmasters) alive across crashes and daemon restarts.

Wanted processes are recorded in the store (kind ``process``), with the PID and start
time of the running copy. A watch loop restarts a wanted process that died, with
exponential backoff; on daemon start the same loop adopts survivors instead of starting
second copies (a PID counts as ours only if its start time matches too).
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from pathlib import Path
from typing import Any

from pgrealm.errors import ReconcileError
from pgrealm.store import Doc, Store
from pgrealm.store.kinds import Kind
from pgrealm.supervisor import process
from pgrealm.supervisor.process import ProcessSpec, RunningProcess

__all__ = ["Supervisor"]

log = logging.getLogger(__name__)

_KIND = Kind.PROCESS
_MAX_BACKOFF = 30.0


def _to_doc(spec: ProcessSpec) -> Doc:
    return {
        "name": spec.name,
        "argv": list(spec.argv),
        "log_path": str(spec.log_path),
        "env": dict(spec.env),
        "user": spec.user,
        "cwd": str(spec.cwd) if spec.cwd else None,
        "netns": spec.netns,
        "stop_signals": [int(s) for s in spec.stop_signals],
        "restart": spec.restart,
    }


def _to_spec(doc: Doc) -> ProcessSpec:
    return ProcessSpec(
        name=doc["name"],
        argv=tuple(doc["argv"]),
        log_path=Path(doc["log_path"]),
        env=dict(doc["env"]),
        user=doc.get("user"),
        cwd=Path(doc["cwd"]) if doc.get("cwd") else None,
        netns=doc.get("netns"),
        stop_signals=tuple(doc["stop_signals"]),
        restart=bool(doc.get("restart", True)),
    )


def _running(doc: Doc) -> RunningProcess | None:
    if not doc.get("pid"):
        return None
    proc = RunningProcess(int(doc["pid"]), int(doc["start_time"]))
    return proc if process.is_alive(proc) else None


class Supervisor:
    def __init__(self, store: Store, interval: float = 1.0) -> None:
        self.store = store
        self.interval = interval
        self._lock = threading.RLock()
        self._next_try: dict[str, float] = {}
        self._backoff: dict[str, float] = {}
        self._stopped = threading.Event()

    # -- what reconcilers call -------------------------------------------------------
    def ensure_running(self, spec: ProcessSpec) -> RunningProcess:
        """Want ``spec`` running; start it now unless a live copy exists.

        Refused once the stack is stopping: a reconciler still at work must not start a
        process that ``stop_all`` has just stopped (it would outlive the daemon).
        """
        with self._lock:
            if self._stopped.is_set():
                raise ReconcileError(f"{spec.name}: not started, pgrealm is stopping")
            doc = self.store.get(_KIND, "", "", spec.name) or {}
            doc.update(_to_doc(spec), wanted=True)
            proc = _running(doc)
            if proc is None:
                proc = self._start(doc)
            self.store.put(_KIND, "", "", spec.name, doc)
            return proc

    def running(self, name: str) -> RunningProcess | None:
        doc = self.store.get(_KIND, "", "", name)
        return None if doc is None else _running(doc)

    def running_names(self) -> set[str]:
        """Names of every process alive now: one store read for a whole reconcile pass."""
        return {str(doc["name"]) for doc in self.store.list(_KIND) if _running(doc) is not None}

    def crashed(self, name: str) -> bool:
        """A wanted process that is not restarted by itself died, and not because the
        stack stopped: its owner acts on that (see ``ProcessSpec.restart``)."""
        doc = self.store.get(_KIND, "", "", name)
        return bool(
            doc is not None
            and doc.get("wanted")
            and not doc.get("restart", True)
            and not doc.get("stack_stopped")
            and _running(doc) is None
        )

    def stop(self, name: str, forget: bool = False, hurry: bool = False) -> None:
        """Stop ``name``; with ``forget`` it is no longer wanted at all. ``hurry`` skips
        the polite first signal (PostgreSQL's smart shutdown waits for every client)."""
        with self._lock:
            doc = self.store.get(_KIND, "", "", name)
            if doc is None:
                return
            doc["wanted"] = False
            self.store.put(_KIND, "", "", name, doc)
        self._stop_doc(doc, hurry)
        if forget:
            self.store.delete(_KIND, "", "", name)

    def stop_all(self) -> None:
        """Stop every process but keep them wanted: the next daemon start brings them back."""
        with self._lock:
            self._stopped.set()
            docs = self.store.list(_KIND)
            for doc in docs:  # the next start brings these back, whatever their policy
                if doc.get("wanted"):
                    doc["stack_stopped"] = True
                    self.store.put(_KIND, "", "", doc["name"], doc)
        threads = [threading.Thread(target=self._stop_doc, args=(d,)) for d in docs]
        for t in threads:
            t.start()
        for t in threads:
            t.join()

    # -- the watch loop ----------------------------------------------------------------
    def watch_forever(self) -> None:
        while not self._stopped.wait(self.interval):
            try:
                self.check_once()
            except Exception:
                log.exception("supervisor check failed")

    def check_once(self) -> None:
        for doc in self.store.list(_KIND):
            if doc.get("pid"):
                process.reap(int(doc["pid"]))
            if doc.get("wanted") and not self._stopped.is_set() and _running(doc) is None:
                if doc.get("restart", True) or doc.get("stack_stopped"):
                    self._restart(doc)

    def _restart(self, doc: Doc) -> None:
        name = doc["name"]
        now = time.monotonic()
        if now < self._next_try.get(name, 0.0):
            return
        if time.time() - float(doc.get("started_at", 0)) > 60:
            self._backoff.pop(name, None)  # it ran a good while: this is a fresh failure
        delay = min(self._backoff.get(name, 0.5) * 2, _MAX_BACKOFF)
        self._backoff[name] = delay
        self._next_try[name] = now + delay
        log.warning("%s: not running (pid %s); restarting", name, doc.get("pid"))
        with self._lock:
            current = self.store.get(_KIND, "", "", name)
            if self._stopped.is_set() or current is None or not current.get("wanted"):
                return
            if _running(current):
                return
            self._start(current)
            self.store.put(_KIND, "", "", name, current)

    def _start(self, doc: Doc) -> RunningProcess:
        proc = process.start(_to_spec(doc))
        doc.update(pid=proc.pid, start_time=proc.start_time, started_at=time.time())
        doc.pop("stack_stopped", None)
        doc["starts"] = int(doc.get("starts", 0)) + 1
        return proc

    def _stop_doc(self, doc: Doc, hurry: bool = False) -> None:
        proc = _running(doc)
        if proc is not None:
            signals = [signal.Signals(s) for s in doc.get("stop_signals", [15, 9])]
            if hurry and len(signals) > 1:
                signals = signals[1:]
            log.info("%s: stopping pid %d", doc["name"], proc.pid)
            process.stop(proc, signals)

    def describe(self) -> list[dict[str, Any]]:
        """Name, pid and liveness of every known process (for `pgrealm status`)."""
        out = []
        for doc in self.store.list(_KIND):
            proc = _running(doc)
            out.append(
                {
                    "name": doc["name"],
                    "pid": proc.pid if proc else None,
                    "wanted": bool(doc.get("wanted")),
                    "starts": doc.get("starts", 0),
                }
            )
        return out
