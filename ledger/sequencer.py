"""The sequencer: gives every recorded entry its log index, hashes it into the
RFC 6962 tree and signs a checkpoint over it (docs/design.md §4).

Entries are integrated in commit order: the ``eventsourcing`` recorders commit
notifications in id order (SQLite has one writer; PostgreSQL inserts take an
exclusive table lock), so reading committed notifications after the last
integrated id never skips one and never sees an uncommitted one. Ids may have
gaps (a refused PostgreSQL insert burns its sequence numbers); log indexes do
not. One transaction writes the new leaves, the new perfect-subtree hashes and
the signed checkpoint; the lock row serialises integrators across processes,
and the unique columns make a second leaf for one entry impossible. After a
crash between a commit and its integration, ``integrate()`` at the next start
picks up exactly what is missing, in order.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from eventsourcing.persistence import ApplicationRecorder

from ledger.dialect import Dialect
from ledger.errors import LogRangeError
from ledger.log_store import Cursor, LogStore
from verify.formats.checkpoint import Checkpoint, sign_checkpoint
from verify.formats.note_keys import Ed25519Signer
from verify.formats.receipt import Receipt
from verify.merkle.tree import (
    EMPTY_ROOT,
    Perfect,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    node_hash,
    tree_root,
)

BATCH = 1000
T = TypeVar("T")


@dataclass(frozen=True)
class Integrated:
    """The log after an integration: its size and latest checkpoint note; how
    many entries it added, the notification id of the newest, and the audit
    path of the newest leaf in the tree of ``size`` (empty if none was added).
    """

    size: int
    checkpoint: str
    added: int = 0
    last_id: int = 0
    last_path: tuple[bytes, ...] = ()


class Sequencer:
    """Integrates committed entries and answers proofs from stored hashes."""

    def __init__(
        self,
        recorder: ApplicationRecorder,
        origin: str,
        signer: Ed25519Signer,
        dialect: Dialect,
    ):
        if signer.name != origin:
            raise ValueError("the log key's name must be the log origin")
        self.recorder = recorder
        self.origin = origin
        self.signer = signer
        self.store = LogStore(recorder, dialect)
        # The frontier of the tree as this process last left it: reused when
        # no other process integrated since (saves popcount(size) reads).
        self._frontier_cache: tuple[int, dict[int, bytes]] = (-1, {})

    # -- integration -------------------------------------------------------------

    def integrate(self) -> Integrated:
        """Integrate every committed entry not yet in the log; sign a checkpoint."""
        with self.store.transaction(commit=True) as cur:
            cur.execute(
                "UPDATE {p}pmm_log_lock SET generation = generation + 1 WHERE id = 1"
            )
            row = cur.execute(
                "SELECT MAX(log_index) AS top, MAX(notification_id) AS last_id "
                "FROM {p}pmm_log_leaves"
            ).one()
            size, last_id = (int(row[0]) + 1, int(row[1])) if row and row[1] else (0, 0)
            cached_size, cached = self._frontier_cache
            frontier = dict(cached) if cached_size == size else self._frontier(cur, size)
            start, path = size, tuple[bytes, ...]()
            while True:
                new = self.store.new_entries(cur, last_id, BATCH)
                if not new:
                    break
                leaves, nodes = [], []
                for notification_id, entry in new:
                    leaves.append((size, notification_id))
                    if notification_id == new[-1][0]:
                        path = self._last_leaf_path(frontier)
                    nodes += self._append(frontier, size, leaf_hash(entry))
                    size += 1
                last_id = new[-1][0]
                cur.executemany(
                    "INSERT INTO {p}pmm_log_leaves (log_index, notification_id) "
                    "VALUES (%s, %s)",
                    leaves,
                )
                cur.executemany(
                    "INSERT INTO {p}pmm_log_nodes (level, idx, hash) VALUES (%s, %s, %s)",
                    nodes,
                )
            if size == start:
                latest = cur.execute(
                    "SELECT note FROM {p}pmm_log_checkpoints WHERE size = %s", (size,)
                ).one()
                if latest:
                    self._frontier_cache = (size, dict(frontier))
                    return Integrated(size, str(latest[0]), last_id=last_id)
            root = self._root(frontier, size)
            note = sign_checkpoint(Checkpoint(self.origin, size, root), self.signer)
            cur.execute(
                "INSERT INTO {p}pmm_log_checkpoints (size, note) VALUES (%s, %s)",
                (size, note),
            )
        self._frontier_cache = (size, dict(frontier))
        return Integrated(size, note, size - start, last_id, path)

    @staticmethod
    def _last_leaf_path(frontier: dict[int, bytes]) -> tuple[bytes, ...]:
        """The audit path of a leaf appended to a tree whose perfect subtrees are
        ``frontier``, in the tree that leaf ends: RFC 6962 PATH(n - 1, D[n]) is
        the subtrees to its left, the smallest (its sibling side) first."""
        return tuple(frontier[level] for level in sorted(frontier))

    @staticmethod
    def _frontier(cur: Cursor, size: int) -> dict[int, bytes]:
        """The perfect subtrees of a tree of ``size``: level -> hash (one per set bit)."""
        frontier: dict[int, bytes] = {}
        end = 0
        for level in reversed(range(size.bit_length())):
            if size >> level & 1:
                row = cur.execute(
                    "SELECT hash FROM {p}pmm_log_nodes WHERE level = %s AND idx = %s",
                    (level, end >> level),
                ).one()
                assert row is not None, f"subtree hash missing at {level}/{end >> level}"
                frontier[level] = bytes(row[0])
                end += 1 << level
        return frontier

    @staticmethod
    def _append(
        frontier: dict[int, bytes], index: int, leaf: bytes
    ) -> list[tuple[int, int, bytes]]:
        """Add leaf ``index``; return every perfect subtree it completes."""
        completed = [(0, index, leaf)]
        level, current = 0, leaf
        while level in frontier:
            current = node_hash(frontier.pop(level), current)
            level += 1
            completed.append((level, index >> level, current))
        frontier[level] = current
        return completed

    @staticmethod
    def _root(frontier: dict[int, bytes], size: int) -> bytes:
        if size == 0:
            return EMPTY_ROOT
        levels = sorted(frontier)  # smallest (rightmost) subtree first
        root = frontier[levels[0]]
        for level in levels[1:]:
            root = node_hash(frontier[level], root)
        return root

    # -- reads ---------------------------------------------------------------------

    def size(self) -> int:
        return self.store.size()

    def checkpoint(self, size: int | None = None) -> str:
        """The signed checkpoint note for ``size`` (default: the latest).

        A read, so it never writes (docs/decisions.md 24): a size the log
        passed without stopping at (a batch integrates many entries at once),
        or a log with no stored checkpoint yet, gets its checkpoint signed in
        memory. The root of a prefix of the log is consistent with every later
        checkpoint, and Ed25519 is deterministic, so the same size always gives
        the same note (decision 8).
        """
        found = self.store.checkpoint(size)
        if found is not None:
            return found[1]
        size = self.size() if size is None else size
        root = self.root(size)  # refuses a size beyond the log
        return sign_checkpoint(Checkpoint(self.origin, size, root), self.signer)

    def root(self, size: int) -> bytes:
        self._check_size(size)
        return self._prefetched(lambda perfect: tree_root(size, perfect))

    def inclusion(self, index: int, size: int | None = None) -> Receipt:
        """A c2sp.org/tlog-proof@v1 receipt for entry ``index`` in tree ``size``."""
        note = self.checkpoint(size)
        tree_size = int(note.split("\n")[1])
        if not 0 <= index < tree_size:
            raise LogRangeError(
                f"index {index} is outside a tree of size {tree_size} "
                f"(valid: 0..{tree_size - 1})"
            )
        path = self._prefetched(lambda perfect: inclusion_proof(index, tree_size, perfect))
        return Receipt(index, tuple(path), note)

    def consistency(self, old: int, new: int) -> list[bytes]:
        """RFC 9162 consistency proof from tree ``old`` to tree ``new``."""
        self._check_size(new)
        if not 0 < old <= new:
            raise LogRangeError(
                f"a consistency proof needs 0 < old <= new, got old {old}, new {new}"
            )
        return self._prefetched(lambda perfect: consistency_proof(old, new, perfect))

    def _prefetched(self, compute: Callable[[Perfect], T]) -> T:
        """Run a proof computation with every subtree hash it needs fetched in
        one query: which hashes a proof reads depends on sizes and indexes
        only, so a first dry run names them (O(log n) keys)."""
        wanted: list[tuple[int, int]] = []

        def dry(level: int, index: int) -> bytes:
            wanted.append((level, index))
            return EMPTY_ROOT

        compute(dry)
        found = self.store.nodes(wanted)
        return compute(lambda level, index: found[(level, index)])

    def _check_size(self, size: int) -> None:
        current = self.size()
        if not 0 <= size <= current:
            raise LogRangeError(f"tree size {size} is beyond the log (size {current})")
