"""Strict JSON reading and RFC 8785 (JCS) canonical writing.

Numbers in statements travel as decimal strings (docs/design.md §1), so a binary
float anywhere in a statement is refused, both when reading and when writing:
JCS would serialise it faithfully, but the value it carries is already rounded.
Integers are allowed only for counters (versions, sizes) within the range JCS
can represent exactly (|n| < 2**53, RFC 8785 §3.2.2.3).
"""

from __future__ import annotations

import json
from decimal import Decimal, InvalidOperation
from typing import Any

import rfc8785

from verify.errors import (
    FloatValueError,
    MalformedStatementError,
    NonCanonicalError,
    quote,
)

JSONValue = Any
MAX_SAFE_INTEGER = 2**53 - 1
# Number literals longer than this are refused as they are read, before Python
# converts them: a counter has at most 16 digits, and a message never spells
# out a number it was not sent in short (docs/decisions.md 17).
MAX_LITERAL_DIGITS = 40
# One encoder for the process: ``json.dumps`` with these options would build a
# new ``JSONEncoder`` on every call.
_ENCODER = json.JSONEncoder(
    sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
)


def _decimal_hint(text: str) -> str:
    """The decimal string a short binary number stands for, e.g. 1e3 -> "1000";
    a generic example when spelling it out would be long (1e99999999)."""
    if len(text) <= MAX_LITERAL_DIGITS:
        try:
            number = Decimal(text)
        except InvalidOperation:  # an exponent beyond what Decimal represents
            return '"12.5"'
        exponent = number.as_tuple().exponent
        short = isinstance(exponent, int) and exponent >= -MAX_LITERAL_DIGITS
        if short and number.adjusted() < MAX_LITERAL_DIGITS:
            return f'"{number:f}"'
    return '"12.5"'


def _no_float(text: str) -> JSONValue:
    raise FloatValueError(
        f"binary number {quote(text)}: write numbers as decimal strings, e.g. "
        f"{_decimal_hint(text)}"
    )


def _bounded_int(text: str) -> int:
    digits = len(text.lstrip("-"))
    if digits > MAX_LITERAL_DIGITS:
        raise MalformedStatementError(
            f"invalid JSON: number too long: an integer of {digits} digits "
            f"({quote(text, 16)}) is outside the exact JSON range; integers are "
            "counters below 2**53, data travels as decimal strings"
        )
    return int(text)


def _integer(value: int) -> str:
    # str() of a huge integer is slow, and refused past 4300 digits: name its size.
    return str(value) if value.bit_length() <= 128 else f"of {value.bit_length()} bits"


def _no_constant(text: str) -> JSONValue:
    raise FloatValueError(f"{text} is not a number JSON or JCS can carry")


def _unique_keys(pairs: list[tuple[str, JSONValue]]) -> dict[str, JSONValue]:
    result: dict[str, JSONValue] = {}
    for key, value in pairs:
        if key in result:
            raise MalformedStatementError(f"duplicate JSON key {quote(key)}")
        result[key] = value
    return result


def parse_json(data: bytes) -> JSONValue:
    """Parse UTF-8 JSON, refusing floats, NaN, infinities and duplicate keys."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise MalformedStatementError(
            f"not UTF-8 at byte {exc.start}: {exc.reason}"
        ) from None
    try:
        return json.loads(
            text,
            parse_float=_no_float,
            parse_int=_bounded_int,
            parse_constant=_no_constant,
            object_pairs_hook=_unique_keys,
        )
    except json.JSONDecodeError as exc:
        raise MalformedStatementError(
            f"invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}"
        ) from None
    except RecursionError:
        raise MalformedStatementError(
            "invalid JSON: arrays or objects nested too deeply"
        ) from None


def _check_values(value: JSONValue, path: str) -> None:
    if isinstance(value, float):
        raise FloatValueError(
            f"{path}: binary float {value!r}; write it as a decimal string"
        )
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return
    if isinstance(value, int):
        if abs(value) > MAX_SAFE_INTEGER:
            raise MalformedStatementError(
                f"{path}: integer {_integer(value)} is outside the exact JSON range"
            )
        return
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise MalformedStatementError(f"{path}: object key {key!r} is not text")
            _check_values(item, f"{path}.{key}")
        return
    if isinstance(value, list | tuple):
        for index, item in enumerate(value):
            _check_values(item, f"{path}[{index}]")
        return
    raise MalformedStatementError(f"{path}: {type(value).__name__} is not JSON")


def _plain(value: JSONValue) -> bool:
    """True when ``json.dumps`` writes exactly the JCS bytes of ``value``.

    For float-free values that holds when no object key has a character
    beyond the Basic Multilingual Plane: JCS sorts keys by UTF-16 code units
    (RFC 8785 §3.2.3), Python by code points, and the two orders differ only
    there; strings are escaped identically (RFC 8785 §3.2.2.2: only '"', '\\'
    and controls, with the same short forms and lowercase \\u00xx).
    """
    if isinstance(value, str) or value is None or isinstance(value, bool):
        return True
    if isinstance(value, int):
        return abs(value) <= MAX_SAFE_INTEGER
    if isinstance(value, dict):
        return all(
            isinstance(k, str) and (k.isascii() or max(map(ord, k)) <= 0xFFFF) and _plain(v)
            for k, v in value.items()
        )
    if isinstance(value, list):
        return all(_plain(v) for v in value)
    return False


def canonical_bytes(value: JSONValue) -> bytes:
    """RFC 8785 bytes of ``value``; floats and unsafe integers are refused."""
    try:
        if _plain(value):
            # The fast path: the standard library's encoder, same bytes.
            text = _ENCODER.encode(value)
            try:
                return text.encode("utf-8")
            except UnicodeEncodeError:
                pass  # a lone surrogate: let rfc8785 name it below
        _check_values(value, "$")
        return rfc8785.dumps(value)
    except rfc8785.CanonicalizationError as exc:  # e.g. a lone UTF-16 surrogate
        raise MalformedStatementError(f"not canonicalisable as JSON: {exc}") from None
    except RecursionError:
        raise MalformedStatementError("arrays or objects nested too deeply") from None


class _NotFast(Exception):
    """Raised inside the fast reader: leave it to the strict one."""


def _fast_refuse(text: str) -> JSONValue:
    raise _NotFast(text)


def _fast_int(text: str) -> int:
    number = int(text) if len(text) <= 17 else MAX_SAFE_INTEGER + 1  # 17: "-" and 16
    if abs(number) > MAX_SAFE_INTEGER:  # the strict reader names it
        raise _NotFast(text)
    return number


_FAST_DECODER = json.JSONDecoder(
    parse_float=_fast_refuse, parse_int=_fast_int, parse_constant=_fast_refuse
)


def _fast_canonical(data: bytes) -> tuple[bool, JSONValue]:
    """(True, value) when ASCII ``data`` is exactly the JCS form of ``value``.

    The standard library's C reader (duplicate keys kept last) and the
    module's encoder, compared byte for byte with the input. Equality proves
    what the strict reader checks one by one: no float or constant, no
    integer beyond 2**53 - 1 (all refused as read), no duplicate key (the
    encoded object would be shorter), and, the input being ASCII, no
    non-ASCII key whose JCS order differs from Python's. Anything else is
    (False, None): the strict path decides, so a refusal is always the strict
    reader's own."""
    if not data.isascii():
        return False, None
    try:
        # raw_decode: no whitespace skipped; anything after the value differs below.
        value, _ = _FAST_DECODER.raw_decode(data.decode("ascii"))
        if _ENCODER.encode(value).encode("ascii") == data:
            return True, value
    except (_NotFast, ValueError, RecursionError, UnicodeEncodeError, TypeError):
        pass
    return False, None


def parse_canonical_reference(data: bytes, what: str = "statement") -> JSONValue:
    """``parse_canonical`` without its fast path: the strict reader, then JCS
    (the oracle the fast path is tested against)."""
    value = parse_json(data)
    expected = canonical_bytes(value)
    if expected != data:
        position = next(
            (i for i, (a, b) in enumerate(zip(expected, data, strict=False)) if a != b),
            min(len(expected), len(data)),
        )
        raise NonCanonicalError(
            f"{what} is not RFC 8785 canonical JSON (first difference at byte "
            f"{position}); sign and send the canonical bytes"
        )
    return value


def parse_canonical(data: bytes, what: str = "statement") -> JSONValue:
    """Parse ``data`` and require it to be exactly its own JCS form.

    Canonical ASCII input takes the fast path (``_fast_canonical``); anything
    else, and every refusal, goes through ``parse_canonical_reference``."""
    fast, value = _fast_canonical(data)
    if fast:
        return value
    return parse_canonical_reference(data, what)
