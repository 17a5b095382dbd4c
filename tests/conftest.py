"""Fixtures every test may use: a clean environment (no ambient KRB5*/PG*/AWS_* settings)."""

from __future__ import annotations

from tests.fixtures.mitkdc import clean_environ  # noqa: F401  (autouse fixture)
