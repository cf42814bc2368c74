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
from typing import Any

from projections.disclosure import AUDIENCES
from verify.scoreboard import ScoreRow

# The content of one index row, as stored after (stream, year, level, code):
# score, status, grade, method, method_version, sources, excluded, floor,
# disclosed_by, restated_by (JSON text for the tuples).
Content = tuple[Any, ...]


def content(row: ScoreRow, disclosed_by: Iterable[int]) -> Content:
    return (
        *(row.score, row.status, row.grade, row.method, row.method_version),
        _ints(row.sources),
        _excluded(row.excluded),
        row.disclosure,
        _ints(sorted(disclosed_by)),
        row.restated_by,
    )


@functools.lru_cache(maxsize=4096)
def _excluded(excluded: tuple[tuple[str, str], ...]) -> str:
    """The excluded children as JSON (the same few lists recur in every table)."""
    return json.dumps([list(e) for e in excluded])


def _ints(values: Iterable[int]) -> str:
    """A JSON array of integers (``json.dumps`` is five times slower)."""
    return f"[{','.join(map(str, values))}]"


class RowReader:
    """Stored rows back into score rows, with their disclosure as of ``levels``
    (value entry -> level now; an entry it lacks is taken as restricted). The
    hot path of every indexed read: plain loops, no JSON parser for integers."""

    def __init__(self, levels: Mapping[int, str]) -> None:
        self.levels = levels

    def row(self, level: str, code: str, stored: Content) -> ScoreRow:
        score, status, grade, method, version, sources, excluded = stored[:7]
        disclosure, disclosed_by, restated_by = stored[7:10]
        if disclosed_by != "[]":  # the widest of the floor and the levels now
            rank, levels = _RANK[disclosure], self.levels
            for entry in _int_tuple(disclosed_by):
                found = levels.get(entry, "restricted")
                if _RANK[found] > rank:
                    rank, disclosure = _RANK[found], found
        return ScoreRow(
            level,
            code,
            score,
            status,
            grade,
            method,
            version,
            _int_tuple(sources),
            _excluded_of(excluded),
            disclosure,
            restated_by,
        )


_RANK = {level: rank for rank, level in enumerate(AUDIENCES)}  # narrowest()'s order


def _int_tuple(text: str) -> tuple[int, ...]:
    return tuple(map(int, text[1:-1].split(","))) if len(text) > 2 else ()


@functools.lru_cache(maxsize=4096)
def _excluded_of(text: str) -> tuple[tuple[str, str], ...]:
    return tuple((str(c), str(r)) for c, r in json.loads(text))


ORDER = {"kpi": 0, "outcome": 1, "dimension": 2, "overall": 3}


def in_table_order(rows: Iterable[ScoreRow]) -> tuple[ScoreRow, ...]:
    """Rows in ``Scoreboard.table``'s order: KPIs, outcomes, dimensions, overall."""
    return tuple(sorted(rows, key=lambda r: (ORDER[r.level], r.code)))
