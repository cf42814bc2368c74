"""Log entries: the bytes that are hashed (docs/design.md §3, docs/statements.md).

A **log entry** is the JCS bytes of the signed statement
(``verify/formats/statement.py``) plus what the ledger adds: ``format``,
``stream``, ``stream_version``, ``recorded_at`` and ``entry_type``. JCS nests,
so the statement's own canonical bytes are exactly recoverable from an entry and
its signature re-checkable by anyone. This module is the only place the entry's
bytes are defined; they are stored and exported verbatim.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from verify.errors import MalformedStatementError, StatementTooLargeError
from verify.formats.canonical import canonical_bytes, parse_canonical
from verify.formats.statement import SignedStatement, format_timestamp, parse_timestamp

ENTRY_FORMAT = "pmm-entry/v1"
# tlog-tiles entry bundles prefix each entry with a uint16 length (docs/formats.md
# §2.5, verify/formats/tiles.py), so an entry can never exceed 65,535 bytes.
MAX_ENTRY_BYTES = 65_535


@dataclass(frozen=True)
class Entry:
    """A log entry, parsed; ``raw`` is the exact stored bytes."""

    raw: bytes
    signed: SignedStatement
    stream: str
    stream_version: int
    recorded_at: str
    entry_type: str


def entry_bytes(
    signed: SignedStatement, stream_version: int, recorded_at: datetime
) -> bytes:
    """The log entry for ``signed`` recorded at ``stream_version``."""
    # JCS of {"entry_type", "format", "recorded_at", "signature", "statement",
    # "stream", "stream_version"}: the keys already in JCS order, so the entry
    # is spliced around the statement's canonical bytes, which are never
    # re-serialised (golden tests pin the result).
    raw = b"".join(
        (
            b'{"entry_type":',
            canonical_bytes(signed.type),
            b',"format":',
            canonical_bytes(ENTRY_FORMAT),
            b',"recorded_at":',
            canonical_bytes(format_timestamp(recorded_at)),
            b',"signature":',
            canonical_bytes(signed.signature),
            b',"statement":',
            signed.canonical(),
            b',"stream":',
            canonical_bytes(signed.stream),
            b',"stream_version":',
            canonical_bytes(stream_version),
            b"}",
        )
    )
    if len(raw) > MAX_ENTRY_BYTES:
        raise StatementTooLargeError(
            f"log entry would be {len(raw)} bytes; the limit is {MAX_ENTRY_BYTES}"
        )
    return raw


ENTRY_FIELDS = (
    "entry_type",
    "format",
    "recorded_at",
    "signature",
    "statement",
    "stream",
    "stream_version",
)


def parse_entry(raw: bytes) -> Entry:
    """Read stored entry bytes; they must be canonical and well-formed.

    The statement inside is not re-checked against the schema here (the
    verifier does that); its canonical bytes are sliced out of ``raw``.
    """
    value = read_entry(raw)
    return entry_of(raw, value, statement_span(raw, value))


def read_entry(raw: bytes) -> dict[str, Any]:
    """The parsed fields of canonical, well-formed entry bytes (``parse_entry``)."""
    value = parse_canonical(raw, "log entry")
    if not isinstance(value, dict) or tuple(sorted(value)) != ENTRY_FIELDS:
        raise MalformedStatementError(
            "log entry must have exactly the fields " + ", ".join(ENTRY_FIELDS)
        )
    if value["format"] != ENTRY_FORMAT:
        raise MalformedStatementError(f"log entry format must be {ENTRY_FORMAT!r}")
    parse_timestamp(value["recorded_at"])
    statement, version = value["statement"], value["stream_version"]
    if not isinstance(statement, dict) or not isinstance(value["signature"], str):
        raise MalformedStatementError("log entry statement/signature are malformed")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise MalformedStatementError("log entry stream_version must be an integer >= 1")
    if (value["stream"], value["entry_type"]) != (
        statement.get("stream"),
        statement.get("type"),
    ):
        raise MalformedStatementError(
            "log entry stream and entry_type must be the statement's stream and type"
        )
    return value


def statement_span(raw: bytes, value: dict[str, Any]) -> tuple[int, int]:
    """Where the statement's canonical bytes lie in the canonical entry ``raw``."""
    suffix = b"".join(
        (
            b',"stream":',
            canonical_bytes(value["stream"]),
            b',"stream_version":',
            canonical_bytes(value["stream_version"]),
            b"}",
        )
    )
    start = raw.index(b',"statement":', raw.index(b',"signature":')) + len(b',"statement":')
    return start, len(raw) - len(suffix)


def entry_of(raw: bytes, value: dict[str, Any], span: tuple[int, int]) -> Entry:
    """The ``Entry`` of ``raw``, which ``parse_entry`` read as ``value`` and whose
    statement lies at ``span`` (as a verifier worker reports them)."""
    statement = value["statement"]
    signed = SignedStatement(statement, value["signature"], raw[span[0] : span[1]])
    return Entry(
        raw,
        signed,
        value["stream"],
        value["stream_version"],
        value["recorded_at"],
        value["entry_type"],
    )
