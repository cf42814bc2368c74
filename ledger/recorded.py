"""What a write returns: a ``Recorded`` per statement; and the receipt of the
newest leaf, from what the integration just computed (docs/decisions.md 35).
"""

from __future__ import annotations

import dataclasses
import hashlib
import threading
from collections.abc import Callable

from eventsourcing.persistence import Recording

from ledger.admission import Statement
from ledger.domain.events import Signed
from ledger.sequencer import Integrated
from ledger.witnessing import Witnessed
from verify.formats.receipt import Receipt
from verify.formats.statement import format_timestamp


@dataclasses.dataclass(frozen=True)
class Recorded:
    """What a successful write recorded."""

    stream: str
    stream_version: int
    entry_type: str
    principal: str
    recorded_at: str
    entry_sha256: str
    log_index: int
    tree_size: int
    receipt: str | None = None  # c2sp.org/tlog-proof@v1, for single writes
    witnessed: Witnessed | None = None  # this write's witnessing round


class NewestProofs:
    """Per thread, the receipt of the newest leaf of this thread's last write,
    from what its integration computed (its frontier and the checkpoint it
    signed): a single write's receipt without a proof query."""

    def __init__(self) -> None:
        self._local = threading.local()

    def remember(self, integrated: Integrated | None) -> None:
        proof = None
        if integrated is not None and integrated.added:
            index = integrated.size - 1
            proof = Receipt(index, integrated.last_path, integrated.checkpoint)
        self._local.proof = proof

    def receipt(self, stored: Callable[[int, int], str], index: int, size: int) -> str:
        """The receipt of entry ``index`` in tree ``size``: the remembered one
        if it is that, else ``stored``'s, from the stored hashes
        (``Ledger.receipt``)."""
        proof: Receipt | None = getattr(self._local, "proof", None)
        if proof is not None and proof.index == index == size - 1:
            return proof.format()
        return stored(index, size)


def results(
    statements: list[Statement],
    signed_events: list[Signed],
    recordings: list[Recording[str]],
    size: int,
    witnessed: Witnessed | None,
) -> list[Recorded]:
    tree_size = size if witnessed is None else max(size, witnessed.size)
    # We held the writer lock, so our entries were the newest leaves, in
    # notification (commit) order.
    ordered = sorted(recordings, key=lambda r: r.notification.id)
    first = size - len(ordered)
    indexes = {
        (r.domain_event.originator_id, r.domain_event.originator_version): first + i
        for i, r in enumerate(ordered)
    }
    # One record time per write (ledger/pipeline.py): formatted once.
    stamps = {t: format_timestamp(t) for t in {s.recorded_at for s in signed_events}}
    recorded = [
        Recorded(
            s.statement["stream"],
            s.statement["expected_version"] + 1,
            s.type,
            s.principal,
            stamps[s.recorded_at],
            hashlib.sha256(s.entry).hexdigest(),
            indexes[(s.statement["stream"], s.statement["expected_version"] + 1)],
            tree_size,
            witnessed=witnessed,
        )
        for s in signed_events
    ]
    # A seal the ledger added is not one of the caller's statements.
    return recorded[: len(statements)] if statements else recorded
