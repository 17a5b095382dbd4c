"""Every file the engines drive comes from a Debian package that bootstrap installs by name.

Reads dpkg's own database (what ``dpkg -S`` reads) instead of running dpkg: a unit test
starts no process.
"""

from __future__ import annotations

import glob
import re
from pathlib import Path

import pytest

from pgrealm.engines.packages import REQUIRED_FILES

ROOT = Path(__file__).resolve().parents[2]
DPKG_INFO = Path("/var/lib/dpkg/info")


def _bootstrap_packages() -> set[str]:
    text = (ROOT / "scripts" / "bootstrap.sh").read_text()
    found = re.search(r"^DEBS=\((.*?)\)", text, re.MULTILINE | re.DOTALL)
    assert found, "scripts/bootstrap.sh has no DEBS=(...) list"
    return set(found.group(1).split())


def _owners() -> dict[str, str]:
    """Every path dpkg knows -> its package (the architecture qualifier dropped)."""
    owners: dict[str, str] = {}
    for listing in DPKG_INFO.glob("*.list"):
        package = listing.stem.split(":")[0]
        for line in listing.read_text(errors="replace").splitlines():
            owners[line] = package
    return owners


def _owner(owners: dict[str, str], pattern: str) -> str | None:
    """The package of the first installed file ``pattern`` names; on a merged-/usr system
    dpkg may know /usr/bin/x as /bin/x, and the other way round."""
    for path in sorted(glob.glob(pattern)) or [pattern]:
        for alias in (path, path.removeprefix("/usr"), "/usr" + path):
            if alias in owners:
                return owners[alias]
    return None


def test_every_required_package_is_in_the_bootstrap_list() -> None:
    missing = sorted(set(REQUIRED_FILES.values()) - _bootstrap_packages())
    assert not missing, f"scripts/bootstrap.sh does not install {missing}"


@pytest.mark.skipif(not DPKG_INFO.is_dir(), reason="not a Debian system")
def test_each_file_comes_from_the_package_named_for_it() -> None:
    owners = _owners()
    wrong = {}
    for pattern, package in REQUIRED_FILES.items():
        owner = _owner(owners, pattern)
        if owner != package:
            wrong[pattern] = f"{owner or 'no installed package'}, not {package}"
    assert not wrong, wrong
