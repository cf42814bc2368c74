"""The log's order and clocks, entry by entry (docs/design.md §5 items 1 and 4).

Entry 0 is the genesis the trust file pins, and no other entry is a genesis;
stream versions run 1, 2, 3... per stream; record time never decreases along
the log; and no statement was issued after it was recorded (beyond the clock
skew the ledger allows) or more than ``MAX_STATEMENT_AGE`` before
(docs/decisions.md, decision 22). The replay (``verify.check.replay``) asks
these after the rules; each answers ``(check, reason)`` pairs.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from verify.formats.statement import (
    CLOCK_SKEW,
    MAX_STATEMENT_AGE,
    SignedStatement,
    parse_timestamp,
)
from verify.rules.registry import GENESIS

Problems = list[tuple[str, str]]


def genesis_problems(index: int, raw: bytes, kind: str, pinned_sha256: str) -> Problems:
    """Entry 0, and only entry 0, is the genesis the trust file pins."""
    if index == 0 and kind != GENESIS:
        return [("genesis", f"entry 0 must be the genesis entry ({GENESIS}), not {kind}")]
    if index == 0:
        digest = hashlib.sha256(raw).hexdigest()
        if digest != pinned_sha256:
            return [
                (
                    "genesis",
                    f"entry 0 has SHA-256 {digest}; the trust file pins the "
                    f"genesis entry {pinned_sha256}",
                )
            ]
    elif kind == GENESIS:
        return [("genesis", "a second genesis entry: only entry 0 may be the genesis")]
    return []


@dataclass
class Timeline:
    """Each stream's last version and the last record time, so far."""

    versions: dict[str, int] = field(default_factory=dict)
    last_recorded: tuple[int, datetime] | None = None

    def order_problems(
        self, stream: str, version: int, signed: SignedStatement
    ) -> Problems:
        problems = []
        if version != signed.expected_version + 1:
            problems.append(
                (
                    "stream_version",
                    f"entry has stream_version {version}, but its statement expects "
                    f"version {signed.expected_version} and so records version "
                    f"{signed.expected_version + 1}",
                )
            )
        last = self.versions.get(stream, 0)
        if version != last + 1:
            problems.append(
                (
                    "stream_version",
                    f"stream {stream!r} version {version} follows version {last}; "
                    "versions are contiguous from 1"
                    if last
                    else f"stream {stream!r} starts at version {version}, not 1",
                )
            )
        self.versions[stream] = version
        return problems

    def time_problems(
        self, index: int, recorded_at: str, statement: dict[str, Any]
    ) -> Problems:
        problems = []
        recorded = parse_timestamp(recorded_at)
        if self.last_recorded is not None and recorded < self.last_recorded[1]:
            before, at = self.last_recorded
            problems.append(
                (
                    "recorded_at",
                    f"recorded_at {recorded_at} is earlier than entry {before}'s "
                    f"{_stamp(at)}; record time never decreases along the log",
                )
            )
        self.last_recorded = (index, recorded)
        issued = parse_timestamp(statement["issued_at"])
        if issued > recorded + CLOCK_SKEW:
            problems.append(
                (
                    "issued_at",
                    f"statement issued at {statement['issued_at']}, after it was "
                    f"recorded at {recorded_at} (beyond the {CLOCK_SKEW} clock skew)",
                )
            )
        elif recorded - issued > MAX_STATEMENT_AGE:
            problems.append(
                (
                    "issued_at",
                    f"statement issued at {statement['issued_at']} and recorded at "
                    f"{recorded_at}: more than {MAX_STATEMENT_AGE} later, which the "
                    "ledger refuses (a statement kept back is not good for ever)",
                )
            )
        return problems


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
