"""Admission refusals (docs/design.md §3): every refusal is its own error,
its message names the principal, rule or field at fault, and nothing is
recorded (log size and stream versions unchanged). Runs on both backends."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest

from ledger.domain.events import LedgerEvent
from ledger.errors import (
    ClockError,
    DuplicateStatementError,
    ExpiredStatementError,
    MemberScopeError,
    RevokedPrincipalError,
    RoleNotPermittedError,
    SelfValidationError,
    SignatureError,
    StaleVersionError,
    UnknownKeyError,
    UnknownPrincipalError,
    WrongOriginError,
)
from ledger.keys import KeyPair
from verify.errors import (
    FloatValueError,
    MalformedStatementError,
    NonCanonicalError,
    StatementTooLargeError,
    UnknownStatementTypeError,
)
from verify.formats.canonical import canonical_bytes
from verify.formats.statement import MAX_STATEMENT_AGE, MAX_STATEMENT_BYTES, SignedStatement

if TYPE_CHECKING:
    from tests.conftest import World


def hours_body(world: World, amount: str = "12.5", **extra: Any) -> dict[str, Any]:
    return world.value_body(world.KPI_HOURS, {"amount": amount}, "hours", **extra)


def signed_hours(
    world: World, key: KeyPair | None = None, amount: str = "12.5"
) -> SignedStatement:
    return world.sign(
        key or world.ncp_ken, world.KEN, "value.submitted", hours_body(world, amount)
    )


def envelope(statement: dict[str, Any], signature: str) -> bytes:
    """Canonical wire bytes of any statement, valid or not."""
    return canonical_bytes({"signature": signature, "statement": statement})


SOURCE = {
    "name": "ASYCUDA World export 2022-12-31",
    "sha256": hashlib.sha256(b"release-times.csv").hexdigest(),
}


# -- signatures, principals and keys -----------------------------------------


def test_statement_altered_after_signing_is_refused(world: World) -> None:
    signed = signed_hours(world, amount="12.5")
    altered = {**signed.statement, "body": hours_body(world, amount="1.5")}
    for forged in (
        envelope(altered, signed.signature),
        SignedStatement(altered, signed.signature),
    ):
        world.refused(forged, SignatureError, "'ncp-ken'", "altered after signing")
    # The untouched statement is still good: the refusals left no trace.
    assert world.ledger.record(signed).stream_version == 2


def test_signature_by_another_key_under_the_registered_key_id_is_refused(
    world: World,
) -> None:
    statement = world.statement(
        world.ncp_ken, world.KEN, "value.submitted", hours_body(world)
    )
    impostor = KeyPair.generate("ncp-ken")
    forged = impostor.sign(statement)  # names ncp-ken's key id, signed by another key
    world.refused(forged.to_bytes(), SignatureError, "'ncp-ken'", world.ncp_ken.key_id)
    garbage = SignedStatement(statement, "AAAA")
    world.refused(garbage, SignatureError, "64 Ed25519 bytes")


def test_unknown_principal_is_refused(world: World) -> None:
    ghost = KeyPair.generate("ghost")
    signed = signed_hours(world, key=ghost)
    world.refused(signed.to_bytes(), UnknownPrincipalError, "'ghost'", "not registered")


def test_unknown_key_id_is_refused(world: World) -> None:
    other_key = KeyPair.generate("ncp-ken")  # right principal, unregistered key
    signed = signed_hours(world, key=other_key)
    world.refused(
        signed.to_bytes(),
        UnknownKeyError,
        f"key {other_key.key_id!r}",
        "'ncp-ken'",
        f"current key id {world.ncp_ken.key_id!r}",
    )


def test_revoked_principal_is_refused(world: World) -> None:
    signed_before = signed_hours(world, key=world.ncp_bra)
    world.record(
        world.admin,
        "registry",
        "principal.revoked",
        {"principal": "ncp-bra", "reason": "left the administration"},
    )
    body = world.value_body(world.KPI_HOURS, {"amount": "3"}, "hours")
    fresh = world.sign(world.ncp_bra, world.BRA, "value.submitted", body)
    for signed in (signed_before, fresh):
        world.refused(
            signed.to_bytes(), RevokedPrincipalError, "'ncp-bra'", "left the administration"
        )
    registry = world.ledger.registry()
    principal = registry.get("ncp-bra") if registry else None
    assert principal is not None and principal.revoked


def test_rotated_key_is_refused_and_new_key_accepted(world: World) -> None:
    old = world.ncp_ken
    signed_before_rotation = signed_hours(world, key=old)
    new = KeyPair.generate("ncp-ken")
    world.record(
        old,
        "registry",
        "principal.key_rotated",
        {"principal": "ncp-ken", "public_key": new.public_key, "reason": "laptop replaced"},
    )
    fresh_old = signed_hours(world, key=old)
    for signed in (signed_before_rotation, fresh_old):
        world.refused(
            signed.to_bytes(),
            UnknownKeyError,
            f"key {old.key_id!r}",
            "'ncp-ken'",
            f"current key id {new.key_id!r}",
            "rotat",
        )
    recorded = world.ledger.record(signed_hours(world, key=new).to_bytes())
    assert (recorded.principal, recorded.stream_version) == ("ncp-ken", 2)


# -- roles and Member scope ---------------------------------------------------


RoleCase = Callable[["World"], SignedStatement]


def _ncp_defines_kpi(world: World) -> SignedStatement:
    body = world.kpi_body("TF.9.9", "hours", "number")
    return world.sign(world.ncp_ken, "framework", "kpi.defined", body)


def _secretariat_registers_principal(world: World) -> SignedStatement:
    body = {
        "member": None,
        "name": "Another analyst",
        "principal": "sec3",
        "public_key": KeyPair.generate("sec3").public_key,
        "role": "secretariat",
    }
    return world.sign(world.sec, "registry", "principal.registered", body)


def _officer_submits_value(world: World) -> SignedStatement:
    return signed_hours(world, key=world.officer)


def _reviewer_validates(world: World) -> SignedStatement:
    world.hours(world.ncp_ken, world.KEN, "12.5")
    return world.sign(world.reviewer, world.KEN, "value.validated", {"entry": 2})


def _ncp_publishes(world: World) -> SignedStatement:
    body = world.publication(world.KEN, 1, "PMM report 2024")
    return world.sign(world.ncp_ken, world.KEN, "assessment.published", body)


def _secretariat_without_source(world: World) -> SignedStatement:
    return signed_hours(world, key=world.sec)


def _ncp_with_source(world: World) -> SignedStatement:
    body = hours_body(world, source=SOURCE)
    return world.sign(world.ncp_ken, world.KEN, "value.submitted", body)


@pytest.mark.parametrize(
    ("case", "phrases"),
    [
        (_ncp_defines_kpi, ("'ncp-ken'", "role 'ncp'", "kpi.defined", "secretariat")),
        (
            _secretariat_registers_principal,
            ("'sec'", "role 'secretariat'", "principal.registered", "admin"),
        ),
        (_officer_submits_value, ("'integrity'", "'integrity_officer'", "value.submitted")),
        (_reviewer_validates, ("'reviewer'", "'peer_reviewer'", "value.validated")),
        (_ncp_publishes, ("'ncp-ken'", "assessment.published")),
        (_secretariat_without_source, ("'sec'", "body.source", "external source")),
        (_ncp_with_source, ("body.source", "NCP")),
    ],
    ids=lambda v: v.__name__.strip("_") if callable(v) else None,
)
def test_role_acting_outside_its_rights_is_refused(
    world: World, case: RoleCase, phrases: tuple[str, ...]
) -> None:
    signed = case(world)
    world.refused(signed.to_bytes(), RoleNotPermittedError, *phrases)


@pytest.mark.parametrize(
    ("statement_type", "body"),
    [
        ("value.submitted", None),
        ("kpi.not_used", {"kpi": "TF.1.1", "justification": "not measured"}),
        ("submission.completed", {}),
    ],
)
def test_ncp_writing_for_another_member_is_refused(
    world: World, statement_type: str, body: dict[str, Any] | None
) -> None:
    body = hours_body(world) if body is None else body
    signed = world.sign(world.ncp_ken, world.BRA, statement_type, body)
    world.refused(
        signed.to_bytes(),
        MemberScopeError,
        "'ncp-ken'",
        "NCP for KEN",
        "'assessment/BRA/1'",
    )


# -- versions and replays -----------------------------------------------------


def test_stale_expected_version_is_refused(world: World) -> None:
    stale = signed_hours(world)  # expects version 1
    world.hours(world.ncp_ken, world.KEN, "99", year=2021)  # the stream moves to 2
    world.refused(
        stale.to_bytes(),
        StaleVersionError,
        "'assessment/KEN/1'",
        "is at version 2",
        "expects 1",
    )
    ahead = world.sign(
        world.ncp_ken, world.KEN, "value.submitted", hours_body(world), expected_version=7
    )
    world.refused(ahead, StaleVersionError, "is at version 2", "expects 7")


def test_replayed_statement_is_refused(world: World) -> None:
    signed = signed_hours(world)
    wire = signed.to_bytes()
    recorded = world.ledger.record(wire)
    for replay in (wire, signed):
        world.refused(
            replay, DuplicateStatementError, "'assessment/KEN/1' version 2", "at most once"
        )
    # Still a replay (not a stale version) after the stream has moved on.
    world.hours(world.ncp_ken, world.KEN, "7", year=2021)
    for replay in (wire, signed):
        world.refused(replay, DuplicateStatementError, f"version {recorded.stream_version}")


def test_replay_within_one_batch_is_refused(world: World) -> None:
    signed = signed_hours(world)
    world.refused([signed, signed], DuplicateStatementError, "version 2")


def first_event(world: World, stream: str) -> LedgerEvent:
    event = next(iter(world.ledger.events.get(stream, lte=1)))
    assert isinstance(event, LedgerEvent)
    return event


def test_replayed_genesis_and_stream_opening_are_refused(world: World) -> None:
    for stream in ("registry", "framework", world.KEN):
        event = first_event(world, stream)
        for replay in (
            envelope(event.statement, event.signature),
            SignedStatement(event.statement, event.signature),
        ):
            world.refused(replay, DuplicateStatementError, f"{stream!r} version 1")


# -- the bytes ----------------------------------------------------------------


@pytest.mark.parametrize(
    "rewrite",
    [
        lambda raw: json.dumps(json.loads(raw), indent=2).encode(),
        lambda raw: json.dumps(json.loads(raw), separators=(", ", ": ")).encode(),
        lambda raw: raw + b"\n",
        lambda raw: json.dumps(
            {
                "statement": json.loads(raw)["statement"],
                "signature": json.loads(raw)["signature"],
            },
            separators=(",", ":"),
        ).encode(),
        lambda raw: json.dumps(
            {
                "signature": json.loads(raw)["signature"],
                "statement": dict(reversed(json.loads(raw)["statement"].items())),
            },
            separators=(",", ":"),
        ).encode(),
        lambda raw: raw.replace(b'"ncp-ken"', b'"ncp\\u002dken"'),
    ],
    ids=[
        "indented",
        "spaces",
        "trailing-newline",
        "envelope-order",
        "statement-order",
        "escape",
    ],
)
def test_non_canonical_bytes_are_refused(
    world: World, rewrite: Callable[[bytes], bytes]
) -> None:
    signed = signed_hours(world)
    raw = signed.to_bytes()
    altered = rewrite(raw)
    assert altered != raw and json.loads(altered) == json.loads(raw)
    world.refused(altered, NonCanonicalError, "not RFC 8785 canonical", "first difference")
    assert world.ledger.record(raw).stream_version == 2


def test_oversized_statement_is_refused(world: World) -> None:
    # A well-formed statement (at most 1000 evidence digests) that is too big.
    evidence = [hashlib.sha256(str(i).encode()).hexdigest() for i in range(950)]
    signed = world.sign(
        world.ncp_ken, world.KEN, "value.submitted", hours_body(world, evidence=evidence)
    )
    size = len(signed.to_bytes())
    assert size > MAX_STATEMENT_BYTES
    for oversized in (signed.to_bytes(), signed):
        world.refused(
            oversized, StatementTooLargeError, f"{size} bytes", f"{MAX_STATEMENT_BYTES}"
        )
    big_bytes = b'{"signature":"' + b"A" * MAX_STATEMENT_BYTES + b'"}'
    world.refused(big_bytes, StatementTooLargeError, "the limit is")


@pytest.mark.parametrize(
    ("literal", "phrase"),
    [(b"12.5", "'12.5'"), (b"1e3", "'1e3'"), (b"NaN", "NaN"), (b"Infinity", "Infinity")],
)
def test_binary_float_and_nan_values_are_refused(
    world: World, literal: bytes, phrase: str
) -> None:
    raw = signed_hours(world, amount="12.5").to_bytes()
    assert raw.count(b'"amount":"12.5"') == 1
    altered = raw.replace(b'"amount":"12.5"', b'"amount":' + literal)
    world.refused(altered, FloatValueError, phrase)


def test_float_values_cannot_be_signed_or_smuggled_in_process(world: World) -> None:
    statement = world.statement(
        world.ncp_ken, world.KEN, "value.submitted", hours_body(world)
    )
    with_float = {**statement, "body": {**statement["body"], "value": {"amount": 12.5}}}
    with pytest.raises(FloatValueError, match="decimal string"):
        world.ncp_ken.sign(with_float)
    signature = world.ncp_ken.sign(statement).signature
    world.refused(SignedStatement(with_float, signature), FloatValueError, "12.5")
    with_nan = {
        **statement,
        "body": {**statement["body"], "value": {"amount": float("nan")}},
    }
    world.refused(SignedStatement(with_nan, signature), FloatValueError, "nan")


@pytest.mark.parametrize(
    ("where", "field"),
    [
        ("statement", "nonce"),
        ("statement", "expected_version"),
        ("statement", "key_id"),
        ("body", "disclosure"),
        ("body", "reference_year"),
    ],
)
def test_missing_field_is_refused_and_named(world: World, where: str, field: str) -> None:
    signed = signed_hours(world)
    statement = dict(signed.statement)
    if where == "statement":
        del statement[field]
    else:
        statement["body"] = {k: v for k, v in signed.body.items() if k != field}
    for incomplete in (
        envelope(statement, signed.signature),
        SignedStatement(statement, "x"),
    ):
        world.refused(
            incomplete, MalformedStatementError, f"{where}.{field} is required but missing"
        )


def test_unknown_statement_type_is_refused(world: World) -> None:
    signed = signed_hours(world)
    statement = {**signed.statement, "type": "value.deleted"}
    for unknown in (envelope(statement, signed.signature), SignedStatement(statement, "x")):
        world.refused(unknown, UnknownStatementTypeError, "'value.deleted'", "known types")


def test_statement_for_another_origin_is_refused(world: World) -> None:
    statement = world.ncp_ken.statement(
        "other.pmm.example/ledger", world.KEN, "value.submitted", hours_body(world), 1
    )
    signed = world.ncp_ken.sign(statement)
    world.refused(
        signed.to_bytes(),
        WrongOriginError,
        "'other.pmm.example/ledger'",
        repr(world.ledger.origin),
    )


def test_statement_issued_in_the_future_is_refused(world: World) -> None:
    body = hours_body(world)
    future = datetime.now(UTC) + timedelta(hours=1)
    statement = world.statement(
        world.ncp_ken, world.KEN, "value.submitted", body, issued_at=future
    )
    signed = world.ncp_ken.sign(statement)
    world.refused(
        signed.to_bytes(), ClockError, statement["issued_at"], "0:05:00", "signer's clock"
    )
    # Within the allowed skew the same statement is accepted.
    near = datetime.now(UTC) + timedelta(minutes=2)
    statement = world.statement(
        world.ncp_ken, world.KEN, "value.submitted", body, issued_at=near
    )
    assert world.ledger.record(world.ncp_ken.sign(statement)).stream_version == 2


def test_statement_issued_more_than_24_hours_ago_is_refused(world: World) -> None:
    """Decision 19: a signed statement does not wait for ever to be recorded."""
    assert timedelta(hours=24) == MAX_STATEMENT_AGE
    body = hours_body(world)
    old = datetime.now(UTC) - timedelta(hours=25)
    statement = world.statement(
        world.ncp_ken, world.KEN, "value.submitted", body, issued_at=old
    )
    world.refused(
        world.ncp_ken.sign(statement).to_bytes(),
        ExpiredStatementError,
        statement["issued_at"],
        "25.0 hours before the ledger's clock",
        "at most 24 hours after it is issued",
        "sign it again",
    )
    # Within the limit the same statement is accepted.
    recent = datetime.now(UTC) - timedelta(hours=23)
    statement = world.statement(
        world.ncp_ken, world.KEN, "value.submitted", body, issued_at=recent
    )
    assert world.ledger.record(world.ncp_ken.sign(statement)).stream_version == 2


def test_validating_own_submission_is_refused(world: World) -> None:
    # The Secretariat records a value from an external source, then tries to
    # validate, query or return it itself.
    recorded = world.hours(world.sec, world.KEN, "30", source=SOURCE)
    entry = recorded.stream_version
    reviews: list[tuple[str, dict[str, Any]]] = [
        ("value.validated", {"entry": entry}),
        ("value.queried", {"entry": entry, "message": "please confirm"}),
        ("value.returned", {"entry": entry, "message": "wrong unit"}),
    ]
    for statement_type, body in reviews:
        signed = world.sign(world.sec, world.KEN, statement_type, body)
        world.refused(
            signed.to_bytes(), SelfValidationError, "'sec'", f"recorded entry {entry}"
        )
    assessment = world.ledger.aggregate(world.KEN)
    assert assessment.values[entry].review == "submitted"
    assert assessment.values[entry].recorded_by == "sec"
