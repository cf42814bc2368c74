"""Hypothesis strategies for the fuzz suite: statements, JCS, files.

Valid inputs are built the way clients build them (``verify.formats.statement.sign``
over bodies from ``tests/conftest.py``'s helpers, checked by
``verify.formats.schema``); mutated inputs are valid bytes with a few bytes flipped,
inserted, deleted or cut, so most of them get past the first checks and reach
the deeper ones. The log formats (notes, checkpoints, proofs, receipts,
tiles) are in ``tests/fuzz/strategies_log.py``.

``FUZZ`` is the suite's settings: modest by default, deep with
``PMM_FUZZ=long`` (docs/testing: ``PMM_FUZZ=long python -m pytest tests/fuzz``).
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from tests.conftest import empty_scores, kpi_body, value_body
from verify.formats.statement import (
    STATEMENT_FORMAT,
    SignedStatement,
    format_timestamp,
    key_id,
    public_key_bytes,
    sign,
)

LONG = os.environ.get("PMM_FUZZ") == "long"


def fuzz_settings(examples: int = 60, *, long: int | None = None) -> settings:
    """``examples`` inputs a property by default, ``long`` (10x) under
    ``PMM_FUZZ=long``; no deadline (the machine is shared), the example
    database where hypothesis keeps it (``.hypothesis/``, out of git)."""
    return settings(
        max_examples=(long or examples * 10) if LONG else examples,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )


FUZZ = fuzz_settings()
ORIGIN = "fuzz.pmm.example/ledger"
KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
KEY_ID = key_id(public_key_bytes(KEY.public_key()))

# -- JSON values and bytes ---------------------------------------------------

# Numbers in statements are decimal strings: JSON here is float-free, with
# integers in the exact range (RFC 8785 §3.2.2.3) and any text, astral
# characters and controls included.
SAFE_INT = st.integers(-(2**53) + 1, 2**53 - 1)
TEXT = st.text(st.characters(exclude_categories=["Cs"]), max_size=20)
JSON: st.SearchStrategy[Any] = st.recursive(
    st.none() | st.booleans() | SAFE_INT | TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXT, inner, max_size=4),
    max_leaves=20,
)
# Bytes that look like JSON: mostly JSON's own punctuation, digits and escapes.
JSONISH = st.lists(
    st.sampled_from(
        [
            b"{",
            b"}",
            b"[",
            b"]",
            b",",
            b":",
            b'"',
            b"\\",
            b"u",
            b"0",
            b"1",
            b"-",
            b"e",
            b".",
            b" ",
            b"\n",
            b"true",
            b"null",
            b"\\ud800",
            b"\xc3",
            b"\xff",
            b'"a"',
        ]
    ),
    max_size=40,
).map(b"".join)


@st.composite
def mutated(draw: st.DrawFn, valid: st.SearchStrategy[bytes]) -> bytes:
    """``valid`` bytes with 1-4 byte edits: flip, insert, delete, truncate, repeat."""
    data = bytearray(draw(valid))
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(data)))
        edit = draw(st.sampled_from(["flip", "insert", "delete", "cut", "repeat"]))
        if edit == "flip" and at < len(data):
            data[at] ^= 1 << draw(st.integers(0, 7))
        elif edit == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=3))
        elif edit == "delete":
            del data[at : at + draw(st.integers(1, 3))]
        elif edit == "cut":
            del data[at:]
        else:
            data[at:at] = data[at : at + draw(st.integers(1, 8))]
    return bytes(data)


def hostile(valid: st.SearchStrategy[bytes]) -> st.SearchStrategy[bytes]:
    """What a never-crash property reads: mutations of ``valid``, JSON-ish and raw bytes."""
    return mutated(valid) | JSONISH | st.binary(max_size=200)


# -- signed statements -------------------------------------------------------

MEMBER = st.sampled_from(["KEN", "BRA", "ZAF"])
CODE = st.from_regex(r"[A-Z]{2}\.[1-9]\.[1-9]", fullmatch=True)
AMOUNT = st.from_regex(r"-?(0|[1-9][0-9]{0,8})(\.[0-9]{1,4})?", fullmatch=True)
WORDS = st.text(
    st.characters(exclude_categories=["Cs", "Cc"]), min_size=1, max_size=30
).filter(str.strip)
YEAR = st.integers(2015, 2030)


@st.composite
def bodies(draw: st.DrawFn) -> tuple[str, str, int, dict[str, Any]]:
    """(type, stream, expected version, body) of one of several statement types."""
    member, year = draw(MEMBER), draw(YEAR)
    stream = f"assessment/{member}/1"
    version = draw(st.integers(1, 10_000))
    kind = draw(st.integers(0, 6))
    if kind == 0:
        body = value_body(draw(CODE), {"amount": draw(AMOUNT)}, "hours", year=year)
        return "value.submitted", stream, version, body
    if kind == 1:
        body = kpi_body(draw(CODE), "percent", "percentage", applies_from=year)
        return "kpi.defined", "framework", version, body
    if kind == 2:
        body = {"message": draw(WORDS), "subject": draw(WORDS)}
        return "integrity.flag_raised", stream, version, body
    if kind == 3:
        body = {"cycle": "1", "member": member, "reference_year": year}
        return "assessment.opened", stream, 0, body
    if kind == 4:
        return "kpi.not_used", stream, version, {"kpi": draw(CODE), "justification": "n/a"}
    if kind == 5:
        scores = {"cut_at": version, "scores": empty_scores(year), "title": draw(WORDS)}
        return "assessment.published", stream, version, scores
    body = {"head": "0" * 64, "size": draw(st.integers(0, 2**53 - 1))}
    return "access_log.sealed", "access-log", version, body


@st.composite
def signed_statements(draw: st.DrawFn) -> SignedStatement:
    """A well-formed statement, signed as ``pmm sign`` signs it."""
    kind, stream, version, body = draw(bodies())
    moment = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(
        microseconds=draw(st.integers(0, 10**14))
    )
    statement = {
        "body": body,
        "expected_version": version,
        "format": STATEMENT_FORMAT,
        "issued_at": format_timestamp(moment),
        "key_id": KEY_ID,
        "nonce": draw(st.from_regex(r"[A-Za-z0-9_-]{16,64}", fullmatch=True)),
        "origin": ORIGIN,
        "principal": draw(st.from_regex(r"[a-z][a-z0-9-]{0,20}", fullmatch=True)),
        "stream": stream,
        "type": kind,
    }
    return sign(statement, KEY)


STATEMENT_BYTES = signed_statements().map(SignedStatement.to_bytes)
