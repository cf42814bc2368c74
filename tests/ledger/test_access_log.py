"""The access log (``ledger/access_log.py``, decision 13) on both backends.

What is proven: appends get a gapless ``seq`` from 0, each record names the
hash of the one before, and ``check()`` verifies the chain and reports its
head; ``query`` filters by principal, Member and time and pages with a cursor
that is stable while the log grows; the database itself refuses UPDATE and
DELETE (and the statements that overwrite or empty a table without them); an
operator who drops the guard and edits a record, its column copies, deletes or
reorders records is caught by ``check()`` at the right ``seq``; concurrent
appends stay gapless; and the hash is SHA-256 of the RFC 8785 bytes of exactly
the fields ``verify/formats/access_chain.py`` lists, checked against a naive reference
implementation written here.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import threading
from collections.abc import Callable
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import pytest
import rfc8785

from ledger.access_log import PAGE_LIMIT, AccessLog, AccessPage
from ledger.application import Ledger
from ledger.dialect import POSTGRESQL
from ledger.home import open_ledger
from ledger.log_store import LogStore
from verify.formats.access_chain import FIELDS, GENESIS, ChainResult, record_hash
from verify.formats.canonical import canonical_bytes
from verify.formats.statement import format_timestamp, parse_timestamp

if TYPE_CHECKING:
    from tests.conftest import Operator

COLUMNS = "seq, recorded_at, principal, member, record, hash"

# Three readers: (principal, role, member).
OFFICER = ("integrity", "integrity_officer", None)
NCP_KEN = ("ncp-ken", "ncp", "KEN")
SEC = ("sec", "secretariat", None)


@pytest.fixture
def log(ledger: Ledger) -> AccessLog:
    return AccessLog(ledger.sequencer.store)


# -- helpers -------------------------------------------------------------------


def append(
    log: AccessLog, n: int, reader: tuple[str, str, str | None] = OFFICER
) -> dict[str, Any]:
    """Record read number ``n`` by ``reader`` (request, shown and token name n)."""
    principal, role, member = reader
    return log.append(
        principal=principal,
        role=role,
        member=member,
        request=f"GET /v1/assessments/assessment/KEN/1/values?read={n}",
        shown=[f"assessment/KEN/1#{n}", f"assessment/KEN/1#{n + 1}"],
        token=f"jti-{n}",
    )


def execute(store: LogStore, sql: str, params: tuple[Any, ...] = ()) -> None:
    """One raw statement in its own committed transaction (``{p}``, ``%s``)."""
    with store.transaction(commit=True) as cur:
        cur.execute(sql, params)


def rows(store: LogStore) -> list[tuple[Any, ...]]:
    """Every stored row, all columns, in ``seq`` order."""
    with store.read() as cur:
        return cur.execute(f"SELECT {COLUMNS} FROM {{p}}pmm_access_log ORDER BY seq").all()


def stored(store: LogStore, seq: int) -> dict[str, Any]:
    with store.read() as cur:
        row = cur.execute(
            "SELECT record FROM {p}pmm_access_log WHERE seq = %s", (seq,)
        ).one()
    assert row is not None
    found: dict[str, Any] = json.loads(row[0])
    return found


def write_record(store: LogStore, record: dict[str, Any]) -> None:
    """Overwrite the stored JSON of ``record['seq']`` (the columns are left alone)."""
    execute(
        store,
        "UPDATE {p}pmm_access_log SET record = %s WHERE seq = %s",
        (json.dumps(record), record["seq"]),
    )


def naive_hash(record: dict[str, Any]) -> str:
    """The reference: SHA-256 of the JCS bytes of the record without ``hash``."""
    unhashed = {name: value for name, value in record.items() if name != "hash"}
    return hashlib.sha256(rfc8785.dumps(unhashed)).hexdigest()


def seqs(page: AccessPage) -> list[int]:
    return [int(record["seq"]) for record in page.records]


def broken(result: ChainResult, at: int, *phrases: str) -> None:
    """``check()`` found the first break at ``at``; the verified prefix is before it."""
    assert not result.ok
    assert result.broken_at == at and result.size == at
    for phrase in phrases:
        assert phrase in result.problem, f"{phrase!r} not in {result.problem!r}"


@pytest.fixture
def six(log: AccessLog) -> list[dict[str, Any]]:
    """Six records, seq 0..5, by three readers; the tamper tests edit seq 2."""
    readers = [OFFICER, NCP_KEN, SEC, OFFICER, NCP_KEN, SEC]
    records = [append(log, n, reader) for n, reader in enumerate(readers)]
    assert log.check().ok
    return records


# -- appends and the chain -------------------------------------------------------


def test_empty_log_checks_with_the_genesis_head(log: AccessLog) -> None:
    assert log.check() == ChainResult(0, GENESIS)
    assert log.query() == log.query(cursor=5)
    assert log.query().records == [] and log.query().next_cursor is None


def test_appends_are_gapless_and_each_names_the_previous_hash(log: AccessLog) -> None:
    records = [append(log, n, reader) for n, reader in enumerate([OFFICER, NCP_KEN] * 4)]
    assert [r["seq"] for r in records] == list(range(8))
    assert records[0]["prev"] == GENESIS
    for before, after in itertools.pairwise(records):
        assert after["prev"] == before["hash"]
        assert after["recorded_at"] >= before["recorded_at"]
    assert len({r["hash"] for r in records}) == 8
    # What append returned is what is stored and read back.
    assert list(log.records()) == records
    result = log.check()
    assert result == ChainResult(8, records[-1]["hash"])
    assert result.ok and result.problem == ""
    # The filter columns are copies of the record's fields.
    for row, record in zip(rows(log.store), records, strict=True):
        assert row == (
            record["seq"],
            record["recorded_at"],
            record["principal"],
            record["member"],
            canonical_bytes(record).decode(),
            record["hash"],
        )


def test_recorded_at_is_fixed_width_rfc3339_utc(log: AccessLog) -> None:
    # since/until compare strings: only a fixed width makes text order time order.
    stamps = [append(log, n)["recorded_at"] for n in range(3)]
    for stamp in stamps:
        assert len(stamp) == len("2031-03-14T09:26:53.000001Z") and stamp.endswith("Z")
        assert format_timestamp(parse_timestamp(stamp)) == stamp
    assert stamps == sorted(stamps)


# -- the hash bytes: a naive reference implementation ------------------------------


def test_record_hash_agrees_with_a_naive_reference(log: AccessLog) -> None:
    records = [append(log, n, reader) for n, reader in enumerate([OFFICER, NCP_KEN, SEC])]
    prev = GENESIS
    for record in records:
        # Exactly the listed fields and the hash: nothing else in a record.
        assert set(record) == {*FIELDS, "hash"}
        assert record["prev"] == prev
        assert naive_hash(record) == record_hash(record) == record["hash"]
        prev = record["hash"]
    assert log.check().head == prev


def test_record_hash_golden_bytes() -> None:
    # The JCS bytes written out by hand: keys in code-unit order, no spaces,
    # non-ASCII as raw UTF-8, integers bare, null for no Member.
    record: dict[str, Any] = {
        "seq": 7,
        "recorded_at": "2031-03-14T09:26:53.000001Z",
        "principal": "integrity",
        "role": "integrity_officer",
        "member": None,
        "request": "GET /v1/log/entries/12",
        "shown": ["assessment/KEN/1#12", "São Tomé"],
        "token": "jti-Ab_9",
        "prev": GENESIS,
        "hash": "ignored: the hash never hashes itself",
    }
    expected = (
        '{"member":null,"prev":"' + GENESIS + '","principal":"integrity",'
        '"recorded_at":"2031-03-14T09:26:53.000001Z","request":"GET /v1/log/entries/12",'
        '"role":"integrity_officer","seq":7,"shown":["assessment/KEN/1#12","São Tomé"],'
        '"token":"jti-Ab_9"}'
    ).encode()
    assert rfc8785.dumps({k: v for k, v in record.items() if k != "hash"}) == expected
    assert record_hash(record) == hashlib.sha256(expected).hexdigest()
    assert record_hash(record) == (
        "3289b8356e9be2bf976ed393a85d57e04cc7ba1c7af88d1cd4a79b43b87a1384"
    )


def test_chain_built_by_the_reference_checks(log: AccessLog) -> None:
    # 1,050 records made by hand with the naive hash, stored in one transaction:
    # check() accepts them and reaches the same head (and queries page them).
    count = PAGE_LIMIT + 50
    prev, batch = GENESIS, list[tuple[Any, ...]]()
    for seq in range(count):
        record: dict[str, Any] = {
            "seq": seq,
            "recorded_at": f"2031-03-14T09:{seq // 60000:02d}:{seq // 1000 % 60:02d}"
            f".{seq % 1000:03d}000Z",
            "principal": "ncp-ken" if seq % 3 else "integrity",
            "role": "ncp" if seq % 3 else "integrity_officer",
            "member": "KEN" if seq % 3 else None,
            "request": f"GET /v1/{seq}",
            "shown": [f"assessment/KEN/1#{seq}"],
            "token": f"jti-{seq}",
            "prev": prev,
        }
        record["hash"] = prev = naive_hash(record)
        text = rfc8785.dumps(record).decode()
        batch.append(
            (seq, record["recorded_at"], record["principal"], record["member"], text, prev)
        )
    with log.store.transaction(commit=True) as cur:
        cur.executemany(
            f"INSERT INTO {{p}}pmm_access_log ({COLUMNS}) VALUES (%s, %s, %s, %s, %s, %s)",
            batch,
        )
    assert log.check() == ChainResult(count, prev)
    # And the next append continues the hand-made chain.
    assert append(log, count)["prev"] == prev and log.check().size == count + 1
    # Limits are bounded: at most PAGE_LIMIT, at least one.
    assert len(log.query(limit=PAGE_LIMIT + 500).records) == PAGE_LIMIT
    assert len(log.query(limit=10**9).records) == PAGE_LIMIT
    for small in (0, -5):
        page = log.query(limit=small)
        assert [r["seq"] for r in page.records] == [0] and page.next_cursor == 1


# -- query -----------------------------------------------------------------------


def test_query_filters_by_principal_and_member(
    log: AccessLog, six: list[dict[str, Any]]
) -> None:
    assert seqs(log.query(principal="ncp-ken")) == [1, 4]
    assert seqs(log.query(principal="integrity")) == [0, 3]
    assert seqs(log.query(member="KEN")) == [1, 4]
    assert seqs(log.query(principal="ncp-ken", member="KEN")) == [1, 4]
    assert seqs(log.query(principal="sec", member="KEN")) == []
    assert seqs(log.query(principal="nobody")) == []
    # A filter is not a pattern: no LIKE wildcards, no prefix match.
    assert seqs(log.query(principal="%")) == seqs(log.query(principal="ncp")) == []
    assert log.query(principal="ncp-ken").records == [six[1], six[4]]


def test_query_filters_by_time(log: AccessLog, six: list[dict[str, Any]]) -> None:
    # Bounds are in the stored form (format_timestamp) and both are inclusive.
    at = [r["recorded_at"] for r in six]
    assert seqs(log.query(since=at[3])) == [3, 4, 5]
    assert seqs(log.query(until=at[3])) == [0, 1, 2, 3]
    assert seqs(log.query(since=at[1], until=at[4])) == [1, 2, 3, 4]
    assert seqs(log.query(since=at[2], until=at[2])) == [2]
    assert seqs(log.query(since=at[4], until=at[1])) == []
    # One microsecond either side of a record leaves it out.
    micro = timedelta(microseconds=1)
    after_2 = format_timestamp(parse_timestamp(at[2]) + micro)
    before_4 = format_timestamp(parse_timestamp(at[4]) - micro)
    assert seqs(log.query(since=after_2, until=before_4)) == [3]
    assert seqs(log.query(since=at[2], principal="ncp-ken")) == [4]


def test_cursor_is_stable_while_the_log_grows(log: AccessLog) -> None:
    for n in range(7):
        append(log, n)
    first = log.query(limit=3)
    second = log.query(cursor=first.next_cursor or 0, limit=3)
    assert seqs(first) == [0, 1, 2] and first.next_cursor == 3
    assert seqs(second) == [3, 4, 5] and second.next_cursor == 6
    for n in range(7, 12):
        append(log, n)
    # Pages read again hold the same records and the same cursors...
    assert log.query(limit=3) == first
    assert log.query(cursor=3, limit=3) == second
    # ...and the new records only ever come after the pages already read.
    later: list[int] = []
    cursor: int | None = second.next_cursor
    while cursor is not None:
        page = log.query(cursor=cursor, limit=3)
        later += seqs(page)
        cursor = page.next_cursor
    assert later == list(range(6, 12))
    # A reader who reached the end continues from its last seq + 1.
    append(log, 12)
    assert seqs(log.query(cursor=12, limit=3)) == [12]


def test_filtered_cursor_skips_to_the_next_match(log: AccessLog) -> None:
    for n, reader in enumerate([OFFICER, NCP_KEN, SEC, SEC, NCP_KEN, SEC, NCP_KEN]):
        append(log, n, reader)
    page = log.query(principal="ncp-ken", limit=2)
    assert seqs(page) == [1, 4] and page.next_cursor == 6
    append(log, 7, NCP_KEN)
    assert log.query(principal="ncp-ken", limit=2) == page
    rest = log.query(principal="ncp-ken", cursor=6, limit=2)
    assert seqs(rest) == [6, 7] and rest.next_cursor is None


# -- the database refuses UPDATE and DELETE -------------------------------------


@pytest.mark.parametrize(
    ("sql", "params"),
    [
        ("UPDATE {p}pmm_access_log SET record = %s WHERE seq = 1", ("{}",)),
        ("UPDATE {p}pmm_access_log SET principal = %s WHERE seq = 1", ("someone",)),
        ("UPDATE {p}pmm_access_log SET hash = %s", ("0" * 64,)),
        ("UPDATE {p}pmm_access_log SET seq = seq + 100 WHERE seq = 5", ()),
        ("DELETE FROM {p}pmm_access_log WHERE seq = 1", ()),
        ("DELETE FROM {p}pmm_access_log WHERE seq = 5", ()),  # the tail
        ("DELETE FROM {p}pmm_access_log", ()),  # SQLite's truncate path
        (
            f"INSERT INTO {{p}}pmm_access_log ({COLUMNS}) VALUES (1, 'x', 'y', NULL, "
            "'{}', 'h') ON CONFLICT (seq) DO UPDATE SET principal = 'someone'",
            (),
        ),
    ],
    ids=[
        "update-record",
        "update-principal-copy",
        "update-every-hash",
        "update-seq",
        "delete-middle",
        "delete-tail",
        "delete-all",
        "upsert",
    ],
)
def test_database_refuses_update_and_delete(
    log: AccessLog, six: list[dict[str, Any]], sql: str, params: tuple[Any, ...]
) -> None:
    store = log.store
    before = rows(store)
    with pytest.raises(Exception, match="pmm_access_log is append-only"):
        execute(store, sql, params)
    assert rows(store) == before
    assert log.check() == ChainResult(6, six[-1]["hash"])


def test_sqlite_replace_is_refused(log: AccessLog, six: list[dict[str, Any]]) -> None:
    # INSERT OR REPLACE deletes the conflicting row without firing the DELETE
    # trigger (SQLite fires delete triggers for REPLACE only with
    # recursive_triggers on): a row overwritten with no UPDATE or DELETE.
    store = log.store
    if store.dialect is POSTGRESQL:
        pytest.skip("PostgreSQL has no REPLACE; its upsert is refused above")
    before = rows(store)
    forged = {**six[1], "principal": "someone-else"}
    for verb in ("INSERT OR REPLACE", "REPLACE"):
        with pytest.raises(Exception, match="append-only"):
            execute(
                store,
                f"{verb} INTO {{p}}pmm_access_log ({COLUMNS}) "
                "VALUES (%s, %s, %s, %s, %s, %s)",
                (1, forged["recorded_at"], "someone-else", None, json.dumps(forged), "h"),
            )
    assert rows(store) == before


def test_postgres_truncate_is_refused(log: AccessLog, six: list[dict[str, Any]]) -> None:
    # TRUNCATE removes every row without firing UPDATE or DELETE triggers; the
    # emptied log then checks as a valid chain of size 0.
    store = log.store
    if store.dialect is not POSTGRESQL:
        pytest.skip("SQLite has no TRUNCATE; DELETE without WHERE is refused above")
    before = rows(store)
    with pytest.raises(Exception, match="append-only"):
        execute(store, "TRUNCATE {p}pmm_access_log")
    assert rows(store) == before


def test_opening_the_log_restores_a_dropped_guard(
    ledger: Ledger, log: AccessLog, operator: Operator
) -> None:
    append(log, 0)
    operator.drop_access_guards()
    reopened = AccessLog(ledger.sequencer.store)  # as the server does at start
    with pytest.raises(Exception, match="append-only"):
        execute(reopened.store, "DELETE FROM {p}pmm_access_log")
    assert reopened.check().size == 1


# -- tampering behind the guard is caught by check() -----------------------------


def _edit_shown(store: LogStore) -> None:
    record = stored(store, 2)
    record["shown"] = []  # hide what was shown
    write_record(store, record)


def _edit_principal_everywhere(store: LogStore) -> None:
    # The JSON and its column copy agree: only the hash can tell.
    record = stored(store, 2)
    record["principal"] = "integrity"
    write_record(store, record)
    execute(store, "UPDATE {p}pmm_access_log SET principal = 'integrity' WHERE seq = 2")


def _add_a_field(store: LogStore) -> None:
    # Nothing listed in FIELDS changes; the record gains a field of its own.
    record = stored(store, 2)
    record["approved_by"] = "the director"
    write_record(store, record)


def _not_json(store: LogStore) -> None:
    execute(store, "UPDATE {p}pmm_access_log SET record = 'gone' WHERE seq = 2")


def _edit_principal_copy(store: LogStore) -> None:
    # Hides read 2 from query(principal="sec") without touching the record.
    execute(store, "UPDATE {p}pmm_access_log SET principal = 'nobody' WHERE seq = 2")


def _edit_recorded_at_copy(store: LogStore) -> None:
    # Hides read 2 from a since/until window.
    execute(store, "UPDATE {p}pmm_access_log SET recorded_at = '1999' WHERE seq = 2")


def _edit_member_copy(store: LogStore) -> None:
    execute(store, "UPDATE {p}pmm_access_log SET member = 'BRA' WHERE seq = 2")


def _edit_hash_copy(store: LogStore) -> None:
    execute(store, "UPDATE {p}pmm_access_log SET hash = %s WHERE seq = 2", ("0" * 64,))


def _delete_middle(store: LogStore) -> None:
    execute(store, "DELETE FROM {p}pmm_access_log WHERE seq = 2")


def _swap_rows(store: LogStore) -> None:
    # Records 2 and 3 trade places (every column but seq).
    two, three = stored(store, 2), stored(store, 3)
    for seq, record in ((2, three), (3, two)):
        execute(
            store,
            "UPDATE {p}pmm_access_log SET recorded_at = %s, principal = %s, member = %s, "
            "record = %s, hash = %s WHERE seq = %s",
            (
                record["recorded_at"],
                record["principal"],
                record["member"],
                json.dumps(record),
                record["hash"],
                seq,
            ),
        )


def _rehash(store: LogStore) -> None:
    # Record 2 edited and given a correct new hash, everywhere; record 3 still
    # names the old one.
    record = stored(store, 2)
    record["shown"] = []
    record["hash"] = record_hash(record)
    write_record(store, record)
    execute(
        store, "UPDATE {p}pmm_access_log SET hash = %s WHERE seq = 2", (record["hash"],)
    )


TAMPERS: list[tuple[Callable[[LogStore], None], int, str]] = [
    (_edit_shown, 2, "record 2 does not match its hash"),
    (_edit_principal_everywhere, 2, "record 2 does not match its hash"),
    (_add_a_field, 2, "record 2"),
    (_not_json, 2, "record 2"),
    (_edit_principal_copy, 2, "record 2"),
    (_edit_recorded_at_copy, 2, "record 2"),
    (_edit_member_copy, 2, "record 2"),
    (_edit_hash_copy, 2, "record 2"),
    (_delete_middle, 2, "record 3 where 2 was expected"),
    (_swap_rows, 2, "record 3 where 2 was expected"),
    (_rehash, 3, "record 3 does not name its predecessor"),
]


@pytest.mark.parametrize(
    ("tamper", "at", "problem"),
    TAMPERS,
    ids=[tamper.__name__.strip("_") for tamper, _, _ in TAMPERS],
)
def test_tampering_behind_the_guard_is_caught(
    log: AccessLog,
    six: list[dict[str, Any]],
    operator: Operator,
    tamper: Callable[[LogStore], None],
    at: int,
    problem: str,
) -> None:
    operator.drop_access_guards()
    tamper(log.store)
    result = log.check()
    broken(result, at, problem)
    # The head reported is that of the verified prefix, before the break.
    assert result.head == stored(log.store, at - 1)["hash"]


def test_edited_principal_copy_hides_a_read_from_queries_but_not_from_check(
    log: AccessLog, six: list[dict[str, Any]], operator: Operator
) -> None:
    assert seqs(log.query(principal="sec")) == [2, 5]
    operator.drop_access_guards()
    _edit_principal_copy(log.store)
    assert seqs(log.query(principal="sec")) == [5]  # the read is hidden...
    broken(log.check(), 2, "record 2")  # ...and the chain says where


def test_cutting_the_tail_moves_the_head_an_officer_noted(
    log: AccessLog, six: list[dict[str, Any]], operator: Operator
) -> None:
    # Removing the newest records leaves a valid, shorter chain: what catches
    # it is the head an officer noted before (size and hash), as documented.
    noted = log.check()
    operator.drop_access_guards()
    execute(log.store, "DELETE FROM {p}pmm_access_log WHERE seq >= 4")
    now = log.check()
    assert now.ok and (now.size, now.head) == (4, six[3]["hash"])
    assert (now.size, now.head) != (noted.size, noted.head)
    # Appending again cannot reach the noted head: the records differ.
    append(log, 4)
    append(log, 5)
    again = log.check()
    assert again.size == noted.size and again.head != noted.head


# -- concurrency ---------------------------------------------------------------


THREADS = 8
EACH = 12


def _append_concurrently(logs: list[AccessLog]) -> list[dict[str, Any]]:
    """THREADS threads, thread i appending EACH records through logs[i % len]."""
    start = threading.Barrier(THREADS)
    done: list[dict[str, Any]] = []
    errors: list[BaseException] = []
    guard = threading.Lock()

    def work(thread: int) -> None:
        log = logs[thread % len(logs)]
        try:
            start.wait()
            for i in range(EACH):
                record = log.append(
                    principal=f"reader-{thread}",
                    role="secretariat",
                    member=None,
                    request=f"GET /v1/{thread}/{i}",
                    shown=[],
                    token=f"jti-{thread}-{i}",
                )
                with guard:
                    done.append(record)
        except BaseException as exc:  # reported below
            with guard:
                errors.append(exc)

    threads = [threading.Thread(target=work, args=(t,)) for t in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads), "an append hung"
    assert errors == [], errors
    return done


def test_concurrent_appends_through_one_store_are_gapless(log: AccessLog) -> None:
    done = _append_concurrently([log])
    check_concurrent(log, done)


def test_concurrent_appends_through_two_ledger_instances_are_gapless(
    ledger: Ledger, log: AccessLog
) -> None:
    # A second Ledger on the same database stands for a second server process.
    other = open_ledger(ledger.settings)
    try:
        done = _append_concurrently([log, AccessLog(other.sequencer.store)])
    finally:
        other.close()
    check_concurrent(log, done)


def check_concurrent(log: AccessLog, done: list[dict[str, Any]]) -> None:
    total = THREADS * EACH
    assert sorted(r["seq"] for r in done) == list(range(total))
    # What each append returned is exactly what was stored at its seq.
    assert sorted(done, key=lambda r: r["seq"]) == list(log.records())
    # Each thread's own appends are in its order.
    for thread in range(THREADS):
        mine = [r for r in log.records() if r["principal"] == f"reader-{thread}"]
        assert [r["token"] for r in mine] == [f"jti-{thread}-{i}" for i in range(EACH)]
    assert log.check() == ChainResult(total, max(done, key=lambda r: r["seq"])["hash"])
