"""The access log: an append-only, hash-chained table of restricted reads.

docs/design.md §1 gives integrity officers "the access log" to read: every read that
shows a ``restricted`` value records who read what, when, through which
request and with which token. The table ``pmm_access_log`` lives beside the
integrity log in the ledger's database (both backends) and is append-only
three times over (decision 13):

* this module has no way to update or delete a record;
* the database refuses UPDATE and DELETE on the table (triggers on SQLite
  and on PostgreSQL; also REPLACE on SQLite and TRUNCATE on PostgreSQL, which
  bypass delete triggers), so a mistaken script fails loudly;
* each record carries the hash of the one before (``verify/formats/access_chain.py``),
  so an operator who drops the trigger and edits a row is caught by
  ``check()``, and a head noted once by an officer pins everything before it;
* the ledger seals the head into the integrity log at every write that
  follows restricted reads (``access_log.sealed``, decision 16), and
  ``check()`` holds the chain to every seal: deleting records and recomputing
  the chain contradicts a witnessed checkpoint.

Appends are serialised by a lock row updated first in the transaction (as
``pmm_log_lock`` serialises integrators), so ``seq`` is gapless on both
backends even with several server processes.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from ledger.domain.seals import SEALS_STREAM
from ledger.log_store import LogStore
from verify.formats.access_chain import (
    GENESIS,
    ChainResult,
    SealMark,
    check_chain,
    record_hash,
)
from verify.formats.canonical import canonical_bytes
from verify.formats.entry import parse_entry
from verify.formats.statement import format_timestamp

PAGE_LIMIT = 1000


@dataclass(frozen=True)
class AccessPage:
    """One page of records, and the cursor that continues after it."""

    records: list[dict[str, Any]]
    next_cursor: int | None


class AccessLog:
    """Append and read access records in the ledger's database."""

    def __init__(self, store: LogStore) -> None:
        self.store = store
        self._create()

    def _create(self) -> None:
        with self.store.transaction(commit=True) as cur:
            cur.execute(
                "CREATE TABLE IF NOT EXISTS {p}pmm_access_log (seq BIGINT PRIMARY KEY, "
                "recorded_at TEXT NOT NULL, principal TEXT NOT NULL, member TEXT, "
                "record TEXT NOT NULL, hash TEXT NOT NULL)"
            )
            cur.execute(
                "CREATE TABLE IF NOT EXISTS {p}pmm_access_lock ("
                "id INTEGER PRIMARY KEY, generation BIGINT NOT NULL)"
            )
            if cur.execute("SELECT COUNT(*) FROM {p}pmm_access_lock").one() == (0,):
                cur.execute("INSERT INTO {p}pmm_access_lock (id, generation) VALUES (1, 0)")
            # Append-only (decision 13): the dialect's triggers refuse UPDATE,
            # DELETE, REPLACE and TRUNCATE, whichever the backend has.
            self.store.dialect.append_only(cur, self.store.prefix, "pmm_access_log", "seq")

    def append(
        self,
        *,
        principal: str,
        role: str,
        member: str | None,
        request: str,
        shown: list[str],
        token: str,
    ) -> dict[str, Any]:
        """Record one read; return the record with its ``seq`` and ``hash``."""
        with self.store.transaction(commit=True) as cur:
            cur.execute("UPDATE {p}pmm_access_lock SET generation = generation + 1")
            last = cur.execute(
                "SELECT seq, hash FROM {p}pmm_access_log ORDER BY seq DESC LIMIT 1"
            ).one()
            seq, prev = (0, GENESIS) if last is None else (int(last[0]) + 1, str(last[1]))
            now = format_timestamp(datetime.now(UTC))
            record: dict[str, Any] = {
                "seq": seq,
                "recorded_at": now,
                "principal": principal,
                "role": role,
                "member": member,
                "request": request,
                "shown": shown,
                "token": token,
                "prev": prev,
            }
            record["hash"] = record_hash(record)
            cur.execute(
                "INSERT INTO {p}pmm_access_log (seq, recorded_at, principal, member, "
                "record, hash) VALUES (%s, %s, %s, %s, %s, %s)",
                (
                    seq,
                    now,
                    principal,
                    member,
                    canonical_bytes(record).decode(),
                    record["hash"],
                ),
            )
        return record

    def query(
        self,
        *,
        principal: str | None = None,
        member: str | None = None,
        since: str | None = None,
        until: str | None = None,
        cursor: int = 0,
        limit: int = 100,
    ) -> AccessPage:
        """Records from ``seq`` ``cursor`` on that match every filter given.

        ``since``/``until`` (inclusive) compare ``recorded_at`` strings in the
        fixed-width form of ``format_timestamp``, so text order is time order.
        The cursor is a ``seq``: records are never changed or removed, so a page
        read again later holds the same records, and new ones only ever appear
        after the last page.
        """
        where: list[str] = ["seq >= %s"]
        params: list[Any] = [cursor]
        for column, op, value in (
            ("principal", "=", principal),
            ("member", "=", member),
            ("recorded_at", ">=", since),
            ("recorded_at", "<=", until),
        ):
            if value is not None:
                where.append(f"{column} {op} %s")
                params.append(value)
        limit = max(1, min(limit, PAGE_LIMIT))
        with self.store.read() as cur:
            rows = cur.execute(
                f"SELECT seq, record FROM {{p}}pmm_access_log WHERE {' AND '.join(where)} "
                "ORDER BY seq LIMIT %s",
                [*params, limit + 1],
            ).all()
        records = [json.loads(text) for _, text in rows[:limit]]
        more = len(rows) > limit
        return AccessPage(records, int(rows[limit][0]) if more else None)

    def records(self, batch: int = PAGE_LIMIT) -> Iterator[dict[str, Any]]:
        """Every record in ``seq`` order, read in batches."""
        after = 0
        while True:
            with self.store.read() as cur:
                rows = cur.execute(
                    "SELECT seq, recorded_at, principal, member, hash, record "
                    "FROM {p}pmm_access_log WHERE seq >= %s ORDER BY seq LIMIT %s",
                    (after, batch),
                ).all()
            for *columns, text in rows:
                try:
                    record = json.loads(text)
                except ValueError:
                    record = None
                if not isinstance(record, dict):  # check_chain reports it malformed
                    yield {"seq": int(columns[0]), "unreadable": str(text)[:80]}
                    continue
                # The filter columns are copies of the record's fields: a copy edited
                # to hide a record from a filtered query breaks the chain as well.
                copies = [record.get(k) for k in ("seq", "recorded_at", "principal")]
                copies += [record.get("member"), record.get("hash")]
                if copies != list(columns):
                    record["hash"] = "columns differ from the record"
                yield record
            if len(rows) < batch:
                return
            after = int(rows[-1][0]) + 1

    def head(self) -> tuple[int, str]:
        """(size, head hash) of the chain as stored: what a seal names."""
        with self.store.read() as cur:
            last = cur.execute(
                "SELECT seq, hash FROM {p}pmm_access_log ORDER BY seq DESC LIMIT 1"
            ).one()
        return (0, GENESIS) if last is None else (int(last[0]) + 1, str(last[1]))

    def heads(self) -> tuple[tuple[int, bytes] | None, tuple[int, str]]:
        """The newest stored event, as (notification id, state), and the
        chain's head (as ``head``), in one read: what a write looks at first."""
        events, rowid = self.store.events_table, self.store.dialect.rowid
        newest = f"FROM {events} ORDER BY {rowid} DESC LIMIT 1"
        last = "FROM {p}pmm_access_log ORDER BY seq DESC LIMIT 1"
        with self.store.read() as cur:
            row = cur.execute(
                # Named columns: PostgreSQL's rows are dicts by column name.
                f"SELECT (SELECT {rowid} {newest}) AS nid, "
                f"(SELECT state {newest}) AS state, "
                f"(SELECT seq {last}) AS seq, (SELECT hash {last}) AS head"
            ).one()
        assert row is not None
        nid, state, seq, head = row
        event = None if nid is None else (int(nid), bytes(state))
        return event, (0, GENESIS) if seq is None else (int(seq) + 1, str(head))

    def seals(self) -> list[SealMark]:
        """Every seal the integrity log holds, in log order."""
        found = []
        for index, raw in self.store.stream_entries([SEALS_STREAM], self.store.size()):
            body = parse_entry(raw).signed.body
            found.append(SealMark(int(body["size"]), str(body["head"]), index))
        return found

    def check(self) -> ChainResult:
        """Walk the whole chain: its size and head, or the first broken record or
        seal it contradicts."""
        return check_chain(self.records(), self.seals())
