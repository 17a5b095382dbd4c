"""A reconcile step: a named, idempotent action with an observable "done" condition.

A run walks the steps from the top, skips those whose ``done`` observes the real world
as finished, applies the first that is not, then checks it again. Resuming after a
crash is therefore just running again from the top.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from pgrealm.errors import ReconcileError

__all__ = ["Step", "run_steps"]

log = logging.getLogger(__name__)

C = TypeVar("C")


@dataclass(frozen=True)
class Step(Generic[C]):
    name: str  # stable, e.g. "samba.provision_dc1": also the journal key
    done: Callable[[C], bool]
    apply: Callable[[C], object]  # any result is ignored


def run_steps(
    label: str,
    steps: Sequence[Step[C]],
    ctx: C,
    on_step: Callable[[int, Step[C]], None] | None = None,
) -> None:
    """Bring every step to done, in order; raise ReconcileError if one stays undone."""
    total = len(steps)
    for number, step in enumerate(steps, start=1):
        if step.done(ctx):
            continue
        log.info("%s: step %d/%d %s running", label, number, total, step.name)
        if on_step is not None:
            on_step(number, step)
        step.apply(ctx)
        if not step.done(ctx):
            raise ReconcileError(f"step {step.name} did not take effect")
    log.debug("%s: all %d steps done", label, total)
