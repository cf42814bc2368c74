"""What a write returns: a ``Recorded`` per statement, and for a single write
its receipt (docs/decisions.md 35: from what the integration just computed).
"""

from __future__ import annotations

import dataclasses
import hashlib
from typing import TYPE_CHECKING

from eventsourcing.persistence import Recording

from ledger.domain.events import Signed
from ledger.sequencer import Integrated
from ledger.witnessing import Witnessed
from verify.receipt import Receipt
from verify.statement import format_timestamp

if TYPE_CHECKING:
    from ledger.application import Ledger, Statement


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


def results(
    ledger: Ledger,
    statements: list[Statement],
    signed_events: list[Signed],
    recordings: list[Recording[str]],
    integrated: Integrated,
    alone: bool,
    receipt: bool,
) -> list[Recorded]:
    size = integrated.size
    # Outside the writer lock, so a slow witness holds back no other write;
    # the receipt is against the checkpoint the round sent, which covers
    # this write's (decision 31).
    witnessed = None if ledger.witnessing is None else ledger.witnessing.after_write(size)
    tree_size = size if witnessed is None else max(size, witnessed.size)
    ledger.last_witnessed = witnessed or ledger.last_witnessed
    # We held the writer lock, so our entries were the newest leaves, in
    # notification (commit) order.
    ordered = sorted(recordings, key=lambda r: r.notification.id)
    first = size - len(ordered)
    indexes = {
        (r.domain_event.originator_id, r.domain_event.originator_version): first + i
        for i, r in enumerate(ordered)
    }
    recorded = [
        Recorded(
            s.statement["stream"],
            s.statement["expected_version"] + 1,
            s.type,
            s.principal,
            format_timestamp(s.recorded_at),
            hashlib.sha256(s.entry).hexdigest(),
            indexes[(s.statement["stream"], s.statement["expected_version"] + 1)],
            tree_size,
            witnessed=witnessed,
        )
        for s in signed_events
    ]
    # A seal the ledger added is not one of the caller's statements.
    recorded = recorded[: len(statements)] if statements else recorded
    if receipt:
        one = recorded[0]
        if alone and witnessed is None and one.log_index == size - 1:
            # The newest leaf: its path and checkpoint are what the
            # integration just computed and signed, no query needed.
            proof = Receipt(one.log_index, integrated.last_path, integrated.checkpoint)
            text = proof.format()
        else:
            text = ledger.receipt(one.log_index, one.tree_size)
        recorded[0] = dataclasses.replace(one, receipt=text)
    return recorded
