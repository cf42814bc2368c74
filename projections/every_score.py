"""Every assessment's scores as of a log size (decision 37): one query on the
score index when the scores view has reached that size, else a replay of the
whole log below it (the naive reference, kept for the tests and beyond the
watermark). ``projections.timetravel.all_scores`` is this module's."""

from __future__ import annotations

from ledger.application import Ledger
from projections.disclosure import disclosure_now
from projections.errors import QueryError
from projections.log_reader import LogReader
from projections.score_reads import indexed_levels, indexed_size, indexed_tables
from verify.formats.entry import parse_entry
from verify.scoring.scoreboard import Scoreboard
from verify.scoring.tables import ScoreTable


def all_scores(ledger: Ledger, size: int) -> list[ScoreTable]:
    """Every assessment's score tables for its years T−1 and T as the first
    ``size`` log entries give them, by stream then year, each row disclosed at
    its inputs' levels now (decision 26). One query on the score index when it
    has reached ``size``; else every entry below ``size`` is replayed."""
    log_size = ledger.log_size()
    if not 0 <= size <= log_size:
        raise QueryError(f"log size {size} is outside the log (0..{log_size})")
    log = LogReader.of(ledger)
    if size > indexed_size(log):
        return replayed_scores(ledger, size)
    # The levels now: the view's own when it has reached the whole log (one
    # query), else each assessment's from the ledger (decision 26).
    watermark, levels = indexed_levels(log)
    if watermark >= log_size:
        return indexed_tables(log, size, lambda s: levels.get(s, {}))
    return indexed_tables(log, size, lambda s: disclosure_now(ledger, s).levels)


def replayed_scores(ledger: Ledger, size: int) -> list[ScoreTable]:
    """The naive reference of ``all_scores``: the log below ``size`` replayed."""
    log = LogReader.of(ledger)
    board = Scoreboard()
    for start in range(0, size, _CHUNK):
        entries = log.entries(start, min(size, start + _CHUNK))
        board.apply_all((i, parse_entry(raw)) for i, raw in entries)
    return [
        board.table(stream, year, disclosure_now(ledger, stream).levels)
        for stream in sorted(board.assessments)
        for year in (
            board.assessments[stream].reference_year - 1,
            board.assessments[stream].reference_year,
        )
    ]


_CHUNK = 5000  # log entries per read of a replay
