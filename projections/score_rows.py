"""Score rows as the bitemporal index stores them (docs/decisions.md, decision 37).

A row's disclosure is not fixed when the row is scored: decision 26 discloses a
score at the level its input values have *now*, at every record time. So the
index stores, beside the row, what its disclosure is made of — a floor (the
levels that do not depend on any value: a KPI definition's default, an input
with no value yet) and the value entries (stream versions) whose level now
widens it — and a read combines them with the levels of today:
``narrowest([floor, *levels_now[entry] for entry in disclosed_by])``.

``projections.score_board.TracingBoard`` scores the rows and traces those
entries; this module turns its rows into stored content and back.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable, Mapping

from projections.disclosure import AUDIENCES
from verify.scoring.tables import ScoreRow

# The content of one index row, as stored after (stream, year, level, code): a
# JSON array of score, status, grade, method, method_version, sources,
# excluded, floor, disclosed_by, restated_by.
Content = str


def content(row: ScoreRow, disclosed_by: Iterable[int]) -> Content:
    fields = (row.score, row.status, row.grade, row.method, row.method_version)
    restated = "null" if row.restated_by is None else str(int(row.restated_by))
    return (
        f"[{','.join(map(_text, fields))},{_ints(row.sources)},"
        f"{_excluded(row.excluded)},{_text(row.disclosure)},"
        f"{_ints(sorted(disclosed_by))},{restated}]"
    )


@functools.lru_cache(maxsize=65536)
def _text(value: str | None) -> str:
    """A JSON string or null (scores, statuses and methods recur)."""
    return json.dumps(value)


@functools.lru_cache(maxsize=4096)
def _excluded(excluded: tuple[tuple[str, str], ...]) -> str:
    """The excluded children as JSON (the same few lists recur in every table)."""
    return json.dumps([list(e) for e in excluded])


def _ints(values: Iterable[int]) -> str:
    """A JSON array of integers (``json.dumps`` is five times slower)."""
    return f"[{','.join(map(str, values))}]"


class RowReader:
    """Stored rows back into score rows, with their disclosure as of ``levels``
    (value entry -> level now; an entry it lacks is taken as restricted)."""

    def __init__(self, levels: Mapping[int, str]) -> None:
        self.levels = levels

    def row(self, level: str, code: str, stored: Content) -> ScoreRow:
        fields = json.loads(stored)
        disclosure, disclosed_by = fields[7], fields[8]
        if disclosed_by:  # the widest of the floor and the levels now
            rank, levels = _RANK[disclosure], self.levels
            for entry in disclosed_by:
                found = levels.get(entry, "restricted")
                if _RANK[found] > rank:
                    rank, disclosure = _RANK[found], found
        excluded = fields[6]
        return ScoreRow(
            level,
            code,
            fields[0],
            fields[1],
            fields[2],
            fields[3],
            fields[4],
            tuple(fields[5]),
            tuple((str(c), str(r)) for c, r in excluded) if excluded else (),
            disclosure,
            fields[9],
        )


_RANK = {level: rank for rank, level in enumerate(AUDIENCES)}  # narrowest()'s order


ORDER = {"kpi": 0, "outcome": 1, "dimension": 2, "overall": 3}


def in_table_order(rows: Iterable[ScoreRow]) -> tuple[ScoreRow, ...]:
    """Rows in ``Scoreboard.table``'s order: KPIs, outcomes, dimensions, overall."""
    return tuple(sorted(rows, key=lambda r: (ORDER[r.level], r.code)))
