"""A bounded map of answers already computed, shared by the read side's caches.

Each cache keys its answers by what names them exactly (a stream's versions,
a log size, a full tile's path), so a hit is never stale; the bound keeps the
most recently used. One per ledger or log store (``kept_for``), so two ledgers
in one process never share answers.
"""

from __future__ import annotations

import threading
import weakref
from collections import OrderedDict
from collections.abc import Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")
Owner = TypeVar("Owner")


class Kept(Generic[K, V]):
    """At most ``size`` answers, the least recently used dropped first."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.lock = threading.Lock()
        self.found: OrderedDict[K, V] = OrderedDict()

    def get(self, key: K) -> V | None:
        with self.lock:
            value = self.found.get(key)
            if value is not None:
                self.found.move_to_end(key)
            return value

    def put(self, key: K, value: V) -> None:
        with self.lock:
            self.found[key] = value
            self.found.move_to_end(key)
            while len(self.found) > self.size:
                self.found.popitem(last=False)


def kept_for(
    registry: weakref.WeakKeyDictionary[Owner, Kept[K, V]], owner: Owner, size: int
) -> Kept[K, V]:
    """``owner``'s cache in ``registry``, made on first use."""
    kept = registry.get(owner)
    return kept if kept is not None else registry.setdefault(owner, Kept(size))
