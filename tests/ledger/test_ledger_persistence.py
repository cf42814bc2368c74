"""Persistence: state survives a restart, the database holds exactly the entry
bytes (docs/design.md §3), and a row altered in the database is refused on read."""

from __future__ import annotations

import base64
import hashlib
import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit, urlunsplit

import psycopg
import pytest
from eventsourcing.persistence import MapperDeserialisationError

from ledger.application import Ledger, Recorded
from ledger.domain.events import LedgerEvent
from ledger.home import open_ledger
from ledger.keys import KeyPair
from ledger.persistence import SQLITE_FILE
from verify.formats.canonical import canonical_bytes, parse_canonical
from verify.formats.entry import parse_entry
from verify.formats.statement import SignedStatement, verify_signature

if TYPE_CHECKING:
    from tests.conftest import World

SOURCE = {"name": "ASYCUDA export", "sha256": hashlib.sha256(b"x").hexdigest()}


def populate(world: World) -> list[Recorded]:
    """A bit of everything: values, a correction, review, rotation, publication."""
    recorded = [
        world.hours(world.ncp_ken, world.KEN, "12.5"),
        world.submit(
            world.ncp_ken, world.KEN, world.KPI_PERCENT, {"amount": "87.5"}, "percent"
        ),
        world.record(
            world.ncp_ken,
            world.KEN,
            "kpi.not_used",
            {"justification": "not measured nationally", "kpi": world.KPI_YES_NO},
        ),
        world.hours(world.sec, world.BRA, "48", source=SOURCE, disclosure="restricted"),
    ]
    recorded.append(world.record(world.sec2, world.BRA, "value.validated", {"entry": 2}))
    recorded.append(world.record(world.ncp_ken, world.KEN, "submission.completed", {}))
    recorded.append(
        world.record(
            world.sec, world.KEN, "value.queried", {"entry": 2, "message": "hours or days?"}
        )
    )
    body = world.value_body(
        world.KPI_HOURS,
        {"amount": "13"},
        "hours",
        kind="correction",
        reason="rounding",
        supersedes=2,
    )
    recorded.append(world.record(world.ncp_ken, world.KEN, "value.corrected", body))
    cut = world.publication(world.KEN)
    recorded.append(world.record(world.sec, world.KEN, "assessment.published", cut))
    world.ncp_bra = rotate(world, world.ncp_bra)
    revised = world.kpi_body(
        world.KPI_HOURS, "days", "number", applies_from=2023, reason="PMM v2"
    )
    recorded.append(world.record(world.sec, "framework", "kpi.revised", revised))
    return recorded


def rotate(world: World, old: KeyPair) -> KeyPair:
    new = KeyPair.generate(old.principal)
    world.record(
        old,
        "registry",
        "principal.key_rotated",
        {"principal": old.principal, "public_key": new.public_key, "reason": "scheduled"},
    )
    return new


def snapshot(ledger: Ledger) -> dict[str, Any]:
    """Everything a reader sees, compared field by field after a restart."""
    registry = ledger.aggregate("registry")
    framework = ledger.aggregate("framework")
    state: dict[str, Any] = {
        "log_size": ledger.log_size(),
        "principals": dict(registry.principals),
        "dimensions": dict(framework.dimensions),
        "outcomes": dict(framework.outcomes),
        "kpis": {code: list(v) for code, v in framework.kpis.items()},
    }
    for stream in ("assessment/KEN/1", "assessment/BRA/1"):
        a = ledger.aggregate(stream)
        state[stream] = (
            a.version,
            a.reference_year,
            dict(a.values),
            dict(a.current),
            dict(a.not_used),
            a.completed,
            list(a.publications),
            set(a.reopened),
        )
    return state


def test_state_survives_close_and_reopen(world: World) -> None:
    populate(world)
    before = snapshot(world.ledger)
    settings, origin = world.ledger.settings, world.ledger.origin
    world.ledger.close()
    for reopened in (open_ledger(settings), open_ledger(settings)):
        try:
            assert reopened.origin == origin
            assert snapshot(reopened) == before
            assert reopened.stream_version(world.KEN) == before["assessment/KEN/1"][0]
        finally:
            reopened.close()
    # The reopened ledger takes new statements where the old one stopped,
    # with the rotated key and not the old one.
    reopened = open_ledger(settings)
    try:
        world.ledger = reopened
        assert world.hours(world.ncp_bra, world.BRA, "12", year=2021).stream_version == 4
        registry = reopened.aggregate("registry")
        assert len(registry.principals["ncp-bra"].keys) == 2
    finally:
        reopened.close()


def test_stored_state_is_exactly_the_entry_bytes(world: World) -> None:
    recorded = populate(world)
    ledger = world.ledger
    registry = ledger.aggregate("registry")
    by_position: dict[int, bytes] = {}
    for stream in ("registry", "framework", world.KEN, world.BRA):
        stored = ledger.recorder.select_events(stream)
        domain = list(ledger.events.get(stream))
        assert [s.originator_version for s in stored] == list(range(1, len(stored) + 1))
        for row, event in zip(stored, domain, strict=True):
            assert isinstance(event, LedgerEvent)
            state = bytes(row.state)
            assert state == event.entry
            assert canonical_bytes(parse_canonical(state, "entry")) == state
            entry = parse_entry(state)
            assert entry.raw == state
            assert (entry.stream, entry.stream_version, entry.entry_type) == (
                stream,
                row.originator_version,
                row.topic,
            )
            # The statement inside is the signed one: its signature verifies.
            assert entry.signed.statement == event.statement
            signer = entry.signed.principal
            keys = [base64.b64decode(k) for k in registry.principals[signer].keys]
            assert any(_verifies(entry.signed, key) for key in keys)
    notifications = ledger.recorder.select_notifications(start=1, limit=1000)
    assert [n.id for n in notifications] == list(range(1, ledger.log_size() + 1))
    for notification in notifications:
        by_position[notification.id] = bytes(notification.state)
        entry = parse_entry(bytes(notification.state))
        assert (entry.stream, entry.stream_version) == (
            notification.originator_id,
            notification.originator_version,
        )
    by_index = dict(ledger.sequencer.store.entries(0, ledger.log_size()))
    for r in recorded:
        raw = by_index[r.log_index]
        assert hashlib.sha256(raw).hexdigest() == r.entry_sha256
        value = json.loads(raw)
        assert (value["stream"], value["stream_version"], value["recorded_at"]) == (
            r.stream,
            r.stream_version,
            r.recorded_at,
        )
    times = [json.loads(by_position[p])["recorded_at"] for p in sorted(by_position)]
    assert times == sorted(times), "recorded_at decreased along the log"


def _verifies(signed: SignedStatement, key: bytes) -> bool:
    try:
        verify_signature(signed, key)
    except Exception:
        return False
    return True


@contextmanager
def raw_database(ledger: Ledger) -> Iterator[tuple[Any, str, str]]:
    """A DB-API connection to the ledger's database, its table and placeholder."""
    table = ledger.recorder.events_table_name  # type: ignore[attr-defined]
    url = ledger.settings.database_url
    if url is None:
        sqlite = sqlite3.connect(ledger.settings.home / SQLITE_FILE)
        try:
            yield sqlite, table, "?"
            sqlite.commit()
        finally:
            sqlite.close()
        return
    parts = urlsplit(url)
    schema = parse_qs(parts.query)["schema"][0]
    with psycopg.connect(urlunsplit(parts._replace(query="")), autocommit=True) as pg:
        yield pg, f"{schema}.{table}", "%s"


def overwrite_row(ledger: Ledger, stream: str, version: int, state: bytes) -> None:
    with raw_database(ledger) as (conn, table, mark):
        cursor = conn.execute(
            f"UPDATE {table} SET state = {mark} "
            f"WHERE originator_id = {mark} AND originator_version = {mark}",
            (state, stream, version),
        )
        assert cursor.rowcount == 1


def stored_state(ledger: Ledger, stream: str, version: int) -> bytes:
    rows = ledger.recorder.select_events(stream, gt=version - 1, lte=version)
    return bytes(rows[0].state)


@pytest.mark.parametrize(
    ("source", "phrase"),
    [
        (("assessment/KEN/1", 2), "holds the entry of 'assessment/KEN/1' version 2"),
        (("assessment/BRA/1", 3), "holds the entry of 'assessment/BRA/1' version 3"),
        (("registry", 3), "holds the entry of 'registry' version 3"),
    ],
    ids=["other-version", "other-stream", "other-type"],
)
def test_row_altered_to_another_stream_or_version_is_refused_on_read(
    world: World, source: tuple[str, int], phrase: str
) -> None:
    populate(world)
    settings = world.ledger.settings
    # Version 3 of KEN is a value.submitted, like version 2 of KEN and version
    # 3 of BRA: the topic column still matches, only the bytes moved.
    overwrite_row(world.ledger, world.KEN, 3, stored_state(world.ledger, *source))
    world.ledger.close()
    fresh = open_ledger(settings)
    try:
        with pytest.raises(MapperDeserialisationError) as caught:
            fresh.aggregate(world.KEN)
        assert "stored event 'assessment/KEN/1' version 3" in str(caught.value)
        assert phrase in str(caught.value)
        assert "altered" in str(caught.value)
        # Other streams still read.
        assert fresh.stream_version(world.BRA) >= 3
    finally:
        fresh.close()


def test_row_with_non_canonical_bytes_is_refused_on_read(world: World) -> None:
    populate(world)
    raw = stored_state(world.ledger, world.KEN, 3)
    pretty = json.dumps(json.loads(raw), indent=1).encode()
    overwrite_row(world.ledger, world.KEN, 3, pretty)
    settings = world.ledger.settings
    world.ledger.close()
    fresh = open_ledger(settings)
    try:
        with pytest.raises(MapperDeserialisationError, match="unreadable"):
            fresh.aggregate(world.KEN)
    finally:
        fresh.close()
