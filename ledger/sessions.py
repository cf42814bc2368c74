"""Browser sign-in: one-time challenges and sessions, in the ledger's database.

A browser signs in with the principal's own Ed25519 key (docs/http.md, "Signing
in from a browser"; decision 30): the server hands out a random one-time
challenge, the browser signs ``sign_in_input`` with the key file the user
picked, and the server checks the signature against the key the principal
registry holds *now*. The server then keeps a session; the cookie carries a
random token whose SHA-256 is the row's key, so the table never holds a usable
cookie. Both tables live beside the access log in the ledger's own database
(both backends), so every ``pmm serve --workers N`` process sees the same
sessions, and a challenge is marked used in the same statement that finds it,
so two processes cannot both accept it.

A session names the key id it was opened with: a rotated key or a revoked
principal ends it at its next request. Reads never write (decision 24), so a
dead session is only refused when read; expired rows are purged whenever a new
challenge is issued.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from ledger.domain.registry import Principal, PrincipalRegistry
from ledger.errors import SessionEndedError, SignInError, TooManyChallengesError
from ledger.log_store import LogStore
from verify.formats.statement import format_timestamp, key_id

# The bytes a sign-in signature covers are defined here and nowhere else
# (docs/http.md): the context keeps them from ever being a statement's
# (``pmm-statement/v1\n``) or an approval's signing input.
SIGN_IN_CONTEXT = b"pmm-sign-in/v1\n"
CHALLENGE_LIFETIME = timedelta(minutes=2)
SESSION_LIFETIME = timedelta(hours=8)
# Anyone may ask for a challenge, so the unexpired ones are capped: a flood of
# requests fills a bounded table for two minutes, never the database.
MAX_OPEN_CHALLENGES = 10_000


def sign_in_input(origin: str, web_origin: str, challenge: str) -> bytes:
    """``pmm-sign-in/v1\\n`` + ledger origin + ``\\n`` + web origin + ``\\n`` +
    challenge, UTF-8: what the browser signs to sign in."""
    return SIGN_IN_CONTEXT + f"{origin}\n{web_origin}\n{challenge}".encode()


@dataclass(frozen=True)
class Challenge:
    """A one-time challenge and the exact bytes to sign for it."""

    challenge: str
    message: bytes
    expires_at: str


@dataclass(frozen=True)
class Session:
    """A signed-in browser: who, with which key, until when."""

    principal: Principal
    session_id: str  # names the session in access-log records; not the cookie
    key_id: str  # the key signed in with: the session ends when it is not current
    csrf: str  # the synchronizer token every cookie-authenticated write must carry
    expires_at: str


@dataclass(frozen=True)
class Opened:
    """A new session and the cookie token that opens it (shown once)."""

    session: Session
    token: str


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def _session_id(digest: str) -> str:
    return f"session:{digest[:16]}"


class SessionStore:
    """Challenges and sessions in ``pmm_sign_in_challenges`` and ``pmm_sessions``."""

    def __init__(self, store: LogStore, max_open: int = MAX_OPEN_CHALLENGES) -> None:
        self.store, self.max_open = store, max_open
        with store.transaction(commit=True) as cur:
            cur.execute(
                "CREATE TABLE IF NOT EXISTS {p}pmm_sign_in_challenges ("
                "challenge TEXT PRIMARY KEY, web_origin TEXT NOT NULL, "
                "expires_at TEXT NOT NULL, used_at TEXT)"
            )
            cur.execute(
                "CREATE TABLE IF NOT EXISTS {p}pmm_sessions (digest TEXT PRIMARY KEY, "
                "principal TEXT NOT NULL, key_id TEXT NOT NULL, csrf TEXT NOT NULL, "
                "created_at TEXT NOT NULL, expires_at TEXT NOT NULL)"
            )

    def challenge(
        self, origin: str, web_origin: str, now: datetime | None = None
    ) -> Challenge:
        """A new challenge for a browser at ``web_origin``; purges expired rows."""
        moment = now or datetime.now(UTC)
        text = secrets.token_urlsafe(32)
        expires = format_timestamp(moment + CHALLENGE_LIFETIME)
        stamp = format_timestamp(moment)
        with self.store.transaction(commit=True) as cur:
            cur.execute(
                "DELETE FROM {p}pmm_sign_in_challenges WHERE expires_at < %s", (stamp,)
            )
            cur.execute("DELETE FROM {p}pmm_sessions WHERE expires_at < %s", (stamp,))
            found = cur.execute("SELECT COUNT(*) FROM {p}pmm_sign_in_challenges").one()
            if found is not None and int(found[0]) >= self.max_open:
                raise TooManyChallengesError(
                    f"{self.max_open} sign-in challenges are open: try again in "
                    f"{int(CHALLENGE_LIFETIME.total_seconds())} seconds"
                )
            cur.execute(
                "INSERT INTO {p}pmm_sign_in_challenges (challenge, web_origin, expires_at) "
                "VALUES (%s, %s, %s)",
                (text, web_origin, expires),
            )
        return Challenge(text, sign_in_input(origin, web_origin, text), expires)

    def sign_in(
        self,
        registry: PrincipalRegistry | None,
        origin: str,
        web_origin: str,
        *,
        principal: str,
        key: str,
        challenge: str,
        signature: str,
        now: datetime | None = None,
    ) -> Opened:
        """Open a session if ``signature`` is ``principal``'s current key over the
        challenge's sign-in input; the challenge is used up either way."""
        moment = now or datetime.now(UTC)
        stamp = format_timestamp(moment)
        with self.store.transaction(commit=True) as cur:
            found = cur.execute(
                "UPDATE {p}pmm_sign_in_challenges SET used_at = %s "
                "WHERE challenge = %s AND used_at IS NULL RETURNING web_origin, expires_at",
                (stamp, challenge),
            ).one()
        if found is None:
            raise SignInError(
                "the sign-in challenge is unknown or already used: ask for a new one "
                "(POST /auth/challenge); a challenge signs in once"
            )
        if str(found[1]) < stamp:
            raise SignInError("the sign-in challenge expired: ask for a new one")
        if str(found[0]) != web_origin:
            raise SignInError(
                f"the challenge was issued to {found[0]!r}, not to {web_origin!r}"
            )
        holder = _current(registry, principal)
        current = key_id(base64.b64decode(holder.public_key))
        if key != current:
            raise SignInError(
                f"key {key!r} is not {principal!r}'s current key: sign in with the "
                "key file of the key the registry holds now"
            )
        _verify(holder, signature, sign_in_input(origin, web_origin, challenge))
        token = secrets.token_urlsafe(32)
        digest = _digest(token)
        csrf = secrets.token_urlsafe(32)
        expires = format_timestamp(moment + SESSION_LIFETIME)
        with self.store.transaction(commit=True) as cur:
            cur.execute(
                "INSERT INTO {p}pmm_sessions (digest, principal, key_id, csrf, created_at, "
                "expires_at) VALUES (%s, %s, %s, %s, %s, %s)",
                (digest, holder.id, current, csrf, stamp, expires),
            )
        return Opened(Session(holder, _session_id(digest), current, csrf, expires), token)

    def session(
        self, registry: PrincipalRegistry | None, token: str, now: datetime | None = None
    ) -> Session:
        """The live session the cookie ``token`` opens, or ``SessionEndedError``
        saying why not (unknown, expired, key rotated, principal revoked)."""
        digest = _digest(token)
        with self.store.read() as cur:
            row = cur.execute(
                "SELECT principal, key_id, csrf, expires_at FROM {p}pmm_sessions "
                "WHERE digest = %s",
                (digest,),
            ).one()
        if row is None:
            raise SessionEndedError("you were signed out: the session is unknown or ended")
        name, key, csrf, expires = (str(column) for column in row)
        if expires < format_timestamp(now or datetime.now(UTC)):
            raise SessionEndedError(f"your session expired at {expires}: sign in again")
        try:
            holder = _current(registry, name)
        except SignInError as exc:
            raise SessionEndedError(f"your session ended: {exc}") from None
        if key_id(base64.b64decode(holder.public_key)) != key:
            raise SessionEndedError(
                f"your session ended: {name!r}'s key was rotated since you signed in"
            )
        return Session(holder, _session_id(digest), key, csrf, expires)

    def sign_out(self, token: str) -> None:
        """End the session (nothing happens for an unknown token)."""
        with self.store.transaction(commit=True) as cur:
            cur.execute("DELETE FROM {p}pmm_sessions WHERE digest = %s", (_digest(token),))


def csrf_matches(session: Session, offered: str | None) -> bool:
    """Whether ``offered`` is the session's CSRF token (constant-time)."""
    return offered is not None and hmac.compare_digest(
        session.csrf.encode(), offered.encode("utf-8", "surrogatepass")
    )


def _current(registry: PrincipalRegistry | None, principal: str) -> Principal:
    holder = registry.get(principal) if registry is not None else None
    if holder is None:
        raise SignInError(f"{principal!r} is not a registered principal")
    if holder.revoked:
        raise SignInError(f"principal {principal!r} is revoked")
    return holder


def _verify(holder: Principal, signature: str, message: bytes) -> None:
    try:
        raw = base64.b64decode(signature, validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != 64:
        raise SignInError("the signature must be base64 of 64 Ed25519 bytes")
    public = Ed25519PublicKey.from_public_bytes(base64.b64decode(holder.public_key))
    try:
        public.verify(raw, message)
    except InvalidSignature:
        raise SignInError(
            f"the signature does not verify under {holder.id!r}'s current key: "
            "the key file is another principal's, or the challenge was altered"
        ) from None
