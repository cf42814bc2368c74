"""Scores as of any record time, on a ledger of 10^6 entries (issue 5).

Builds (once, cached) a ledger of N signed entries through the real ledger:
the demo framework (4 dimensions, 23 expected outcomes, 51 KPIs), one NCP per
Member, and many Member x cycle assessments, each opened by the Secretariat,
then given values for its reference years T-1 and T and a few corrections.
Then, in the same run, it measures each operation against a plain read of the
entries it needs and prints the ratio:

1. all scores as of a past time (the log size at about 70 % of the log,
   found with ``size_at``): every entry below that size replayed into one
   ``Scoreboard`` and a score table for years T and T-1 of every assessment,
   against reading the same rows with the same SQL (target: at most 3x);
2. rebuilding the scores projection from scratch (``LiveScores.rebuild``)
   against reading the whole log the way the rebuild reads it;
3. one Member's as-of query (``projections.timetravel.scores``) for random
   Members and random past times: median and p95 latency (target: < 50 ms),
   against reading that Member's entries alone.

    python benchmarks/bench_scores.py [--size N] [--quick]
        [--backend sqlite|postgresql] [--database-url URL] [--queries Q]
        [--repeat R] [--seed S] [--profile] [--rebuild-ledger] [--drop]

The built ledger is kept in /tmp/pmm-bench-scores-<N>/ (SQLite) or
/tmp/pmm-bench-scores-postgresql-<N>/ plus a PostgreSQL schema named in its
``built.json``, and reused by later runs. See benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import math
import os
import platform
import pstats
import random
import shutil
import statistics
import string
import sys
import uuid
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from datetime import datetime
from importlib.metadata import version as package_version
from pathlib import Path
from time import perf_counter
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg import sql

from api.cli_framework import apply_framework
from api.demo_data import FRAMEWORK_FILE, KPIS, Kpi
from api.demo_kit import sample_value, value_body
from ledger.application import Ledger
from ledger.domain.framework import FRAMEWORK_STREAM
from ledger.home import init_ledger, open_ledger, resolve_key
from ledger.keys import KeyPair
from ledger.log_store import LogStore
from ledger.persistence import Settings
from ledger.scores import replay_board, replay_table
from projections.framework_file import load_framework
from projections.runner import LiveScores
from projections.timetravel import find_assessment, position, scores, size_at
from verify.scoreboard import Scoreboard
from verify.statement import SignedStatement, format_timestamp, parse_entry, parse_timestamp

DEFAULT_SIZE = 1_000_000
QUICK_SIZE = 20_000
DEFAULT_PG_URL = "postgresql://postgres@127.0.0.1:5432/test"
ORIGIN = "bench.pmm.example/ledger"
CACHE_ROOT = Path("/tmp")
BUILT_FILE = "built.json"
RECORD_BATCH = 1000  # statements per Ledger.record_batch while building
READ_CHUNK = 5000  # log entries per read, as the projection warms its board
CATCH_UP_BATCH = 2000  # LiveScores.catch_up's default batch
MEMBERS = 186  # about the WCO's membership
CORRECTIONS = 5  # value.corrected per assessment
FIRST_YEAR = 2022  # cycle 1's reference year; cycles are biennial
LAST_YEAR = 2200  # the schema's last reference year
PAST = 0.7  # the "past time" of measurement 1: this fraction of the log
REPLAY_TARGET = 3.0
QUERY_TARGET_MS = 50.0


FRAMEWORK_ENTRIES = 1 + len(load_framework(FRAMEWORK_FILE).definitions)


# -- the workload ----------------------------------------------------------------


@dataclass(frozen=True)
class Shape:
    """How N entries are spread: Members x cycles, one assessment stream each."""

    size: int
    members: int
    cycles: int
    kpis: int

    @property
    def per_stream(self) -> int:
        return 1 + 2 * self.kpis + CORRECTIONS  # opened, T-1 and T values, corrections

    @property
    def setup(self) -> int:
        # genesis, the Secretariat and one NCP per Member, the framework
        return 1 + 1 + self.members + FRAMEWORK_ENTRIES


def shape_for(size: int) -> Shape:
    """Up to ``MEMBERS`` Members, as many cycles as N entries need (the last may
    be partial); more Members only if the cycles would run past ``LAST_YEAR``."""
    kpis, max_cycles = len(KPIS), (LAST_YEAR - FIRST_YEAR) // 2 + 1
    members = MEMBERS
    while True:
        shape = Shape(size, members, 1, kpis)
        streams = max(1, math.ceil((size - shape.setup) / shape.per_stream))
        if streams < members:  # a small ledger: one cycle, fewer Members
            members -= 1
            continue
        if math.ceil(streams / members) > max_cycles:
            members = math.ceil(streams / max_cycles)
            continue
        break
    if members > 26**3:
        raise SystemExit(f"--size {size} needs more Members than 3-letter codes")
    return Shape(size, members, math.ceil(streams / members), kpis)


def member_code(index: int) -> str:
    letters = string.ascii_uppercase
    return letters[index // 676 % 26] + letters[index // 26 % 26] + letters[index % 26]


def reference_year(cycle: int) -> int:
    return FIRST_YEAR + 2 * (cycle - 1)


@dataclass(frozen=True)
class Planned:
    """One statement to sign: who, where, what, and the version it expects."""

    who: str
    stream: str
    kind: str
    body: dict[str, Any]
    expected_version: int


def workload(shape: Shape, rng: random.Random) -> Iterator[Planned]:
    """Assessment statements in recording order, cycle after cycle.

    In each cycle the Secretariat opens every Member's assessment; then every
    NCP submits its T-1 values, then every NCP its T values, then a few
    corrections each, so an assessment's entries are spread over the cycle.
    """
    versions: dict[str, int] = {}
    members = [member_code(i) for i in range(shape.members)]

    def planned(who: str, stream: str, kind: str, body: dict[str, Any]) -> Planned:
        version = versions.get(stream, 0)
        versions[stream] = version + 1
        return Planned(who, stream, kind, body, version)

    for cycle in range(1, shape.cycles + 1):
        year = reference_year(cycle)
        streams = {m: f"assessment/{m}/{cycle}" for m in members}
        for member in members:
            body = {"member": member, "cycle": str(cycle), "reference_year": year}
            yield planned("secretariat", streams[member], "assessment.opened", body)
        values: dict[str, list[tuple[Kpi, int, int]]] = {m: [] for m in members}
        for value_year in (year - 1, year):
            for member in members:
                for kpi in KPIS:
                    body = value_body(kpi, value_year, sample_value(kpi, rng), member)
                    item = planned(member, streams[member], "value.submitted", body)
                    values[member].append((kpi, value_year, item.expected_version + 1))
                    yield item
        for member in members:
            for kpi, value_year, entry in rng.sample(values[member], CORRECTIONS):
                body = value_body(kpi, value_year, sample_value(kpi, rng), member)
                body |= {
                    "supersedes": entry,
                    "kind": rng.choice(("correction", "revision")),
                    "reason": "Figure restated after the national statistics office's "
                    "annual revision.",
                }
                yield planned(member, streams[member], "value.corrected", body)


# -- stores and the cached ledger ----------------------------------------------------


@dataclass
class Built:
    """What ``built.json`` records about a cached ledger."""

    size: int
    backend: str
    database_url: str | None
    members: int
    cycles: int
    streams: int
    seed: int
    build_seconds: float
    started: str
    finished: str


def cache_dir(backend: str, size: int) -> Path:
    suffix = f"{size}" if backend == "sqlite" else f"{backend}-{size}"
    return CACHE_ROOT / f"pmm-bench-scores-{suffix}"


def _without_query(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))


def _schema_of(url: str | None) -> str | None:
    if url is None:
        return None
    query = urlsplit(url).query
    return query.removeprefix("schema=") if query.startswith("schema=") else None


def drop_schema(base_url: str, schema: str) -> None:
    with psycopg.connect(base_url, autocommit=True, connect_timeout=5) as conn:
        conn.execute(
            sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema))
        )


def load_cached(home: Path) -> Built | None:
    """The cached ledger's record, if it was built completely."""
    try:
        return Built(**json.loads((home / BUILT_FILE).read_text()))
    except (OSError, ValueError, TypeError):
        return None


def forget(home: Path, base_url: str | None) -> None:
    """Remove a cached ledger (its folder and, on PostgreSQL, its schema)."""
    if not home.exists():
        return
    built = load_cached(home)
    schema = _schema_of(built.database_url) if built else None
    if schema is None and (home / "schema").exists():
        schema = (home / "schema").read_text().strip()
    if schema and base_url:
        drop_schema(base_url, schema)
    shutil.rmtree(home)


def progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def by_stream(statements: list[SignedStatement]) -> list[SignedStatement]:
    """The batch with each stream's statements together (streams in order of first
    appearance, each stream's own order kept).

    ``Ledger._record_all`` gives each statement its ``recorded_at`` in batch
    order but stores the events aggregate by aggregate, so a batch that
    interleaves streams would put a later ``recorded_at`` before an earlier one
    in the log (which the verifier rejects, and which breaks ``size_at``).
    """
    groups: dict[str, list[SignedStatement]] = {}
    for statement in statements:
        groups.setdefault(statement.stream, []).append(statement)
    return [statement for group in groups.values() for statement in group]


def build_ledger(settings: Settings, shape: Shape, seed: int) -> Built:
    """N entries through ``Ledger.record_batch``, every statement signed."""
    started = datetime.now().astimezone()
    start = perf_counter()
    ledger = init_ledger(settings, ORIGIN, admins=1, threshold=1)
    try:
        admin = resolve_key(settings, "admin")
        keys = {"secretariat": KeyPair.generate("secretariat")}
        keys |= {
            code: KeyPair.generate(f"ncp.{code.lower()}")
            for code in (member_code(i) for i in range(shape.members))
        }
        registrations = [
            admin.sign(
                admin.statement(
                    ORIGIN,
                    "registry",
                    "principal.registered",
                    {
                        "principal": key.principal,
                        "name": "WCO Secretariat" if who == "secretariat" else f"NCP {who}",
                        "role": "secretariat" if who == "secretariat" else "ncp",
                        "member": None if who == "secretariat" else who,
                        "public_key": key.public_key,
                        "approvals": [],
                    },
                    version,
                )
            )
            for version, (who, key) in enumerate(keys.items(), start=1)
        ]
        for first in range(0, len(registrations), RECORD_BATCH):
            ledger.record_batch(registrations[first : first + RECORD_BATCH])
        apply_framework(ledger, keys["secretariat"], load_framework(FRAMEWORK_FILE))
        size = ledger.log_size()
        if size != shape.setup:
            raise RuntimeError(f"setup made {size} entries, expected {shape.setup}")
        rng = random.Random(seed)
        pending: list[SignedStatement] = []
        last_report = perf_counter()
        for item in workload(shape, rng):
            if size + len(pending) >= shape.size:
                break
            key = keys[item.who]
            pending.append(
                key.sign(
                    key.statement(
                        ORIGIN, item.stream, item.kind, item.body, item.expected_version
                    )
                )
            )
            if len(pending) == RECORD_BATCH:
                size += len(ledger.record_batch(by_stream(pending)))
                pending = []
                if perf_counter() - last_report > 30:
                    last_report = perf_counter()
                    rate = (size - shape.setup) / (last_report - start)
                    progress(
                        f"  built {size:,} / {shape.size:,} entries ({rate:,.0f}/s, "
                        f"about {(shape.size - size) / rate / 60:.1f} min left)"
                    )
        if pending:
            size += len(ledger.record_batch(by_stream(pending)))
        if ledger.log_size() != shape.size:
            raise RuntimeError(f"built {ledger.log_size()} entries, expected {shape.size}")
        elapsed = perf_counter() - start
        store = ledger.sequencer.store
        streams = len(store.opened("assessment/"))
    finally:
        ledger.close()
    return Built(
        size=shape.size,
        backend=settings.backend,
        database_url=settings.database_url,
        members=shape.members,
        cycles=shape.cycles,
        streams=streams,
        seed=seed,
        build_seconds=round(elapsed, 1),
        started=started.isoformat(timespec="seconds"),
        finished=datetime.now().astimezone().isoformat(timespec="seconds"),
    )


def cached_ledger(
    backend: str, size: int, base_url: str | None, seed: int, rebuild: bool
) -> tuple[Settings, Built, bool]:
    """Settings of the cached ledger of ``size`` entries, built first if missing."""
    home = cache_dir(backend, size)
    built = load_cached(home)
    if built is not None and not rebuild and built.seed == seed:
        settings = Settings(home, built.database_url)
        try:
            ledger = open_ledger(settings)
        except Exception as exc:  # the schema was dropped, the file damaged...
            progress(f"cached ledger in {home} unusable ({exc}); building it again")
        else:
            found = ledger.log_size()
            ledger.close()
            if found == size:
                return settings, built, True
            progress(f"cached ledger in {home} holds {found} entries; building it again")
    forget(home, base_url)
    shape = shape_for(size)
    url = None
    if base_url is not None:
        schema = f"bench_scores_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(base_url, autocommit=True, connect_timeout=5) as conn:
            conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
        home.mkdir(parents=True)
        (home / "schema").write_text(schema + "\n")
        url = f"{base_url}?schema={schema}"
    settings = Settings(home, url)
    progress(
        f"building a {size:,}-entry ledger ({backend}) in {home}: {shape.members} Members "
        f"x {shape.cycles} cycles, {shape.per_stream} entries per assessment; this is "
        "done once and cached"
    )
    built = build_ledger(settings, shape, seed)
    (home / BUILT_FILE).write_text(json.dumps(asdict(built), indent=2) + "\n")
    progress(f"  built in {built.build_seconds:,.0f} s")
    return settings, built, False


def analyze(settings: Settings) -> str:
    """ANALYZE the ledger's schema, as autovacuum would; say whether it is on.

    Without statistics the planner takes a one-row range read for thousands of
    rows (parallel bitmap scans, sorts), and a server with autovacuum off never
    gathers them: that measures the server's configuration, not the ledger.
    """
    schema = _schema_of(settings.database_url)
    base = _without_query(str(settings.database_url))
    with psycopg.connect(base, autocommit=True, connect_timeout=5) as conn:
        row = conn.execute("SHOW autovacuum").fetchone()
        tables = conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = %s", (schema,)
        ).fetchall()
        for (table,) in tables:
            conn.execute(
                sql.SQL("ANALYZE {}.{}").format(
                    sql.Identifier(str(schema)), sql.Identifier(table)
                )
            )
    autovacuum = row[0] if row else "unknown"
    return (
        f"(PostgreSQL: ANALYZE run on the {len(tables)} tables of schema {schema} before "
        f"measuring; autovacuum is {autovacuum} on this server)"
    )


# -- measurements -------------------------------------------------------------------


def timed(action: Callable[[], object]) -> float:
    start = perf_counter()
    action()
    return perf_counter() - start


def best_of(repeat: int, *actions: Callable[[], object]) -> list[float]:
    """Each action's best time over ``repeat`` rounds, the actions alternating."""
    best = [math.inf] * len(actions)
    for _ in range(repeat):
        for i, action in enumerate(actions):
            best[i] = min(best[i], timed(action))
    return best


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


def all_scores(store: LogStore, size: int) -> int:
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
class Row:
    what: str
    seconds: float
    baseline: float

    @property
    def ratio(self) -> float:
        return self.seconds / self.baseline


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
        found = find_assessment(store, member, year, None)
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


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(fraction * len(ordered)) - 1)]


def profile(title: str, action: Callable[[], object]) -> str:
    profiler = cProfile.Profile()
    profiler.enable()
    action()
    profiler.disable()
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("cumulative").print_stats(25)
    stats.sort_stats("tottime").print_stats(15)
    return (
        f"--- cProfile: {title} (a separate run; the times above are unprofiled) ---\n"
        + (out.getvalue())
    )


# -- the run --------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Scores as of any record time on a large ledger (issue 5)."
    )
    parser.add_argument("--size", type=int, default=DEFAULT_SIZE, help="log entries")
    parser.add_argument(
        "--quick", action="store_true", help=f"a small run: --size {QUICK_SIZE}"
    )
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--database-url", default=DEFAULT_PG_URL)
    parser.add_argument("--queries", type=int, default=50, help="as-of queries timed")
    parser.add_argument(
        "--repeat",
        type=int,
        default=2,
        help="rounds of the whole-log measurements (best kept)",
    )
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument(
        "--profile", action="store_true", help="cProfile each measured operation once more"
    )
    parser.add_argument(
        "--skip-rebuild",
        action="store_true",
        help="leave out measurement 2 (the rebuild takes minutes at 10^6 entries)",
    )
    parser.add_argument(
        "--rebuild-ledger",
        action="store_true",
        help="build the ledger again, not the cache",
    )
    parser.add_argument(
        "--drop",
        action="store_true",
        help="remove the cached ledger (and its PostgreSQL schema) after the run",
    )
    args = parser.parse_args(argv)
    size = QUICK_SIZE if args.quick else args.size
    if size < 1000 or args.queries < 1 or args.repeat < 1:
        parser.error("--size must be at least 1000, --queries and --repeat at least 1")
    base_url = _without_query(args.database_url) if args.backend == "postgresql" else None
    if base_url is not None:
        try:
            with psycopg.connect(base_url, autocommit=True, connect_timeout=3) as conn:
                conn.execute("SELECT 1")
        except psycopg.Error as exc:
            print(f"PostgreSQL not reachable at {base_url}: {exc}".strip(), file=sys.stderr)
            return 2

    settings, built, reused = cached_ledger(
        args.backend, size, base_url, args.seed, args.rebuild_ledger
    )
    analyzed = analyze(settings) if settings.database_url else None
    ledger = open_ledger(settings)
    load_before = os.getloadavg()
    profiles: list[str] = []
    try:
        store = ledger.sequencer.store
        rng = random.Random(args.seed)

        # The past time of measurement 1: the recorded_at of the entry at 70 %.
        ((_, raw),) = store.entries(int(size * PAST), int(size * PAST) + 1)
        moment = parse_timestamp(parse_entry(raw).recorded_at)
        past = size_at(store, moment)
        streams = [s for s, _ in store.opened("assessment/")]
        progress("warming the page cache (a full read, untimed)")
        read_chunks(store, size)

        # 3. One Member's as-of query (fast: first, on a quiet cache).
        progress(f"measuring {args.queries} as-of queries")
        queries = run_queries(ledger, pick_queries(ledger, args.queries, rng))

        # 1. All scores as of the past time, against reading the same entries.
        progress(f"measuring all scores as of log size {past:,}")
        board = replay_chunks(store, past)
        assessments = len(board.assessments)
        tables = 2 * assessments
        read, decoded, parsed, applied, everything = best_of(
            args.repeat,
            lambda: read_chunks(store, past),
            lambda: decode_chunks(store, past),
            lambda: parse_chunks(store, past),
            lambda: replay_chunks(store, past),
            lambda: all_scores(store, past),
        )
        opened_then = [s for s in streams if s in board.assessments]
        del board
        read_board, by_board = best_of(
            args.repeat,
            lambda: read_streams(store, opened_then, past),
            lambda: all_scores_by_board(store, opened_then, past),
        )
        all_rows = [
            Row("read (store.entries, 5,000 a chunk)", read, read),
            Row("  + json.loads only (floor, not a replay)", decoded, read),
            Row("  + parse_entry", parsed, read),
            Row("  + Scoreboard.apply (replay)", applied, read),
            Row(f"  + {tables:,} score tables = all scores", everything, read),
            Row("read (stream_entries, every stream)", read_board, read_board),
            Row("  replay_board + every table", by_board, read_board),
        ]

        # 2. The projection rebuilt from scratch, against reading the whole log.
        rebuild: tuple[float, float] | None = None
        if not args.skip_rebuild:
            progress("measuring LiveScores.rebuild over the whole log")
            live = LiveScores(ledger)
            try:
                read_all = min(
                    timed(lambda: read_notifications(ledger)) for _ in range(args.repeat)
                )
                rebuilt = timed(live.rebuild)
                read_all = min(read_all, timed(lambda: read_notifications(ledger)))
                rebuild = (read_all, rebuilt)
                if live.view.position() != size:
                    raise RuntimeError("the rebuilt view does not reflect the whole log")
                for stream, _ in pick_queries(ledger, 5, rng):
                    year = reference_year(int(stream.rsplit("/", 1)[1]))
                    if live.table(stream, year) != replay_table(store, stream, size, year):
                        raise RuntimeError(
                            f"the rebuilt view disagrees with a replay: {stream}"
                        )
                if args.profile:
                    profiles.append(profile("LiveScores.rebuild", live.rebuild))
            finally:
                live.close()

        if args.profile:
            profiles.append(
                profile("all scores as of the past size", lambda: all_scores(store, past))
            )
            profiles.append(
                profile(
                    "as-of queries",
                    lambda: run_queries(ledger, pick_queries(ledger, args.queries, rng)),
                )
            )
    finally:
        ledger.close()

    print_report(
        args,
        size,
        built,
        reused,
        load_before,
        past,
        assessments,
        all_rows,
        rebuild,
        queries,
        analyzed,
    )
    for text in profiles:
        print()
        print(text)
    if args.drop:
        forget(cache_dir(args.backend, size), base_url)
    return 0


def _verdict(met: bool) -> str:
    return "MET" if met else "NOT MET"


def print_report(
    args: argparse.Namespace,
    size: int,
    built: Built,
    reused: bool,
    load_before: tuple[float, float, float],
    past: int,
    assessments: int,
    all_rows: list[Row],
    rebuild: tuple[float, float] | None,
    queries: list[Query],
    analyzed: str | None,
) -> None:
    print()
    print(
        f"PMM scores benchmark: {size:,} log entries on {built.backend}; "
        f"{built.members} Members x {built.cycles} cycles = {built.streams:,} assessments, "
        f"{len(KPIS)} KPIs; eventsourcing {package_version('eventsourcing')}, "
        f"Python {platform.python_version()}"
    )
    rate = (size - shape_for(size).setup) / built.build_seconds
    print(
        f"ledger built in {built.build_seconds:,.0f} s ({rate:,.0f} signed statements/s "
        f"through Ledger.record_batch, {RECORD_BATCH} a batch)"
        + (f", cached since {built.finished}" if reused else "")
    )
    print()
    print(
        f"1. All scores as of a past time: log size {past:,} ({past / size:.0%} of the "
        f"log, found with size_at), {assessments:,} assessments open then, tables for "
        "T-1 and T"
    )
    width = max(len(r.what) for r in all_rows)
    print(f"   {'what':<{width}} {'seconds':>9} {'entries/s':>11} {'x read':>7}")
    for row in all_rows:
        print(
            f"   {row.what:<{width}} {row.seconds:>9.2f} {past / row.seconds:>11,.0f} "
            f"{row.ratio:>7.2f}"
        )
    replay_ratio, main_ratio = all_rows[3].ratio, all_rows[4].ratio
    print(
        f"   Target: replay within {REPLAY_TARGET:g}x of a plain read: all scores "
        f"{_verdict(main_ratio <= REPLAY_TARGET)} ({main_ratio:.2f}x; replay_board: "
        f"{all_rows[6].ratio:.2f}x); the replay alone, without the tables, "
        f"{_verdict(replay_ratio <= REPLAY_TARGET)} ({replay_ratio:.2f}x)"
    )
    print()
    if rebuild is None:
        print("2. Rebuild of the scores projection: not measured (--skip-rebuild)")
    else:
        print_rebuild(size, *rebuild)
    print()
    print_queries(queries)
    print()
    if analyzed:
        print(analyzed)
    print(
        f"(load average before {load_before[0]:.2f}, after {os.getloadavg()[0]:.2f} on "
        f"{os.cpu_count()} CPUs; best of {args.repeat} for the whole-log rows; compare "
        "ratios, not times)"
    )


def print_rebuild(size: int, read_all: float, rebuild_seconds: float) -> None:
    print(f"2. Rebuild of the scores projection from scratch, {size:,} entries")
    print(
        f"   read the notification log ({CATCH_UP_BATCH:,} a batch)  {read_all:>8.2f} s "
        f"{size / read_all:>11,.0f} entries/s"
    )
    print(
        f"   LiveScores.rebuild                           {rebuild_seconds:>8.2f} s "
        f"{size / rebuild_seconds:>11,.0f} entries/s   "
        f"{rebuild_seconds / read_all:.2f}x read"
    )


def print_queries(queries: list[Query]) -> None:
    ms = 1000.0
    total = [q.total * ms for q in queries]
    read_member = [q.read_member * ms for q in queries]
    entries = statistics.median(q.entries for q in queries)
    print(
        f"3. One Member's as-of query (projections.timetravel.scores), {len(queries)} "
        f"random assessments at random past times; median {entries:.0f} entries in the "
        "Member's stream at that time"
    )
    print(f"   {'what':<44} {'median ms':>10} {'p95 ms':>8} {'x read':>7}")
    parts = [
        ("scores(member, year, as_of=...)", total),
        ("  find_assessment (stream by reference year)", [q.find * ms for q in queries]),
        ("  position: size_at (binary search)", [q.position * ms for q in queries]),
        ("  replay_board + table", [q.replay * ms for q in queries]),
        ("read the Member's entries (stream_entries)", read_member),
        (
            "read framework + Member (replay's read)",
            [q.read_replayed * ms for q in queries],
        ),
    ]
    base = statistics.median(read_member)
    for what, values in parts:
        print(
            f"   {what:<44} {statistics.median(values):>10.2f} "
            f"{percentile(values, 0.95):>8.2f} {statistics.median(values) / base:>7.1f}"
        )
    p95 = percentile(total, 0.95)
    print(
        f"   Target: one Member's as-of query under {QUERY_TARGET_MS:g} ms: "
        f"{_verdict(p95 < QUERY_TARGET_MS)} (median {statistics.median(total):.1f} ms, "
        f"p95 {p95:.1f} ms)"
    )


if __name__ == "__main__":
    sys.exit(main())
