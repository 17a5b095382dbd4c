"""MIT Kerberos tooling that is not the product's directory: ``mitkdc.MitRealm``, a
throwaway MIT realm for tests and the benchmark's baseline KDC."""

from __future__ import annotations

from pgrealm.engines.krb5.mitkdc import MitRealm

__all__ = ["MitRealm"]
