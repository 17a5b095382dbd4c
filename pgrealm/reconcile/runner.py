"""Runs reconcilers in worker threads: at most one run per resource at a time.

Each reconciler says which resources need work (``pending``) and converges one
(``reconcile``). The loop polls every ``interval`` seconds or when ``kick``ed by the API
after a write. A failing run is retried with backoff; the reconciler itself decides
when a failure is final and records it in the resource's status.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Protocol

__all__ = ["Key", "Reconciler", "Runner"]

log = logging.getLogger(__name__)

Key = tuple[str, str, str]  # (account, region, id)


class Reconciler(Protocol):
    @property
    def kind(self) -> str:
        """The store kind it reconciles."""
        ...

    def pending(self) -> list[Key]:
        """Resources whose real state differs from what they should be."""
        ...

    def reconcile(self, key: Key) -> None:
        """Converge one resource; must be safe to call again at any time."""
        ...


class Runner:
    def __init__(
        self, reconcilers: Sequence[Reconciler], workers: int = 6, interval: float = 1.0
    ) -> None:
        self.reconcilers = list(reconcilers)
        self.interval = interval
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="reconcile")
        self._inflight: dict[tuple[str, Key], Future[None]] = {}
        self._not_before: dict[tuple[str, Key], float] = {}
        self._failures: dict[tuple[str, Key], int] = {}
        self._wake = threading.Event()
        self._stopped = threading.Event()

    def kick(self) -> None:
        self._wake.set()

    def stop(self) -> None:
        self._stopped.set()
        self._wake.set()
        self._pool.shutdown(wait=False, cancel_futures=True)

    def run_forever(self) -> None:
        while not self._stopped.is_set():
            try:
                self.cycle()
            except Exception:
                log.exception("reconcile cycle failed")
            self._wake.wait(self.interval)
            self._wake.clear()

    def cycle(self) -> None:
        now = time.monotonic()
        for rec in self.reconcilers:
            for key in rec.pending():
                slot = (rec.kind, key)
                running = self._inflight.get(slot)
                if running is not None and not running.done():
                    continue
                if now < self._not_before.get(slot, 0.0) or self._stopped.is_set():
                    continue
                self._inflight[slot] = self._pool.submit(self._run, rec, key)

    def _run(self, rec: Reconciler, key: Key) -> None:
        slot = (rec.kind, key)
        try:
            rec.reconcile(key)
            self._failures.pop(slot, None)
        except Exception:
            count = self._failures.get(slot, 0) + 1
            self._failures[slot] = count
            self._not_before[slot] = time.monotonic() + min(2.0**count, 60.0)
            log.exception("%s %s: reconcile failed (attempt %d)", rec.kind, key[2], count)
        finally:
            self._wake.set()
