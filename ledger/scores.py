"""Score tables replayed from the log, as of any log size (docs/design.md §2).

Reads only the entries that can change one assessment's table — the
``framework`` stream and that assessment's stream — below a log size, and
replays them with ``verify.scoring.scoreboard``: the same code the offline verifier
uses to check published tables.
"""

from __future__ import annotations

from ledger.domain.framework import FRAMEWORK_STREAM
from ledger.errors import NotFoundError
from ledger.log_store import LogStore
from verify.formats.entry import Entry, parse_entry
from verify.scoring.scoreboard import Scoreboard
from verify.scoring.tables import ScoreTable, table_difference

__all__ = ["replay_board", "replay_table", "stream_entries", "table_difference"]


def stream_entries(
    store: LogStore, streams: list[str], size: int
) -> list[tuple[int, Entry]]:
    """The parsed entries of ``streams`` and the framework below log ``size``."""
    wanted = [FRAMEWORK_STREAM, *[s for s in streams if s != FRAMEWORK_STREAM]]
    return [(i, parse_entry(raw)) for i, raw in store.stream_entries(wanted, size)]


def replay_board(store: LogStore, streams: list[str], size: int) -> Scoreboard:
    """A scoreboard fed the entries of ``streams`` (and the framework) below ``size``."""
    board = Scoreboard()
    board.apply_all(stream_entries(store, streams, size))
    return board


def replay_table(
    store: LogStore, stream: str, size: int, reference_year: int | None = None
) -> ScoreTable:
    """The score table of ``stream`` as the first ``size`` log entries give it."""
    board = replay_board(store, [stream], size)
    if stream not in board.assessments:
        raise NotFoundError(
            f"{stream!r} has no entries in the first {size} entries of the log"
        )
    return board.table(stream, reference_year)
