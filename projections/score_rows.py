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

import json
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from projections.disclosure import narrowest
from verify.scoreboard import ScoreRow

# The content of one index row, as stored after (stream, year, level, code):
# score, status, grade, method, method_version, sources, excluded, floor,
# disclosed_by, restated_by (JSON text for the tuples).
Content = tuple[Any, ...]


def content(row: ScoreRow, disclosed_by: Iterable[int]) -> Content:
    return (
        *(row.score, row.status, row.grade, row.method, row.method_version),
        _ints(row.sources),
        json.dumps([list(e) for e in row.excluded]) if row.excluded else "[]",
        row.disclosure,
        _ints(sorted(disclosed_by)),
        row.restated_by,
    )


def _ints(values: Iterable[int]) -> str:
    """A JSON array of integers (``json.dumps`` is five times slower)."""
    return f"[{','.join(map(str, values))}]"


class RowReader:
    """Stored rows back into score rows, with their disclosure as of ``levels``
    (value entry -> level now; an entry it lacks is taken as restricted)."""

    def __init__(self, levels: Mapping[int, str]) -> None:
        self.levels = levels
        self._texts: dict[str, Any] = {}

    def _json(self, text: str, make: Callable[[Any], Any]) -> Any:
        found = self._texts.get(text)
        if found is None:
            found = self._texts[text] = make(json.loads(text))
        return found

    def row(self, level: str, code: str, stored: Content) -> ScoreRow:
        score, status, grade, method, version, sources, excluded = stored[:7]
        floor, disclosed_by, restated_by = stored[7:10]
        entries: tuple[int, ...] = self._json(disclosed_by, tuple)
        disclosure = (
            narrowest([floor, *(self.levels.get(e, "restricted") for e in entries)])
            if entries
            else floor
        )
        return ScoreRow(
            level=level,
            code=code,
            score=score,
            status=status,
            grade=grade,
            method=method,
            method_version=version,
            sources=self._json(sources, tuple),
            excluded=self._json(excluded, lambda e: tuple(tuple(x) for x in e)),
            disclosure=disclosure,
            restated_by=restated_by,
        )


ORDER = {"kpi": 0, "outcome": 1, "dimension": 2, "overall": 3}


def in_table_order(rows: Iterable[ScoreRow]) -> tuple[ScoreRow, ...]:
    """Rows in ``Scoreboard.table``'s order: KPIs, outcomes, dimensions, overall."""
    return tuple(sorted(rows, key=lambda r: (ORDER[r.level], r.code)))
