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

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ledger.log_store import Cursor
from projections.score_rows import Content, TracingBoard, content
from verify.statement import Entry

CONTENT_COLUMNS = (
    *("score", "status", "grade", "method", "method_version", "sources", "excluded"),
    *("disclosure", "disclosed_by", "restated_by"),
)
KEY_COLUMNS = ("stream", "reference_year", "level", "code")
INDEX_COLUMNS = (*KEY_COLUMNS, "became", "stopped", *CONTENT_COLUMNS)
# Entries that can move an assessment's table (others leave every row as it is;
# a disclosure.set changes no stored row: levels are applied at read time).
MOVES_ASSESSMENT = ("value.submitted", "value.corrected", "kpi.not_used", "score.revised")

Key = tuple[str, int, str, str]  # stream, year, level, code


def create_statements(prefix: str) -> list[str]:
    p = prefix
    return [
        f"CREATE TABLE IF NOT EXISTS {p}pmm_score_index (stream TEXT NOT NULL, "
        "reference_year INTEGER NOT NULL, level TEXT NOT NULL, code TEXT NOT NULL, "
        "became BIGINT NOT NULL, stopped BIGINT, score TEXT, status TEXT NOT NULL, "
        "grade TEXT, method TEXT, method_version TEXT, sources TEXT NOT NULL, "
        "excluded TEXT NOT NULL, disclosure TEXT NOT NULL, disclosed_by TEXT NOT NULL, "
        "restated_by BIGINT, PRIMARY KEY (stream, reference_year, level, code, became))",
        "CREATE INDEX IF NOT EXISTS pmm_score_index_as_of ON "
        f"{p}pmm_score_index (stream, reference_year, became, stopped)",
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
            "INSERT INTO {p}pmm_score_publications (stream, nth, log_index, cut_at) "
            "VALUES (%s, %s, %s, %s)",
            self.published,
        )


def years(board: TracingBoard, stream: str) -> tuple[int, int]:
    """The reference years the view holds for an assessment: T−1 and T."""
    year = board.assessments[stream].reference_year
    return (year - 1, year)


class Indexer:
    """The current version of every indexed row, and the changes of a batch."""

    def __init__(self) -> None:
        self.current: dict[tuple[str, int], dict[tuple[str, str], Content]] = {}
        self.changes = Changes()

    def adopt(self, board: TracingBoard, streams: Iterable[str]) -> None:
        """Take the tables of streams just loaded into ``board`` as current: the
        index already holds them (they were written when these entries came)."""
        for stream in streams:
            if stream in board.assessments:
                for year in years(board, stream):
                    self.current[(stream, year)] = _scored(board, stream, year)

    def after(self, board: TracingBoard, index: int, entry: Entry) -> None:
        """Index what ``entry`` (just applied at log ``index``) changed."""
        kind, stream = entry.entry_type, entry.stream
        if stream == "framework":
            if kind == "framework.created" or kind.endswith((".defined", ".revised")):
                for name in sorted(board.assessments):
                    for year in years(board, name):
                        self._score(board, name, year, index + 1)
            return
        if stream not in board.assessments:
            return
        body = entry.signed.body
        if kind == "assessment.published":
            nth = len(board.assessments[stream].publications)
            self.changes.published.append((stream, nth, index, int(body["cut_at"])))
            return
        if kind == "assessment.opened" or kind == "kpi.not_used":
            moved: Sequence[int] = years(board, stream)
        elif kind in MOVES_ASSESSMENT:
            year = int(body["reference_year"])
            # A value of year y moves y's table and, through variation, y+1's.
            reach = (year, year + 1) if kind.startswith("value.") else (year,)
            moved = [y for y in years(board, stream) if y in reach]
        else:
            return
        for year in moved:
            self._score(board, stream, year, index + 1)

    def take(self) -> Changes:
        changes, self.changes = self.changes, Changes()
        return changes

    def _score(self, board: TracingBoard, stream: str, year: int, size: int) -> None:
        new = _scored(board, stream, year)
        old = self.current.get((stream, year), {})
        changes = self.changes
        for (level, code), stored in old.items():
            if new.get((level, code)) != stored:
                key = (stream, year, level, code)
                line = changes.pending.pop(key, None)
                if line is not None:  # opened in this batch: close it before writing
                    line[5] = size
                else:
                    changes.closed.append((size, *key))
        for (level, code), stored in new.items():
            if old.get((level, code)) != stored:
                key = (stream, year, level, code)
                line = [*key, size, None, *stored]
                changes.opened.append(line)
                changes.pending[key] = line
        self.current[(stream, year)] = new


def _scored(board: TracingBoard, stream: str, year: int) -> dict[tuple[str, str], Content]:
    traced = board.traced(stream, year)
    return {(row.level, row.code): content(row, deps) for row, deps in traced}


# -- reads ----------------------------------------------------------------------

SELECT_AS_OF = (
    f"SELECT level, code, {', '.join(CONTENT_COLUMNS)} FROM {{p}}pmm_score_index "
    "WHERE stream = %s AND reference_year = %s AND became <= %s "
    "AND (stopped IS NULL OR stopped > %s)"
)
SELECT_ALL_AS_OF = (
    f"SELECT stream, reference_year, level, code, {', '.join(CONTENT_COLUMNS)} "
    "FROM {p}pmm_score_index WHERE became <= %s AND (stopped IS NULL OR stopped > %s)"
)


def rows_as_of(cur: Cursor, stream: str, year: int, size: int) -> list[tuple[Any, ...]]:
    """(level, code, *content) of a table's rows at log ``size``."""
    return cur.execute(SELECT_AS_OF, (stream, year, size, size)).all()


def all_rows_as_of(cur: Cursor, size: int) -> list[tuple[Any, ...]]:
    """(stream, year, level, code, *content) of every indexed row at ``size``."""
    return cur.execute(SELECT_ALL_AS_OF, (size, size)).all()


def publications(cur: Cursor, stream: str) -> list[tuple[int, int]]:
    """(log index, cut_at) of each publication of ``stream``, oldest first."""
    rows = cur.execute(
        "SELECT log_index, cut_at FROM {p}pmm_score_publications WHERE stream = %s "
        "ORDER BY nth",
        (stream,),
    ).all()
    return [(int(i), int(c)) for i, c in rows]
