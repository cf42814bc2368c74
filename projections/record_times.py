"""Record time to log size: which prefix of the log a moment names.

``recorded_at`` never decreases along the log (docs/design.md, two clocks), so
a binary search over log indexes finds the size of the log at any moment. An
entry's bytes never change once it is in the log, so the record times the
search reads are kept, per log store: the first probes of every search over a
log of one size are the same, and a search after the first reads only the
last few entries from the database.
"""

from __future__ import annotations

import threading
import weakref
from datetime import datetime

from ledger.log_store import LogStore
from verify.formats.entry import parse_entry
from verify.formats.statement import parse_timestamp

KEPT = 8192  # record times kept per log store (a few hundred KiB)


class _Times:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.found: dict[int, str] = {}

    def get(self, store: LogStore, index: int) -> str:
        with self.lock:
            text = self.found.get(index)
        if text is None:
            text = parse_entry(store.entry(index)).recorded_at
            with self.lock:
                if len(self.found) >= KEPT:
                    self.found.clear()  # a new log size moves every probe anyway
                self.found[index] = text
        return text


_TIMES: weakref.WeakKeyDictionary[LogStore, _Times] = weakref.WeakKeyDictionary()


def recorded_at(store: LogStore, index: int) -> str:
    """``recorded_at`` of the entry at log ``index``, as it is written there."""
    times = _TIMES.get(store)
    if times is None:
        times = _TIMES.setdefault(store, _Times())
    return times.get(store, index)


def size_at(store: LogStore, moment: datetime) -> int:
    """How many entries the log held at ``moment`` (recorded at or before it)."""
    low, high = 0, store.size()
    while low < high:  # the first entry recorded after moment
        middle = (low + high) // 2
        if parse_timestamp(recorded_at(store, middle)) <= moment:
            low = middle + 1
        else:
            high = middle
    return low
