"""The aggregates one transaction reads and changes, and the writer's own copies.

A read (``Ledger.registry``, ``Ledger.aggregate``) takes aggregates straight
from the repository's cache, which only ever holds committed state. A write
never changes those: it works on the writer's own copies (``WriterCopies``),
made once by a deep copy and then kept from one write to the next, so a write
no longer copies the streams it touches each time. They stay valid only while
the log's head is where this process's last write left it (``Head``): another
process's write, an entry committed behind the writer lock's back, a refusal
or a storage fault each drops them (docs/decisions.md 35).
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from eventsourcing.application import AggregateNotFoundError, Repository
from eventsourcing.domain import BaseAggregate

from ledger.errors import NotFoundError

Aggregate = BaseAggregate[str]
MAX_COPIES = 1000  # as many as the repository's cache holds (AGGREGATE_CACHE_MAXSIZE)


@dataclass(frozen=True)
class Head:
    """Where this process's last write left the log: the newest stored event
    (its notification id and bytes), its ``recorded_at`` and the log's size."""

    notification_id: int
    entry: bytes
    recorded_at: datetime
    size: int


class Streams(Protocol):
    """What a unit of work reads from the ledger: its repository and the log's
    size. A protocol, so that this module imports no ``ledger.application``
    (docs/decisions.md decision 40)."""

    @property
    def repository(self) -> Repository[str]: ...

    def log_size(self) -> int: ...


class WriterCopies:
    """The writer's own aggregates, used only under the writer lock."""

    def __init__(self, maxsize: int = MAX_COPIES) -> None:
        self.maxsize = maxsize
        self.head: Head | None = None
        self.aggregates: OrderedDict[str, Aggregate | None] = OrderedDict()

    def valid_at(self, newest: tuple[int, bytes] | None) -> Head | None:
        """The kept head if the log's newest event is still this process's last,
        the same id and the same bytes (not an equal id in a restored database);
        otherwise forget every copy (another writer moved the log)."""
        head = self.head
        if head is not None and newest == (head.notification_id, head.entry):
            return head
        self.clear()
        return None

    def clear(self) -> None:
        self.head = None
        self.aggregates.clear()

    def lookup(self, stream: str) -> tuple[bool, Aggregate | None]:
        if stream in self.aggregates:
            self.aggregates.move_to_end(stream)
            return True, self.aggregates[stream]
        return False, None

    def keep(self, work: UnitOfWork, head: Head) -> None:
        """After a write that committed and integrated exactly its own entries."""
        for stream, aggregate in work.loaded.items():
            self.aggregates[stream] = aggregate
            self.aggregates.move_to_end(stream)
        while len(self.aggregates) > self.maxsize:
            self.aggregates.popitem(last=False)
        self.head = head

    def discard(self, work: UnitOfWork) -> None:
        """After a refusal: the copies the write changed are dropped (the next
        write copies them again from committed state); those it only read stay."""
        for stream in work.changed:
            self.aggregates.pop(stream, None)


class UnitOfWork:
    """The aggregates one transaction reads and changes.

    Without ``copies`` (a read) every stream comes from the repository's cache.
    With them (a write, under the writer lock) every stream, read or written,
    is the writer's own copy; ``changed`` names those the write may alter.
    """

    def __init__(
        self,
        ledger: Streams,
        copies: WriterCopies | None = None,
        log_size: int | None = None,
    ) -> None:
        self.ledger = ledger
        self.copies = copies
        self.loaded: dict[str, Aggregate | None] = {}
        self.changed: set[str] = set()
        self._log_size = log_size

    def log_size(self) -> int:
        """The log's size before this transaction: read once, as it cannot move
        while the writer lock is held."""
        if self._log_size is None:
            self._log_size = self.ledger.log_size()
        return self._log_size

    def get(self, stream: str, *, writable: bool = False) -> Any:
        if writable:
            if self.copies is None:
                raise RuntimeError("a read-only unit of work changes no stream")
            self.changed.add(stream)
        if stream not in self.loaded:
            self.loaded[stream] = self._load(stream)
        return self.loaded[stream]

    def _load(self, stream: str) -> Aggregate | None:
        if self.copies is not None:
            found, aggregate = self.copies.lookup(stream)
            if found:
                return aggregate
        try:
            loaded: Aggregate = self.ledger.repository.get(
                stream, deepcopy_from_cache=self.copies is not None
            )
        except AggregateNotFoundError:
            return None
        return loaded

    def require(self, stream: str) -> Any:
        found = self.get(stream)
        if found is None:
            raise NotFoundError(f"stream {stream!r} does not exist yet")
        return found

    def put(self, stream: str, aggregate: Aggregate) -> None:
        self.loaded[stream] = aggregate
        self.changed.add(stream)
