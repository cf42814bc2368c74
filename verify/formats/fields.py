"""The field checkers of statement bodies, and the shapes of recorded values.

Each checker returns why a field's value is wrong, or None; ``verify.formats.schema``
assembles them into the table of statement types. Standard library only.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

from verify.scoring.methods import AGGREGATIONS, decimal_of, decimal_problem

# ``ledger`` is the ledger's own principal, named by the genesis: it signs the
# access log's seals and nothing else (docs/decisions.md, 16).
ROLES = ("admin", "secretariat", "ncp", "peer_reviewer", "integrity_officer", "ledger")
DISCLOSURES = ("public", "wco", "restricted")
VALUE_KINDS = ("number", "ratio", "percentage", "yes_no", "grade", "text")
VALUE_STATUSES = ("value", "not_applicable", "insufficient_information")
DIRECTIONS = ("higher_is_better", "lower_is_better", "none")
CORRECTION_KINDS = ("correction", "revision")

CODE_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,47}")
MEMBER_RE = re.compile(r"[A-Z]{3}")
PRINCIPAL_RE = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")
SHA256_RE = re.compile(r"[0-9a-f]{64}")
# A red flag's id: its rule and the log indexes of the entries that raised it
# (docs/flags.md), so the verifier can check that a handled flag names entries
# that were already in the log.
FLAG_ID_RE = re.compile(r"[a-z][a-z0-9_]{0,47}:[0-9]{1,16}(,[0-9]{1,16}){0,31}")
FLAG_ACTIONS = ("acknowledged", "escalated")
ASSESSMENT_STREAM_RE = re.compile(
    r"assessment/(?P<member>[A-Z]{3})/(?P<cycle>[0-9A-Za-z-]{1,16})"
)


def _text(limit: int) -> Callable[[Any], str | None]:
    def check(value: Any) -> str | None:
        if not isinstance(value, str) or not value.strip():
            return "must be non-empty text"
        if len(value) > limit:
            return f"must be at most {limit} characters (got {len(value)})"
        return None

    return check


def _pattern(regex: re.Pattern[str], hint: str) -> Callable[[Any], str | None]:
    def check(value: Any) -> str | None:
        if not isinstance(value, str) or regex.fullmatch(value) is None:
            return f"must be {hint}"
        return None

    return check


def _enum(choices: tuple[str, ...]) -> Callable[[Any], str | None]:
    def check(value: Any) -> str | None:
        if value not in choices:
            return f"must be one of {', '.join(choices)}"
        return None

    return check


def _int(low: int, high: int) -> Callable[[Any], str | None]:
    def check(value: Any) -> str | None:
        if isinstance(value, bool) or not isinstance(value, int):
            return "must be an integer"
        if not low <= value <= high:
            return f"must be between {low} and {high}"
        return None

    return check


def _bool(value: Any) -> str | None:
    return None if isinstance(value, bool) else "must be true or false"


def is_base64_32(value: Any) -> bool:
    """Padded standard base64 of exactly 32 bytes (a key, a hash)."""
    try:
        raw = base64.b64decode(value, validate=True) if isinstance(value, str) else b""
    except (binascii.Error, ValueError):
        raw = b""
    return len(raw) == 32


def _public_key(value: Any) -> str | None:
    return None if is_base64_32(value) else "must be a base64 Ed25519 public key (32 bytes)"


def _list_of(
    item: Callable[[Any], str | None], min_len: int
) -> Callable[[Any], str | None]:
    def check(value: Any) -> str | None:
        if not isinstance(value, list):
            return "must be a list"
        if len(value) < min_len:
            return f"must list at least {min_len} item(s)"
        if len(value) > 1000:
            return "must list at most 1000 items"
        for index, element in enumerate(value):
            problem = item(element)
            if problem:
                return f"item {index} {problem}"
        if len(set(map(str, value))) != len(value):
            return "must not repeat an item"
        return None

    return check


def _object(value: Any) -> str | None:
    return None if isinstance(value, dict) else "must be a JSON object"


def _source(value: Any) -> str | None:
    if not isinstance(value, dict) or set(value) != {"name", "sha256"}:
        return "must be an object with exactly 'name' and 'sha256'"
    return _text(200)(value["name"]) or _pattern(SHA256_RE, "a SHA-256 hex digest")(
        value["sha256"]
    )


NAME = _text(200)
NOTE = _text(4000)
CODE = _pattern(CODE_RE, "a code of letters, digits, '.', '_' or '-' (max 48)")
MEMBER = _pattern(MEMBER_RE, "an ISO 3166-1 alpha-3 Member code, e.g. KEN")
PRINCIPAL = _pattern(
    PRINCIPAL_RE, "a principal id: lowercase letters, digits, '.', '_', '-'"
)
YEAR = _int(1900, 2200)
ENTRY = _int(1, 2**53 - 1)
DECIMAL = decimal_problem
SHA256 = _pattern(SHA256_RE, "a lowercase SHA-256 hex digest")


def _score(value: Any) -> str | None:
    number = decimal_of(value) if DECIMAL(value) is None else None
    if number is None or not 0 <= number <= 100:
        return 'must be a decimal string from "0" to "100"'
    return None


def _weight(value: Any) -> str | None:
    number = decimal_of(value) if DECIMAL(value) is None else None
    if number is None or number <= 0:
        return 'must be a positive decimal string such as "1"'
    return None


def _score_table(value: Any) -> str | None:
    """A published score table (docs/scoring.md, ``verify.scoring.scoreboard``)."""
    keys = {"format", "reference_year", "kpis", "outcomes", "dimensions", "overall"}
    if not isinstance(value, dict) or set(value) != keys:
        return f"must be an object with exactly: {', '.join(sorted(keys))}"
    if value["format"] != "pmm-scores/v1":
        return 'format must be "pmm-scores/v1"'
    problem = YEAR(value["reference_year"])
    if problem:
        return f"reference_year {problem}"
    for level in ("kpis", "outcomes", "dimensions"):
        table = value[level]
        if not isinstance(table, dict) or len(table) > 1000:
            return f"{level} must be an object of at most 1000 codes"
        for code, score in table.items():
            problem = CODE(code) or (None if score is None else _score(score))
            if problem:
                return f"{level}.{code} {problem}"
    if value["overall"] is not None and _score(value["overall"]):
        return f"overall {_score(value['overall'])}"
    return None


AGGREGATION = _enum(AGGREGATIONS)
FLAG_ID = _pattern(
    FLAG_ID_RE, "a flag id '<rule>:<log index>[,<log index>...]' (pmm flags)"
)
FLAG_ACTION = _enum(FLAG_ACTIONS)


MAX_THRESHOLD = 100_000  # days, hours, counts, factors: a read must not overflow


def _thresholds(value: Any) -> str | None:
    """Red-flag thresholds: ``{rule: {parameter: decimal string}}`` (docs/flags.md)."""
    if not isinstance(value, dict) or not 1 <= len(value) <= 64:
        return "must be an object of 1 to 64 rules"
    for rule, parameters in value.items():
        problem = CODE(rule)
        if problem:
            return f"rule {rule[:48]!r}: {problem}"
        if not isinstance(parameters, dict) or len(parameters) > 32:
            return f"{rule} must be an object of at most 32 parameters"
        for name, number in parameters.items():
            problem = CODE(name) or DECIMAL(number)
            if problem:
                return f"{rule}.{str(name)[:48]} {problem}"
            amount = decimal_of(number)
            if amount is None or not 0 <= amount <= MAX_THRESHOLD:
                return (
                    f"{rule}.{name} must be from 0 to {MAX_THRESHOLD} (a count, a "
                    "factor, a z-score, hours or days): a bigger one is no threshold"
                )
    return None


THRESHOLDS = _thresholds


_VALUE_SHAPES: Mapping[str, Mapping[str, Callable[[Any], str | None]]] = {
    "number": {"amount": DECIMAL},
    "percentage": {"amount": DECIMAL},
    "ratio": {"numerator": DECIMAL, "denominator": DECIMAL},
    "yes_no": {"answer": _bool},
    "grade": {"grade": _text(16)},
    "text": {"text": NOTE},
}


def value_problem(value_kind: str, status: str, value: Any) -> str | None:
    """Why ``value`` is not a valid ``value_kind`` value with ``status``, or None.

    A value of 0 is a value; "not applicable" and "insufficient information"
    are statuses with no value; "not used" is its own statement (docs/design.md §1).
    """
    if status != "value":
        return None if value is None else f"status {status!r} carries no value (null)"
    shape = _VALUE_SHAPES[value_kind]
    if not isinstance(value, dict) or set(value) != set(shape):
        return f"a {value_kind} value is an object with exactly: {', '.join(shape)}"
    for name, check in shape.items():
        problem = check(value[name])
        if problem:
            return f"value.{name} {problem}"
    if value_kind == "ratio" and Decimal(value["denominator"]) == 0:
        return "value.denominator must not be zero"
    return None


KEY_ID = _pattern(re.compile(r"[0-9a-f]{16}"), "a key id (16 lowercase hex digits)")


def _signature(value: Any) -> str | None:
    try:
        raw = base64.b64decode(value, validate=True) if isinstance(value, str) else b""
    except (binascii.Error, ValueError):
        raw = b""
    return None if len(raw) == 64 else "must be base64 of a 64-byte Ed25519 signature"


def _fields(**checks: Callable[[Any], str | None]) -> Callable[[Any], str | None]:
    """An object with exactly the fields of ``checks``, each passing its check."""

    def check(value: Any) -> str | None:
        if not isinstance(value, dict) or set(value) != set(checks):
            return f"must be an object with exactly: {', '.join(sorted(checks))}"
        for name, inner in checks.items():
            problem = inner(value[name])
            if problem:
                return f"{name} {problem}"
        return None

    return check


# A principal the genesis names: an admin, or the ledger's own principal.
NAMED_PRINCIPAL = _fields(name=NAME, principal=PRINCIPAL, public_key=_public_key)
# Another admin's signature over a statement that needs the admins' threshold
# (``verify.formats.statement.approval_input``).
APPROVAL = _fields(principal=PRINCIPAL, key_id=KEY_ID, signature=_signature)
