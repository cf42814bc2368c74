"""The read side's own reader of the ledger's log (docs/design.md §6).

Projections and the API read the integrity log — its entries, its size, the
streams opened, record times, recent checkpoints, subtree hashes for tiles —
through this object and nothing else, so what the read side takes from the
write side is named in one place (docs/decisions.md, decision 46). It only
reads: the ledger's writes go through ``Ledger.record``.

There is one reader per ledger (``LogReader.of``), so the read side's caches
can be kept per reader: two ledgers in one process never share answers.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Sequence
from datetime import datetime

from ledger.application import Ledger
from ledger.log_store import LogStore
from ledger.scores import replay_board, replay_table, stream_entries
from projections.record_times import recorded_at, size_at
from verify.formats.entry import Entry
from verify.scoring.scoreboard import Scoreboard
from verify.scoring.tables import ScoreTable

_READERS: weakref.WeakKeyDictionary[Ledger, LogReader] = weakref.WeakKeyDictionary()
_MADE = threading.Lock()


class LogReader:
    """Read-only access to one ledger's log."""

    __slots__ = ("__weakref__", "store")

    def __init__(self, store: LogStore) -> None:
        # The log's tables; besides this class, only the score view's own SQL
        # over the same database (projections/score_reads.py) reads through it.
        self.store = store

    @classmethod
    def of(cls, ledger: Ledger) -> LogReader:
        """The reader of ``ledger``'s log, the same object on every call."""
        store = ledger.sequencer.store
        found = _READERS.get(ledger)
        if found is None or found.store is not store:
            with _MADE:
                found = _READERS.get(ledger)
                if found is None or found.store is not store:
                    found = _READERS[ledger] = cls(store)
        return found

    # -- the entries -----------------------------------------------------------------

    def size(self) -> int:
        """How many entries the log holds."""
        return self.store.size()

    def entry(self, index: int) -> bytes:
        """The bytes of entry ``index`` (``LookupError`` if the log has none)."""
        return self.store.entry(index)

    def entries(self, start: int, stop: int) -> list[tuple[int, bytes]]:
        """(log index, entry bytes) for start <= index < stop, in log order."""
        return self.store.entries(start, stop)

    def stream_entries(
        self, streams: Sequence[str], stop: int, start: int = 0
    ) -> list[tuple[int, bytes]]:
        """(log index, entry bytes) of ``streams``' entries in start..stop, in log order."""
        return self.store.stream_entries(streams, stop, start)

    def last_index(self, streams: Sequence[str], stop: int) -> int:
        """The log index of the last entry of ``streams`` below ``stop`` (-1 if none)."""
        return self.store.last_index(streams, stop)

    def opened(self, prefix: str) -> list[tuple[str, bytes]]:
        """(stream, first entry) of every stream whose id starts with ``prefix``."""
        return self.store.opened(prefix)

    # -- record time (docs/design.md §2) ---------------------------------------------

    def recorded_at(self, index: int) -> str:
        """``recorded_at`` of the entry at log ``index``, as it is written there."""
        return recorded_at(self.store, index)

    def size_at(self, moment: datetime) -> int:
        """How many entries the log held at ``moment``."""
        return size_at(self.store, moment)

    # -- replays (ledger/scores.py: the verifier's own scoreboard) -------------------

    def parsed(self, streams: list[str], size: int) -> list[tuple[int, Entry]]:
        """The parsed entries of ``streams`` and the framework below ``size``."""
        return stream_entries(self.store, streams, size)

    def board(self, streams: list[str], size: int) -> Scoreboard:
        """A scoreboard fed ``streams``' (and the framework's) entries below ``size``."""
        return replay_board(self.store, streams, size)

    def table(
        self, stream: str, size: int, reference_year: int | None = None
    ) -> ScoreTable:
        """The score table of ``stream`` as the first ``size`` entries give it."""
        return replay_table(self.store, stream, size, reference_year)

    # -- checkpoints and tiles (docs/formats.md §2) ----------------------------------

    def recent_checkpoints(self, limit: int) -> list[tuple[int, str]]:
        """The ``limit`` largest stored checkpoints, largest first, as (size, note)."""
        return self.store.recent_checkpoints(limit)

    def node_range(self, level: int, start: int, stop: int) -> list[bytes]:
        """Subtree hashes at ``level`` for start <= index < stop, in order."""
        return self.store.node_range(level, start, stop)
