"""Serialized output fragments, reused while the resource behind them is unchanged.

A service that returns a structure built from nothing but one stored document can hand
it to the serializer as a :class:`pgrealm.services.base.Revisioned` dict, carrying the
document's revision (the store's digest of its stored text, so any change gives a new
one). A serializer then keeps the structure's wire form in a :class:`FragmentCache`
keyed by (shape, tag, revision) and splices it into later responses instead of walking
the shape again: describe-db-instances with 100 instances writes ~8,000 XML elements,
nearly all of them the same from one call to the next.

The contract is the service's to keep: a ``Revisioned`` value must be a pure function
of the revision, never of the caller or the clock. A doc changed in memory after it was
read has no revision (only fresh reads get one), so it is never cached.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Hashable

__all__ = ["FragmentCache"]

log = logging.getLogger(__name__)

# ~3 KB per instance in RDS's XML: a few MB at most, and many revisions of 1,000 instances
DEFAULT_MAX_ENTRIES = 4096


class FragmentCache:
    """A thread-safe LRU map from a hashable key to serialized text."""

    def __init__(self, max_entries: int = DEFAULT_MAX_ENTRIES) -> None:
        self.max_entries = max_entries
        self._entries: OrderedDict[Hashable, str] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, key: Hashable) -> str | None:
        with self._lock:
            fragment = self._entries.get(key)
            if fragment is None:
                self.misses += 1
                return None
            self._entries.move_to_end(key)
            self.hits += 1
            return fragment

    def put(self, key: Hashable, fragment: str) -> None:
        with self._lock:
            self._entries[key] = fragment
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)

    def __len__(self) -> int:
        return len(self._entries)
