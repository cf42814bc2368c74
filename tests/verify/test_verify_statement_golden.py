"""Golden bytes of a signed statement and its log entry (docs/design.md §3).

Fixed keys, a fixed statement, a fixed nonce and fixed times: the statement
bytes, the signing input, the key id, the Ed25519 signature (deterministic,
RFC 8032), the signed-statement envelope and the log entry are pinned below as
literal bytes. Any change to them is a change of format, which breaks every
signature and entry hash already issued: do not "update" these values to make
a test pass.

Reviewed by eye when pinned: keys are sorted at every level, there is no
whitespace, non-ASCII text (é, the em dash) is raw UTF-8 (c3 a9, e2 80 94) and
never \\u-escaped, integers are bare, the decimal value is a string, and the
entry nests the statement's exact bytes.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import re
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from verify.errors import (
    BadSignatureError,
    MalformedStatementError,
    NonCanonicalError,
    StatementTooLargeError,
    UnknownStatementTypeError,
    VerifyError,
)
from verify.formats.canonical import canonical_bytes
from verify.formats.entry import entry_bytes, parse_entry
from verify.formats.schema import STATEMENT_TYPES, known_types
from verify.formats.statement import (
    MAX_STATEMENT_BYTES,
    STATEMENT_CONTEXT,
    STATEMENT_FIELDS,
    SignedStatement,
    format_timestamp,
    key_id,
    parse_signed_statement,
    parse_timestamp,
    public_key_bytes,
    sign,
    signing_input,
    verify_signature,
)

# -- fixed inputs -------------------------------------------------------------------

SIGNER = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
OTHER = Ed25519PrivateKey.from_private_bytes(bytes(range(32, 64)))
SIGNER_PUBLIC = public_key_bytes(SIGNER.public_key())
OTHER_PUBLIC = public_key_bytes(OTHER.public_key())
RECORDED_AT = datetime(2026, 11, 22, 12, 0, 5, 123456, tzinfo=UTC)
EVIDENCE = "ee8250fb76e094b34b471f13a73dbbe51d1ae142e9df59d7c0d31ec20f0a0a8e"


def statement() -> dict[str, Any]:
    """A fresh copy of the fixed statement (tests may mutate it)."""
    return {
        "body": {
            "comment": "D\u00e9lai m\u00e9dian \u2014 12,5 jours",
            "disclosure": "public",
            "evidence": [EVIDENCE],
            "kpi": "K1.1",
            "reference_year": 2025,
            "status": "value",
            "unit": "days",
            "value": {"amount": "12.5"},
        },
        "expected_version": 2,
        "format": "pmm-statement/v1",
        "issued_at": "2026-11-22T12:00:00.000000Z",
        "key_id": KEY_ID,
        "nonce": "AAECAwQFBgcICQoLDA0ODw",
        "origin": "test.pmm.example/ledger",
        "principal": "ncp.ken",
        "stream": "assessment/KEN/2026",
        "type": "value.submitted",
    }


# -- pinned outputs -------------------------------------------------------------------

PUBLIC_KEY_HEX = "03a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b8"
KEY_ID = "c4aadd43a9f4472f"
STATEMENT_BYTES = (
    b'{"body":{"comment":"D\xc3\xa9lai m\xc3\xa9dian \xe2\x80\x94 12,5 jours"'
    b',"disclosure":"public"'
    b',"evidence":["ee8250fb76e094b34b471f13a73dbbe51d1ae142e9df59d7c0d31ec20f0a0a8e"]'
    b',"kpi":"K1.1","reference_year":2025,"status":"value","unit":"days"'
    b',"value":{"amount":"12.5"}},"expected_version":2,"format":"pmm-statement/v1"'
    b',"issued_at":"2026-11-22T12:00:00.000000Z","key_id":"c4aadd43a9f4472f"'
    b',"nonce":"AAECAwQFBgcICQoLDA0ODw","origin":"test.pmm.example/ledger"'
    b',"principal":"ncp.ken","stream":"assessment/KEN/2026"'
    b',"type":"value.submitted"}'
)
STATEMENT_SHA256 = "7e81573f8937a9d16651b13e3665c60f6b80bbd23e7aa1d7276434b687af322a"
SIGNATURE_B64 = (
    "FxtQGRMDO32kNPpns5YSt3sK3MMuODof/5ZZakankTMZ"
    "Yh8G0kdrEi/04IWf64vnxdRFj/nRe6rUfjS8897fCA=="
)
SIGNED_BYTES = (
    b'{"signature":"FxtQGRMDO32kNPpns5YSt3sK3MMuODof/5ZZakankTMZYh8G0kdrEi/0'
    b'4IWf64vnxdRFj/nRe6rUfjS8897fCA=="'
    b',"statement":{"body":{"comment":"D\xc3\xa9lai m\xc3\xa9dian \xe2\x80\x94 12'
    b',5 jours","disclosure":"public"'
    b',"evidence":["ee8250fb76e094b34b471f13a73dbbe51d1ae142e9df59d7c0d31ec20f0a0a8e"]'
    b',"kpi":"K1.1","reference_year":2025,"status":"value","unit":"days"'
    b',"value":{"amount":"12.5"}},"expected_version":2,"format":"pmm-statement/v1"'
    b',"issued_at":"2026-11-22T12:00:00.000000Z","key_id":"c4aadd43a9f4472f"'
    b',"nonce":"AAECAwQFBgcICQoLDA0ODw","origin":"test.pmm.example/ledger"'
    b',"principal":"ncp.ken","stream":"assessment/KEN/2026"'
    b',"type":"value.submitted"}}'
)
ENTRY_BYTES = (
    b'{"entry_type":"value.submitted","format":"pmm-entry/v1"'
    b',"recorded_at":"2026-11-22T12:00:05.123456Z"'
    b',"signature":"FxtQGRMDO32kNPpns5YSt3sK3MMuODof/5ZZakankTMZYh8G0kdrEi/0'
    b'4IWf64vnxdRFj/nRe6rUfjS8897fCA=="'
    b',"statement":{"body":{"comment":"D\xc3\xa9lai m\xc3\xa9dian \xe2\x80\x94 12'
    b',5 jours","disclosure":"public"'
    b',"evidence":["ee8250fb76e094b34b471f13a73dbbe51d1ae142e9df59d7c0d31ec20f0a0a8e"]'
    b',"kpi":"K1.1","reference_year":2025,"status":"value","unit":"days"'
    b',"value":{"amount":"12.5"}},"expected_version":2,"format":"pmm-statement/v1"'
    b',"issued_at":"2026-11-22T12:00:00.000000Z","key_id":"c4aadd43a9f4472f"'
    b',"nonce":"AAECAwQFBgcICQoLDA0ODw","origin":"test.pmm.example/ledger"'
    b',"principal":"ncp.ken","stream":"assessment/KEN/2026"'
    b',"type":"value.submitted"},"stream":"assessment/KEN/2026","stream_version":3}'
)
ENTRY_SHA256 = "a82f3161487fa0f78f31c7237b2e5448b653bc2314999b8e6aee27a22c104242"


def _refused(cls: type[VerifyError], call: Any, *args: Any) -> str:
    """Call ``call(*args)``; require exactly ``cls``; return its message."""
    with pytest.raises(VerifyError) as info:
        call(*args)
    assert type(info.value) is cls, f"{type(info.value).__name__}: {info.value}"
    return str(info.value)


def _envelope(stmt: Any, signature: Any = SIGNATURE_B64) -> bytes:
    return canonical_bytes({"signature": signature, "statement": stmt})


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


# -- golden bytes ---------------------------------------------------------------------


def test_ed25519_matches_rfc8032_test_1() -> None:
    # RFC 8032 §7.1 TEST 1 (empty message): the library we sign with is Ed25519.
    seed = bytes.fromhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
    key = Ed25519PrivateKey.from_private_bytes(seed)
    assert public_key_bytes(key.public_key()).hex() == (
        "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"
    )
    assert key.sign(b"").hex() == (
        "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555"
        "fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"
    )


def test_public_key_and_key_id() -> None:
    assert SIGNER_PUBLIC.hex() == PUBLIC_KEY_HEX
    assert key_id(SIGNER_PUBLIC) == KEY_ID
    # Key id: first 8 bytes of SHA-256("pmm-key/v1\n" || raw key), as 16 hex digits.
    assert hashlib.sha256(b"pmm-key/v1\n" + SIGNER_PUBLIC).hexdigest()[:16] == KEY_ID
    assert hashlib.sha256(SIGNER_PUBLIC).hexdigest()[:16] != KEY_ID
    assert key_id(OTHER_PUBLIC) != KEY_ID


def test_statement_bytes() -> None:
    assert canonical_bytes(statement()) == STATEMENT_BYTES
    assert hashlib.sha256(STATEMENT_BYTES).hexdigest() == STATEMENT_SHA256
    assert len(STATEMENT_BYTES) == 511


def test_signing_input_has_context_prefix() -> None:
    data = signing_input(statement())
    assert STATEMENT_CONTEXT == b"pmm-statement/v1\n"
    assert data.startswith(b"pmm-statement/v1\n")
    assert data == b"pmm-statement/v1\n" + STATEMENT_BYTES


def test_signature_is_pinned_and_deterministic() -> None:
    signed = sign(statement(), SIGNER)
    assert signed.signature == SIGNATURE_B64
    assert sign(statement(), SIGNER).signature == SIGNATURE_B64
    # Independently of sign(): Ed25519 over the context prefix and the bytes.
    raw = SIGNER.sign(b"pmm-statement/v1\n" + STATEMENT_BYTES)
    assert _b64(raw) == SIGNATURE_B64
    assert len(raw) == 64


def test_signed_statement_properties() -> None:
    signed = sign(statement(), SIGNER)
    assert signed.statement == statement()
    assert signed.type == "value.submitted"
    assert signed.stream == "assessment/KEN/2026"
    assert signed.principal == "ncp.ken"
    assert signed.expected_version == 2
    assert signed.body == statement()["body"]
    assert signed.digest() == STATEMENT_SHA256


def test_signed_statement_envelope_bytes() -> None:
    signed = sign(statement(), SIGNER)
    assert signed.to_bytes() == SIGNED_BYTES
    assert (
        b'{"signature":"'
        + SIGNATURE_B64.encode()
        + b'","statement":'
        + STATEMENT_BYTES
        + b"}"
    ) == SIGNED_BYTES


def test_entry_bytes() -> None:
    signed = sign(statement(), SIGNER)
    raw = entry_bytes(signed, 3, RECORDED_AT)
    assert raw == ENTRY_BYTES
    assert hashlib.sha256(raw).hexdigest() == ENTRY_SHA256
    # JCS nests: the statement's exact bytes sit inside the entry.
    assert STATEMENT_BYTES in ENTRY_BYTES
    assert STATEMENT_BYTES in SIGNED_BYTES


def test_entry_bytes_normalise_recorded_at_to_utc() -> None:
    signed = sign(statement(), SIGNER)
    plus_two = timezone(timedelta(hours=2))
    assert entry_bytes(signed, 3, RECORDED_AT.astimezone(plus_two)) == ENTRY_BYTES
    assert format_timestamp(RECORDED_AT) == "2026-11-22T12:00:05.123456Z"
    assert format_timestamp(datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)) == (
        "2026-01-02T03:04:05.000000Z"
    )


def test_parse_signed_statement_round_trips() -> None:
    signed = parse_signed_statement(SIGNED_BYTES)
    assert signed == SignedStatement(statement(), SIGNATURE_B64)
    assert signed.to_bytes() == SIGNED_BYTES
    verify_signature(signed, SIGNER_PUBLIC)


def test_parse_entry_round_trips() -> None:
    entry = parse_entry(ENTRY_BYTES)
    assert entry.raw is ENTRY_BYTES
    assert entry.signed == SignedStatement(statement(), SIGNATURE_B64)
    assert entry.stream == "assessment/KEN/2026"
    assert entry.stream_version == 3
    assert entry.recorded_at == "2026-11-22T12:00:05.123456Z"
    assert entry.entry_type == "value.submitted"
    assert canonical_bytes(entry.signed.statement) == STATEMENT_BYTES
    assert entry.signed.digest() == STATEMENT_SHA256
    verify_signature(entry.signed, SIGNER_PUBLIC)
    again = entry_bytes(
        entry.signed, entry.stream_version, parse_timestamp(entry.recorded_at)
    )
    assert again == ENTRY_BYTES


# -- signatures ----------------------------------------------------------------------


def test_verify_signature_accepts() -> None:
    verify_signature(sign(statement(), SIGNER), SIGNER_PUBLIC)
    verify_signature(SignedStatement(statement(), SIGNATURE_B64), SIGNER_PUBLIC)


@pytest.mark.parametrize(
    ("old", "new"),
    [
        (b'"amount":"12.5"', b'"amount":"12.6"'),
        (b'"kpi":"K1.1"', b'"kpi":"K1.2"'),
        (b'"reference_year":2025', b'"reference_year":2024'),
        (b'"unit":"days"', b'"unit":"dayz"'),
        (b"ee8250fb", b"ee8250fc"),
        (b"D\xc3\xa9lai", b"D\xc3\xa8lai"),
    ],
)
def test_one_byte_change_in_body_is_refused(old: bytes, new: bytes) -> None:
    assert len(old) == len(new)
    assert sum(a != b for a, b in zip(old, new, strict=True)) == 1
    assert SIGNED_BYTES.count(old) == 1
    tampered = parse_signed_statement(SIGNED_BYTES.replace(old, new))
    message = _refused(BadSignatureError, verify_signature, tampered, SIGNER_PUBLIC)
    assert "'ncp.ken'" in message
    assert repr(KEY_ID) in message


def test_change_outside_body_is_refused() -> None:
    changed = statement()
    changed["expected_version"] = 3
    signed = SignedStatement(changed, SIGNATURE_B64)
    _refused(BadSignatureError, verify_signature, signed, SIGNER_PUBLIC)


def test_different_key_is_refused() -> None:
    signed = SignedStatement(statement(), SIGNATURE_B64)
    _refused(BadSignatureError, verify_signature, signed, OTHER_PUBLIC)
    by_other = sign(statement(), OTHER)
    assert by_other.signature != SIGNATURE_B64
    verify_signature(by_other, OTHER_PUBLIC)
    _refused(BadSignatureError, verify_signature, by_other, SIGNER_PUBLIC)


def test_signature_without_context_prefix_is_refused() -> None:
    raw = SIGNER.sign(STATEMENT_BYTES)
    signed = SignedStatement(statement(), _b64(raw))
    _refused(BadSignatureError, verify_signature, signed, SIGNER_PUBLIC)


def test_signature_with_other_context_is_refused() -> None:
    raw = SIGNER.sign(b"pmm-entry/v1\n" + STATEMENT_BYTES)
    signed = SignedStatement(statement(), _b64(raw))
    _refused(BadSignatureError, verify_signature, signed, SIGNER_PUBLIC)


@pytest.mark.parametrize(
    "signature",
    [
        _b64(base64.b64decode(SIGNATURE_B64)[:63]),  # truncated to 63 bytes
        _b64(base64.b64decode(SIGNATURE_B64)[:32]),
        _b64(base64.b64decode(SIGNATURE_B64) + b"\x00"),  # 65 bytes
        SIGNATURE_B64[:-4],  # truncated text, still valid base64
        SIGNATURE_B64[:-1],  # truncated text, invalid base64
        "",
        "not base64!",
        SIGNATURE_B64.replace("/", "_"),  # base64url is not accepted
        " " + SIGNATURE_B64,
    ],
)
def test_malformed_signature_is_refused(signature: str) -> None:
    signed = SignedStatement(statement(), signature)
    message = _refused(BadSignatureError, verify_signature, signed, SIGNER_PUBLIC)
    assert message == "signature must be base64 of 64 Ed25519 bytes"


def test_flipped_signature_bit_is_refused() -> None:
    raw = bytearray(base64.b64decode(SIGNATURE_B64))
    for index in (0, 31, 32, 63):
        flipped = bytearray(raw)
        flipped[index] ^= 0x01
        signed = SignedStatement(statement(), _b64(bytes(flipped)))
        _refused(BadSignatureError, verify_signature, signed, SIGNER_PUBLIC)


# -- parse_signed_statement refusals ------------------------------------------------------


def test_oversized_signed_statement_is_refused() -> None:
    big = statement()
    big["body"]["evidence"] = [hashlib.sha256(b"%d" % i).hexdigest() for i in range(950)]
    data = sign(big, SIGNER).to_bytes()
    assert len(data) > MAX_STATEMENT_BYTES
    message = _refused(StatementTooLargeError, parse_signed_statement, data)
    assert message == (
        f"signed statement is {len(data)} bytes; the limit is {MAX_STATEMENT_BYTES}"
    )


def test_size_limit_is_checked_before_parsing() -> None:
    _refused(
        StatementTooLargeError, parse_signed_statement, b"[" * (MAX_STATEMENT_BYTES + 1)
    )
    # At the limit itself the size passes, and the bytes are then read as JSON.
    _refused(MalformedStatementError, parse_signed_statement, b" " * MAX_STATEMENT_BYTES)


def test_non_canonical_envelope_is_refused() -> None:
    data = SIGNED_BYTES.replace(b'","statement":', b'", "statement":')
    message = _refused(NonCanonicalError, parse_signed_statement, data)
    assert message.startswith("signed statement is not RFC 8785 canonical JSON")
    assert "first difference at byte 104)" in message  # the space after the comma


@pytest.mark.parametrize(
    "envelope",
    [
        {"signature": SIGNATURE_B64, "statement": "S", "extra": 1},
        {"signature": SIGNATURE_B64, "statement": "S", "recorded_at": "x"},
        {"statement": "S"},
        {"signature": SIGNATURE_B64},
        {},
    ],
)
def test_envelope_with_wrong_keys_is_refused(envelope: dict[str, Any]) -> None:
    envelope = {k: statement() if v == "S" else v for k, v in envelope.items()}
    message = _refused(
        MalformedStatementError, parse_signed_statement, canonical_bytes(envelope)
    )
    assert message == (
        "signed statement must be an object with exactly 'signature' and 'statement'"
    )


@pytest.mark.parametrize("value", [[], "x", 1, None])
def test_envelope_not_an_object_is_refused(value: Any) -> None:
    _refused(MalformedStatementError, parse_signed_statement, canonical_bytes(value))


@pytest.mark.parametrize("signature", [None, 1, [SIGNATURE_B64], {"b64": SIGNATURE_B64}])
def test_signature_not_text_is_refused(signature: Any) -> None:
    data = _envelope(statement(), signature)
    message = _refused(MalformedStatementError, parse_signed_statement, data)
    assert message == "signature must be base64 text"


@pytest.mark.parametrize("field", STATEMENT_FIELDS)
def test_missing_statement_field_is_refused(field: str) -> None:
    stmt = statement()
    del stmt[field]
    message = _refused(MalformedStatementError, parse_signed_statement, _envelope(stmt))
    assert field in message
    if field != "body":
        assert message == f"statement.{field} is required but missing"


def test_unknown_statement_field_is_refused() -> None:
    stmt = statement()
    stmt["recorded_at"] = "2026-11-22T12:00:00Z"
    stmt["zeta"] = 1
    message = _refused(MalformedStatementError, parse_signed_statement, _envelope(stmt))
    assert message == "unknown statement field(s): recorded_at, zeta"


@pytest.mark.parametrize("type_name", ["value.deleted", "Value.Submitted", "", "registry"])
def test_unknown_type_is_refused(type_name: str) -> None:
    stmt = statement()
    stmt["type"] = type_name
    message = _refused(UnknownStatementTypeError, parse_signed_statement, _envelope(stmt))
    assert message.startswith(f"unknown statement type {type_name!r}; known types: ")
    # Grouped by prefix, so that the list stays short (decision 17).
    assert message.endswith(known_types())
    assert expand(known_types()) == sorted(STATEMENT_TYPES)


@pytest.mark.parametrize(
    "stream", ["framework", "registry", "assessment/ken/2026", "assessment/KEN", "other"]
)
def test_stream_of_wrong_kind_is_refused(stream: str) -> None:
    stmt = statement()
    stmt["stream"] = stream
    message = _refused(MalformedStatementError, parse_signed_statement, _envelope(stmt))
    assert f"statement.stream {stream!r} is not an 'assessment' stream" in message
    assert "value.submitted requires" in message


def test_framework_type_on_assessment_stream_is_refused() -> None:
    stmt = statement()
    stmt["type"] = "framework.created"
    stmt["expected_version"] = 0
    stmt["body"] = {"title": "PMM framework"}
    message = _refused(MalformedStatementError, parse_signed_statement, _envelope(stmt))
    assert "is not a 'framework' stream" in message
    stmt["stream"] = "framework"
    assert parse_signed_statement(_envelope(stmt)).type == "framework.created"


def test_expected_version_zero_on_non_creating_type_is_refused() -> None:
    stmt = statement()
    stmt["expected_version"] = 0
    message = _refused(MalformedStatementError, parse_signed_statement, _envelope(stmt))
    assert message == (
        "value.submitted extends its stream, so statement.expected_version must be >= 1"
    )


def test_creating_type_needs_expected_version_zero() -> None:
    stmt = statement()
    stmt["type"] = "assessment.opened"
    stmt["body"] = {"member": "KEN", "cycle": "2026", "reference_year": 2025}
    stmt["expected_version"] = 1
    message = _refused(MalformedStatementError, parse_signed_statement, _envelope(stmt))
    assert message == (
        "assessment.opened creates its stream, so statement.expected_version must be 0"
    )
    stmt["expected_version"] = 0
    assert parse_signed_statement(_envelope(stmt)).expected_version == 0


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("format", "pmm-statement/v2", "statement.format must be 'pmm-statement/v1'"),
        ("format", 1, "statement.format must be text"),
        ("origin", None, "statement.origin must be the ledger's origin"),
        ("principal", ["ncp.ken"], "statement.principal must be a principal id"),
        ("key_id", 7, "statement.key_id must be a key id"),
        ("nonce", "short", "statement.nonce must be 16-64 base64url characters"),
        ("nonce", "A" * 65, "statement.nonce must be 16-64 base64url characters"),
        ("nonce", "AAECAwQFBgcICQoL+A0ODw", "statement.nonce must be 16-64 base64url"),
        ("issued_at", "2026-11-22 12:00:00Z", "timestamp '2026-11-22 12:00:00Z' must be"),
        ("issued_at", "2026-11-22T12:00:00+00:00", "must be RFC 3339 UTC"),
        ("issued_at", "2026-11-22T12:00:00z", "must be RFC 3339 UTC"),
        ("issued_at", "2026-13-01T00:00:00Z", "is not a valid time"),
        ("issued_at", "2026-02-30T00:00:00Z", "is not a valid time"),
        ("issued_at", "2026-11-22T24:00:00Z", "is not a valid time"),
        ("issued_at", "\uff12\uff10\uff12\uff16-11-22T12:00:00Z", "is not a valid time"),
        ("issued_at", 1764000000, "statement.issued_at must be an RFC 3339 time"),
        ("expected_version", -1, "statement.expected_version must be >= 0"),
        ("expected_version", True, "statement.expected_version must be an integer"),
        ("expected_version", "2", "statement.expected_version must be an integer"),
        ("type", 5, "statement.type must be a statement type"),
        ("stream", None, "statement.stream must be a stream name"),
        ("body", [], "value.submitted: body must be a JSON object"),
    ],
)
def test_ill_typed_statement_field_is_refused(field: str, value: Any, message: str) -> None:
    stmt = statement()
    stmt[field] = value
    got = _refused(MalformedStatementError, parse_signed_statement, _envelope(stmt))
    assert message in got
    if field == "issued_at":
        assert repr(value) in got or got.startswith("statement.issued_at")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"evidence": ["EE8250FB"]}, "value.submitted: body.evidence item 0 must be a"),
        ({"kpi": "K 1"}, "value.submitted: body.kpi must be a code"),
        ({"grade": "A"}, "value.submitted: unknown body field(s) grade; allowed: "),
    ],
)
def test_invalid_body_is_refused(change: dict[str, Any], message: str) -> None:
    stmt = statement()
    stmt["body"].update(change)
    got = _refused(MalformedStatementError, parse_signed_statement, _envelope(stmt))
    assert got.startswith(message)


def test_statement_not_an_object_is_refused() -> None:
    message = _refused(MalformedStatementError, parse_signed_statement, _envelope([1]))
    assert message == "statement must be a JSON object"


def test_sign_refuses_a_malformed_statement() -> None:
    stmt = statement()
    del stmt["nonce"]
    _refused(MalformedStatementError, sign, stmt, SIGNER)


# -- parse_entry refusals -------------------------------------------------------------


def test_parse_entry_refuses_non_canonical() -> None:
    data = ENTRY_BYTES.replace(b'"stream_version":3', b'"stream_version": 3')
    message = _refused(NonCanonicalError, parse_entry, data)
    assert message.startswith("log entry is not RFC 8785 canonical JSON")


@pytest.mark.parametrize(
    "change",
    [
        {"drop": "recorded_at"},
        {"drop": "entry_type"},
        {"add": "leaf_index"},
    ],
)
def test_parse_entry_refuses_wrong_fields(change: dict[str, str]) -> None:
    value: dict[str, Any] = copy.deepcopy(parse_signed_statement(SIGNED_BYTES).statement)
    entry = {
        "entry_type": "value.submitted",
        "format": "pmm-entry/v1",
        "recorded_at": "2026-11-22T12:00:05.123456Z",
        "signature": SIGNATURE_B64,
        "statement": value,
        "stream": "assessment/KEN/2026",
        "stream_version": 3,
    }
    assert canonical_bytes(entry) == ENTRY_BYTES
    if "drop" in change:
        del entry[change["drop"]]
    else:
        entry[change["add"]] = 0
    message = _refused(MalformedStatementError, parse_entry, canonical_bytes(entry))
    assert message.startswith("log entry must have exactly the fields entry_type, format")


def test_parse_entry_refuses_wrong_format_and_time() -> None:
    data = ENTRY_BYTES.replace(b'"pmm-entry/v1"', b'"pmm-entry/v2"')
    message = _refused(MalformedStatementError, parse_entry, data)
    assert message == "log entry format must be 'pmm-entry/v1'"
    data = ENTRY_BYTES.replace(b"2026-11-22T12:00:05.123456Z", b"2026-11-22T12:00:05+00:00")
    message = _refused(MalformedStatementError, parse_entry, data)
    assert "must be RFC 3339 UTC" in message


def test_parse_entry_refuses_a_plain_signed_statement() -> None:
    _refused(MalformedStatementError, parse_entry, SIGNED_BYTES)


def test_parse_timestamp() -> None:
    assert parse_timestamp("2026-11-22T12:00:00Z") == datetime(2026, 11, 22, 12, tzinfo=UTC)
    assert parse_timestamp("2026-11-22T12:00:05.123456Z") == RECORDED_AT
    assert parse_timestamp("2026-11-22T12:00:05.1Z") == RECORDED_AT.replace(
        microsecond=100000
    )


def expand(text: str) -> list[str]:
    """The type names of ``known_types()``: ``prefix.{a,b}`` is two names."""
    names = []
    for part in re.findall(r"[a-z_]+\.(?:\{[^}]*\}|[a-z_]+)", text):
        prefix, rest = part.split(".", 1)
        names += [f"{prefix}.{r}" for r in rest.strip("{}").split(",")]
    return names


def test_the_log_entry_is_defined_only_in_entry_py() -> None:
    """verify/formats/entry.py defines the log entry once; statement.py, which it
    builds on, no longer answers its names."""
    from verify.formats import entry, statement

    assert callable(entry.entry_bytes) and callable(entry.parse_entry)
    for name in ("Entry", "entry_bytes", "parse_entry", "read_entry"):
        assert not hasattr(statement, name), name
