"""The session store (ledger/sessions.py) on both backends: one-time challenges
across processes, expiry, key binding, sign-out, nothing usable at rest."""

from __future__ import annotations

import base64
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import pytest

from ledger.errors import SessionEndedError, SignInError, TooManyChallengesError
from ledger.keys import KeyPair
from ledger.sessions import (
    CHALLENGE_LIFETIME,
    SESSION_LIFETIME,
    Opened,
    SessionStore,
    csrf_matches,
    sign_in_input,
)

if TYPE_CHECKING:
    from tests.conftest import World

WEB = "https://pmm.example"


def open_session(
    world: World, store: SessionStore, key: KeyPair, now: datetime | None = None
) -> Opened:
    found = store.challenge(world.ledger.origin, WEB, now)
    return store.sign_in(
        world.ledger.registry(),
        world.ledger.origin,
        WEB,
        principal=key.principal,
        key=key.key_id,
        challenge=found.challenge,
        signature=base64.b64encode(key.private_key.sign(found.message)).decode(),
        now=now,
    )


def test_sign_in_input_is_domain_separated() -> None:
    assert sign_in_input("o", "https://w", "c") == b"pmm-sign-in/v1\no\nhttps://w\nc"
    assert not sign_in_input("o", "w", "c").startswith(b"pmm-statement/v1\n")


def test_a_session_opened_in_one_process_is_seen_by_another(world: World) -> None:
    store = world.ledger.sequencer.store
    first, second = SessionStore(store), SessionStore(store)  # two workers' stores
    opened = open_session(world, first, world.ncp_ken)
    session = second.session(world.ledger.registry(), opened.token)
    assert session.principal.id == "ncp-ken" and session.key_id == world.ncp_ken.key_id
    assert session.session_id == opened.session.session_id
    assert csrf_matches(session, opened.session.csrf)
    assert not csrf_matches(session, None) and not csrf_matches(session, "x")
    second.sign_out(opened.token)
    with pytest.raises(SessionEndedError, match="unknown or ended"):
        first.session(world.ledger.registry(), opened.token)


def test_the_cookie_token_is_not_stored(world: World) -> None:
    opened = open_session(world, SessionStore(world.ledger.sequencer.store), world.sec)
    with world.ledger.sequencer.store.read() as cur:
        rows = cur.execute("SELECT * FROM {p}pmm_sessions").all()
    assert len(rows) == 1 and opened.token not in repr(rows)


def test_a_challenge_is_accepted_once_even_when_raced(world: World) -> None:
    store = world.ledger.sequencer.store
    stores = [SessionStore(store) for _ in range(4)]
    key = world.ncp_ken
    found = stores[0].challenge(world.ledger.origin, WEB)
    signature = base64.b64encode(key.private_key.sign(found.message)).decode()

    def attempt(one: SessionStore) -> str:
        try:
            one.sign_in(
                world.ledger.registry(),
                world.ledger.origin,
                WEB,
                principal=key.principal,
                key=key.key_id,
                challenge=found.challenge,
                signature=signature,
            )
        except SignInError as exc:
            return str(exc)
        return "signed in"

    with ThreadPoolExecutor(4) as pool:
        outcomes = list(pool.map(attempt, stores))
    assert outcomes.count("signed in") == 1, outcomes
    assert all("already used" in o for o in outcomes if o != "signed in")


def test_challenges_and_sessions_expire(world: World) -> None:
    store = SessionStore(world.ledger.sequencer.store)
    start = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)
    found = store.challenge(world.ledger.origin, WEB, start)
    key = world.ncp_ken
    with pytest.raises(SignInError, match="challenge expired"):
        store.sign_in(
            world.ledger.registry(),
            world.ledger.origin,
            WEB,
            principal=key.principal,
            key=key.key_id,
            challenge=found.challenge,
            signature=base64.b64encode(key.private_key.sign(found.message)).decode(),
            now=start + CHALLENGE_LIFETIME + timedelta(seconds=1),
        )
    opened = open_session(world, store, key, start)
    registry = world.ledger.registry()
    assert store.session(registry, opened.token, start + SESSION_LIFETIME).principal
    with pytest.raises(SessionEndedError, match="expired"):
        later = start + SESSION_LIFETIME + timedelta(seconds=1)
        store.session(registry, opened.token, later)


def test_a_challenge_is_bound_to_its_web_origin(world: World) -> None:
    store = SessionStore(world.ledger.sequencer.store)
    found = store.challenge(world.ledger.origin, WEB)
    key = world.sec
    # Signed over the other origin's bytes, presented at the other origin: refused.
    message = sign_in_input(world.ledger.origin, "https://phish.example", found.challenge)
    with pytest.raises(SignInError, match=r"was issued to 'https://pmm\.example'"):
        store.sign_in(
            world.ledger.registry(),
            world.ledger.origin,
            "https://phish.example",
            principal=key.principal,
            key=key.key_id,
            challenge=found.challenge,
            signature=base64.b64encode(key.private_key.sign(message)).decode(),
        )


def test_a_malformed_signature_is_refused(world: World) -> None:
    store = SessionStore(world.ledger.sequencer.store)
    found = store.challenge(world.ledger.origin, WEB)
    with pytest.raises(SignInError, match="base64 of 64 Ed25519 bytes"):
        store.sign_in(
            world.ledger.registry(),
            world.ledger.origin,
            WEB,
            principal="sec",
            key=world.sec.key_id,
            challenge=found.challenge,
            signature="not base64!",
        )


def test_open_challenges_are_capped(world: World) -> None:
    store = SessionStore(world.ledger.sequencer.store, max_open=3)
    start = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)
    for _ in range(3):
        store.challenge(world.ledger.origin, WEB, start)
    with pytest.raises(TooManyChallengesError, match="3 sign-in challenges are open"):
        store.challenge(world.ledger.origin, WEB, start)
    # Once they expire they are purged, and new ones are handed out again.
    store.challenge(world.ledger.origin, WEB, start + CHALLENGE_LIFETIME * 2)
