"""Reconcile steps: done steps are skipped, a crash resumes from the first undone step."""

from __future__ import annotations

import pytest

from pgrealm.errors import ReconcileError
from pgrealm.reconcile.step import Step, run_steps


class World:
    def __init__(self) -> None:
        self.files: set[str] = set()
        self.applied: list[str] = []


def make(name: str, fail: bool = False) -> Step[World]:
    def apply(w: World) -> None:
        w.applied.append(name)
        if fail:
            raise RuntimeError("crash")
        w.files.add(name)

    return Step(name, lambda w: name in w.files, apply)


def test_resume_after_a_crash_applies_only_what_is_missing() -> None:
    world = World()
    with pytest.raises(RuntimeError):
        run_steps("x", [make("a"), make("b", fail=True), make("c")], world)
    assert world.applied == ["a", "b"]
    world.applied.clear()
    run_steps("x", [make("a"), make("b"), make("c")], world)
    assert world.applied == ["b", "c"]


def test_a_step_that_does_not_take_effect_is_an_error() -> None:
    step: Step[World] = Step("never", lambda w: False, lambda w: None)
    with pytest.raises(ReconcileError, match="never"):
        run_steps("x", [step], World())
