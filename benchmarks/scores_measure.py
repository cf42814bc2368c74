"""The scores benchmark's measured operations and their baselines (plain reads)."""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from time import perf_counter

from benchmarks.scores_workload import reference_year
from ledger.application import Ledger
from ledger.domain.framework import FRAMEWORK_STREAM
from ledger.log_store import LogStore
from ledger.scores import replay_board
from projections.log_reader import LogReader
from projections.timetravel import find_assessment, position, scores
from verify.formats.entry import parse_entry
from verify.formats.statement import format_timestamp, parse_timestamp
from verify.scoring.scoreboard import Scoreboard

READ_CHUNK = 5000  # log entries per read, as the projection warms its board
CATCH_UP_BATCH = 2000  # LiveScores.catch_up's default batch


def read_chunks(store: LogStore, size: int) -> int:
    """Baseline: the entries below ``size``, read in chunks; nothing else."""
    total = 0
    for start in range(0, size, READ_CHUNK):
        for _, raw in store.entries(start, min(size, start + READ_CHUNK)):
            total += len(raw)
    return total


def decode_chunks(store: LogStore, size: int) -> int:
    """Floor: the same read, and every entry decoded by ``json.loads`` alone (no
    canonical-form or field checks): what any replay that decodes JSON pays."""
    total = 0
    for start in range(0, size, READ_CHUNK):
        for _, raw in store.entries(start, min(size, start + READ_CHUNK)):
            total += json.loads(raw)["stream_version"]
    return total


def parse_chunks(store: LogStore, size: int) -> int:
    """Baseline: the same read, and every entry parsed (``parse_entry``)."""
    total = 0
    for start in range(0, size, READ_CHUNK):
        for _, raw in store.entries(start, min(size, start + READ_CHUNK)):
            total += parse_entry(raw).stream_version
    return total


def replay_chunks(store: LogStore, size: int) -> Scoreboard:
    """The same read and parse, every entry applied to one scoreboard."""
    board = Scoreboard()
    for start in range(0, size, READ_CHUNK):
        board.apply_all(
            (i, parse_entry(raw))
            for i, raw in store.entries(start, min(size, start + READ_CHUNK))
        )
    return board


def all_tables(board: Scoreboard) -> int:
    """Every assessment's score tables for its years T-1 and T; rows made."""
    rows = 0
    for stream, state in board.assessments.items():
        for year in (state.reference_year - 1, state.reference_year):
            rows += len(board.table(stream, year).rows)
    return rows


def all_scores_chunked(store: LogStore, size: int) -> int:
    """All scores as of log size ``size``: replay, then every table."""
    return all_tables(replay_chunks(store, size))


def read_streams(store: LogStore, streams: list[str], size: int) -> int:
    """Baseline for ``replay_board``: its own query (``stream_entries``), nothing else."""
    return sum(
        len(raw) for _, raw in store.stream_entries([FRAMEWORK_STREAM, *streams], size)
    )


def all_scores_by_board(store: LogStore, streams: list[str], size: int) -> int:
    """All scores through the library call: ``replay_board`` over every stream."""
    return all_tables(replay_board(store, streams, size))


def read_notifications(ledger: Ledger) -> int:
    """Baseline for the rebuild: the notification log, read as ``catch_up`` reads it."""
    total, last = 0, 0
    while True:
        notes = ledger.recorder.select_notifications(start=last + 1, limit=CATCH_UP_BATCH)
        if not notes:
            return total
        last = notes[-1].id
        total += sum(len(bytes(n.state)) for n in notes)


@dataclass
class Query:
    member: str
    year: int
    stream: str
    as_of: str
    total: float
    find: float
    position: float
    replay: float
    read_member: float
    read_replayed: float
    size: int
    entries: int


def pick_queries(ledger: Ledger, count: int, rng: random.Random) -> list[tuple[str, str]]:
    """(stream, as-of time) pairs: random assessments, random times after each opened."""
    store = ledger.sequencer.store
    opened = store.opened("assessment/")
    ((_, last),) = store.entries(ledger.log_size() - 1, ledger.log_size())
    end = parse_timestamp(parse_entry(last).recorded_at)
    chosen = []
    for stream, raw in rng.sample(opened, min(count, len(opened))):
        begin = parse_timestamp(parse_entry(raw).recorded_at)
        moment = begin + (end - begin) * rng.random()
        chosen.append((stream, format_timestamp(moment)))
    return chosen


def run_queries(ledger: Ledger, picks: list[tuple[str, str]]) -> list[Query]:
    """Each as-of query timed whole, then its parts and its baselines."""
    store = ledger.sequencer.store
    results = []
    for stream, as_of in picks:
        _, member, cycle = stream.split("/")
        year = reference_year(int(cycle))
        start = perf_counter()
        answer = scores(ledger, member, year, as_of=as_of)
        total = perf_counter() - start
        size = answer.position.size
        # The same work in its three parts, each timed alone.
        start = perf_counter()
        found = find_assessment(LogReader.of(ledger), member, year, None)
        find = perf_counter() - start
        start = perf_counter()
        where = position(ledger, as_of=as_of)
        located = perf_counter() - start
        start = perf_counter()
        table = replay_board(store, [stream], size).table(stream, year)
        replay = perf_counter() - start
        if found != stream or where.size != size or table != answer.table:
            raise RuntimeError(f"{stream} as of {as_of}: the parts disagree with scores()")
        start = perf_counter()
        mine = store.stream_entries([stream], size)
        read_member = perf_counter() - start
        start = perf_counter()
        store.stream_entries([FRAMEWORK_STREAM, stream], size)
        read_replayed = perf_counter() - start
        results.append(
            Query(
                *(member, year, stream, as_of, total, find, located, replay),
                *(read_member, read_replayed, size, len(mine)),
            )
        )
    return results
