"""The bitemporal score index: every score row at every log size (decision 37).

``pmm_score_index`` holds one line per version of a score row, keyed by
(assessment stream, reference year, level, code, ``became``): ``became`` is the
log size from which the version is current, ``stopped`` the size from which it
no longer is (NULL: still current). A log size R holds entries 0..R-1, so the
rows "as of R" are exactly those with ``became <= R < coalesce(stopped, ∞)``.
The scores projection (``projections.live``) writes them in the transaction of
its tracking record, so the index reflects every size up to the view's
watermark and no further. ``pmm_score_publications`` lists each assessment's
publications (their log index and ``cut_at``) for "as published" reads.

``Indexer`` turns entries applied to a ``TracingBoard`` into the lines to
write: after each entry that can move a table, the tables it can move are
scored afresh and compared with the current versions; a changed row closes its
version at the new size and opens the next.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from ledger.log_store import Cursor
from projections.score_board import RowKey, Traced, TracingBoard
from projections.score_rows import content
from verify.formats.entry import Entry

KEY_COLUMNS = ("stream", "reference_year", "level", "code")
# The row's content is one JSON array (``projections.score_rows.content``): a
# read fetches one value a row, which costs PostgreSQL's driver a tenth of ten.
INDEX_COLUMNS = (*KEY_COLUMNS, "became", "stopped", "content")
# Entries that can move an assessment's table (others leave every row as it is;
# a disclosure.set changes no stored row: levels are applied at read time).
MOVES_ASSESSMENT = ("value.submitted", "value.corrected", "kpi.not_used", "score.revised")

Key = tuple[str, int, str, str]  # stream, year, level, code


def create_statements(prefix: str) -> list[str]:
    p = prefix
    return [
        f"CREATE TABLE IF NOT EXISTS {p}pmm_score_index (stream TEXT NOT NULL, "
        "reference_year INTEGER NOT NULL, level TEXT NOT NULL, code TEXT NOT NULL, "
        "became BIGINT NOT NULL, stopped BIGINT, content TEXT NOT NULL, "
        "PRIMARY KEY (stream, reference_year, level, code, became))",
        "CREATE INDEX IF NOT EXISTS pmm_score_index_as_of ON "
        f"{p}pmm_score_index (stream, reference_year, became, stopped)",
        f"CREATE TABLE IF NOT EXISTS {p}pmm_score_levels (stream TEXT NOT NULL, "
        "entry BIGINT NOT NULL, level TEXT NOT NULL, PRIMARY KEY (stream, entry))",
        f"CREATE TABLE IF NOT EXISTS {p}pmm_score_publications (stream TEXT NOT NULL, "
        "nth INTEGER NOT NULL, log_index BIGINT NOT NULL, cut_at BIGINT NOT NULL, "
        "PRIMARY KEY (stream, nth))",
    ]


@dataclass
class Changes:
    """What a batch writes: new versions (``stopped`` set if they were closed in
    the same batch), versions written before that it closes, publications."""

    opened: list[list[Any]] = field(default_factory=list)
    closed: list[tuple[int, str, int, str, str]] = field(default_factory=list)
    published: list[tuple[str, int, int, int]] = field(default_factory=list)
    levels: dict[tuple[str, int], str] = field(default_factory=dict)  # value -> level
    pending: dict[Key, list[Any]] = field(default_factory=dict)

    def write(self, cur: Cursor) -> None:
        cur.executemany(
            "UPDATE {p}pmm_score_index SET stopped = %s WHERE stream = %s AND "
            "reference_year = %s AND level = %s AND code = %s AND stopped IS NULL",
            self.closed,
        )
        cur.executemany(
            f"INSERT INTO {{p}}pmm_score_index ({', '.join(INDEX_COLUMNS)}) VALUES "
            f"({', '.join(['%s'] * len(INDEX_COLUMNS))})",
            self.opened,
        )
        cur.executemany(
            "INSERT INTO {p}pmm_score_levels (stream, entry, level) VALUES (%s, %s, %s) "
            "ON CONFLICT (stream, entry) DO UPDATE SET level = excluded.level",
            [(stream, entry, level) for (stream, entry), level in self.levels.items()],
        )
        cur.executemany(
            "INSERT INTO {p}pmm_score_publications (stream, nth, log_index, cut_at) "
            "VALUES (%s, %s, %s, %s)",
            self.published,
        )


def years(board: TracingBoard, stream: str) -> tuple[int, int]:
    """The reference years the view holds for an assessment: T−1 and T."""
    year = board.assessments[stream].reference_year
    return (year - 1, year)


class Indexer:
    """The current version of every indexed table, and the changes of a batch."""

    def __init__(self) -> None:
        self.current: dict[tuple[str, int], Traced] = {}
        self.changes = Changes()

    def adopt(self, board: TracingBoard, streams: Iterable[str]) -> None:
        """Take the tables of streams just loaded into ``board`` as current: the
        index already holds them (they were written when these entries came)."""
        for stream in streams:
            if stream in board.assessments:
                for year in years(board, stream):
                    self.current[(stream, year)] = board.traced(stream, year)

    def after(self, board: TracingBoard, index: int, entry: Entry) -> None:
        """Index what ``entry`` (just applied at log ``index``) changed."""
        kind, stream, size = entry.entry_type, entry.stream, index + 1
        if stream == "framework":
            if kind == "framework.created" or kind.endswith((".defined", ".revised")):
                for name in sorted(board.assessments):
                    for year in years(board, name):
                        self._full(board, name, year, size)
            return
        if stream not in board.assessments:
            return
        body = entry.signed.body
        # Every value's level as the assessment's workflow has it: its own, then
        # its latest disclosure.set (what ``disclosure_now`` reads).
        if kind in ("value.submitted", "value.corrected"):
            self.changes.levels[(stream, entry.stream_version)] = str(body["disclosure"])
        elif kind == "disclosure.set":
            self.changes.levels[(stream, int(body["entry"]))] = str(body["disclosure"])
        if kind == "assessment.published":
            nth = len(board.assessments[stream].publications)
            self.changes.published.append((stream, nth, index, int(body["cut_at"])))
        elif kind == "assessment.opened":
            for year in years(board, stream):
                self._full(board, stream, year, size)
        elif kind in MOVES_ASSESSMENT:
            code = str(body["kpi"])
            year = int(body.get("reference_year", 0))
            for table in years(board, stream):
                if kind == "kpi.not_used":
                    codes = [code]
                elif kind == "score.revised":
                    codes = [code] if table == year else []
                elif table == year:
                    codes = board.readers(code, year)
                elif table == year + 1 and board.reads_prior(code, table):
                    codes = [code]
                else:
                    codes = []
                if codes:
                    traced = self.current[(stream, table)]  # rescored in place
                    moved = board.rescore(stream, table, codes, traced)
                    self._write(stream, table, traced, traced, moved, size)

    def take(self) -> Changes:
        changes, self.changes = self.changes, Changes()
        return changes

    def _full(self, board: TracingBoard, stream: str, year: int, size: int) -> None:
        old = self.current.get((stream, year), Traced({}, {}))
        new = board.traced(stream, year)
        moved = [
            key
            for key in {**old.rows, **new.rows}
            if (old.rows.get(key), old.deps.get(key))
            != (new.rows.get(key), new.deps.get(key))
        ]
        self._write(stream, year, old, new, moved, size)

    def _write(
        self,
        stream: str,
        year: int,
        old: Traced,
        new: Traced,
        moved: list[RowKey],
        size: int,
    ) -> None:
        changes = self.changes
        for level, code in moved:
            key = (stream, year, level, code)
            if (level, code) in old.rows:
                line = changes.pending.pop(key, None)
                if line is not None:  # opened in this batch: close it before writing
                    line[5] = size
                else:
                    changes.closed.append((size, *key))
            row = new.rows.get((level, code))
            if row is not None:
                stored = content(row, new.deps[(level, code)])
                line = [*key, size, None, stored]
                changes.opened.append(line)
                changes.pending[key] = line
        self.current[(stream, year)] = new


# -- reads ----------------------------------------------------------------------

SELECT_AS_OF = (
    "SELECT level, code, content FROM {p}pmm_score_index "
    "WHERE stream = %s AND reference_year = %s AND became <= %s "
    "AND (stopped IS NULL OR stopped > %s)"
)
SELECT_ALL_AS_OF = (
    "SELECT stream, reference_year, level, code, content FROM {p}pmm_score_index "
    " WHERE became <= %s AND (stopped IS NULL OR stopped > %s)"
)


def current_rows(cur: Cursor, stream: str, year: int) -> list[tuple[Any, ...]]:
    """(level, code, content) of a table's current rows (at the watermark)."""
    return cur.execute(
        "SELECT level, code, content FROM {p}pmm_score_index "
        "WHERE stream = %s AND reference_year = %s AND stopped IS NULL",
        (stream, year),
    ).all()


def rows_as_of(cur: Cursor, stream: str, year: int, size: int) -> list[tuple[Any, ...]]:
    """(level, code, content) of a table's rows at log ``size``."""
    return cur.execute(SELECT_AS_OF, (stream, year, size, size)).all()


def all_rows_as_of(cur: Cursor, size: int) -> list[tuple[Any, ...]]:
    """(stream, year, level, code, content) of every indexed row at ``size``."""
    return cur.execute(SELECT_ALL_AS_OF, (size, size)).all()


def publications(cur: Cursor, stream: str) -> list[tuple[int, int]]:
    """(log index, cut_at) of each publication of ``stream``, oldest first."""
    rows = cur.execute(
        "SELECT log_index, cut_at FROM {p}pmm_score_publications WHERE stream = %s "
        "ORDER BY nth",
        (stream,),
    ).all()
    return [(int(i), int(c)) for i, c in rows]


def all_levels(cur: Cursor) -> dict[str, dict[int, str]]:
    """Every value's level at the watermark, by stream (value entry -> level)."""
    found: dict[str, dict[int, str]] = {}
    for stream, entry, level in cur.execute(
        "SELECT stream, entry, level FROM {p}pmm_score_levels"
    ).all():
        found.setdefault(stream, {})[int(entry)] = level
    return found
