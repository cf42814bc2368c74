"""The fast path of ``canonical_bytes`` (the standard library's encoder) must
write exactly what the reference ``rfc8785`` package writes (RFC 8785)."""

from __future__ import annotations

import json
from typing import Any

import pytest
import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from verify.formats.canonical import (
    canonical_bytes,
    parse_canonical,
    parse_canonical_reference,
)

# Text over the whole of Unicode minus lone surrogates, which are not JSON
# strings at all: control characters, U+2028, astral characters included.
text = st.text(st.characters(exclude_categories=["Cs"]), max_size=12)
scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**53) + 1, max_value=2**53 - 1)
    | text
)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(text, inner, max_size=5),
    max_leaves=25,
)


@settings(max_examples=400)
@given(values)
def test_fast_path_equals_reference(value: Any) -> None:
    assert canonical_bytes(value) == rfc8785.dumps(value)


def test_astral_keys_sort_by_utf16_code_units() -> None:
    # U+1F600 is D83D DE00 in UTF-16, which sorts before U+FB01; by code
    # point it would sort after. JCS (RFC 8785 §3.2.3) wants UTF-16 order.
    value = {"\U0001f600": 1, "\ufb01": 2}
    assert canonical_bytes(value) == rfc8785.dumps(value)
    assert canonical_bytes(value).index("\U0001f600".encode()) < canonical_bytes(
        value
    ).index("\ufb01".encode())


def _statement(comment: str) -> dict[str, Any]:
    return {
        "body": {
            "comment": comment,
            "disclosure": "public",
            "evidence": [],
            "kpi": "KPI-01",
            "reference_year": 2022,
            "status": "value",
            "unit": "hours",
            "value": {"amount": "12.5"},
        },
        "expected_version": 4,
        "format": "pmm-statement/v1",
        "issued_at": "2026-11-22T12:00:00Z",
        "key_id": "00112233445566aa",
        "nonce": "AAAAAAAAAAAAAAAAAAAAAA",
        "origin": "pmm.example/ledger",
        "principal": "ncp-ken",
        "stream": "assessment/KEN/1",
        "type": "value.submitted",
    }


@settings(max_examples=100)
@given(st.text(st.characters(exclude_categories=["Cs"]), min_size=1, max_size=40))
def test_spliced_bytes_equal_full_serialisation(comment: str) -> None:
    """Statement bytes sliced from the envelope and the entry, and the entry
    spliced around them, equal the JCS of the whole objects (docs/design.md §3)."""
    from datetime import UTC, datetime

    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from verify.formats.entry import entry_bytes, parse_entry
    from verify.formats.statement import parse_signed_statement, sign

    if not comment.strip():
        comment = "x" + comment
    signed = sign(_statement(comment), Ed25519PrivateKey.from_private_bytes(bytes(32)))
    wire = rfc8785.dumps({"signature": signed.signature, "statement": signed.statement})
    assert signed.to_bytes() == wire
    read = parse_signed_statement(wire)
    assert read.canonical() == rfc8785.dumps(signed.statement)
    moment = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
    entry = entry_bytes(read, 5, moment)
    assert entry == rfc8785.dumps(
        {
            "entry_type": "value.submitted",
            "format": "pmm-entry/v1",
            "recorded_at": "2026-11-22T12:00:00.000000Z",
            "signature": signed.signature,
            "statement": signed.statement,
            "stream": "assessment/KEN/1",
            "stream_version": 5,
        }
    )
    assert parse_entry(entry).signed.canonical() == rfc8785.dumps(signed.statement)


# -- the fast reader: ``parse_canonical`` against its strict reference ------------------


def _outcome(read: Any, data: bytes) -> tuple[str, Any]:
    try:
        return "value", read(data, "log entry")
    except Exception as exc:  # the refusal, word for word
        return type(exc).__name__, str(exc)


def _same(data: bytes) -> None:
    fast, strict = (
        _outcome(parse_canonical, data),
        _outcome(parse_canonical_reference, data),
    )
    assert fast == strict
    if fast[0] == "value":  # same types too: 1 and True are equal in Python
        assert json.dumps(fast[1]) == json.dumps(strict[1])


@settings(max_examples=400)
@given(values)
def test_fast_reader_accepts_what_the_strict_one_accepts(value: Any) -> None:
    _same(canonical_bytes(value))


@settings(max_examples=600)
@given(values, st.data())
def test_fast_reader_refuses_as_the_strict_one_does(
    value: Any, data: st.DataObject
) -> None:
    raw = bytearray(canonical_bytes(value))
    for _ in range(data.draw(st.integers(1, 3))):
        at = data.draw(st.integers(0, len(raw)))
        insert = data.draw(st.sampled_from(HOSTILE_BYTES))
        cut = data.draw(st.integers(0, 2))
        raw[at : at + cut] = insert
    _same(bytes(raw))


# Bytes that turn canonical JSON into what the strict reader refuses, or into
# what it accepts differently: floats, exponents, constants, huge or padded
# integers, duplicate keys, escapes, whitespace, non-ASCII and lone surrogates.
HOSTILE_BYTES = (
    b"1.5",
    b"1e3",
    b"-0",
    b"NaN",
    b"Infinity",
    b"9007199254740992",
    b"9007199254740991",
    b"-9007199254740993",
    b"1" * 41,
    b"01",
    b'{"a":1,"a":2}',
    b'"\\u00e9"',
    b'"\\ud800"',
    b'"\\/"',
    b" ",
    b"\xc3\xa9",
    b"\xff",
    b'"\xf0\x9f\x98\x80"',
    b"[" * 3,
    b"true",
    b",",
    b'"',
)


@pytest.mark.parametrize("data", [*HOSTILE_BYTES, b"[" * 100_000 + b"]" * 100_000])
def test_fast_reader_on_named_hostile_inputs(data: bytes) -> None:
    _same(data)
    _same(b'{"a":' + data + b"}")
    _same(b'{"k":[' + data + b',2],"z":"x"}')
