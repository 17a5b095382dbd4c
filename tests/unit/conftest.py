"""Unit tests run no real process and write nowhere but their own temporary directory.

The guard below makes that impossible to forget: every unit test gets its own
PGREALM_HOME, and starting a process, through the engines' seam or subprocess itself,
fails the test. A test that needs a tool's answer fakes ``_exec.runner``.
"""

from __future__ import annotations

import ipaddress
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NoReturn

import pytest

from pgrealm.engines import _exec
from pgrealm.services.ec2 import Ec2Service
from pgrealm.store import Store


class RealProcessRefused(AssertionError):
    """A unit test tried to start a real process."""


def _refuse(*args: Any, **kwargs: Any) -> NoReturn:
    raise RealProcessRefused(f"unit tests start no real process (asked for {args[:1]!r})")


class _RefusedPopen:
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        _refuse(*args)


@pytest.fixture(autouse=True)
def no_real_processes_or_state(
    monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Path]:
    home = tmp_path_factory.mktemp("pgrealm-home")
    monkeypatch.setenv("PGREALM_HOME", str(home))
    monkeypatch.setattr(_exec, "runner", _refuse)
    monkeypatch.setattr(subprocess, "Popen", _RefusedPopen)
    yield home


# -- an Ec2Service over a temporary store (a test module may define its own) ---------------
@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store(tmp_path / "state.db")


@pytest.fixture
def kicks() -> list[int]:
    """One entry per kick of the network reconciler."""
    return []


@pytest.fixture
def ec2(store: Store, kicks: list[int]) -> Ec2Service:
    return Ec2Service(store, {}, ipaddress.IPv4Network("198.18.0.0/16"), lambda: kicks.append(1))
