"""Strict JSON reading and RFC 8785 writing (verify.formats.canonical, docs/design.md §3).

Every refusal is checked for its exact error class (not merely a base class)
and for a message that names the problem, since the message is what a person
reads to fix the input.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from verify.errors import (
    FloatValueError,
    MalformedStatementError,
    NonCanonicalError,
    VerifyError,
)
from verify.formats.canonical import (
    MAX_SAFE_INTEGER,
    canonical_bytes,
    parse_canonical,
    parse_json,
)


def _refused(cls: type[VerifyError], call: Any, *args: Any) -> str:
    """Call ``call(*args)``; require exactly ``cls``; return its message."""
    with pytest.raises(VerifyError) as info:
        call(*args)
    assert type(info.value) is cls, f"{type(info.value).__name__}: {info.value}"
    return str(info.value)


# -- parse_json: what it accepts ------------------------------------------------


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"0", 0),
        (b"-7", -7),
        (b'"12.5"', "12.5"),
        (b"[true,false,null]", [True, False, None]),
        (b'{"a":{"b":[]}}', {"a": {"b": []}}),
        (b'{ "b" : 1 , "a" : 2 }', {"b": 1, "a": 2}),  # parse_json is not strict on form
        (b'"\\u00e9"', "é"),
        ('"d\u00e9j\u00e0 \u20ac"'.encode(), "déjà €"),
    ],
)
def test_parse_json_accepts(data: bytes, expected: Any) -> None:
    assert parse_json(data) == expected


def test_parse_json_keeps_integers_as_int() -> None:
    value = parse_json(b'{"n":42}')
    assert type(value["n"]) is int


# -- parse_json: floats, NaN, infinities ---------------------------------------


@pytest.mark.parametrize(
    ("data", "literal"),
    [
        (b"1.5", "1.5"),
        (b"1e3", "1e3"),
        (b"1E3", "1E3"),
        (b"-2.5e-3", "-2.5e-3"),
        (b"0.0", "0.0"),
        (b"1E400", "1E400"),
        (b'{"amount":12.5}', "12.5"),
        (b"[1,[2,[3.25]]]", "3.25"),
    ],
)
def test_parse_json_refuses_binary_numbers(data: bytes, literal: str) -> None:
    message = _refused(FloatValueError, parse_json, data)
    assert repr(literal) in message
    assert "decimal string" in message


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_parse_json_refuses_non_finite(constant: str) -> None:
    message = _refused(FloatValueError, parse_json, constant.encode())
    assert message.startswith(constant)
    assert "not a number" in message


def test_parse_json_refuses_nan_nested() -> None:
    message = _refused(FloatValueError, parse_json, b'{"value":{"amount":NaN}}')
    assert "NaN" in message


# -- parse_json: duplicate keys, UTF-8, syntax -----------------------------------


@pytest.mark.parametrize(
    ("data", "key"),
    [
        (b'{"a":1,"a":1}', "a"),
        (b'{"a":1,"b":2,"a":3}', "a"),
        (b'{"outer":{"k":1,"k":2}}', "k"),
        (b'[{"x":null,"x":null}]', "x"),
        ('{"é":1,"\\u00e9":2}'.encode(), "é"),  # same key, once raw, once escaped
    ],
)
def test_parse_json_refuses_duplicate_keys(data: bytes, key: str) -> None:
    message = _refused(MalformedStatementError, parse_json, data)
    assert message == f"duplicate JSON key {key!r}"


@pytest.mark.parametrize(
    ("data", "offset"),
    [
        (b'"\xff"', 1),
        (b'{"a":"\xc3"}', 6),  # truncated two-byte sequence
        (b'"\xc0\xaf"', 1),  # overlong encoding of "/"
        (b'"ok\xed\xa0\x80"', 3),  # UTF-8-encoded surrogate
        (b'"\x80"', 1),  # lone continuation byte
    ],
)
def test_parse_json_refuses_invalid_utf8(data: bytes, offset: int) -> None:
    message = _refused(MalformedStatementError, parse_json, data)
    assert message.startswith(f"not UTF-8 at byte {offset}:")


@pytest.mark.parametrize(
    ("data", "where"),
    [
        (b"", "line 1 column 1"),
        (b'{"a":}', "line 1 column 6"),
        (b"[1,]", "line 1 column 4"),
        (b"{'a':1}", "line 1 column 2"),
        (b"{} x", "line 1 column 4"),
        (b'{"a":1\n,,}', "line 2 column 2"),
        (b'"unterminated', "line 1 column 1"),
        (b"\xef\xbb\xbf{}", "line 1 column 1"),  # a byte order mark is not JSON
        (b"01", "line 1 column 2"),
        (b"tru", "line 1 column 1"),
    ],
)
def test_parse_json_refuses_invalid_json(data: bytes, where: str) -> None:
    message = _refused(MalformedStatementError, parse_json, data)
    assert message.startswith(f"invalid JSON at {where}:")


def test_parse_json_refuses_an_overlong_integer() -> None:
    # Python refuses to convert integers of more than 4300 digits with a bare
    # ValueError; it must surface as a statement error, not escape.
    message = _refused(MalformedStatementError, parse_json, b"1" * 5000)
    assert "number too long" in message


@pytest.mark.parametrize("depth", [5_000, 30_000])
def test_parse_json_refuses_deep_nesting(depth: int) -> None:
    # 30,000 levels fit in a 60,000-byte signed statement: a RecursionError
    # must not escape.
    message = _refused(MalformedStatementError, parse_json, b"[" * depth + b"]" * depth)
    assert "nested too deeply" in message
    message = _refused(
        MalformedStatementError, parse_canonical, b'{"a":' * depth + b"1" + b"}" * depth
    )
    assert "nested too deeply" in message


# -- canonical_bytes -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ({"b": 1, "a": [True, None, "x"]}, b'{"a":[true,null,"x"],"b":1}'),
        ({"é": "€", "e": "\u2028"}, '{"e":"\u2028","é":"€"}'.encode()),
        ("\t\n\x1f\x7f", b'"\\t\\n\\u001f\x7f"'),
        # JCS sorts keys by UTF-16 code units: U+1F602 (D83D DE02) before U+FB33,
        # and never normalises (U+FB33 is not rewritten as U+05D3 U+05BC).
        (
            {"\u20ac": 1, "\U0001f602": 2, "\ufb33": 3},
            '{"\u20ac":1,"\U0001f602":2,"\ufb33":3}'.encode(),
        ),
        ((1, 2), b"[1,2]"),
        (MAX_SAFE_INTEGER, b"9007199254740991"),
        (-MAX_SAFE_INTEGER, b"-9007199254740991"),
    ],
)
def test_canonical_bytes(value: Any, expected: bytes) -> None:
    assert canonical_bytes(value) == expected


@pytest.mark.parametrize(
    ("value", "path"),
    [
        (1.5, "$"),
        (0.0, "$"),
        (float("nan"), "$"),
        (float("inf"), "$"),
        ({"value": {"amount": 12.5}}, "$.value.amount"),
        ({"a": [1, 2, 3.0]}, "$.a[2]"),
    ],
)
def test_canonical_bytes_refuses_floats(value: Any, path: str) -> None:
    message = _refused(FloatValueError, canonical_bytes, value)
    assert message.startswith(f"{path}: binary float")
    assert "decimal string" in message


@pytest.mark.parametrize(
    "number", [MAX_SAFE_INTEGER + 1, -(MAX_SAFE_INTEGER + 1), 2**64, -(2**70)]
)
def test_canonical_bytes_refuses_unsafe_integers(number: int) -> None:
    message = _refused(MalformedStatementError, canonical_bytes, {"n": number})
    assert message == f"$.n: integer {number} is outside the exact JSON range"


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ({1: "x"}, "$: object key 1 is not text"),
        ({"a": b"raw"}, "$.a: bytes is not JSON"),
        ([{1, 2}], "$[0]: set is not JSON"),
    ],
)
def test_canonical_bytes_refuses_non_json(value: Any, problem: str) -> None:
    assert _refused(MalformedStatementError, canonical_bytes, value) == problem


def test_canonical_bytes_refuses_lone_surrogate() -> None:
    # A lone UTF-16 surrogate cannot be written as UTF-8: the library's own
    # error must surface as a statement error.
    message = _refused(MalformedStatementError, canonical_bytes, {"a": "x\ud800"})
    assert "canonicalis" in message


def test_booleans_are_not_integers() -> None:
    assert canonical_bytes([True, False, 1, 0]) == b"[true,false,1,0]"


# -- parse_canonical --------------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [
        b"{}",
        b"[]",
        b'""',
        b"0",
        b"-1",
        b'{"a":[true,null,"x"],"b":1}',
        '{"e":"\u2028","é":"€"}'.encode(),
        b'"\\t\\n\\u001f\x7f"',
        b"9007199254740991",
    ],
)
def test_parse_canonical_accepts_canonical(data: bytes) -> None:
    assert canonical_bytes(parse_canonical(data)) == data


@pytest.mark.parametrize(
    ("data", "offset"),
    [
        (b'{"a": 1}', 5),  # whitespace after a colon
        (b" {}", 0),  # leading whitespace
        (b"{}\n", 2),  # trailing newline
        (b"[1 ]", 2),
        (b'{"b":1,"a":2}', 2),  # key order
        (b'{"a":{"d":1,"c":2}}', 7),  # key order, nested
        (b'"\\u00e9"', 1),  # escaped unicode that JCS writes raw
        (b'{"a":"\\u20ac"}', 6),
        (b'"\\u0041"', 1),
        (b'"\\/"', 1),  # needless escape
        (b'"\\u001F"', 6),  # upper-case hex escape
        (b"-0", 0),  # JCS writes 0
    ],
)
def test_parse_canonical_refuses_non_canonical(data: bytes, offset: int) -> None:
    message = _refused(NonCanonicalError, parse_canonical, data)
    assert f"first difference at byte {offset})" in message
    assert message.startswith("statement is not RFC 8785 canonical JSON")


def test_parse_canonical_names_what_it_reads() -> None:
    message = _refused(NonCanonicalError, parse_canonical, b'{"a": 1}', "log entry")
    assert message.startswith("log entry is not RFC 8785 canonical JSON")


def test_parse_canonical_refuses_what_parse_json_refuses() -> None:
    _refused(FloatValueError, parse_canonical, b"1.5")
    _refused(FloatValueError, parse_canonical, b"NaN")
    _refused(MalformedStatementError, parse_canonical, b'{"a":1,"a":1}')
    _refused(MalformedStatementError, parse_canonical, b'"\xff"')
    _refused(MalformedStatementError, parse_canonical, b"{")


@pytest.mark.parametrize(
    "number", [MAX_SAFE_INTEGER + 1, -(MAX_SAFE_INTEGER + 1), 10**20, -(10**30)]
)
def test_parse_canonical_refuses_unsafe_integers(number: int) -> None:
    message = _refused(MalformedStatementError, parse_canonical, str(number).encode())
    assert message == f"$: integer {number} is outside the exact JSON range"
    message = _refused(MalformedStatementError, parse_canonical, b'{"v":%d}' % number)
    assert "$.v: integer" in message


@pytest.mark.parametrize("number", [MAX_SAFE_INTEGER, -MAX_SAFE_INTEGER])
def test_parse_canonical_accepts_largest_safe_integers(number: int) -> None:
    assert parse_canonical(str(number).encode()) == number


def test_parse_canonical_refuses_escaped_lone_surrogate() -> None:
    # Valid JSON text, but no UTF-8 bytes can carry it, so no canonical form exists.
    message = _refused(MalformedStatementError, parse_canonical, b'{"a":"\\ud800"}')
    assert "canonicalis" in message


# -- properties ----------------------------------------------------------------------

_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-MAX_SAFE_INTEGER, max_value=MAX_SAFE_INTEGER)
    | st.text()
)
json_values: st.SearchStrategy[Any] = st.recursive(
    _scalars,
    lambda children: (
        st.lists(children, max_size=6)
        | st.dictionaries(st.text(max_size=8), children, max_size=6)
    ),
    max_leaves=40,
)


def _same(a: Any, b: Any) -> bool:
    """Equality that also tells True from 1 and 0 from False."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


@settings(max_examples=300)
@given(json_values)
def test_round_trip(value: Any) -> None:
    data = canonical_bytes(value)
    parsed = parse_canonical(data)
    assert parsed == value
    assert _same(parsed, value)
    assert canonical_bytes(parsed) == data


@given(json_values)
def test_canonical_bytes_is_valid_utf8_json(value: Any) -> None:
    data = canonical_bytes(value)
    assert json.loads(data.decode("utf-8")) == value


@given(json_values)
def test_any_other_serialisation_is_refused(value: Any) -> None:
    canonical = canonical_bytes(value)
    for other in (
        json.dumps(value, indent=1).encode(),
        json.dumps(value, ensure_ascii=True, separators=(",", ":")).encode(),
        canonical + b" ",
    ):
        if other == canonical:
            assert parse_canonical(other) == value
        else:
            with pytest.raises(NonCanonicalError):
                parse_canonical(other)
