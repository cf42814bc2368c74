"""What the offline verifier reports: findings, in a deterministic order.

A **finding** is one thing wrong with an export (docs/design.md §5): which check
failed, why, and where — the entry's log index, stream and type when the
problem belongs to one entry. Findings are ordered so that the *first* one is
the first bad thing, whatever order the checks ran in (signatures are checked
in parallel):

1. the checkpoint itself (log signature, then witness quorum);
2. the verifier's state: rollback, fork, rewritten history;
3. entries, by log index, and within one entry in the order of ``CHECKS``;
4. the tree as a whole, when no single entry can be blamed: the root, the
   hash tiles (a tile missing, of the wrong length, or disagreeing with the
   tree), an entry bundle holding more than its name says.

Damaged content — a missing or garbled checkpoint, a missing, short or
over-long entry bundle or hash tile, broken framing — is a finding like any
other, at the first entry it makes unreadable where there is one
(docs/verifier.md); only an unusable folder, trust or state file is not.

Only the first ``MAX_FINDINGS`` are kept (the smallest in that order), so a
badly broken log costs bounded memory; the rest are counted.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass

# Per-entry checks, in the order they rank when one entry fails several.
CHECKS = (
    "missing",
    "entry",
    "statement",
    "origin",
    "genesis",
    "principal",
    "key",
    "signature",
    "approval",
    "role",
    "member",
    "source",
    "registry",
    "log_key",  # a log key hand-over the old key did not sign (decision 33)
    "workflow",
    "stream_version",
    "recorded_at",
    "issued_at",
    "error",  # the verifier failed on this entry: it is not verified
    "tree",
    "scores",
)
# Checks that are not about one entry, by phase (see the module docstring).
LOG_CHECKS = {
    "checkpoint": (0, 0),
    "quorum": (0, 1),
    "rollback": (1, 0),
    "fork": (1, 1),
    "rewrite": (1, 2),
    "root": (3, 0),
    "tiles": (3, 1),
    "extra": (3, 2),
    "access_log": (3, 3),
}
ENTRY_PHASE = 2
MAX_FINDINGS = 1000


@dataclass(frozen=True)
class Evidence:
    """A signed checkpoint note kept as evidence, and where it came from."""

    label: str
    note: str


@dataclass(frozen=True)
class Finding:
    """One failed check. ``index`` is the log index of the entry at fault
    (None for the checkpoint, the state and the tree as a whole)."""

    check: str
    reason: str
    index: int | None = None
    stream: str | None = None
    entry_type: str | None = None
    evidence: tuple[Evidence, ...] = ()

    def sort_key(self) -> tuple[int, int, int]:
        if self.check in LOG_CHECKS:
            phase, rank = LOG_CHECKS[self.check]
            return (phase, 0, rank)
        return (ENTRY_PHASE, self.index or 0, CHECKS.index(self.check))

    def where(self) -> str:
        """``entry 12 (assessment/KEN/1, value.submitted)``, or ``log``."""
        if self.index is None:
            return "log"
        detail = ", ".join(p for p in (self.stream, self.entry_type) if p)
        return f"entry {self.index}" + (f" ({detail})" if detail else "")


class Findings:
    """Keeps the ``limit`` first findings in report order; counts the rest."""

    def __init__(self, limit: int = MAX_FINDINGS) -> None:
        self.limit = limit
        self.omitted = 0
        self._sequence = 0
        # A max-heap by report order (keys negated), so the worst kept
        # finding is the one dropped when a better one arrives.
        self._heap: list[tuple[tuple[int, int, int, int], Finding]] = []

    def add(self, finding: Finding) -> None:
        if finding.check not in LOG_CHECKS and finding.check not in CHECKS:
            raise ValueError(f"unknown check {finding.check!r}")
        phase, index, rank = finding.sort_key()
        self._sequence += 1
        item = ((-phase, -index, -rank, -self._sequence), finding)
        if len(self._heap) < self.limit:
            heapq.heappush(self._heap, item)
            return
        self.omitted += 1
        if item[0] > self._heap[0][0]:
            heapq.heapreplace(self._heap, item)

    def __bool__(self) -> bool:
        return bool(self._heap)

    def ordered(self) -> tuple[Finding, ...]:
        """The kept findings, first failure first."""
        return tuple(finding for _, finding in sorted(self._heap, reverse=True))
