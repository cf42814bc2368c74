"""The access log's hash chain: the bytes hashed for each record (decision 13).

Every read that shows a ``restricted`` value is an access record (DESIGN.md §1:
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
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from verify.canonical import canonical_bytes

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

    @property
    def ok(self) -> bool:
        return self.broken_at is None


def check_chain(records: Iterable[dict[str, Any]]) -> ChainResult:
    """Walk ``records`` in ``seq`` order from 0; return the first break, if any."""
    prev, size = GENESIS, 0
    for record in records:
        seq = record.get("seq")
        if seq != size:
            return ChainResult(size, prev, size, f"record {seq} where {size} was expected")
        if set(record) != {*FIELDS, "hash"}:
            # A field outside the hashed ones would be shown to officers unproven.
            fields = ", ".join(sorted(record))
            return ChainResult(
                size, prev, size, f"record {seq} is malformed: fields {fields}"
            )
        if record.get("prev") != prev:
            return ChainResult(
                size, prev, size, f"record {seq} does not name its predecessor"
            )
        try:
            digest = record_hash(record)
        except (KeyError, ValueError, TypeError) as exc:
            return ChainResult(size, prev, size, f"record {seq} is malformed: {exc}")
        if record.get("hash") != digest:
            return ChainResult(size, prev, size, f"record {seq} does not match its hash")
        prev, size = digest, size + 1
    return ChainResult(size, prev)
