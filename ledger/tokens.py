"""Bearer tokens bound to a principal's Ed25519 key (RFC 7519 JWT, ``EdDSA``).

A reader proves who it is the way a writer does: with its own key (docs/design.md
§3). ``pmm token --as KEY`` signs a short-lived JWT; the server checks it
against the principal registry *now*, so a rotated key or a revoked
principal stops every token at once, and the server keeps no secret and no
session (decision 13). Claims, all required:

    iss, sub   the principal id (a token speaks only for its signer)
    aud        the ledger's origin, one string (a token for one ledger is useless
               on another; a list of audiences is refused)
    iat, exp   issued and expiry times; at most ``MAX_LIFETIME`` apart
    jti        a random id, written to the access log with every restricted read
    header kid the key id statements carry (``verify/formats/statement.py key_id``)

PyJWT does the encoding and the signature; this module only says which claims
and which key.
"""

from __future__ import annotations

import base64
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from ledger.domain.registry import Principal, PrincipalRegistry
from ledger.errors import InvalidTokenError
from ledger.keys import KeyPair
from verify.formats.statement import key_id

ALGORITHM = "EdDSA"
DEFAULT_LIFETIME = timedelta(hours=1)
MAX_LIFETIME = timedelta(hours=12)
LEEWAY = timedelta(seconds=60)
MAX_TOKEN_BYTES = 4096


@dataclass(frozen=True)
class TokenHolder:
    """Who a valid token speaks for."""

    principal: Principal
    token_id: str
    expires_at: datetime


def issue_token(
    key: KeyPair,
    origin: str,
    lifetime: timedelta = DEFAULT_LIFETIME,
    now: datetime | None = None,
) -> str:
    """A token for ``key``'s principal on the ledger ``origin``."""
    if not timedelta(0) < lifetime <= MAX_LIFETIME:
        raise InvalidTokenError(
            f"a token lives between 1 second and {MAX_LIFETIME}, not {lifetime}"
        )
    issued = (now or datetime.now(UTC)).replace(microsecond=0)
    claims = {
        "iss": key.principal,
        "sub": key.principal,
        "aud": origin,
        "iat": issued,
        "exp": issued + lifetime,
        "jti": secrets.token_urlsafe(16),
    }
    return jwt.encode(
        claims, key.private_key, algorithm=ALGORITHM, headers={"kid": key.key_id}
    )


def check_token(
    registry: PrincipalRegistry | None,
    origin: str,
    token: str,
    now: datetime | None = None,
) -> TokenHolder:
    """The principal ``token`` speaks for, or ``InvalidTokenError`` saying why."""
    if len(token.encode("utf-8", "surrogatepass")) > MAX_TOKEN_BYTES:
        raise InvalidTokenError(f"the token is over {MAX_TOKEN_BYTES} bytes")
    try:
        header = jwt.get_unverified_header(token)
        unverified = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError as exc:
        raise InvalidTokenError(f"the bearer token is not a JWT: {exc}") from None
    if header.get("alg") != ALGORITHM:
        raise InvalidTokenError(
            f"the token must be signed with EdDSA, not {header.get('alg')!r}"
        )
    if isinstance(unverified.get("aud"), list):
        # PyJWT accepts an aud list that contains the origin; a token here names
        # exactly one ledger, so one stolen token never opens several.
        raise InvalidTokenError(
            "the token's aud must be this ledger's origin as one string, not a list"
        )
    subject = unverified.get("sub")
    principal = registry.get(subject) if registry and isinstance(subject, str) else None
    if principal is None:
        raise InvalidTokenError(f"the token names an unknown principal {subject!r}")
    if principal.revoked:
        raise InvalidTokenError(f"principal {principal.id!r} is revoked")
    public = Ed25519PublicKey.from_public_bytes(_raw(principal.public_key))
    if header.get("kid") != key_id(public.public_bytes_raw()):
        raise InvalidTokenError(
            f"the token is not signed by {principal.id!r}'s current key "
            f"(kid {header.get('kid')!r}): a rotated key's tokens stop working"
        )
    moment = now or datetime.now(UTC)
    try:
        claims = jwt.decode(
            token,
            public,
            algorithms=[ALGORITHM],
            audience=origin,
            issuer=principal.id,
            leeway=LEEWAY,
            options={
                "require": ["iss", "sub", "aud", "iat", "exp", "jti"],
                "verify_iat": False,  # checked below against ``moment``
                "verify_exp": False,
            },
        )
    except jwt.InvalidAudienceError:
        raise InvalidTokenError(
            f"the token is for another ledger, not {origin!r}"
        ) from None
    except jwt.PyJWTError as exc:
        raise InvalidTokenError(f"the token is refused: {exc}") from None
    issued, expires = _time(claims, "iat"), _time(claims, "exp")
    if expires - issued > MAX_LIFETIME:
        raise InvalidTokenError(f"the token lives longer than {MAX_LIFETIME}")
    if issued > moment + LEEWAY:
        raise InvalidTokenError("the token is issued in the future: check the clock")
    if expires <= moment - LEEWAY:
        raise InvalidTokenError(f"the token expired at {expires.isoformat()}")
    return TokenHolder(principal, str(claims["jti"]), expires)


def _raw(public_key: str) -> bytes:
    return base64.b64decode(public_key)


def _time(claims: dict[str, object], name: str) -> datetime:
    value = claims[name]
    if not isinstance(value, int) or isinstance(value, bool):
        raise InvalidTokenError(f"the token's {name!r} must be a NumericDate (integer)")
    try:
        return datetime.fromtimestamp(value, UTC)
    except (OverflowError, OSError, ValueError):
        raise InvalidTokenError(
            f"the token's {name!r} is not a NumericDate of a real date: {value}"
        ) from None
