"""Scores as of any record time, on a ledger of N signed entries (default 10^6),
each operation against a plain read of the entries it needs, in the same run.

1. **All scores as of a past time R** (the log size at 70 % of the log, found
   with ``LogReader.size_at``): ``projections.timetravel.all_scores(ledger, R)``,
   and beside it the replay it replaces, as the reference: the entries below R read in
   chunks of 5,000 (the baseline), ``json.loads`` of each (the floor of any JSON
   replay), ``parse_entry``, ``Scoreboard.apply``, then every open assessment's
   tables for T-1 and T; and ``replay_board`` over every stream against its own
   query (``stream_entries``). Target: within 3x of the read.
2. **Rebuild**: ``LiveScores(ledger).rebuild()`` against reading the
   notification log as ``catch_up`` reads it; the view must then agree with
   ``replay_table`` for 5 random assessments.
3. **One Member's as-of query**: ``projections.timetravel.scores`` for random
   assessments at random times, against that Member's entries read alone
   (median); its parts and p95 are the row's figures. Target: p95 < 50 ms.

On PostgreSQL the ledger's tables are ANALYZEd first (the test server runs with
autovacuum off; without statistics a one-row read takes a parallel plan).
"""

from __future__ import annotations

import random
import statistics
from collections.abc import Callable, Sized
from typing import Any

import projections.timetravel as timetravel
from benchmarks.common import (
    POSTGRESQL,
    Figure,
    Options,
    PeakMemory,
    Ratio,
    Section,
    Skipped,
    backends,
    best_of,
    percentile,
    progress,
    timed,
)
from benchmarks.scores_cache import analyze, cached_ledger
from benchmarks.scores_measure import (
    Query,
    all_scores_by_board,
    all_scores_chunked,
    decode_chunks,
    parse_chunks,
    pick_queries,
    read_chunks,
    read_notifications,
    read_streams,
    replay_chunks,
    run_queries,
)
from benchmarks.scores_workload import reference_year
from ledger.home import open_ledger
from ledger.scores import replay_table
from projections.log_reader import LogReader
from projections.runner import LiveScores
from verify.formats.entry import parse_entry
from verify.formats.statement import parse_timestamp

NAME = "scores"
DEFAULT_SIZE, QUICK_SIZE = 1_000_000, 20_000
MIN_SIZE = 300  # the set-up (genesis, principals, framework) and a few assessments
SEED = 5
PAST = 0.7
QUERIES, QUICK_QUERIES = 50, 20
REPLAY_TARGET, QUERY_TARGET_MS = 3.0, 50.0
READ = "plain read (store.entries, 5,000 a chunk)"


def _row(
    backend: str, size: int, what: str, ours: tuple[float, float], base: float, **kw: Any
) -> Ratio:
    return Ratio(
        *(NAME, backend, size, what, ours[0], base, kw.pop("baseline_name", READ), "s"),
        *("lower", ours[1]),
        **kw,
    )


def query_row(backend: str, size: int, queries: list[Query], memory: float) -> Ratio:
    ms = 1000.0

    def median(part: Callable[[Query], float]) -> float:
        return statistics.median(part(q) for q in queries) * ms

    p95 = percentile([q.total * ms for q in queries], 0.95)
    figures: dict[str, Figure] = {
        "median ms": median(lambda q: q.total),
        "p95 ms": p95,
        f"p95 < {QUERY_TARGET_MS:g} ms": "MET" if p95 < QUERY_TARGET_MS else "NOT MET",
        "find_assessment median ms": median(lambda q: q.find),
        "position (size_at) median ms": median(lambda q: q.position),
        "replay_board + table median ms": median(lambda q: q.replay),
        "read framework + Member median ms": median(lambda q: q.read_replayed),
        "entries in the Member's stream (median)": statistics.median(
            q.entries for q in queries
        ),
    }
    return Ratio(
        *(NAME, backend, size, f"one Member's as-of query (scores), {len(queries)} random"),
        ours=median(lambda q: q.total) / ms,
        baseline=median(lambda q: q.read_member) / ms,
        baseline_name="read the Member's entries (stream_entries)",
        unit="s (median)",
        better="lower",
        peak_rss_mb=memory,
        figures=figures,
    )


def measure(backend: str, options: Options, size: int, section: Section) -> None:
    base_url = options.database_url if backend == POSTGRESQL else None
    settings, built, _ = cached_ledger(options.cache, backend, size, base_url, SEED)
    if settings.database_url:
        section.notes.append(analyze(settings))
    ledger = open_ledger(settings)
    rows = section.rows
    try:
        store, rng, repeat = ledger.sequencer.store, random.Random(SEED), options.repeat
        ((_, raw),) = store.entries(int(size * PAST), int(size * PAST) + 1)
        past = LogReader.of(ledger).size_at(parse_timestamp(parse_entry(raw).recorded_at))
        streams = [s for s, _ in store.opened("assessment/")]
        progress(f"{NAME} {backend}: warming the page cache (a full read, untimed)")
        read_chunks(store, size)

        # The rebuild first: it leaves the scores view at the whole log, so the
        # as-of reads below are answered from the score index (decision 37),
        # and the replay rows beside them are the reference.
        progress(f"{NAME} {backend}: LiveScores.rebuild over the whole log")
        live = LiveScores(ledger)
        try:
            read_all = timed(lambda: read_notifications(ledger))[0]
            with PeakMemory() as memory:
                rebuilt = timed(live.rebuild)[0]
            read_all = min(read_all, timed(lambda: read_notifications(ledger))[0])
            if live.view.position() != size:
                raise RuntimeError("the rebuilt view does not reflect the whole log")
            for stream, _ in pick_queries(ledger, 5, rng):
                year = reference_year(int(stream.rsplit("/", 1)[1]))
                if live.table(stream, year) != replay_table(store, stream, size, year):
                    raise RuntimeError(
                        f"the rebuilt view disagrees with a replay: {stream}"
                    )
        finally:
            live.close()
        rows.append(
            _row(
                *(backend, size, "LiveScores.rebuild", (rebuilt, memory.mb), read_all),
                baseline_name="read the notification log (2,000 a batch)",
                figures={"entries/s": size / rebuilt},
            )
        )

        section.notes.append(
            f"{backend}: the as-of rows after LiveScores.rebuild, with the scores view "
            "at the whole log: answered from the score index"
        )
        count = QUICK_QUERIES if options.quick else QUERIES
        progress(f"{NAME} {backend}: {count} as-of queries")
        with PeakMemory() as memory:
            queries = run_queries(ledger, pick_queries(ledger, count, rng))
        rows.append(query_row(backend, size, queries, memory.mb))

        progress(f"{NAME} {backend}: all scores as of log size {past:,}")
        board = replay_chunks(store, past)
        opened_then = [s for s in streams if s in board.assessments]
        del board
        all_scores = getattr(timetravel, "all_scores", None)
        actions: list[Callable[[], object]] = [
            lambda: read_chunks(store, past),
            lambda: decode_chunks(store, past),
            lambda: parse_chunks(store, past),
            lambda: replay_chunks(store, past),
            lambda: all_scores_chunked(store, past),
            lambda: read_streams(store, opened_then, past),
            lambda: all_scores_by_board(store, opened_then, past),
        ]
        answers: list[object] = []  # all_scores' answer, kept from its timed call
        if all_scores is not None:
            actions.append(lambda: answers.append(all_scores(ledger, past)))
        measured = best_of(repeat, *actions)
        read, by_stream = measured[0][0], measured[5][0]
        figures: dict[str, Figure] = {
            "log size R": past,
            "assessments open at R": len(opened_then),
            "score tables (T-1 and T)": 2 * len(opened_then),
        }
        if all_scores is None:
            reason = "projections.timetravel.all_scores is not in this tree"
            section.skipped.append(Skipped(NAME, backend, f"all scores as of R: {reason}"))
        else:
            found = answers[-1]
            if isinstance(found, Sized):
                figures["all_scores returned (len)"] = len(found)
            what = "all scores as of R: timetravel.all_scores"
            rows.append(
                _row(
                    backend,
                    size,
                    what,
                    measured[7],
                    read,
                    target=REPLAY_TARGET,
                    figures=figures,
                )
            )
        rest = [
            ("reference steps: read + json.loads only (floor, not a replay)", 1, None),
            ("reference steps: read + parse_entry", 2, None),
            ("reference steps: replay alone (+ Scoreboard.apply)", 3, REPLAY_TARGET),
            ("all scores as of R: replay + every table (reference)", 4, REPLAY_TARGET),
        ]
        for what, i, target in rest:
            shown = figures if i == 4 else {}
            rows.append(
                _row(backend, size, what, measured[i], read, target=target, figures=shown)
            )
        rows.append(
            _row(
                *(backend, size, "all scores as of R: replay_board + every table"),
                *(measured[6], by_stream),
                baseline_name="read stream_entries (every stream)",
                target=REPLAY_TARGET,
            )
        )

    finally:
        ledger.close()
    section.notes.append(
        f"{backend}: ledger of {size:,} built in {built.build_seconds:,.0f} s "
        f"({built.members} Members x {built.cycles} cycles, {built.streams:,} assessments)"
    )


def run(options: Options, size: int) -> Section:
    if size < MIN_SIZE:
        raise SystemExit(f"scores needs --size of at least {MIN_SIZE}")
    section = Section(NAME)
    for backend in backends(options, section):
        measure(backend, options, size, section)
    return section
