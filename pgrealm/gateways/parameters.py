"""PostgreSQL's settings catalog, as parameter groups need it: read once from the installed
server binary (``postgres --describe-config``) and kept for the process's life."""

from __future__ import annotations

import functools
from typing import Protocol

from pgrealm.engines.postgres.catalog import describe_config, server_version
from pgrealm.engines.postgres.conf import MANAGED_PARAMETERS
from pgrealm.model.parameters import Setting

__all__ = ["PostgresCatalog", "SettingsCatalog"]


class SettingsCatalog(Protocol):
    def settings(self) -> dict[str, Setting]:
        """Every setting the engine knows, by name."""
        ...

    def managed(self) -> frozenset[str]:
        """The settings the engine writes itself (addresses, files, authentication)."""
        ...

    def version(self) -> str:
        """The engine version instances run ("15.18")."""
        ...


class PostgresCatalog:
    """The catalog of the PostgreSQL that instances run."""

    def settings(self) -> dict[str, Setting]:
        return _read()

    def managed(self) -> frozenset[str]:
        return MANAGED_PARAMETERS

    def version(self) -> str:
        return _version()


@functools.cache
def _version() -> str:
    return server_version()


@functools.cache
def _read() -> dict[str, Setting]:
    return {row[0]: Setting(*row) for row in describe_config()}
