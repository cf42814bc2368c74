"""Hostile input is cheap to refuse (docs/decisions.md 17): a short body that
names a huge number, a long number, deep nesting or a long name is refused
with a short message, never one that spells the input out.

Each case is read the way the ledger reads a client's bytes
(``parse_signed_statement``), so these are the messages an anonymous sender
gets back; tests/http/test_http_hostile.py sends the same bytes over HTTP.
"""

from __future__ import annotations

from typing import Any

import pytest

from verify.errors import FloatValueError, MalformedStatementError, VerifyError
from verify.formats.canonical import canonical_bytes, parse_json
from verify.formats.fields import value_problem
from verify.formats.statement import MAX_STATEMENT_BYTES, parse_signed_statement
from verify.scoring.methods import MAX_DECIMAL_DIGITS, decimal_of, method_problem

SHORT = 300  # characters: what a refusal's message may take at most here


def value_statement(amount: str) -> dict[str, Any]:
    """A well-formed value.submitted statement carrying ``amount``."""
    return {
        "body": {
            "disclosure": "public",
            "evidence": [],
            "kpi": "K1.1",
            "reference_year": 2025,
            "status": "value",
            "unit": "days",
            "value": {"amount": amount},
        },
        "expected_version": 2,
        "format": "pmm-statement/v1",
        "issued_at": "2026-11-22T12:00:00.000000Z",
        "key_id": "c4aadd43a9f4472f",
        "nonce": "AAECAwQFBgcICQoLDA0ODw",
        "origin": "test.pmm.example/ledger",
        "principal": "ncp.ken",
        "stream": "assessment/KEN/2026",
        "type": "value.submitted",
    }


def envelope(statement: dict[str, Any]) -> bytes:
    return canonical_bytes({"signature": "A" * 86 + "==", "statement": statement})


# Named hostile bodies, each within the 60,000-byte statement limit.
HOSTILE: dict[str, tuple[bytes, type[VerifyError]]] = {
    "huge exponent": (b'{"a":1e99999999}', FloatValueError),
    "huger exponent": (b'{"a":1e99999999999999999999}', FloatValueError),
    "huge negative exponent": (b'{"a":-1E-99999999}', FloatValueError),
    "huge digit count": (b'{"a":1.' + b"0" * 50_000 + b"}", FloatValueError),
    "long integer": (b'{"a":' + b"9" * 4_000 + b"}", MalformedStatementError),
    "longer integer than Python converts": (
        b'{"a":' + b"1" * 5_000 + b"}",
        MalformedStatementError,
    ),
    "integer of 41 digits": (b'{"a":' + b"1" * 41 + b"}", MalformedStatementError),
    "deep arrays": (b"[" * 29_000 + b"]" * 29_000, MalformedStatementError),
    "deep objects": (b'{"a":' * 9_000 + b"1" + b"}" * 9_000, MalformedStatementError),
    "long duplicate key": (
        b'{"' + b"k" * 20_000 + b'":1,"' + b"k" * 20_000 + b'":1}',
        MalformedStatementError,
    ),
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_bytes_are_refused_with_a_short_message(name: str) -> None:
    data, error = HOSTILE[name]
    assert len(data) <= MAX_STATEMENT_BYTES
    with pytest.raises(VerifyError) as caught:
        parse_signed_statement(data)
    assert type(caught.value) is error, f"{type(caught.value).__name__}: {caught.value}"
    assert len(str(caught.value)) < SHORT, str(caught.value)[:SHORT]


def test_a_short_binary_number_is_still_spelled_out_as_a_decimal_string() -> None:
    with pytest.raises(FloatValueError) as caught:
        parse_json(b'{"amount":1e3}')
    assert str(caught.value) == (
        "binary number '1e3': write numbers as decimal strings, e.g. \"1000\""
    )
    with pytest.raises(FloatValueError) as caught:
        parse_json(b'{"amount":1e99999999}')
    assert str(caught.value) == (
        "binary number '1e99999999': write numbers as decimal strings, e.g. \"12.5\""
    )


def test_a_long_literal_is_quoted_by_a_short_prefix_and_its_length() -> None:
    with pytest.raises(FloatValueError) as caught:
        parse_json(b"1." + b"0" * 50_000)
    assert str(caught.value).startswith(
        "binary number '1.00000000000000000000000000000000000000'… (50002 characters)"
    )


@pytest.mark.parametrize(
    ("amount", "problem"),
    [
        ("1" * (MAX_DECIMAL_DIGITS + 1), "at most 40 digits (got 41)"),
        ("0." + "0" * 40, "at most 40 digits (got 41)"),
        ("-" + "9" * 30 + "." + "9" * 20, "at most 40 digits (got 50)"),
        ("1" + "0" * 50_000, "at most 40 digits (got 50001)"),
    ],
)
def test_decimal_strings_have_at_most_40_digits(amount: str, problem: str) -> None:
    # A value's shape depends on its KPI's kind, so the ledger checks it with
    # the KPI (tests/http/test_http_hostile.py sends one); the rule is here.
    assert value_problem("number", "value", {"amount": amount}) == (
        f"value.amount must have {problem}"
    )
    ratio = {"denominator": amount, "numerator": "1"}
    assert (
        value_problem("ratio", "value", ratio) == f"value.denominator must have {problem}"
    )
    assert decimal_of(amount) is None
    method = {"method": "linear", "best": amount, "worst": "0"}
    assert method_problem(method, "number", "none") == f"best must have {problem}"


@pytest.mark.parametrize(
    "amount", ["9" * MAX_DECIMAL_DIGITS, "-0." + "1" * 39, "12.5", "0", "-3.5"]
)
def test_decimal_strings_of_up_to_40_digits_are_values(amount: str) -> None:
    assert value_problem("number", "value", {"amount": amount}) is None
    assert decimal_of(amount) is not None


def test_long_names_are_quoted_in_short() -> None:
    long_field = value_statement("1")
    long_field["x" * 30_000] = 1
    many_fields = value_statement("1")
    many_fields.update({f"field{n:04d}": 1 for n in range(2_000)})
    long_type = value_statement("1")
    long_type["type"] = "t" * 30_000
    long_stream = value_statement("1")
    long_stream["stream"] = "s" * 30_000
    long_time = value_statement("1")
    long_time["issued_at"] = "2" * 30_000
    for statement in (long_field, many_fields, long_type, long_stream, long_time):
        data = envelope(statement)
        assert len(data) <= MAX_STATEMENT_BYTES
        with pytest.raises(MalformedStatementError) as caught:
            parse_signed_statement(data)
        assert len(str(caught.value)) < 700, str(caught.value)[:700]
