"""The unit tests' guard holds: no real process, and a home of the test's own."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from pgrealm.config import Settings
from pgrealm.engines import _exec


def test_no_real_process_starts() -> None:
    with pytest.raises(AssertionError, match="no real process"):
        subprocess.run(["true"], check=False)
    with pytest.raises(AssertionError, match="no real process"):
        _exec.run(["true"])


def test_the_state_directory_is_the_tests_own(no_real_processes_or_state: Path) -> None:
    assert Settings.from_env().home == no_real_processes_or_state
    assert not str(Settings.from_env().home).startswith("/var/lib/pgrealm")
    assert os.environ["PGREALM_HOME"] == str(no_real_processes_or_state)
