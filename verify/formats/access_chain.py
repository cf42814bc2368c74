"""The access log's hash chain: the bytes hashed for each record (decision 13).

Every read that shows a ``restricted`` value is an access record (docs/design.md §1:
integrity officers read "the access log included"). Records form a chain, like
a git history: record ``n`` names the hash of record ``n - 1`` in ``prev``, and
its own hash is

    SHA-256( RFC 8785 canonical bytes of the record's ``FIELDS`` )

(a record holds exactly ``FIELDS`` and ``hash``; any other field is a break)

so editing, deleting or reordering any record breaks every later link, and an
integrity officer who once noted a head (size, hash) can prove that nothing
before it changed since. Record 0 names ``GENESIS`` as ``prev``.

This is the one place these bytes are defined; ``ledger/access_log.py`` stores
records and the verifier below checks them.

**Seals** (docs/decisions.md, decision 16). The chain alone cannot show that
records were deleted and the chain recomputed. So the ledger seals the head —
an ``access_log.sealed`` entry in the witnessed Merkle log naming the size and
head hash — at every write that follows restricted reads. ``check_chain``
given the seals requires the chain to pass through every sealed (size, head)
and to be at least as long as the last seal: a truncated or rewritten access
log then contradicts a signed, witnessed checkpoint.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from verify.errors import MalformedStatementError, quote_all, shown
from verify.formats.canonical import canonical_bytes

GENESIS = "0" * 64
FIELDS = (
    "seq",
    "recorded_at",
    "principal",
    "role",
    "member",
    "request",
    "shown",
    "token",
    "prev",
)


def record_hash(record: dict[str, Any]) -> str:
    """The hex SHA-256 of ``record``'s canonical bytes (its ``hash`` excluded)."""
    unsigned = {name: record[name] for name in FIELDS}
    return hashlib.sha256(canonical_bytes(unsigned)).hexdigest()


@dataclass(frozen=True)
class ChainResult:
    """What a walk along the chain found: its size and head, or the first break."""

    size: int
    head: str
    broken_at: int | None = None
    problem: str = ""
    seals: int = 0  # how many seals the chain was held to

    @property
    def ok(self) -> bool:
        return self.broken_at is None

    def as_json(self) -> dict[str, Any]:
        """The walk's answer as ``pmm access verify --json`` and the HTTP API give it."""
        return {
            "size": self.size,
            "head": self.head,
            "verified": self.ok,
            "broken_at": self.broken_at,
            "problem": self.problem or None,
            "seals": self.seals,
        }


@dataclass(frozen=True)
class SealMark:
    """A seal as the integrity log holds it: the access log's size and head,
    and the log index of the seal entry."""

    size: int
    head: str
    index: int


def check_chain(
    records: Iterable[dict[str, Any]], seals: Iterable[SealMark] = ()
) -> ChainResult:
    """Walk ``records`` in ``seq`` order from 0; return the first break, if any:
    a broken link, or a sealed (size, head) the chain does not pass through."""
    marks = sorted(seals, key=lambda s: (s.size, s.index))
    pending = iter(marks)
    mark = next(pending, None)
    prev, size = GENESIS, 0
    while mark is not None and mark.size == 0:
        if mark.head != GENESIS:
            return _contradicts(mark, 0, GENESIS)
        mark = next(pending, None)
    for record in records:
        seq = record.get("seq")
        if seq != size:
            return ChainResult(
                size, prev, size, f"record {shown(seq)} where {size} was expected"
            )
        if set(record) != {*FIELDS, "hash"}:
            # A field outside the hashed ones would be shown to officers unproven.
            fields = quote_all(sorted(map(str, record)))
            return ChainResult(
                size, prev, size, f"record {seq} is malformed: fields {fields}"
            )
        if record.get("prev") != prev:
            return ChainResult(
                size, prev, size, f"record {seq} does not name its predecessor"
            )
        try:
            digest = record_hash(record)
        except (KeyError, ValueError, TypeError, MalformedStatementError) as exc:
            # A binary float, an integer beyond 2**53, a lone surrogate: values
            # JCS does not hash (verify/formats/canonical.py), so a break, not a crash.
            return ChainResult(size, prev, size, f"record {seq} is malformed: {exc}")
        if record.get("hash") != digest:
            return ChainResult(size, prev, size, f"record {seq} does not match its hash")
        prev, size = digest, size + 1
        while mark is not None and mark.size == size:
            if mark.head != prev:
                return _contradicts(mark, size, prev)
            mark = next(pending, None)
    if mark is not None:
        last = marks[-1]
        return ChainResult(
            size,
            prev,
            size,
            f"the access log holds {size} record(s), but the seal at log entry "
            f"{last.index} names {last.size}: records were deleted after they were "
            "sealed",
        )
    return ChainResult(size, prev, seals=len(marks))


def _contradicts(mark: SealMark, size: int, head: str) -> ChainResult:
    return ChainResult(
        size,
        head,
        max(size - 1, 0),
        f"the seal at log entry {mark.index} names head {mark.head[:16]}… for "
        f"{mark.size} record(s); the access log gives {head[:16]}…: it was rewritten "
        "after it was sealed",
    )
