"""Bearer tokens (``ledger/tokens.py``, decision 13) on both backends.

What is proven: a token signed with a principal's own registered key checks and
names that principal, its role, its Member and the token's ``jti``; it is good
from its issue time until its expiry (plus the clock leeway) and no longer.
Every other token is refused with ``InvalidTokenError`` (HTTP 401) and a
message naming the reason, one named hostile input per test: expired, issued in
the future, living longer than ``MAX_LIFETIME``, for another ledger, of an
unknown or a revoked principal, signed by a key rotated away or by a stranger's
key under the real key id, ``alg: none`` and HS256, a payload altered after
signing, a claim missing or not a NumericDate, garbage, and an oversized token.
The registry is read when the token is checked, so a rotation or a revocation
stops tokens already issued.

Every check passes ``now=``, so no test depends on the wall clock (except the
first, which shows the defaults work on the real clock).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import jwt
import pytest

from ledger.errors import InvalidTokenError
from ledger.keys import KeyPair
from ledger.tokens import (
    ALGORITHM,
    DEFAULT_LIFETIME,
    LEEWAY,
    MAX_LIFETIME,
    MAX_TOKEN_BYTES,
    TokenHolder,
    check_token,
    issue_token,
)

if TYPE_CHECKING:
    from tests.conftest import World

T0 = datetime(2031, 3, 14, 9, 26, 53, tzinfo=UTC)  # whole seconds: iat/exp are exact
SECOND = timedelta(seconds=1)
OTHER_ORIGIN = "other.pmm.example/ledger"
MISSING = object()  # a claim left out of a hand-made token


# -- helpers -------------------------------------------------------------------


def check(world: World, token: str, now: datetime = T0) -> TokenHolder:
    """Check ``token`` against the world's registry as it is now."""
    return check_token(world.ledger.registry(), world.ledger.origin, token, now=now)


def refused(world: World, token: str, *phrases: str, now: datetime = T0) -> str:
    """Require that ``token`` is refused with exactly ``InvalidTokenError`` and a
    message holding every phrase; return the message."""
    with pytest.raises(InvalidTokenError) as caught:
        check(world, token, now)
    assert type(caught.value) is InvalidTokenError
    assert caught.value.status == 401
    message = str(caught.value)
    for phrase in phrases:
        assert phrase in message, f"{phrase!r} not in {message!r}"
    return message


def every(world: World, tokens: dict[str, str], *phrases: str) -> None:
    """``refused`` for each named token; the failures are reported together, by name."""
    failures: dict[str, str] = {}
    for name, token in tokens.items():
        try:
            refused(world, token, *phrases)
        except (Exception, pytest.fail.Exception) as exc:
            failures[name] = f"{type(exc).__name__}: {exc}"
    assert failures == {}


def claims(world: World, key: KeyPair, **changes: object) -> dict[str, Any]:
    """The claims ``issue_token`` writes for ``key`` at T0, with ``changes``
    (``MISSING`` leaves a claim out)."""
    base: dict[str, Any] = {
        "iss": key.principal,
        "sub": key.principal,
        "aud": world.ledger.origin,
        "iat": int(T0.timestamp()),
        "exp": int((T0 + DEFAULT_LIFETIME).timestamp()),
        "jti": "hand-made-token-id",
    }
    base.update(changes)
    return {name: value for name, value in base.items() if value is not MISSING}


def forge(
    payload: dict[str, Any],
    signer: KeyPair,
    *,
    kid: str | None = None,
) -> str:
    """A hand-made EdDSA token: ``payload`` signed by ``signer``'s private key,
    with header ``kid`` (default: ``signer``'s own key id). Built by hand, not
    with ``jwt.encode``, which refuses to write some of the claims tested here
    (a null or non-string ``iss``)."""
    header = {"alg": ALGORITHM, "kid": signer.key_id if kid is None else kid, "typ": "JWT"}
    signing_input = f"{json_segment(header)}.{json_segment(payload)}"
    signature = signer.private_key.sign(signing_input.encode("ascii"))
    return f"{signing_input}.{b64url(signature)}"


def json_segment(value: object) -> str:
    return b64url(json.dumps(value, separators=(",", ":")).encode())


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


# -- a good token --------------------------------------------------------------


def test_fresh_token_names_principal_role_member_and_jti(world: World) -> None:
    # On the real clock (no now=): the defaults of both functions agree.
    token = issue_token(world.ncp_ken, world.ledger.origin)
    holder = check_token(world.ledger.registry(), world.ledger.origin, token)
    principal = holder.principal
    assert (principal.id, principal.role, principal.member) == ("ncp-ken", "ncp", "KEN")
    assert not principal.revoked
    header = jwt.get_unverified_header(token)
    payload = jwt.decode(token, options={"verify_signature": False})
    assert header["alg"] == "EdDSA" and header["kid"] == world.ncp_ken.key_id
    assert payload["iss"] == payload["sub"] == "ncp-ken"
    assert payload["aud"] == world.ledger.origin
    assert holder.token_id == payload["jti"] and len(holder.token_id) >= 16
    assert holder.expires_at == datetime.fromtimestamp(payload["exp"], UTC)
    assert payload["exp"] - payload["iat"] == DEFAULT_LIFETIME.total_seconds()
    # A principal without a Member, and a second token gets another jti.
    officer = check(world, issue_token(world.officer, world.ledger.origin, now=T0))
    assert (officer.principal.id, officer.principal.role) == (
        "integrity",
        "integrity_officer",
    )
    assert officer.principal.member is None
    assert officer.token_id != holder.token_id
    assert officer.expires_at == T0 + DEFAULT_LIFETIME


def test_token_is_good_until_expiry_plus_leeway_and_refused_after(world: World) -> None:
    lifetime = timedelta(minutes=30)
    token = issue_token(world.sec, world.ledger.origin, lifetime, now=T0)
    expiry = T0 + lifetime
    for moment in (T0, T0 + lifetime - SECOND, expiry, expiry + LEEWAY - SECOND):
        assert check(world, token, now=moment).principal.id == "sec", moment
    for moment in (expiry + LEEWAY, expiry + LEEWAY + SECOND, expiry + timedelta(days=1)):
        refused(world, token, "expired at", expiry.isoformat(), now=moment)


def test_microseconds_of_the_issue_time_are_dropped(world: World) -> None:
    # NumericDate is whole seconds: the token claims the second it was issued in.
    token = issue_token(
        world.sec, world.ledger.origin, now=T0 + timedelta(microseconds=999)
    )
    assert check(world, token).expires_at == T0 + DEFAULT_LIFETIME


# -- times -----------------------------------------------------------------------


def test_expired_token_is_refused(world: World) -> None:
    token = issue_token(world.sec, world.ledger.origin, timedelta(minutes=5), now=T0)
    refused(world, token, "expired", now=T0 + timedelta(days=2))


def test_token_issued_in_the_future_beyond_the_leeway_is_refused(world: World) -> None:
    # A client clock ahead by up to LEEWAY is tolerated; further ahead is not.
    within = issue_token(world.sec, world.ledger.origin, now=T0 + LEEWAY)
    assert check(world, within).principal.id == "sec"
    ahead = issue_token(world.sec, world.ledger.origin, now=T0 + LEEWAY + SECOND)
    refused(world, ahead, "issued in the future", "clock")


@pytest.mark.parametrize(
    "lifetime",
    [MAX_LIFETIME + SECOND, timedelta(days=365), timedelta(0), -SECOND],
    ids=["max-plus-1s", "a-year", "zero", "negative"],
)
def test_issuing_a_lifetime_outside_the_bounds_is_refused(
    world: World, lifetime: timedelta
) -> None:
    with pytest.raises(InvalidTokenError, match="a token lives between") as caught:
        issue_token(world.sec, world.ledger.origin, lifetime, now=T0)
    assert str(MAX_LIFETIME) in str(caught.value)


def test_issuing_exactly_the_maximum_lifetime_is_allowed(world: World) -> None:
    token = issue_token(world.sec, world.ledger.origin, MAX_LIFETIME, now=T0)
    assert check(world, token).expires_at == T0 + MAX_LIFETIME


def test_hand_made_token_claiming_a_lifetime_over_the_maximum_is_refused(
    world: World,
) -> None:
    # issue_token would refuse this; the principal signs it with PyJWT instead.
    too_long = int((T0 + MAX_LIFETIME + SECOND).timestamp())
    token = jwt.encode(
        claims(world, world.sec, exp=too_long),
        world.sec.private_key,
        algorithm="EdDSA",
        headers={"kid": world.sec.key_id},
    )
    refused(world, token, "lives longer than", str(MAX_LIFETIME))
    # Even a year-long token checked in its first second.
    year = int((T0 + timedelta(days=365)).timestamp())
    refused(world, forge(claims(world, world.sec, exp=year), world.sec), "lives longer")


# -- whose token, for which ledger --------------------------------------------


def test_token_for_another_ledger_is_refused(world: World) -> None:
    token = issue_token(world.sec, OTHER_ORIGIN, now=T0)
    refused(world, token, "another ledger", repr(world.ledger.origin))
    # The same holds for an audience list that does not name this ledger.
    listed = forge(claims(world, world.sec, aud=[OTHER_ORIGIN]), world.sec)
    refused(world, listed, "aud must be this ledger's origin as one string")


def test_an_audience_list_is_refused_even_when_it_names_this_ledger(
    world: World,
) -> None:
    """PyJWT accepts a list containing the expected audience; a token here names
    one ledger only (decision 13), so that one token never opens several."""
    origin = world.ledger.origin
    every(
        world,
        {
            name: forge(claims(world, world.sec, aud=aud), world.sec)
            for name, aud in [
                ("just this ledger", [origin]),
                ("this and another", [origin, OTHER_ORIGIN]),
                ("another and this", [OTHER_ORIGIN, origin]),
            ]
        },
        "aud must be this ledger's origin as one string, not a list",
    )
    assert check(world, forge(claims(world, world.sec), world.sec)).principal.id == "sec"


def test_token_of_an_unknown_principal_is_refused(world: World) -> None:
    stranger = KeyPair.generate("stranger")
    token = issue_token(stranger, world.ledger.origin, now=T0)
    refused(world, token, "unknown principal", "'stranger'")


def test_token_of_a_revoked_principal_is_refused(world: World) -> None:
    token = issue_token(world.ncp_bra, world.ledger.origin, now=T0)
    assert check(world, token).principal.id == "ncp-bra"  # good before the revocation
    world.record(
        world.admin,
        "registry",
        "principal.revoked",
        {"principal": "ncp-bra", "reason": "left the administration"},
    )
    # The token issued before is stopped at once, and so is a new one.
    refused(world, token, "'ncp-bra'", "revoked")
    fresh = issue_token(world.ncp_bra, world.ledger.origin, now=T0)
    refused(world, fresh, "'ncp-bra'", "revoked")


def test_token_signed_before_a_key_rotation_stops_working(world: World) -> None:
    old = world.ncp_ken
    before = issue_token(old, world.ledger.origin, now=T0)
    assert check(world, before).principal.id == "ncp-ken"
    new = KeyPair.generate("ncp-ken")
    world.record(
        old,  # a principal rotates its own key, signing with its current one
        "registry",
        "principal.key_rotated",
        {"principal": "ncp-ken", "public_key": new.public_key, "reason": "laptop lost"},
    )
    for token in (before, issue_token(old, world.ledger.origin, now=T0)):
        refused(world, token, "'ncp-ken'", "current key", old.key_id, "rotated")
    assert check(world, issue_token(new, world.ledger.origin, now=T0)).principal.id == (
        "ncp-ken"
    )


def test_token_signed_by_another_key_under_the_real_key_id_is_refused(
    world: World,
) -> None:
    # An attacker's key naming ncp-ken and forging the kid of ncp-ken's real key:
    # the kid check passes, the signature does not verify.
    attacker = KeyPair.generate("ncp-ken")
    token = forge(claims(world, world.ncp_ken), attacker, kid=world.ncp_ken.key_id)
    refused(world, token, "refused", "Signature verification failed")
    # Under its own kid it is refused as not the principal's current key.
    refused(world, forge(claims(world, world.ncp_ken), attacker), "current key")


def test_token_speaking_for_another_principal_is_refused(world: World) -> None:
    # ncp-ken signs a token whose subject is sec (iss stays ncp-ken): the kid
    # is not sec's key.
    payload = claims(world, world.ncp_ken, sub="sec")
    refused(world, forge(payload, world.ncp_ken), "not signed by 'sec'", "current key")
    # ...and with iss rewritten too but ncp-ken's key named: still not sec's key.
    payload = claims(world, world.ncp_ken, iss="sec", sub="sec")
    refused(world, forge(payload, world.ncp_ken), "'sec'", "current key")
    # sub is ncp-ken but iss names sec: a token speaks only for its signer.
    payload = claims(world, world.ncp_ken, iss="sec")
    refused(world, forge(payload, world.ncp_ken), "refused", "issuer")


# -- algorithms and tampering -------------------------------------------------


def test_alg_none_token_is_refused(world: World) -> None:
    payload = claims(world, world.sec)
    token = jwt.encode(payload, "", algorithm="none", headers={"kid": world.sec.key_id})
    assert token.endswith(".")  # no signature at all
    refused(world, token, "must be signed with EdDSA", "'none'")
    # A valid EdDSA token with its header rewritten to none and the signature cut.
    good = issue_token(world.sec, world.ledger.origin, now=T0)
    _, body, _ = good.split(".")
    header = b64url(json.dumps({"alg": "none", "kid": world.sec.key_id}).encode())
    refused(world, f"{header}.{body}.", "EdDSA", "'none'")


def test_hs256_token_keyed_with_the_public_key_is_refused(world: World) -> None:
    # The classic algorithm confusion: HMAC keyed with the (public) verification key.
    payload = claims(world, world.sec)
    for secret in (world.sec.public_key, world.sec.public_bytes.hex()):
        token = jwt.encode(
            payload, secret, algorithm="HS256", headers={"kid": world.sec.key_id}
        )
        refused(world, token, "must be signed with EdDSA", "'HS256'")


@pytest.mark.parametrize(
    ("claim", "value"),
    [
        ("exp", int((T0 + MAX_LIFETIME).timestamp())),  # live longer
        ("iat", int((T0 - timedelta(days=1)).timestamp())),
        ("jti", "another-token-id"),  # pass for another token in the access log
        ("aud", "test.pmm.example/ledger2"),
    ],
    ids=["exp", "iat", "jti", "aud"],
)
def test_payload_altered_after_signing_is_refused(
    world: World, claim: str, value: object
) -> None:
    token = issue_token(world.sec, world.ledger.origin, now=T0)
    header, body, signature = token.split(".")
    payload = json.loads(unb64url(body))
    assert payload[claim] != value
    payload[claim] = value
    tampered = f"{header}.{b64url(json.dumps(payload).encode())}.{signature}"
    # The signature is verified before any claim is believed.
    refused(world, tampered, "refused", "Signature verification failed")


def test_signature_altered_is_refused(world: World) -> None:
    token = issue_token(world.sec, world.ledger.origin, now=T0)
    header, body, signature = token.split(".")
    raw = bytearray(unb64url(signature))
    raw[0] ^= 0x01
    refused(world, f"{header}.{body}.{b64url(bytes(raw))}", "Signature verification")
    # A signature cut short, and none at all under the EdDSA header.
    refused(world, f"{header}.{body}.{signature[:20]}")
    refused(world, f"{header}.{body}.", "refused")


# -- claims ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("claim", "phrase"),
    [
        ("iss", '"iss"'),
        # Without sub the token names nobody: refused as an unknown principal.
        ("sub", "unknown principal None"),
        ("aud", '"aud"'),
        ("iat", '"iat"'),
        ("exp", '"exp"'),
        ("jti", '"jti"'),
    ],
)
def test_token_missing_a_claim_is_refused(world: World, claim: str, phrase: str) -> None:
    token = forge(claims(world, world.sec, **{claim: MISSING}), world.sec)
    refused(world, token, phrase)
    # A claim present but null is missing too.
    refused(world, forge(claims(world, world.sec, **{claim: None}), world.sec), phrase)


NOT_INTEGERS: dict[str, object] = {
    "digits-string": str(int(T0.timestamp())),  # a number in a string
    "iso-string": T0.isoformat(),  # a date, not a NumericDate
    "float": T0.timestamp() + 0.5,
    "bool": True,  # a bool is an int in Python, not in JSON
    "list": [int(T0.timestamp())],
    "object": {"seconds": int(T0.timestamp())},
}


@pytest.mark.parametrize("claim", ["iat", "exp"])
def test_token_with_a_time_that_is_not_an_integer_is_refused(
    world: World, claim: str
) -> None:
    every(
        world,
        {
            name: forge(claims(world, world.sec, **{claim: value}), world.sec)
            for name, value in NOT_INTEGERS.items()
        },
        f"'{claim}'",
        "NumericDate",
    )


def test_token_with_a_time_out_of_the_calendar_is_refused(world: World) -> None:
    # An integer NumericDate no datetime can hold (year > 9999): a refusal,
    # not an uncaught ValueError or OverflowError (which the API answers with
    # 500). Signed by the principal itself: a careless or hostile client, not a
    # forger. 2**53 - 1 raises ValueError (year out of range), 10**20
    # OverflowError (out of range for time_t).
    tokens = {
        f"{claim}={value}": forge(claims(world, world.sec, **{claim: value}), world.sec)
        for claim in ("iat", "exp")
        for value in (2**53 - 1, 10**20)
    }
    every(world, tokens, "NumericDate")


@pytest.mark.parametrize(
    ("claim", "value", "phrase"),
    [
        ("sub", 42, "unknown principal 42"),
        ("iss", ["sec"], "refused"),
        ("jti", 7, "JWT ID must be a string"),
        ("aud", 5, "another ledger"),
    ],
    ids=["sub-int", "iss-list", "jti-int", "aud-int"],
)
def test_token_with_a_claim_of_the_wrong_type_is_refused(
    world: World, claim: str, value: object, phrase: str
) -> None:
    token = forge(claims(world, world.sec, **{claim: value}), world.sec)
    refused(world, token, phrase)


# -- not a token at all --------------------------------------------------------


def _good(world: World) -> str:
    return issue_token(world.sec, world.ledger.origin, now=T0)


GARBAGE: dict[str, Callable[[World], str]] = {
    "empty": lambda w: "",
    "words": lambda w: "not a token",
    "one-dot": lambda w: "a.b",
    "three-dots": lambda w: "...",
    "three-words": lambda w: "a.b.c",
    "bearer-prefix": lambda w: "Bearer " + _good(w),
    "leading-space": lambda w: " " + _good(w),
    "two-tokens": lambda w: _good(w) + "." + _good(w),
    "non-ascii": lambda w: "é" * 100,
    "nul-bytes": lambda w: "\x00" * 10,
    "header-not-json": lambda w: b64url(b"{not json") + ".e30.c2ln",
    "header-a-list": lambda w: json_segment(["EdDSA"]) + ".e30.c2ln",
    "payload-a-list": lambda w: (
        json_segment({"alg": "EdDSA"}) + "." + json_segment([1]) + ".c2ln"
    ),
    "payload-not-json": lambda w: (
        json_segment({"alg": "EdDSA"}) + "." + b64url(b"\xff\xfe") + ".c2ln"
    ),
    "kid-a-number": lambda w: (
        json_segment({"alg": "EdDSA", "kid": 1})
        + "."
        + json_segment(claims(w, w.sec))
        + ".c2ln"
    ),
}


def test_garbage_is_refused(world: World) -> None:
    every(world, {name: make(world) for name, make in GARBAGE.items()})


def test_token_over_the_size_limit_is_refused_before_parsing(world: World) -> None:
    # A properly signed token, padded with a claim to just over the limit.
    payload = claims(world, world.sec, pad="")
    base = len(forge(payload, world.sec))
    payload["pad"] = "x" * ((MAX_TOKEN_BYTES - base) * 3 // 4 + 3)
    token = forge(payload, world.sec)
    assert MAX_TOKEN_BYTES < len(token) <= MAX_TOKEN_BYTES + 8
    refused(world, token, "over 4096 bytes")
    # The same token a little smaller is accepted: the size was the reason.
    payload["pad"] = "x" * ((MAX_TOKEN_BYTES - base) * 3 // 4 - 3)
    smaller = forge(payload, world.sec)
    assert len(smaller) <= MAX_TOKEN_BYTES
    assert check(world, smaller).principal.id == "sec"
    # Megabytes of junk are refused the same way.
    refused(world, "x" * 5_000_000, "over 4096 bytes")
